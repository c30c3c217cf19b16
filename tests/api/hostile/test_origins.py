"""Requests stay where the user signed in (issue 9, point 4).

After discovery only the origins it established (scheme, host, port) are requested; HTTPS never
leads to HTTP; a malformed or foreign link is a UcwaSecurityError, logged, before a byte is sent.
The guarded session records every request the client starts, so "zero off-origin" is measured,
not assumed; an IP literal other than 127.0.0.1 could not even be reached.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
import pytest
from yarl import URL

from custom_components.ucwa.api import UcwaClient, UcwaConfig, UcwaSecurityError
from custom_components.ucwa.api.hosts import HostPolicy, parse_target
from tests.api.conftest import FAST

from .pool import (
    DOMAIN,
    PASSWORD,
    SIGN_IN,
    Handler,
    HostilePool,
    RequestGuard,
    guarded_session,
    log_body,
)
from .tls import make_tls

FOREIGN = [
    "http://evil.example.org:{port}/steal",  # another host
    "http://169.254.169.254/latest/meta-data/",  # the cloud metadata address
    "http://lyncweb.contoso.com:{other}/x",  # same host, another port
    "javascript:x",
    "http://[::1",
    "http://lyncweb.contoso.com:99999/x",
]


def _origin(pool: HostilePool) -> str:
    return f"http://lyncdiscover.{DOMAIN}:{pool.port}"


def _links(pool: HostilePool, rel: str, href: str) -> None:
    """Make the pool's communication resource offer `rel` at `href`."""
    pool.application["_embedded"]["communication"]["_links"][rel] = {"href": href}


