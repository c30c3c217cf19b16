"""The user's own presence, note and location (presence_ref.md, note_ref.md, location_ref.md).

They exist for an application only once it made itself available (MeDashboard.md): before, GET
and POST answer 409 MakeMeAvailableRequired. Every change that alters what an application would
read is announced to every available application of the user with an `updated` event, sender
`me`, link only unless the pool embeds resources (`embedded_events`).

What the pool publishes as the user's presence (MeDashboard.md: "an aggregation of her status
from all of the applications that the user is signed in to"), in this order:

1. A manual availability wins: the last POST presence `{"availability": X}` of any application,
   or makeMeAvailable's `signInAs` ("the preferred availability of the user upon making herself
   available"). An empty POST resets it to automatic (ResetMyPresenceInformation.md). Offwork
   is published as Away with the activity "Off Work" (Availability_ref.md has no Offwork).
2. Otherwise a state another device publishes that is not a machine state (Busy, IdleBusy,
   DoNotDisturb, BeRightBack: a call, a meeting, a choice made there), with its activity.
3. Otherwise the most active machine state (Online, IdleOnline, Away, Offline) among the other
   devices' state and each available application endpoint's own state. An endpoint's own state
   follows only its own reportMyActivity: MeDashboard.md's note, "Availability in this case is
   only the availability of the user from the current application". It is Online for
   `inactive_timeout` after its last report, IdleOnline for `away_timeout` more, then Away; an
   endpoint that never reported activity is Away. So an application that keeps its event
   channel open, reads and calls back, but never reports activity, never makes an Away user
   look present.
"""

from __future__ import annotations

import time
from typing import Any

from simulator.config import SimulatorConfig
from simulator.hrefs import Hrefs
from simulator.pool import Pool
import simulator.representations as rep
from simulator.state import Application, DevicePresence, UserPresence
from simulator.wire import Call, Reply, UcwaReplyError, empty_reply, invalid_parameter, json_reply

AVAILABILITY = frozenset(
    {"Away", "BeRightBack", "Busy", "DoNotDisturb", "IdleBusy", "IdleOnline", "Offline", "Online"}
)
"""Availability_ref.md: what presence reads."""
PREFERRED_AVAILABILITY = frozenset(
    {"Online", "Busy", "DoNotDisturb", "BeRightBack", "Away", "Offwork"}
)
"""PreferredAvailability_ref.md: what a user may choose (POST presence, signInAs)."""
MACHINE_RANK = {"Online": 3, "IdleOnline": 2, "Away": 1, "Offline": 0}
"""Machine states, most active first wins; the other availabilities are states a person chose."""
ACTIVITY = {
    "Online": "Available",
    "IdleOnline": "Inactive",
    "Busy": "Busy",
    "IdleBusy": "Inactive",
    "DoNotDisturb": "Do Not Disturb",
    "BeRightBack": "Be Right Back",
    "Away": "Away",
    "Offline": "Offline",
}
"""The activity text (culture en-US) of an availability published without an activity of its own."""
MANUAL = {
    **{choice: (choice, ACTIVITY[choice]) for choice in PREFERRED_AVAILABILITY - {"Offwork"}},
    "Offwork": ("Away", "Off Work"),
}
"""What a manual availability publishes: (availability, activity)."""
LOCATION_LIMIT = 60
"""location_ref.md: "The maximum length is 60 characters"."""
ME_RESOURCES = ("presence", "note", "location")


def endpoint_state(app: Application, now: float, config: SimulatorConfig) -> str:
    """Return one application endpoint's own machine state: only its own reportMyActivity counts."""
    if app.activity_reported is None:
        return "Away"
    idle = now - app.activity_reported
    if idle < config.inactive_timeout:
        return "Online"
    if idle < config.inactive_timeout + config.away_timeout:
        return "IdleOnline"
    return "Away"


def published_presence(pool: Pool, now: float | None = None) -> tuple[str, str]:
    """Return (availability, activity) as the pool publishes them (the module's three rules)."""
    presence = pool.presence
    if presence.manual is not None:
        return MANUAL[presence.manual]
    other = presence.other_devices
    if other is not None and other.availability not in MACHINE_RANK:
        return other.availability, other.activity
    moment = time.monotonic() if now is None else now
    candidates = [(other.availability, other.activity)] if other is not None else []
    for app in pool.available_apps():
        state = endpoint_state(app, moment, pool.config)
        candidates.append((state, ACTIVITY[state]))
    if not candidates:
        return "Offline", ACTIVITY["Offline"]
    return max(candidates, key=lambda candidate: MACHINE_RANK[candidate[0]])


def displayed_note(presence: UserPresence) -> tuple[str, str]:
    """Return (message, type): an out-of-office note set in Exchange hides the personal one."""
    if presence.out_of_office_note:
        return presence.out_of_office_note, "OutOfOffice"
    return presence.personal_note, "Personal"


def _current(pool: Pool, rel: str) -> tuple[str, ...]:
    if rel == "presence":
        return published_presence(pool)
    if rel == "note":
        return displayed_note(pool.presence)
    return (pool.presence.location,)


def presence_body(h: Hrefs, pool: Pool) -> dict[str, Any]:
    """Return the user's presence, keys in presence_ref.md's sample order."""
    availability, activity = published_presence(pool)
    return {
        "rel": "presence",
        "activity": activity,
        "availability": availability,
        "_links": h.links(self=h.under("me/presence")),
    }


