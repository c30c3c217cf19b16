"""The pool's shared state (user, mailbox, applications, call-backs) and how long an application lives."""

from __future__ import annotations

from dataclasses import dataclass, field
import time
from typing import Any

from simulator.config import SimulatorConfig
from simulator.hrefs import Hrefs
from simulator.state import (
    Application,
    ConversationLogRecord,
    Event,
    PhoneAudioInvitation,
    User,
    UserPresence,
)
from simulator.wire import UcwaReplyError


@dataclass(eq=False)
class Pool:
    """What every resource family shares; handlers get it explicitly instead of a server object.

    The lifetime rules live here because dispatch (410 then 404), the event channel (a parked
    P-GET woken by expiry) and the call-back (a call keeps its application alive) all apply them.
    """

    config: SimulatorConfig
    user: User
    logs: list[ConversationLogRecord]
    applications: dict[str, Application] = field(default_factory=dict)
    callbacks: list[PhoneAudioInvitation] = field(default_factory=list)
    presence: UserPresence = field(default_factory=UserPresence)
    counter: int = 100

    def hrefs(self, app: Application) -> Hrefs:
        """Return the href builder of one application in the current shape."""
        return Hrefs(app.origin, app.app_id, self.config)

    def next_id(self) -> str:
        """Return a fresh id; applications, invitations and conversations share one counter."""
        self.counter += 1
        return str(self.counter)

    def emit(
        self, app: Application, sender_rel: str, sender_href: str, body: dict[str, Any]
    ) -> None:
        """Queue an event for the application's next batch and release its held P-GET."""
        app.channel.pending.append(Event(sender_rel, sender_href, body))
        if app.channel.parked is not None:
            app.channel.parked.wake("events")

    def available_apps(self) -> list[Application]:
        """Return the applications that made themselves available (they receive me's events)."""
        return [app for app in self.applications.values() if app.available]

    def in_call(self, app: Application) -> bool:
        """Whether a call-back of this application is still going on."""
        return any(
            inv.app_id == app.app_id and not inv.conversation_ended for inv in self.callbacks
        )

    def check_expiry(self, app: Application) -> None:
        """Apply the two documented ways an idle application dies (MeDashboard.md)."""
        if app.state != "active":
            return
        now = time.monotonic()
        channel = app.channel
        idle = channel.parked is None and now - channel.last_release > self.config.pget_idle_expiry
        inactive = (
            app.available
            and not self.in_call(app)
            and now - app.last_activity > self.config.activity_expiry
        )
        if idle or inactive:
            app.state = "expired"

    def live_app(self, app_id: str) -> Application:
        """Return the application, or the error its state calls for: 410 once, then 404."""
        app = self.applications.get(app_id)
        if app is None:
            raise UcwaReplyError(404, "NotFound", "ApplicationNotFound")
        self.check_expiry(app)
        if app.state == "expired":
            self.remove_app(app)
            raise UcwaReplyError(410, "Gone", "InactiveApplicationExpired")
        return app

    def remove_app(self, app: Application) -> None:
        """Forget the application; a held P-GET learns it is gone."""
        self.applications.pop(app.app_id, None)
        if app.channel.parked is not None:
            app.channel.parked.wake("gone")

    def expire_parked(self) -> None:
        """Expire applications whose P-GET is parked; the others are judged on their next request."""
        for app in list(self.applications.values()):
            self.check_expiry(app)
            if app.state == "expired" and app.channel.parked is not None:
                app.channel.parked.wake("expired")

    def expiry_interval(self) -> float:
        """How often parked applications are judged: often enough for the shortest expiry."""
        config = self.config
        shortest = min(
            config.pget_idle_expiry,
            config.activity_expiry,
            config.inactive_timeout,
            config.away_timeout,
        )
        return config.expiry_check_interval or min(5.0, max(0.05, shortest / 4))
