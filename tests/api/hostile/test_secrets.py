"""Secrets never echoed (issue 9, point 5).

A server's error text may repeat the request: the password of the grant, the bearer token, a
`cwt=` value. Whatever reaches an exception, its repr or a log line is scrubbed first.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
from urllib.parse import quote_plus

from aiohttp import web
import pytest

from custom_components.ucwa.api import (
    UcwaApiError,
    UcwaAuthenticationError,
    UcwaClient,
    UcwaError,
)
from custom_components.ucwa.api.bounds import MAX_TEXT_CHARS, Scrubber

from .pool import PASSWORD, TOKEN, HostilePool

ECHO = f"you sent password={quote_plus(PASSWORD)} and {PASSWORD} with Bearer {TOKEN} (cwt=OTHER1)"


def _leaks(text: str) -> list[str]:
    secret_parts = [PASSWORD, quote_plus(PASSWORD), TOKEN, TOKEN.removeprefix("cwt="), "OTHER1"]
    return [secret for secret in secret_parts if secret in text]


def _everything(err: UcwaError, caplog: pytest.LogCaptureFixture) -> str:
    return " ".join([str(err), repr(err), repr(err.__dict__), caplog.text])


async def test_token_endpoint_echo_is_scrubbed(
    hostile_pool: HostilePool,
    make_client: Callable[..., UcwaClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An OAuth error echoing the form is scrubbed.

    A 400 whose `error` and `error_description` echo the form (password raw and URL-encoded):
    UcwaAuthenticationError; zero occurrences of a secret in its text, its
    cause's text and the DEBUG log.
    """

    async def echo(request: web.Request) -> web.StreamResponse:
        form = (await request.read()).decode()
        return web.json_response(
            {"error": f"invalid_grant {form}", "error_description": ECHO}, status=400
        )

    hostile_pool.routes["POST", "/token"] = echo
    caplog.set_level(logging.DEBUG)
    client = make_client(hostile_pool.url())
    with pytest.raises(UcwaAuthenticationError) as err:
        await client.sign_in()
    cause = err.value.__cause__
    assert isinstance(cause, UcwaApiError)
    assert _leaks(_everything(err.value, caplog) + _everything(cause, caplog)) == []
    assert cause.message is not None
    assert "***" in cause.message


@pytest.mark.parametrize("content_type", ["json", "xml"])
async def test_ucwa_error_message_echo_is_scrubbed(
    hostile_pool: HostilePool,
    make_client: Callable[..., UcwaClient],
    caplog: pytest.LogCaptureFixture,
    content_type: str,
) -> None:
    """A UCWA error message echoing the request is scrubbed.

    A 500 whose message (JSON or XML) echoes the Authorization header and the password: UcwaApiError with code and subcode kept, zero secrets in its text, repr and the logs.
    """

    async def echo(request: web.Request) -> web.StreamResponse:
        text = f"{ECHO} header={request.headers.get('Authorization')}"
        if content_type == "json":
            body = {"code": "ServiceFailure", "subcode": TOKEN, "message": text}
            return web.json_response(body, status=500)
        xml = f"<error><code>ServiceFailure</code><message>{text}</message></error>"
        return web.Response(text=xml, status=500, content_type="application/xml")

    hostile_pool.routes["GET", "/apps/1/missed"] = echo
    caplog.set_level(logging.DEBUG)
    client = make_client(hostile_pool.url())
    with pytest.raises(UcwaApiError) as err:
        await client.get_missed_items()
    assert err.value.code == "ServiceFailure"
    assert _leaks(_everything(err.value, caplog)) == []


async def test_batch_part_error_echo_is_scrubbed(
    hostile_pool: HostilePool, make_client: Callable[..., UcwaClient]
) -> None:
    """A batch part answering 500 with the token in its message: the raised error is scrubbed."""

    async def batch(request: web.Request) -> web.StreamResponse:
        part = (
            b"--b\r\nContent-Type: application/http; msgtype=response\r\n\r\n"
            b"HTTP/1.1 500 Internal\r\nContent-Type: application/json\r\n\r\n"
            + f'{{"code": "ServiceFailure", "message": "{ECHO}"}}'.encode()
            + b"\r\n"
        )
        return web.Response(
            body=part * 2 + b"--b--\r\n",
            headers={"Content-Type": "multipart/batching; boundary=b"},
        )

    hostile_pool.routes["POST", "/apps/1/batch"] = batch
    client = make_client(hostile_pool.url())
    with pytest.raises(UcwaApiError) as err:
        await client.get_conversation_logs(limit=5)
    assert err.value.status == 500
    assert _leaks(str(err.value) + repr(err.value.__dict__)) == []


def test_scrubber_table() -> None:
    """Table of what the scrubber removes.

    Password raw and URL-encoded, remembered tokens, any `cwt=`, Bearer values, `password=`/`access_token` fields; long text cut to MAX_TEXT_CHARS; nothing in its repr.
    """
    scrub = Scrubber("p@ss word&1")
    scrub.add_tokens(["tok-123", ""])
    cases = {
        "p@ss word&1": "***",
        "password=p%40ss+word%261": "password=***",
        "p%40ss%20word%261": "***",
        "x tok-123 y": "x *** y",
        "cwt=abc.def": "cwt=***",
        "Bearer zzz": "Bearer ***",
        '"access_token": "zzz"': '"access_token": "***"',
        "password=other&x=1": "password=***&x=1",
        "harmless": "harmless",
    }
    for text, expected in cases.items():
        assert scrub(text) == expected, text
    assert scrub(None) is None
    long = scrub("a" * 10 * MAX_TEXT_CHARS)
    assert long is not None
    assert len(long) == MAX_TEXT_CHARS + 1
    assert "tok-123" not in repr(scrub)
    assert "p@ss" not in repr(scrub)
    for index in range(Scrubber.MAX_TOKENS + 2):
        scrub.add_tokens([f"t{index}x"])
    assert scrub("t0x") == "t0x"  # only the newest tokens are remembered
    assert scrub(f"t{Scrubber.MAX_TOKENS + 1}x") == "***"
    assert Scrubber("")("text") == "text"