@pytest.mark.parametrize("link", FOREIGN)
async def test_log_list_link_off_origin_is_refused(
    hostile_pool: HostilePool,
    make_client: Callable[..., UcwaClient],
    guarded: tuple[aiohttp.ClientSession, RequestGuard],
    link: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A conversationLogs link off the signed-in origin or malformed: UcwaSecurityError, logged.

    Zero requests off the origin (before: requests sent there; `http://[::1` and port 99999 a
    raw ValueError).
    """
    _links(hostile_pool, "conversationLogs", link.format(port=hostile_pool.port, other=1))
    client = make_client(hostile_pool.url())
    with pytest.raises(UcwaSecurityError):
        await client.get_conversation_logs(limit=5)
    assert guarded[1].off(_origin(hostile_pool)) == []
    assert "Refused GET" in caplog.text


async def test_makemeavailable_on_another_host_is_refused(
    hostile_pool: HostilePool,
    make_client: Callable[..., UcwaClient],
    guarded: tuple[aiohttp.ClientSession, RequestGuard],
) -> None:
    """A makeMeAvailable link to another host is refused.

    UcwaSecurityError; nothing (and no phone number) is POSTed there.
    """
    hostile_pool.application["_embedded"]["me"]["_links"]["makeMeAvailable"] = {
        "href": f"http://evil.example.org:{hostile_pool.port}/mma"
    }
    client = make_client(hostile_pool.url(), phone_number="+14255551234")
    with pytest.raises(UcwaSecurityError):
        await client.start()
    assert guarded[1].off(_origin(hostile_pool)) == []
    assert all(seen.host != "evil.example.org" for seen in hostile_pool.seen)


async def test_continue_phone_audio_on_another_host_is_refused(
    hostile_pool: HostilePool,
    make_client: Callable[..., UcwaClient],
    guarded: tuple[aiohttp.ClientSession, RequestGuard],
) -> None:
    """A continuePhoneAudio link to 169.254.169.254 is refused.

    UcwaSecurityError, the call-back's phone number sent nowhere.
    """
    body = log_body("/apps/1/logs/a")
    body["_links"]["continuePhoneAudio"] = {"href": "http://169.254.169.254/cpa"}
    hostile_pool.log_bodies["/apps/1/logs/a"] = body
    client = make_client(hostile_pool.url())
    log = next(log for log in await client.get_conversation_logs(limit=5) if log.log_id == "a")
    with pytest.raises(UcwaSecurityError):
        await client.continue_phone_audio(log, phone_number="+14255551234")
    assert guarded[1].off(_origin(hostile_pool)) == []


async def test_batch_part_is_matched_by_its_own_self_link(
    hostile_pool: HostilePool,
    make_client: Callable[..., UcwaClient],
    guarded: tuple[aiohttp.ClientSession, RequestGuard],
) -> None:
    """A batch part is matched by its own self link.

    One whose self link names another resource (here on another host) is dropped; the other
    log is kept, and nothing is requested elsewhere.
    """
    hostile_pool.log_bodies["/apps/1/logs/a"] = log_body(
        f"http://evil.example.org:{hostile_pool.port}/apps/1/logs/a"
    )
    client = make_client(hostile_pool.url())
    logs = await client.get_conversation_logs(limit=5)
    assert [log.log_id for log in logs] == ["b"]
    assert guarded[1].off(_origin(hostile_pool)) == []


@pytest.mark.parametrize(
    "self_link", ["http://evil.example.org:{port}/apps/1/logs/a", "http://[::1"]
)
async def test_batch_part_with_a_foreign_or_malformed_self_link_is_dropped(
    hostile_pool: HostilePool,
    make_client: Callable[..., UcwaClient],
    guarded: tuple[aiohttp.ClientSession, RequestGuard],
    self_link: str,
) -> None:
    """A part naming another resource, or an unreadable one, is not the log requested: dropped."""
    hostile_pool.log_bodies["/apps/1/logs/a"] = log_body(self_link.format(port=hostile_pool.port))
    client = make_client(hostile_pool.url())
    assert [log.log_id for log in await client.get_conversation_logs(limit=5)] == ["b"]
    assert guarded[1].off(_origin(hostile_pool)) == []


@pytest.mark.parametrize(
    "location", ["http://169.254.169.254/latest", "http://[::1", "javascript:x"]
)
async def test_discovery_redirect_off_the_domain_or_malformed_is_refused(
    hostile_pool: HostilePool,
    make_client: Callable[..., UcwaClient],
    guarded: tuple[aiohttp.ClientSession, RequestGuard],
    location: str,
) -> None:
    """A discovery 302 off the domain or malformed is refused.

    To the metadata address or a malformed URL: UcwaSecurityError, the one request sent is the root's.
    """

    async def redirect(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": location})

    hostile_pool.routes["GET", "/root"] = redirect
    client = make_client(hostile_pool.url())
    with pytest.raises(UcwaSecurityError):
        await client.sign_in()
    assert [str(url) for url in guarded[1].started] == [hostile_pool.url()]


@pytest.fixture
async def https_root(
    socket_enabled: None, tmp_path: Path
) -> AsyncIterator[tuple[HostilePool, HostilePool, aiohttp.ClientSession, RequestGuard]]:
    """Run a verified-HTTPS root (a CA the session trusts) and a plain-HTTP pool in the same domain."""
    tls = make_tls(tmp_path, DOMAIN)
    secure, plain = HostilePool(), HostilePool()
    await secure.start(tls.server)
    await plain.start()
    async with guarded_session(tls.client) as (session, guard):
        yield secure, plain, session, guard
    await secure.stop()
    await plain.stop()


def _downgrade(plain: HostilePool, how: str) -> Handler:
    target = plain.url("/root" if how == "302" else "/user", f"lyncweb.{DOMAIN}")

    async def handler(_request: web.Request) -> web.StreamResponse:
        if how == "302":
            return web.Response(status=302, headers={"Location": target})
        return web.json_response({"_links": {"user": {"href": target}}})

    return handler


@pytest.mark.parametrize("how", ["302", "user link"])
async def test_verified_https_root_never_leads_to_http(
    https_root: tuple[HostilePool, HostilePool, aiohttp.ClientSession, RequestGuard], how: str
) -> None:
    """A verified HTTPS root never leads to HTTP, not even inside the sign-in domain.

    UcwaSecurityError, the plain-HTTP pool receives zero requests, the password is never sent
    (before: POSTed in clear text).
    """
    secure, plain, session, guard = https_root
    secure.routes["GET", "/root"] = _downgrade(plain, how)
    config = UcwaConfig(sign_in_address=SIGN_IN, password=PASSWORD, discovery_url=secure.url())
    async with UcwaClient(config, session=session, request_timeout=5.0, timings=FAST) as client:
        with pytest.raises(UcwaSecurityError, match="HTTPS to HTTP"):
            await client.sign_in()
    assert plain.seen == []
    assert [url.scheme for url in guard.started] == ["https"]


async def test_verified_https_flow_signs_in(
    https_root: tuple[HostilePool, HostilePool, aiohttp.ClientSession, RequestGuard],
) -> None:
    """The control: the same HTTPS pool without the downgrade signs in, all over HTTPS."""
    secure, _plain, session, guard = https_root
    config = UcwaConfig(sign_in_address=SIGN_IN, password=PASSWORD, discovery_url=secure.url())
    async with UcwaClient(config, session=session, request_timeout=5.0, timings=FAST) as client:
        await client.sign_in()
    assert {url.scheme for url in guard.started} == {"https"}
    assert secure.count("POST", "/token") == 1


# --- the policy itself (pure) --------------------------------------------------------------------

CONFIG = UcwaConfig(sign_in_address="alice@contoso.com", password="x")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://lyncweb.contoso.com/ucwa/x", True),
        ("https://LYNCWEB.contoso.com:443/y", True),  # default port, any case
        ("http://lyncweb.contoso.com/ucwa/x", False),  # another scheme
        ("https://lyncweb.contoso.com:4443/x", False),  # another port
        ("https://pool2.contoso.com/x", False),  # in the domain, but not established
        ("http://169.254.169.254/latest", False),
        ("javascript:x", False),
        ("http://[::1", False),
        ("https://lyncweb.contoso.com:99999/x", False),
        ("https://lyncweb.contoso.com:0/x", False),
        ("/relative/only", False),
        ("ftp://lyncweb.contoso.com/x", False),
    ],
)
def test_require_allows_only_established_origins(url: str, allowed: bool) -> None:
    """Table: after a discovery that reached https://lyncweb.contoso.com, what may be requested."""
    hosts = HostPolicy(CONFIG)
    with hosts.discovering():
        hosts.trust("https://lyncweb.contoso.com/")
    if allowed:
        assert hosts.require(url).host == "lyncweb.contoso.com"
    else:
        with pytest.raises(UcwaSecurityError):
            hosts.require(url)


@pytest.mark.parametrize(
    ("source", "target", "error"),
    [
        ("https://lyncdiscover.contoso.com/", "https://lyncweb.contoso.com/", None),
        ("http://lyncdiscover.contoso.com/", "http://lyncweb.contoso.com/", None),
        ("http://lyncdiscover.contoso.com/", "https://lyncweb.contoso.com/", None),  # upgrade
        ("https://lyncdiscover.contoso.com/", "http://lyncweb.contoso.com/", "HTTPS to HTTP"),
        ("https://lyncdiscover.contoso.com/", "https://evil.org/", "another domain"),
        ("https://lyncdiscover.contoso.com/", "http://[::1", "malformed"),
    ],
)
def test_discovery_hop(source: str, target: str, error: str | None) -> None:
    """Table: a discovery 3xx stays in the domain and never leaves HTTPS."""
    hosts = HostPolicy(CONFIG)
    if error is None:
        hosts.check_hop(URL(source), parse_target(target))
        assert hosts.is_trusted(target)
    else:
        with pytest.raises(UcwaSecurityError, match=error):
            hosts.check_hop(URL(source), target)  # type: ignore[arg-type]


def test_sealed_policy_refuses_new_origins_even_from_verified_https() -> None:
    """Before sealing, verified HTTPS vouches for its links; after discovery, nothing new is added."""
    hosts = HostPolicy(CONFIG)
    source = URL("https://lyncweb.contoso.com/")
    with hosts.discovering():
        hosts.trust(source)
        hosts.check_redirect(source, URL("https://pool.example.org/"))
    assert hosts.is_trusted("https://pool.example.org/")
    with pytest.raises(UcwaSecurityError, match="did not establish"):
        hosts.check_redirect(source, URL("https://other.example.org/"))
    assert not hosts.is_trusted("https://other.example.org/")
    with pytest.raises(UcwaSecurityError, match="HTTPS to HTTP"):
        HostPolicy(CONFIG).check_redirect(source, URL("http://lyncweb.contoso.com/"))
