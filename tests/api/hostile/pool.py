"""A scripted UCWA pool on 127.0.0.1 for the hostile-server suites, and a session that cannot leave it.

`HostilePool` answers a real flow (root → 401 challenge → password grant → user → applications →
application → log list → batch) with small hand-written bodies; a test replaces one route with a
hostile answer. Every request it receives is recorded with the Host it was sent to.

`guarded_session` resolves every name to 127.0.0.1 (so links can name contoso.com or evil.example.org
without DNS) and records every request the client starts, before any connection: a request to an IP
literal other than 127.0.0.1 (the metadata address 169.254.169.254) fails there with OSError, so a
broken origin check can never reach another machine, and the test still sees the attempt.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass
import ipaddress
import json
import re
import ssl
import types
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from tests.api.helpers import LoopbackResolver

PASSWORD = "Hunter2-s3cret!"
TOKEN = "cwt=AAEBHAEFAAAAAAAFFQAAAHostileToken"
DOMAIN = "contoso.com"
SIGN_IN = f"alice@{DOMAIN}"
POOL_HOST = f"lyncweb.{DOMAIN}"
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_BATCH_GET_RE = re.compile(r"^GET (\S+) HTTP/1\.1", re.MULTILINE)


@dataclass(frozen=True)
class Seen:
    """One request as the pool received it."""

    method: str
    host: str
    path: str
    authorization: str | None
    body: bytes


def log_body(path: str, **values: Any) -> dict[str, Any]:
    """Return a conversation log's body whose self link is `path`."""
    return {
        "creationTime": "/Date(1474932024587)/",
        "status": "Missed",
        **values,
        "_links": {"self": {"href": path}, "continuePhoneAudio": {"href": f"{path}/cpa"}},
    }


class HostilePool:
    """A pool whose routes a test replaces; `seen` is every request it received."""

    def __init__(self) -> None:
        self.port = 0
        self.seen: list[Seen] = []
        self.log_paths = ["/apps/1/logs/a", "/apps/1/logs/b"]
        self.log_bodies: dict[str, Any] = {}
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "/root"): self.root,
            ("GET", "/user"): self.user,
            ("POST", "/token"): self.token,
            ("POST", "/apps"): self.create_app,
            ("DELETE", "/apps/1"): self.no_content,
            ("GET", "/apps/1/logs"): self.logs,
            ("GET", "/apps/1/missed"): self.missed,
            ("POST", "/apps/1/batch"): self.batch,
        }
        self.application: dict[str, Any] = {
            "_links": {
                "self": {"href": "/apps/1"},
                "events": {"href": "/apps/1/events?ack=1"},
                "batch": {"href": "/apps/1/batch"},
            },
            "_embedded": {
                "me": {"_links": {}},
                "communication": {
                    "_links": {
                        "conversationLogs": {"href": "/apps/1/logs"},
                        "missedItems": {"href": "/apps/1/missed"},
                    }
                },
            },
        }
        self._runner: web.AppRunner | None = None

    def url(self, path: str = "/root", host: str = f"lyncdiscover.{DOMAIN}") -> str:
        """Return an address of this pool under a host name (every name resolves here)."""
        return f"{self.scheme}://{host}:{self.port}{path}"

    scheme = "http"

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> None:
        """Listen on 127.0.0.1, any free port (HTTPS with `ssl_context`)."""
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._entry)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.scheme = "https" if ssl_context else "http"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _entry(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(request.method, request.host.split(":")[0], request.path,
                              request.headers.get("Authorization"), body))  # fmt: skip
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return web.json_response({"code": "NotFound"}, status=404)
        return await handler(request)

    def count(self, method: str, path: str) -> int:
        """How many requests the pool received for this method and path."""
        return sum(1 for seen in self.seen if (seen.method, seen.path) == (method, path))

    async def root(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"_links": {"user": {"href": "/user"}}})

    async def user(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.Response(
                status=401,
                headers={"WWW-Authenticate": 'MsRtcOAuth href="/token",grant_type="password"'},
            )
        return web.json_response({"_links": {"applications": {"href": "/apps"}}})

    async def token(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"access_token": TOKEN, "token_type": "Bearer"})

    async def create_app(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.application, status=201)

    async def no_content(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async def logs(self, request: web.Request) -> web.StreamResponse:
        links = [{"href": path} for path in self.log_paths]
        return web.json_response({"_links": {"conversationLog": links}})

    async def missed(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"voiceMailsCount": 1, "conversationLogsCount": 2})

    async def batch(self, request: web.Request) -> web.StreamResponse:
        """Answer each GET of the batch with `log_bodies[path]` (bytes as sent, or JSON)."""
        paths = _BATCH_GET_RE.findall((await request.read()).decode())
        parts = []
        for path in paths:
            body = self.log_bodies.get(path, log_body(path))
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            parts.append(
                b"--b\r\nContent-Type: application/http; msgtype=response\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + raw + b"\r\n"
            )
        return web.Response(
            body=b"".join(parts) + b"--b--\r\n",
            headers={"Content-Type": "multipart/batching; boundary=b"},
        )


class RequestGuard:
    """Every request the client's session started, seen before it connects."""

    def __init__(self) -> None:
        self.started: list[URL] = []

    async def on_request_start(
        self,
        _session: aiohttp.ClientSession,
        _context: types.SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        self.started.append(params.url)
        with contextlib.suppress(ValueError):
            if not ipaddress.ip_address(params.url.host or "").is_loopback:
                raise OSError(f"test guard: no request to {params.url.host}")

    def off(self, *origins: str) -> list[URL]:
        """Return the requests started to any origin but these (`scheme://host:port`)."""
        allowed = {origin.lower() for origin in origins}
        return [url for url in self.started if str(url.origin()).lower() not in allowed]


@contextlib.asynccontextmanager
async def guarded_session(
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[tuple[aiohttp.ClientSession, RequestGuard]]:
    """Yield a session that resolves every name to 127.0.0.1 and records (and fences) every request."""
    guard = RequestGuard()
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(guard.on_request_start)  # type: ignore[arg-type]
    connector = aiohttp.TCPConnector(
        resolver=LoopbackResolver(), use_dns_cache=False, ssl=ssl_context or True
    )
    async with aiohttp.ClientSession(connector=connector, trace_configs=[trace]) as session:
        yield session, guard
