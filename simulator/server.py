"""The simulated pool: `Simulator`, the public face that composes the parts and owns the server's lifetime.

The parts: `Pool` (shared state and application lifetime), `Recorder` (requests and counts),
`Faults` (armed misbehaviours), `Tokens` (issued bearer tokens), `Dispatcher` (routing and
dispatch) and one handler object per resource family, wired to routes in `routes.py` in the order
a client meets them. The control API that tests and `scripts/develop` use lives apart, in
`control.py`, and is never recorded as UCWA traffic.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
import contextlib
from dataclasses import asdict
from datetime import UTC, datetime
import time
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import web

from simulator.advertised import AdvertisedHandlers
from simulator.application import ApplicationHandlers
from simulator.batch import BatchHandlers
from simulator.callback import CallbackHandlers
from simulator.communication import CommunicationHandlers
from simulator.config import CallbackOutcome, SimulatorConfig
from simulator.control import control_routes
from simulator.discovery import DiscoveryHandlers, Tokens
from simulator.events import EventHandlers
from simulator.faults import DropConnection, Faults
from simulator.logs import LogHandlers, deliver_log
from simulator.pool import Pool
from simulator.presence import (
    MeHandlers,
    endpoint_state,
    lurk,
    presence_state,
    publish,
    set_device_note,
    set_other_devices,
)
from simulator.recorder import Recorder
import simulator.representations as rep
from simulator.routes import Families, ucwa_routes
from simulator.routing import Dispatcher
from simulator.seed import Seed, default_seed, log_state, parse_log
from simulator.state import (
    Application,
    ConversationLogRecord,
    Fault,
    PhoneAudioInvitation,
    RecordedRequest,
    User,
)
from simulator.wire import encode_json


class Simulator:
    """A UCWA 2.0 pool with one user and their Exchange conversation logs.

    Start it, point the client at `discovery_url`, and steer it through the methods below (or
    the same operations under `/_sim/`).
    """

    def __init__(self, config: SimulatorConfig | None = None, seed: Seed | None = None) -> None:
        """Load the seed (the demo mailbox by default); nothing listens until `start()`."""
        seed = seed or default_seed()
        now = datetime.now(UTC)
        logs = [parse_log(item, now) for item in seed.logs]
        self.pool = Pool(config or SimulatorConfig(), seed.user, logs)
        self.recorder = Recorder()
        self._faults = Faults()
        self._token_store = Tokens(self.pool.config, self.pool.user)
        self._dispatcher = Dispatcher(self.pool, self.recorder, self._faults, self._token_store)
        self._dispatcher.routes = ucwa_routes(
            Families(
                discovery=DiscoveryHandlers(self.pool.config, self.pool.user, self._token_store),
                application=ApplicationHandlers(self.pool),
                me=MeHandlers(self.pool),
                events=EventHandlers(self.pool, self.recorder.notify),
                batch=BatchHandlers(self.pool.config, self._dispatcher.dispatch),
                communication=CommunicationHandlers(self.pool),
                logs=LogHandlers(self.pool),
                callback=CallbackHandlers(self.pool, self._spawn),
                advertised=AdvertisedHandlers(self.pool),
            )
        )
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # Lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on the configured loopback host and port (0 = any free port)."""
        web_app = web.Application(client_max_size=4 * 1024 * 1024)
        control_routes(self, web_app)
        web_app.router.add_route("*", "/{tail:.*}", self._dispatcher.entry)
        self._runner = web.AppRunner(web_app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self._spawn(self._expiry_loop())

    async def stop(self) -> None:
        """Release held P-GETs, stop call-backs and close the listener."""
        for app in self.applications.values():
            if app.channel.parked is not None:
                app.channel.parked.wake("shutdown")
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Start on entry."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on exit."""
        await self.stop()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background task that `stop()` cancels (the expiry loop, call-backs)."""
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expiry_loop(self) -> None:
        """Judge parked applications on a timer: they send no request that would judge them.

        The same tick publishes presence when an endpoint went idle or an application ended.
        """
        while True:
            await asyncio.sleep(self.pool.expiry_interval())
            self.pool.expire_parked()
            publish(self.pool, ("presence",))

    @property
    def port(self) -> int:
        """The port actually bound."""
        return self._port

    @property
    def base_url(self) -> str:
        """http://host:port of the running simulator."""
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"http://{host}:{self._port}"

    @property
    def discovery_url(self) -> str:
        """The autodiscovery root a client starts from."""
        return f"{self.base_url}{rep.ROOT_PATH}"

    # What tests read ----------------------------------------------------------------------------

    @property
    def config(self) -> SimulatorConfig:
        """The pool's settings; change knobs on it (or via `/_sim/config`), do not replace it."""
        return self.pool.config

    @property
    def user(self) -> User:
        """The one user the pool knows."""
        return self.pool.user

    @property
    def logs(self) -> list[ConversationLogRecord]:
        """The mailbox's conversation logs."""
        return self.pool.logs

    @property
    def applications(self) -> dict[str, Application]:
        """Registered applications by id."""
        return self.pool.applications

    @property
    def callbacks(self) -> list[PhoneAudioInvitation]:
        """Every call-back started, ended ones included."""
        return self.pool.callbacks

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every UCWA request received, batch parts included, oldest first."""
        return self.recorder.requests

    @property
    def route_counts(self) -> Counter[str]:
        """How many requests each `METHOD route` received."""
        return self.recorder.route_counts

    @property
    def faults(self) -> list[Fault]:
        """The faults still armed."""
        return self._faults.armed

    @property
    def issued_tokens(self) -> frozenset[str]:
        """The bearer tokens the pool issued and has not forgotten (expired ones may linger)."""
        return frozenset(self._token_store.expiries)

    # Control operations (also under /_sim/, see control.py) -------------------------------------

    def add_conversation_log(
        self, log: dict[str, Any] | None = None, **fields: Any
    ) -> ConversationLogRecord:
        """Deliver a log to the mailbox (seed format) and fire `missedItems updated`."""
        return deliver_log(self.pool, {**(log or {}), **fields})

    def fail_next(
        self,
        method: str | None = None,
        path: str = "",
        *,
        status: int = 500,
        code: str = "ServiceFailure",
        subcode: str | None = None,
        message: str | None = None,
        count: int = 1,
    ) -> Fault:
        """Answer the next `count` matching requests with this error instead of acting.

        `path` is a substring or a regular expression of the URL path. On the token route the
        body is the OAuth `{"error": code}`; a 401 is the usual challenge.
        """
        return self._faults.fail_next(
            method, path, status=status, code=code, subcode=subcode, message=message, count=count
        )

    def delay_next(self, method: str | None, path: str, seconds: float, *, count: int = 1) -> Fault:
        """Hold the next `count` matching requests for `seconds` before handling them."""
        return self._faults.delay_next(method, path, seconds, count)

    def drop_next(
        self, method: str | None, path: str, *, after: bool = False, count: int = 1
    ) -> Fault:
        """Close the connection of the next `count` matching requests without an answer.

        With `after=True` the server acts first, like a response lost in the network.
        """
        return self._faults.drop_next(method, path, after=after, count=count)

    def clear_faults(self) -> None:
        """Disarm every pending fault."""
        self._faults.clear()

    def expire_tokens(self) -> None:
        """Make every issued token invalid, as if their lifetime had passed."""
        self._token_store.expire_all()

    def drop_application(
        self, kind: Literal["not_found", "expired"] = "not_found", app_id: str | None = None
    ) -> list[str]:
        """End applications server-side: `not_found` answers 404 at once, `expired` 410 then 404."""
        if kind not in ("not_found", "expired"):
            raise ValueError(f"unknown kind {kind!r}")
        targets = (
            [self.applications[app_id]] if app_id is not None else list(self.applications.values())
        )
        for app in targets:
            if kind == "not_found":
                self.pool.remove_app(app)
            else:
                app.state = "expired"
                if app.channel.parked is not None:
                    app.channel.parked.wake("expired")
        return [app.app_id for app in targets]

    def set_device_presence(self, availability: str | None, activity: str | None = None) -> None:
        """Publish the user's presence from another device (a desktop client, a desk phone).

        `availability` is an Availability_ref.md member, or None when no other device is
        signed in; `activity` defaults to the availability's own text. Available applications
        get `presence updated` when what they read changes (simulator.presence).
        """
        set_other_devices(self.pool, availability, activity)

    def set_device_note(self, message: str, kind: str = "Personal") -> None:
        """Set the user's note from another device (Personal) or from Exchange (OutOfOffice)."""
        set_device_note(self.pool, message, kind)

    def return_to_lurker(self, app_id: str | None = None, *, announce: bool = True) -> list[str]:
        """Put applications back in lurker mode, as after makeMeAvailable was never sent.

        With `announce`, each gets presence, note and location `deleted` and a `me` `updated`
        event (presence_ref.md: "the application will no longer receive the user's presence
        updates"); without, it finds out from 409 MakeMeAvailableRequired.
        """
        targets = [self.applications[app_id]] if app_id is not None else self.pool.available_apps()
        lurk(self.pool, targets, announce=announce)
        return [app.app_id for app in targets]

    def set_callback_outcome(self, outcome: CallbackOutcome) -> None:
        """How the following call-backs end."""
        self.config.callback_outcome = outcome

    def reset_requests(self) -> None:
        """Forget recorded requests and route counts."""
        self.recorder.reset()

    async def wait_for_request(
        self, method: str, route: str, count: int = 1, seconds: float = 5.0
    ) -> RecordedRequest:
        """Wait until `count` requests of `METHOD route` were received; return the latest."""
        return await self.recorder.wait_for_request(method, route, count, seconds)

    async def wait_for_parked_pget(
        self, app_id: str | None = None, seconds: float = 5.0
    ) -> Application:
        """Wait until an application (this one, or any) holds a P-GET."""

        def parked() -> Application | None:
            for app in self.applications.values():
                if app.channel.parked is not None and app_id in (None, app.app_id):
                    return app
            return None

        return await self.recorder.wait_until(parked, seconds)

    def state(self) -> dict[str, Any]:
        """Everything a test or developer may want to look at, as JSON-ready data."""
        now = time.monotonic()
        return {
            "user": {
                "sign_in_address": self.user.sign_in_address,
                "username": self.user.username,
                "phone_number": self.user.phone_number,
                "name": self.user.name,
            },
            "applications": [
                {
                    "app_id": app.app_id,
                    "endpoint_id": app.endpoint_id,
                    "instance_id": app.instance_id,
                    "user_agent": app.user_agent,
                    "state": app.state,
                    "available": app.available,
                    "callback_number": app.callback_number,
                    "pget_parked": app.channel.parked is not None,
                    "acked": app.channel.acked,
                    "pending_events": len(app.channel.pending),
                    "seconds_since_activity": round(now - app.last_activity, 3),
                    "activity_reported": app.activity_reported is not None,
                    "endpoint_availability": endpoint_state(app, now, self.config)
                    if app.available
                    else None,
                }
                for app in self.applications.values()
            ],
            "presence": presence_state(self.pool),
            "logs": [log_state(log) for log in self.logs],
            "callbacks": [
                {
                    "invitation_id": inv.invitation_id,
                    "app_id": inv.app_id,
                    "log_id": inv.log_id,
                    "operation_id": inv.operation_id,
                    "phone_number": inv.phone_number,
                    "to": inv.to,
                    "state": inv.state,
                    "status": inv.status,
                    "reason": inv.reason,
                }
                for inv in self.callbacks
            ],
            "tokens": len(self._token_store.expiries),
            "faults": [asdict(fault) for fault in self.faults],
        }


__all__ = ["DropConnection", "Simulator", "encode_json"]
