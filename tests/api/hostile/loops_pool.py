"""A UCWA pool on 127.0.0.1 that misbehaves on purpose in the ways that used to make loops spin.

Shared by tests/api/hostile/test_loops*.py (shrunk timings, 1 s windows) and
benchmarks/hostile_loops.py (real timings, 10 s windows). Each `Behaviour` is one server of
issue 9's table: the event channel's P-GET answered at once and empty, with a 302, with 404
ApplicationNotFound or 410 InactiveApplicationExpired, with 403, with a missedItems (or presence,
or note) event every time, a body that makes the loop raise, and a token endpoint whose `expires_in` is 0, -5, NaN or
"abc". Everything else answers like a normal pool, so what is counted is the loop's own doing.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field, fields, replace
import itertools
from typing import Any

from aiohttp import web

from custom_components.ucwa.api import UcwaClient, UcwaConfig, UcwaTimings

BEHAVIOURS = (
    "empty",
    "redirect",
    "not_found",
    "expired",
    "forbidden",
    "missed_items",
    "presence",
    "note",
    "expires_zero",
    "expires_negative",
    "expires_nan",
    "expires_text",
    "crash",
)
"""Every behaviour the pool can show; "normal" holds each P-GET like a well-behaved server."""

_EXPIRES = {
    "expires_zero": "0",
    "expires_negative": "-5",
    "expires_nan": "NaN",
    "expires_text": '"abc"',
}


def scaled(timings: UcwaTimings, factor: float) -> UcwaTimings:
    """Every delay of `timings` divided by `factor`; counts (`refresh_burst`) stay as they are.

    The tests run the real budget ten times faster: a 1 s window with timings / 10 stands for
    the issue's 10 s window with real timings, and the limits (counts) stay the same.
    """
    seconds = (f.name for f in fields(timings) if isinstance(getattr(timings, f.name), float))
    return replace(timings, **{name: getattr(timings, name) / factor for name in seconds})


@dataclass
class LoopPool:
    """The server: `behaviour` may be changed while it runs (a server that gets better)."""

    behaviour: str = "normal"
    hold: float = 30.0
    """How long a well-behaved P-GET is held before an empty answer."""
    origin: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    _apps: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _acks: itertools.count[int] = field(default_factory=lambda: itertools.count(2))

    def count(self, key: str) -> int:
        """Return the requests of one kind so far: pget, grant, application, missed_items, logs, me, presence, note, user, root."""
        return self.counts[key]

    @property
    def discovery_url(self) -> str:
        """Where the client starts."""
        return f"{self.origin}/root"

    def web_app(self) -> web.Application:
        """Build the aiohttp application that plays the pool."""
        app = web.Application()
        app.router.add_get("/root", self._root)
        app.router.add_get("/user", self._user)
        app.router.add_post("/token", self._token)
        app.router.add_post("/apps", self._create)
        app.router.add_post("/apps/{app}/mma", self._ok)
        app.router.add_get("/apps/{app}/ev", self._pget)
        app.router.add_get("/apps/{app}/missed", self._missed)
        app.router.add_get("/apps/{app}/logs", self._logs)
        app.router.add_get("/apps/{app}/me", self._me)
        app.router.add_get("/apps/{app}/me/{part}", self._me_part)
        app.router.add_delete("/apps/{app}", self._ok)
        return app

    async def _root(self, request: web.Request) -> web.Response:
        self.counts["root"] += 1
        return web.json_response({"_links": {"user": {"href": "/user"}}})

    async def _user(self, request: web.Request) -> web.Response:
        self.counts["user"] += 1
        if "Authorization" not in request.headers:
            challenge = 'MsRtcOAuth href="/token",grant_type="password"'
            return web.Response(status=401, headers={"WWW-Authenticate": challenge})
        return web.json_response({"_links": {"applications": {"href": "/apps"}}})

    async def _token(self, request: web.Request) -> web.Response:
        self.counts["grant"] += 1
        if self.behaviour == "refused":
            return web.json_response({"error": "invalid_grant"}, status=400)
        expires_in = _EXPIRES.get(self.behaviour, "3600")
        body = f'{{"access_token": "cwt=t{self.counts["grant"]}", "expires_in": {expires_in}}}'
        return web.Response(text=body, content_type="application/json")

    async def _create(self, request: web.Request) -> web.Response:
        self.counts["application"] += 1
        n = next(self._apps)
        base = f"/apps/{n}"
        return web.json_response(
            {
                "_links": {"self": {"href": base}, "events": {"href": f"{base}/ev?ack=1"}},
                "_embedded": {
                    "me": {
                        "_links": {
                            "self": {"href": f"{base}/me"},
                            "makeMeAvailable": {"href": f"{base}/mma"},
                        }
                    },
                    "communication": {
                        "_links": {
                            "missedItems": {"href": f"{base}/missed"},
                            "conversationLogs": {"href": f"{base}/logs"},
                        }
                    },
                },
            },
            status=201,
        )

    async def _ok(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _missed(self, request: web.Request) -> web.Response:
        self.counts["missed_items"] += 1
        return web.json_response({"missedCallsCount": 1, "unreadMissedCallsCount": 1})

    async def _logs(self, request: web.Request) -> web.Response:
        self.counts["logs"] += 1
        return web.json_response({"_links": {"self": {"href": request.path}}})

    async def _me(self, request: web.Request) -> web.Response:
        self.counts["me"] += 1
        base = f"/apps/{request.match_info['app']}/me"
        links = {"self": {"href": base}}
        links |= {part: {"href": f"{base}/{part}"} for part in ("presence", "note")}
        return web.json_response({"rel": "me", "_links": links})

    async def _me_part(self, request: web.Request) -> web.Response:
        part = request.match_info["part"]
        self.counts[part] += 1
        if part == "presence":
            return web.json_response({"availability": "Busy", "activity": "on-the-phone"})
        return web.json_response({"message": "Heads down", "type": "Personal"})

    async def _pget(self, request: web.Request) -> web.StreamResponse:
        self.counts["pget"] += 1
        app = request.match_info["app"]
        following = {"next": {"href": f"/apps/{app}/ev?ack={next(self._acks)}"}}
        behaviour = self.behaviour
        if behaviour == "empty":
            return web.json_response({"_links": following})
        if behaviour == "redirect":
            raise web.HTTPFound(following["next"]["href"])
        if behaviour in {"not_found", "expired", "forbidden"}:
            status, code, subcode = {
                "not_found": (404, "NotFound", "ApplicationNotFound"),
                "expired": (410, "Gone", "InactiveApplicationExpired"),
                "forbidden": (403, "Forbidden", None),
            }[behaviour]
            return web.json_response({"code": code, "subcode": subcode}, status=status)
        if behaviour == "missed_items":
            event = {
                "link": {"rel": "missedItems", "href": f"/apps/{app}/missed"},
                "type": "updated",
            }
            sender = {"rel": "communication", "href": f"/apps/{app}/comm", "events": [event]}
            return web.json_response({"_links": following, "sender": [sender]})
        if behaviour in {"presence", "note"}:
            event = {
                "link": {"rel": behaviour, "href": f"/apps/{app}/me/{behaviour}"},
                "type": "updated",
            }
            sender = {"rel": "me", "href": f"/apps/{app}/me", "events": [event]}
            return web.json_response({"_links": following, "sender": [sender]})
        if behaviour == "refused":
            # The password changed elsewhere: the token is refused and so is the password.
            challenge = 'MsRtcOAuth href="/token",grant_type="password"'
            return web.Response(status=401, headers={"WWW-Authenticate": challenge})
        if behaviour == "crash":
            # urljoin raises ValueError on this `next` link, inside the loop.
            return web.json_response({"_links": {"next": {"href": "http://[::1"}}})
        await asyncio.sleep(self.hold)
        return web.json_response({"_links": following})


@contextlib.asynccontextmanager
async def running(pool: LoopPool) -> AsyncIterator[LoopPool]:
    """Serve `pool` on 127.0.0.1 (any free port) until the block ends."""
    runner = web.AppRunner(pool.web_app(), handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    pool.origin = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield pool
    finally:
        await runner.cleanup()


def loop_client(pool: LoopPool, timings: UcwaTimings, **client_args: Any) -> UcwaClient:
    """Build a client for the pool's user (its own aiohttp session, closed with it)."""
    config = UcwaConfig(
        sign_in_address="alice@contoso.com", password="pw", discovery_url=pool.discovery_url
    )
    return UcwaClient(config, timings=timings, **client_args)


async def window(pool: LoopPool, seconds: float, key: str, cap: int = 1_000_000) -> int:
    """Count `key` requests over `seconds` (or until `cap` of them, to bound a tight loop)."""
    loop = asyncio.get_running_loop()
    before, end = pool.count(key), loop.time() + seconds
    while loop.time() < end and pool.count(key) - before < cap:  # noqa: ASYNC110  # a clock, not a wait
        await asyncio.sleep(min(0.05, seconds / 20))
    return pool.count(key) - before
