"""Answers the simulator does not give, from a hand-written pool.

HTTP redirects during discovery, odd challenges and token answers, links to hosts that never
passed the security check, broken batch answers.

A hand-written pool listens on 127.0.0.1; a resolver sends every host name there, so tests can
use real-looking names (lyncdiscover.contoso.com, pool.fabrikam.com) without DNS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.ucwa.api import (
    UcwaApiError,
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaError,
    UcwaMalformedResponseError,
    UcwaSecurityError,
)
from custom_components.ucwa.api.client import UcwaClient, UcwaConfig
from simulator import Simulator

from .conftest import FAST
from .helpers import LoopbackResolver

TOKEN = "cwt=scripted"
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Seen:
    method: str
    host: str
    path: str
    authorization: str | None


def challenge(value: str = 'MsRtcOAuth href="/token",grant_type="password"') -> web.Response:
    return web.Response(status=401, text="<html>401</html>", content_type="text/html",
                        headers={"WWW-Authenticate": value})  # fmt: skip


class ScriptedPool:
    """A pool whose routes the test replaces; it records the Host and Authorization it saw."""

    def __init__(self) -> None:
        self.port = 0
        self.seen: list[Seen] = []
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "/root"): self.root,
            ("GET", "/user"): self.user,
            ("POST", "/token"): self.token,
            ("POST", "/apps"): self.create_app,
            ("DELETE", "/apps/1"): self.no_content,
            ("GET", "/apps/1/logs"): self.logs,
            ("GET", "/apps/1/logs/a"): self.log,
            ("GET", "/apps/1/logs/b"): self.log,
        }
        self.application: dict[str, Any] = {
            "_links": {"self": {"href": "/apps/1"}, "events": {"href": "/apps/1/events?ack=1"}},
            "_embedded": {
                "me": {"_links": {}},
                "communication": {"_links": {"conversationLogs": {"href": "/apps/1/logs"}}},
            },
        }

    def url(self, host: str, path: str = "/root") -> str:
        return f"http://{host}:{self.port}{path}"

    async def entry(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.method, request.host.split(":")[0], request.path,
                              request.headers.get("Authorization")))  # fmt: skip
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return web.json_response({"code": "NotFound"}, status=404)
        return await handler(request)

    async def root(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"_links": {"user": {"href": "/user"}}})

    async def user(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return challenge()
        return web.json_response({"_links": {"applications": {"href": "/apps"}}})

    async def token(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"access_token": TOKEN, "token_type": "Bearer"})

    async def create_app(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.application, status=201)

    async def no_content(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async def logs(self, request: web.Request) -> web.StreamResponse:
        links = [{"href": "/apps/1/logs/a"}, {"href": "/apps/1/logs/b"}]
        return web.json_response({"_links": {"conversationLog": links}})

    async def log(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({
            "creationTime": "/Date(1474932024587)/",
            "_links": {"self": {"href": request.path},
                       "continuePhoneAudio": {"href": f"{request.path}/continuePhoneAudio"}},
        })  # fmt: skip

    def hosts(self) -> list[str]:
        return [seen.host for seen in self.seen]


@pytest.fixture
async def pool(socket_enabled: None) -> AsyncIterator[ScriptedPool]:
    scripted = ScriptedPool()
    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", scripted.entry)
    runner = web.AppRunner(application, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    scripted.port = int(runner.addresses[0][1])
    yield scripted
    await runner.cleanup()


@pytest.fixture
async def named_session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(resolver=LoopbackResolver(), use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector) as client_session:
        yield client_session


@pytest.fixture
async def make_client(
    named_session: aiohttp.ClientSession,
) -> AsyncIterator[Callable[..., UcwaClient]]:
    clients: list[UcwaClient] = []

    def factory(discovery_url: str, **overrides: Any) -> UcwaClient:
        config = UcwaConfig(sign_in_address="alice@contoso.com", password="secret",
                            discovery_url=discovery_url, **overrides)  # fmt: skip
        client = UcwaClient(config, session=named_session, request_timeout=5.0, timings=FAST)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()


def redirect(location: str, status: int = 302) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {"Location": location} if location else {}
        return web.Response(status=status, headers=headers)

    return handler


# --- HTTP redirects during discovery ------------------------------------------------------------


async def test_http_redirects_inside_the_domain_are_followed(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    """lyncdiscover.contoso.com may send discovery to any *.contoso.com host (RootURL.md)."""
    pool.routes["GET", "/start"] = redirect("/root-moved", 301)  # same host, relative
    pool.routes["GET", "/root-moved"] = redirect(pool.url("fe1.contoso.com", "/root"), 307)
    client = make_client(pool.url("lyncdiscover.contoso.com", "/start"))
    await client.sign_in()
    assert [(s.method, s.host, s.path) for s in pool.seen] == [
        ("GET", "lyncdiscover.contoso.com", "/start"),
        ("GET", "lyncdiscover.contoso.com", "/root-moved"),
        ("GET", "fe1.contoso.com", "/root"),
        ("GET", "fe1.contoso.com", "/user"),
        ("POST", "fe1.contoso.com", "/token"),
        ("GET", "fe1.contoso.com", "/user"),
    ]
    assert pool.seen[-1].authorization == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "target", ["lyncdiscover.fabrikam.com", "contoso.com.evil.net", "127.0.0.1"]
)
async def test_http_redirect_to_another_domain_is_refused(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient], target: str
) -> None:
    pool.routes["GET", "/start"] = redirect(pool.url(target, "/root"))
    client = make_client(pool.url("lyncdiscover.contoso.com", "/start"), trusted_hosts=(target,))
    with pytest.raises(UcwaSecurityError, match="another domain"):
        await client.sign_in()
    assert pool.hosts() == ["lyncdiscover.contoso.com"]


async def test_http_redirect_from_a_bare_domain_stays_on_that_host(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    pool.routes["GET", "/start"] = redirect(pool.url("www.contoso.com", "/root"))
    client = make_client(pool.url("contoso.com", "/start"))
    with pytest.raises(UcwaSecurityError):
        await client.sign_in()
    assert pool.hosts() == ["contoso.com"]


async def test_http_redirect_without_location(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    pool.routes["GET", "/start"] = redirect("")
    client = make_client(pool.url("lyncdiscover.contoso.com", "/start"))
    with pytest.raises(UcwaApiError, match="Redirect without Location") as err:
        await client.sign_in()
    assert err.value.status == 302


async def test_discovery_gives_up_after_ten_hops(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    for hop in range(12):
        pool.routes["GET", f"/hop/{hop}"] = redirect(f"/hop/{hop + 1}")
    client = make_client(pool.url("lyncdiscover.contoso.com", "/hop/0"))
    with pytest.raises(UcwaConnectionError, match="more than 10 hops"):
        await client.sign_in()
    assert [s.path for s in pool.seen] == [f"/hop/{hop}" for hop in range(11)]


async def test_discovery_answer_without_links(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    async def empty(request: web.Request) -> web.StreamResponse:
        return web.json_response({"_links": {"self": {"href": "/root"}}})

    pool.routes["GET", "/root"] = empty
    client = make_client(pool.url("lyncdiscover.contoso.com"))
    with pytest.raises(UcwaError, match="without a user or applications link") as err:
        await client.sign_in()
    assert type(err.value) is UcwaMalformedResponseError


async def test_discovery_answer_that_is_not_json(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    async def html(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>Welcome to IIS</html>", content_type="text/html")

    pool.routes["GET", "/root"] = html
    client = make_client(pool.url("lyncdiscover.contoso.com"))
    with pytest.raises(
        UcwaError, match=r"Expected JSON from lyncdiscover\.contoso\.com, got text/html"
    ):
        await client.sign_in()


async def test_link_redirect_to_a_trusted_domain_is_followed(
    sim: Simulator, named_session: aiohttp.ClientSession
) -> None:
    """A `.fabrikam.com` entry trusts its subdomains; entries that do not match are skipped."""
    sim.config.root_redirect = (
        f"http://lyncweb.fabrikam.com:{sim.port}/autodiscover/autodiscoverservice.svc/root"
    )
    config = UcwaConfig(
        sign_in_address=sim.user.sign_in_address,
        password=sim.user.password,
        discovery_url=f"http://lyncdiscover.contoso.com:{sim.port}/",
        trusted_hosts=(" ", "litware.com", " .Fabrikam.com"),
    )
    async with UcwaClient(config, session=named_session) as client:
        await client.sign_in()
    token = next(r for r in sim.requests if r.route == "oauthtoken")
    assert token.headers["Host"] == f"lyncweb.fabrikam.com:{sim.port}"


async def test_link_redirect_to_another_scheme_is_refused(
    sim: Simulator, named_session: aiohttp.ClientSession
) -> None:
    sim.config.root_redirect = "ftp://lyncdiscover.contoso.com/root"
    config = UcwaConfig(sign_in_address=sim.user.sign_in_address, password=sim.user.password,
                        discovery_url=f"{sim.base_url}/")  # fmt: skip
    async with UcwaClient(config, session=named_session) as client:
        with pytest.raises(UcwaSecurityError, match="Refusing to follow a link to ftp"):
            await client.sign_in()
    assert [r.route for r in sim.requests] == ["root"]


# --- challenges and tokens ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ('Negotiate, NTLM, Bearer realm="x"', "does not offer MsRtcOAuth"),
        ('MsRtcOAuth grant_type="password"', "no token endpoint"),
    ],
)
async def test_unusable_challenge(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient], header: str, message: str
) -> None:
    async def user(request: web.Request) -> web.StreamResponse:
        return challenge(header)

    pool.routes["GET", "/user"] = user
    client = make_client(pool.url("lyncdiscover.contoso.com"))
    with pytest.raises(UcwaAuthenticationError, match=message):
        await client.sign_in()
    assert [s.path for s in pool.seen] == ["/root", "/user"]


async def test_token_answer_without_a_token(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    async def token(request: web.Request) -> web.StreamResponse:
        return web.json_response({"token_type": "Bearer", "expires_in": 3600})

    pool.routes["POST", "/token"] = token
    client = make_client(pool.url("lyncdiscover.contoso.com"))
    with pytest.raises(UcwaAuthenticationError, match="without a token"):
        await client.sign_in()


async def test_credentials_never_go_to_a_host_that_skipped_the_security_check(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    """The application links to a foreign host: refused before a byte is sent (issue 9)."""

    async def foreign(request: web.Request) -> web.StreamResponse:
        return challenge(f'MsRtcOAuth href="{pool.url("tracker.example.net", "/token")}",'
                         'grant_type="password"')  # fmt: skip

    pool.routes["GET", "/missed"] = foreign
    communication = pool.application["_embedded"]["communication"]["_links"]
    communication["missedItems"] = {"href": pool.url("tracker.example.net", "/missed")}
    client = make_client(pool.url("lyncdiscover.contoso.com"))
    with pytest.raises(UcwaSecurityError, match=r"tracker\.example\.net.*not an origin"):
        await client.get_missed_items()
    assert [s for s in pool.seen if s.host == "tracker.example.net"] == []
    assert [s.host for s in pool.seen if s.path == "/token"] == ["lyncdiscover.contoso.com"]


# --- batch and call-back answers ----------------------------------------------------------------


def _batch_answer(content_type: str, body: bytes) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handler


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("text/html", b"<html>proxy error</html>", "Unreadable batch response"),
        (
            "multipart/batching; boundary=b",
            (
                b"--b\r\nContent-Type: application/http; msgtype=response\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}\r\n--b--\r\n"
            ),
            "Batch answered 1 parts for 2 requests",
        ),
    ],
)
async def test_broken_batch_answer(
    pool: ScriptedPool,
    make_client: Callable[..., UcwaClient],
    content_type: str,
    body: bytes,
    message: str,
) -> None:
    pool.application["_links"]["batch"] = {"href": "/apps/1/batch"}
    pool.routes["POST", "/apps/1/batch"] = _batch_answer(content_type, body)
    client = make_client(pool.url("lyncdiscover.contoso.com"))
    with pytest.raises(UcwaError, match=message):
        await client.get_conversation_logs(limit=5)
    assert [s.path for s in pool.seen][-2:] == ["/apps/1/logs", "/apps/1/batch"]


async def test_continue_phone_audio_answer_without_location(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    pool.routes["POST", "/apps/1/logs/a/continuePhoneAudio"] = pool.no_content
    client = make_client(pool.url("lyncdiscover.contoso.com"), phone_number="+14255550100")
    logs = await client.get_conversation_logs(limit=5)
    assert [s.path for s in pool.seen][-3:] == ["/apps/1/logs", "/apps/1/logs/a", "/apps/1/logs/b"]
    with pytest.raises(UcwaError, match="without a Location"):
        await client.continue_phone_audio(next(log for log in logs if log.log_id == "a"))
    assert [s.path for s in pool.seen].count("/apps/1/logs/a/continuePhoneAudio") == 1


async def test_403_before_any_token_is_reported_once(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    """A proxy refusing discovery: nothing to renew, so the 403 is the answer."""

    async def forbidden(request: web.Request) -> web.StreamResponse:
        return web.json_response({"code": "Forbidden", "message": "Blocked"}, status=403)

    pool.routes["GET", "/root"] = forbidden
    client = make_client(pool.url("lyncdiscover.contoso.com"))
    with pytest.raises(UcwaApiError) as err:
        await client.sign_in()
    assert (err.value.status, err.value.code, err.value.message) == (403, "Forbidden", "Blocked")
    assert [(s.path, s.authorization) for s in pool.seen] == [("/root", None)]


async def test_401_without_challenge_renews_from_the_known_token_endpoint(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    """Some proxies strip WWW-Authenticate: the endpoint learnt at sign-in is used again."""
    answers = [web.Response(status=401)]

    async def logs(request: web.Request) -> web.StreamResponse:
        return answers.pop() if answers else await pool.logs(request)

    pool.routes["GET", "/apps/1/logs"] = logs
    client = make_client(pool.url("lyncdiscover.contoso.com"))
    await client.sign_in()
    pool.seen.clear()
    logs_read = await client.get_conversation_logs(limit=5)
    assert sorted(log.log_id for log in logs_read) == ["a", "b"]
    assert [(s.method, s.path) for s in pool.seen][:6] == [
        ("POST", "/apps"),
        ("GET", "/apps/1/logs"),
        ("POST", "/token"),
        ("GET", "/apps/1/logs"),
        ("GET", "/apps/1/logs/a"),
        ("GET", "/apps/1/logs/b"),
    ]


async def test_report_activity_conflict_without_a_me_link(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient]
) -> None:
    """409 MakeMeAvailableRequired with no `me` to read: nothing more can be done, quietly."""

    async def conflict(request: web.Request) -> web.StreamResponse:
        body = {"code": "Conflict", "subcode": "MakeMeAvailableRequired"}
        return web.json_response(body, status=409)

    pool.application["_embedded"]["me"] = {
        "_links": {"reportMyActivity": {"href": "/apps/1/reportMyActivity"}}
    }
    pool.routes["POST", "/apps/1/reportMyActivity"] = conflict
    client = make_client(pool.url("lyncdiscover.contoso.com"))
    await client.report_activity()
    assert [(s.method, s.path) for s in pool.seen][-2:] == [
        ("POST", "/apps"),
        ("POST", "/apps/1/reportMyActivity"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"{not json", "Unreadable conversation log"), (b"[1, 2]", "not a JSON object")],
)
async def test_unreadable_conversation_log(
    pool: ScriptedPool, make_client: Callable[..., UcwaClient], body: bytes, message: str
) -> None:
    """A log answered with something that is not a log object is a malformed answer."""

    async def broken(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    pool.routes["GET", "/apps/1/logs/a"] = broken
    client = make_client(pool.url("lyncdiscover.contoso.com"))
    with pytest.raises(UcwaMalformedResponseError, match=message):
        await client.get_conversation_logs(limit=5)