def note_body(h: Hrefs, pool: Pool) -> dict[str, Any]:
    """Return the note as note_ref.md's sample shows it; "" when the user has none."""
    message, kind = displayed_note(pool.presence)
    return {
        "rel": "note",
        "message": message,
        "type": kind,
        "_links": h.links(self=h.under("me/note")),
    }


def location_body(h: Hrefs, pool: Pool) -> dict[str, Any]:
    """Return the user's location as location_ref.md's sample shows it."""
    return {
        "rel": "location",
        "location": pool.presence.location,
        "_links": h.links(self=h.under("me/location")),
    }


BODIES = {"presence": presence_body, "note": note_body, "location": location_body}


def me_event(pool: Pool, app: Application, rel: str, kind: str) -> None:
    """Queue one event about me's `rel` for `app` (sender me, embedded where the pool embeds)."""
    h = pool.hrefs(app)
    body = BODIES[rel](h, pool) if kind != "deleted" else None
    pool.emit(app, "me", h.under("me"), rep.event(h, rel, h.under(f"me/{rel}"), kind, body))


def publish(pool: Pool, rels: tuple[str, ...] = ME_RESOURCES) -> None:
    """Announce `updated` to every available application for each of `rels` that changed."""
    for rel in rels:
        now = _current(pool, rel)
        if pool.presence.published.get(rel) == now:
            continue
        pool.presence.published[rel] = now
        for app in pool.available_apps():
            me_event(pool, app, rel, "updated")


def lurk(pool: Pool, apps: list[Application], *, announce: bool) -> None:
    """Put applications back in lurker mode; with `announce`, tell them as the reference does.

    Each gets presence, note and location `deleted` ("the application will no longer receive
    the user's presence updates", presence_ref.md) and `me` `updated` (its links changed).
    """
    for app in apps:
        app.available = False
        if announce:
            for rel in ME_RESOURCES:
                me_event(pool, app, rel, "deleted")
            h = pool.hrefs(app)
            me = h.under("me")
            pool.emit(
                app, "me", me, rep.event(h, "me", me, "updated", rep.me_body(h, app, pool.user))
            )
    publish(pool, ("presence",))


def set_other_devices(pool: Pool, availability: str | None, activity: str | None = None) -> None:
    """Publish what the user's other devices say (None: none is signed in), as a device would."""
    if availability is None:
        pool.presence.other_devices = None
    elif availability not in AVAILABILITY:
        raise ValueError(f"availability is one of {sorted(AVAILABILITY)}, not {availability!r}")
    else:
        pool.presence.other_devices = DevicePresence(
            availability, activity if activity is not None else ACTIVITY[availability]
        )
    publish(pool, ("presence",))


def set_device_note(pool: Pool, message: str, kind: str = "Personal") -> None:
    """Set the note as another device (Personal) or Exchange (OutOfOffice) would; "" clears it."""
    if kind == "Personal":
        pool.presence.personal_note = message
    elif kind == "OutOfOffice":
        pool.presence.out_of_office_note = message
    else:
        raise ValueError(f"type is Personal or OutOfOffice, not {kind!r}")
    publish(pool, ("note",))


def presence_state(pool: Pool) -> dict[str, Any]:
    """Describe the user's presence for `GET /_sim/state`: published, manual, other devices."""
    presence = pool.presence
    availability, activity = published_presence(pool)
    message, kind = displayed_note(presence)
    other = presence.other_devices
    return {
        "availability": availability,
        "activity": activity,
        "manual": presence.manual,
        "other_devices": None
        if other is None
        else {"availability": other.availability, "activity": other.activity},
        "note": {"message": message, "type": kind},
        "location": presence.location,
    }


class MeHandlers:
    """GET and POST on me's presence, note and location."""

    def __init__(self, pool: Pool) -> None:
        """Share the pool with the other families."""
        self.pool = pool

    @staticmethod
    def _available(app: Application | None) -> Application:
        assert app is not None
        if not app.available:
            raise UcwaReplyError(409, "Conflict", "MakeMeAvailableRequired")
        return app

    async def get_part(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Return presence, note or location (the route's last path segment names it)."""
        live = self._available(app)
        rel = call.path.rstrip("/").rsplit("/", 1)[-1].lower()
        return json_reply(200, BODIES[rel](self.pool.hrefs(live), self.pool))

    async def post_presence(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Set the manual availability; an empty body (or a null one) resets it to automatic."""
        self._available(app)
        wanted = call.input().get("availability")
        if wanted is not None and wanted not in PREFERRED_AVAILABILITY:
            raise invalid_parameter("availability")
        self.pool.presence.manual = wanted
        publish(self.pool, ("presence",))
        return empty_reply()

    async def post_note(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Publish a personal note; a blank message (or none) resets it (note_ref.md)."""
        self._available(app)
        message = call.input().get("message", "")
        if not isinstance(message, str):
            raise invalid_parameter("message")
        self.pool.presence.personal_note = message if message.strip() else ""
        publish(self.pool, ("note",))
        return empty_reply()

    async def post_location(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Set the location (at most 60 characters); an empty body clears it."""
        self._available(app)
        location = call.input().get("location", "")
        if not isinstance(location, str) or len(location) > LOCATION_LIMIT:
            raise invalid_parameter("location")
        self.pool.presence.location = location
        publish(self.pool, ("location",))
        return empty_reply()
