"""Routing and dispatch: from an HTTP request (or a batch part) through recording, faults and authentication to a handler."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import re

from aiohttp import web
from multidict import CIMultiDict

from simulator.config import SimulatorConfig
from simulator.discovery import Tokens
from simulator.faults import DropConnection, Faults
from simulator.pool import Pool
from simulator.recorder import Recorder
import simulator.representations as rep
from simulator.state import Application, Fault
from simulator.wire import Call, Reply, UcwaReplyError, json_reply

Handler = Callable[[Call, Application | None, dict[str, str]], Awaitable[Reply]]
"""Every handler gets the call, its live application (routes under one) and the path's groups."""

NOT_IN_BATCH = frozenset({"events", "batch"})


@dataclass(frozen=True, slots=True)
class Route:
    """One UCWA resource: a path pattern and a handler per method."""

    name: str
    pattern: re.Pattern[str]
    handlers: dict[str, Handler]
    open: bool = False
    """Open routes (discovery, token, user) do their own authentication or none."""


def route(name: str, path: str, *, open_: bool = False, **handlers: Handler) -> Route:
    """Return a route whose path matches case-insensitively, with or without a trailing slash."""
    pattern = re.compile(f"{path}/?" if path != "/" else "/", re.IGNORECASE)
    return Route(name, pattern, {method.upper(): fn for method, fn in handlers.items()}, open_)


def _response_headers(reply: Reply, call: Call, config: SimulatorConfig) -> CIMultiDict[str]:
    """Return the pool's own headers for every answer; the token route must never be cached."""
    headers: CIMultiDict[str] = CIMultiDict(reply.headers)
    if reply.content_type is not None:
        headers["Content-Type"] = reply.content_type
    headers["X-MS-Server-Fqdn"] = config.server_fqdn
    headers["X-MS-UcwaVersion"] = config.ucwa_version
    headers["X-Content-Type-Options"] = "nosniff"
    if call.path.lower().startswith(rep.TOKEN_PATH.lower()):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    else:
        headers["Cache-Control"] = "no-cache"
        headers["Pragma"] = "no-cache"
        headers["Expires"] = "-1"
    return headers


class Dispatcher:
    """Every UCWA request, alone or in a batch, passes here: record, fault, authenticate, handle.

    `routes` is filled in after construction because the batch handler dispatches again.
    """

    def __init__(self, pool: Pool, recorder: Recorder, faults: Faults, tokens: Tokens) -> None:
        """Take the parts dispatch consults; no route yet."""
        self.pool = pool
        self.recorder = recorder
        self.faults = faults
        self.tokens = tokens
        self.routes: list[Route] = []

    def resolve(self, path: str) -> tuple[Route | None, dict[str, str]]:
        """Return the first route whose pattern matches the whole path, and its groups."""
        for candidate in self.routes:
            match = candidate.pattern.fullmatch(path)
            if match:
                return candidate, match.groupdict()
        return None, {}

    async def entry(self, request: web.Request) -> web.StreamResponse:
        """Translate between aiohttp and the wire types; a dropped request closes the transport."""
        body = await request.read()
        call = Call(
            method=request.method.upper(),
            path=request.path,
            query=dict(request.query),
            headers=CIMultiDict(request.headers),
            body=body,
            origin=f"{request.scheme}://{request.host}",
        )
        try:
            reply = await self.dispatch(call)
        except DropConnection:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        headers = _response_headers(reply, call, self.pool.config)
        return web.Response(status=reply.status, body=reply.body or None, headers=headers)

    async def dispatch(self, call: Call) -> Reply:
        """Record the call, apply any armed fault, else handle it; UCWA errors become replies."""
        found, params = self.resolve(call.path)
        name = found.name if found is not None else "unknown"
        record = self.recorder.record(call, name)
        delay = self.faults.take(call, {"delay"})
        if delay is not None:
            await asyncio.sleep(delay.seconds)
        fault = self.faults.take(call, {"fail", "drop", "drop_after"})
        if fault is not None and fault.kind == "drop":
            raise DropConnection
        if fault is not None and fault.kind == "fail":
            reply = self._fault_reply(fault, call, name)
        else:
            try:
                reply = await self._handle(found, params, call)
            except UcwaReplyError as err:
                reply = err.reply()
        if fault is not None and fault.kind == "drop_after":
            raise DropConnection
        self.recorder.finish(record, reply.status)
        return reply

    async def _handle(self, found: Route | None, params: dict[str, str], call: Call) -> Reply:
        if found is None:
            raise UcwaReplyError(404, "NotFound")
        if not found.open and (challenge := self.tokens.authenticate(call)) is not None:
            return challenge
        handler = found.handlers.get(call.method)
        if handler is None:
            raise UcwaReplyError(405, "MethodNotAllowed")
        if call.in_batch and found.name in NOT_IN_BATCH:
            raise UcwaReplyError(
                400, "BadRequest", message=f"{found.name} is not allowed in a batch."
            )
        app = self.pool.live_app(params["app"]) if "app" in params else None
        return await handler(call, app, params)

    def _fault_reply(self, fault: Fault, call: Call, route_name: str) -> Reply:
        """Return an injected error in the shape its route answers: a challenge, OAuth or UCWA body."""
        if fault.status == 401:
            return self.tokens.challenge(call)
        if route_name == "oauthtoken":
            return json_reply(fault.status, {"error": fault.code})
        return UcwaReplyError(fault.status, fault.code, fault.subcode, fault.message).reply()
