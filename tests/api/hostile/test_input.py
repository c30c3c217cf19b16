"""Bounded input (issue 9, point 3): what a server sends cannot exhaust memory or the stack.

Each test names the behaviour, the limit and the figure measured against a scripted pool on
127.0.0.1. Only the library's errors come out; a log with a bad value keeps what can be read.
"""

from __future__ import annotations

from collections.abc import Callable
import json

from aiohttp import web
import pytest

from custom_components.ucwa.api import (
    UcwaApiError,
    UcwaClient,
    UcwaMalformedResponseError,
)
from custom_components.ucwa.api.bounds import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth, loads_json

from .bodies import GIB, bomb_size, deep_json, many_links, peak_rss_mb, serve_bomb
from .pool import Handler, HostilePool, log_body

MB = 1024 * 1024


def _reply(body: bytes, status: int = 200, **headers: str) -> Handler:
    async def handler(_request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=body, status=status, headers={"Content-Type": "application/json", **headers}
        )

    return handler


async def test_gzip_bomb_on_discovery_root_is_refused_within_memory(
    hostile_pool: HostilePool, make_client: Callable[..., UcwaClient]
) -> None:
    """A ~1 MB gzip body on the discovery root that expands to 1 GiB is refused within memory.

    UcwaMalformedResponseError after at most MAX_BODY_BYTES (16 MB) read, no credential sent; peak memory growth under
    400 MB (measured: a few tens of MB, against 3.2 GB before the cap).
    """
    assert bomb_size() < 2 * MB
    hostile_pool.routes["GET", "/root"] = serve_bomb
    client = make_client(hostile_pool.url())
    before = peak_rss_mb()
    with pytest.raises(UcwaMalformedResponseError, match="body over"):
        await client.sign_in()
    growth = peak_rss_mb() - before
    assert growth < 400, f"peak memory grew by {growth:.0f} MB for a {GIB >> 20} MiB bomb"
    assert hostile_pool.count("POST", "/token") == 0


async def test_declared_oversized_body_is_refused_before_reading(
    hostile_pool: HostilePool, make_client: Callable[..., UcwaClient]
) -> None:
    """A Content-Length above MAX_BODY_BYTES (here 17 MB) is refused from the header alone."""
    hostile_pool.routes["GET", "/root"] = _reply(b" " * (MAX_BODY_BYTES + MB))
    client = make_client(hostile_pool.url())
    with pytest.raises(UcwaMalformedResponseError, match="announced a body"):
        await client.sign_in()


@pytest.mark.parametrize("route", [("GET", "/root"), ("GET", "/user")])
async def test_deeply_nested_discovery_json_is_malformed(
    hostile_pool: HostilePool, make_client: Callable[..., UcwaClient], route: tuple[str, str]
) -> None:
    """JSON nested 100,000 deep in discovery is malformed, never a RecursionError.

    UcwaMalformedResponseError naming the depth (limit MAX_JSON_DEPTH = 64), never RecursionError.
    """
    hostile_pool.routes[route] = _reply(deep_json())
    client = make_client(hostile_pool.url())
    with pytest.raises(UcwaMalformedResponseError, match=f"at most {MAX_JSON_DEPTH}"):
        await client.sign_in()


async def test_deep_batch_part_is_malformed(
    hostile_pool: HostilePool, make_client: Callable[..., UcwaClient]
) -> None:
    """A batch part nested 100,000 deep: get_conversation_logs raises UcwaMalformedResponseError."""
    hostile_pool.log_bodies["/apps/1/logs/a"] = deep_json()
    client = make_client(hostile_pool.url())
    with pytest.raises(UcwaMalformedResponseError, match="Unreadable conversation log"):
        await client.get_conversation_logs(limit=5)


async def test_deep_error_body_is_an_api_error_without_text(
    hostile_pool: HostilePool, make_client: Callable[..., UcwaClient]
) -> None:
    """A 500 whose JSON error body nests 100,000 deep: UcwaApiError(500, code None), not a crash."""
    hostile_pool.routes["GET", "/apps/1/missed"] = _reply(deep_json(), status=500)
    client = make_client(hostile_pool.url())
    with pytest.raises(UcwaApiError) as err:
        await client.get_missed_items()
    assert (err.value.status, err.value.code) == (500, None)


async def test_deep_missed_items_is_malformed(
    hostile_pool: HostilePool, make_client: Callable[..., UcwaClient]
) -> None:
    """MissedItems nested 100,000 deep: UcwaMalformedResponseError from get_missed_items."""
    hostile_pool.routes["GET", "/apps/1/missed"] = _reply(deep_json())
    client = make_client(hostile_pool.url())
    with pytest.raises(UcwaMalformedResponseError, match="nests"):
        await client.get_missed_items()


BAD_VALUES = {
    "creationTime": "/Date(99999999999999999)/",  # beyond year 9999
    "totalRecipientsCount": "²",
    "subject": "kept",
}


async def test_log_with_bad_values_keeps_what_can_be_read(
    hostile_pool: HostilePool, make_client: Callable[..., UcwaClient]
) -> None:
    """A log with bad values keeps what can be read.

    A date out of range, a `²` count and a 5,000-digit count: the bad fields are None and both logs of the list are returned (before: raw OSError/ValueError on every call).
    """
    body = json.dumps(log_body("/apps/1/logs/a", **BAD_VALUES)).encode()
    body = body.replace(b'"status"', b'"threadCount": 1' + b"0" * 5000 + b', "status"')
    hostile_pool.log_bodies["/apps/1/logs/a"] = body
    hostile_pool.log_bodies["/apps/1/logs/b"] = log_body(
        "/apps/1/logs/b", creationTime="/Date(1474932024587+9999)/", totalRecipientsCount="1" * 5000
    )
    client = make_client(hostile_pool.url())
    logs = {log.log_id: log for log in await client.get_conversation_logs(limit=5)}
    assert set(logs) == {"a", "b"}
    assert logs["a"].creation_time is None
    assert logs["a"].total_recipients_count is None
    assert logs["a"].subject == "kept"
    assert logs["b"].creation_time is None
    assert logs["b"].total_recipients_count is None


async def test_missed_items_with_bad_counts_are_none(
    hostile_pool: HostilePool, make_client: Callable[..., UcwaClient]
) -> None:
    """Bad missedItems counters are None, the readable ones kept.

    `²`, a 5,000-digit number and a 5,000-digit string: those counters are None.
    """
    body = (
        b'{"voiceMailsCount": "\xc2\xb2", "conversationLogsCount": 1'
        + b"0" * 5000
        + b', "missedConversationsCount": "'
        + b"9" * 5000
        + b'", "unreadVoicemailsCount": 3}'
    )
    hostile_pool.routes["GET", "/apps/1/missed"] = _reply(body)
    client = make_client(hostile_pool.url())
    missed = await client.get_missed_items()
    assert missed.voicemails_count is None
    assert missed.conversation_logs_count is None
    assert missed.missed_conversations_count is None
    assert missed.unread_voicemails_count == 3


async def test_limit_bounds_what_is_fetched_and_cached(
    hostile_pool: HostilePool, make_client: Callable[..., UcwaClient]
) -> None:
    """`limit` bounds what is fetched and cached, whatever the list's length.

    100,000 conversationLog links for limit=50: one batch POST of 50 parts, 50 logs, peak memory growth under 400 MB (before: 1,000 batch POSTs, 100,000 logs cached, 403 MB).
    """
    listed = many_links(100_000)
    assert len(listed) < MAX_BODY_BYTES
    hostile_pool.routes["GET", "/apps/1/logs"] = _reply(listed)
    client = make_client(hostile_pool.url())
    before = peak_rss_mb()
    logs = await client.get_conversation_logs(limit=50)
    growth = peak_rss_mb() - before
    assert len(logs) == 50
    batches = [seen for seen in hostile_pool.seen if seen.path == "/apps/1/batch"]
    assert len(batches) == 1
    assert batches[0].body.count(b"GET /apps/1/logs/") == 50
    assert growth < 400


def test_json_limits_without_a_server() -> None:
    """The JSON decoder alone raises UcwaMalformedResponseError only.

    Over MAX_BODY_BYTES, deeper than MAX_JSON_DEPTH, brackets inside strings (not nesting), text input, huge integers as None; only UcwaMalformedResponseError.
    """
    with pytest.raises(UcwaMalformedResponseError, match="larger"):
        loads_json(b" " * (MAX_BODY_BYTES + 1), "h")
    with pytest.raises(UcwaMalformedResponseError, match="nests 65 deep"):
        loads_json("[" * 65 + "]" * 65, "h")
    assert loads_json('{"a": "[[[[\\"[[[["}', "h") == {"a": '[[[["[[[['}
    assert json_depth(b'[[1], {"a": [2]}]') == 3
    assert loads_json(b'\xef\xbb\xbf{"n": 1' + b"0" * 40 + b', "m": -12}', "h") == {
        "n": None,
        "m": -12,
    }
    with pytest.raises(UcwaMalformedResponseError, match="Invalid JSON"):
        loads_json(b"{not json", "h")
