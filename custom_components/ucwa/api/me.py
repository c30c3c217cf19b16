"""The user's own presence and note: read once, then kept by events; set with one POST each.

`me` links `presence` and `note` only after makeMeAvailable (MeDashboard.md), so their hrefs come
from me's current representation (`ApplicationLinks`), re-read when the links may have moved.
The pool announces every change to them with an `updated` event from `me` (presence_ref.md,
note_ref.md): the resource embedded, or a link only, which costs one GET, paced like the
missed-items re-reads (`PacedRefresh`, a budget of its own per resource). While the event
channel flows, a read is served from what the last read or event brought, at no cost.

Re-reads follow interest: a resource nobody has asked for yet is not read on its events (an
embedded one is still taken, for free), so a client that never shows presence never pays for
it. `added` (the application left lurker mode) reads only what is not known yet; `deleted`
(back in lurker mode) forgets it and reports None.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import logging
from typing import Any

from .application import Applications
from .config import UcwaTimings
from .exceptions import UcwaApiError, UcwaError, UcwaLinkNotOfferedError
from .links import ME
from .models import UcwaEvent
from .pacing import PacedRefresh
from .presence import PREFERRED_AVAILABILITY, Note, NoteUpdated, Presence, PresenceUpdated
from .transport import Response

_LOGGER = logging.getLogger(__package__)

MAKE_ME_AVAILABLE_REQUIRED = (409, "MakeMeAvailableRequired")


@dataclass(eq=False)
class _Resource[T]:
    """What the client knows of one of me's resources: the value, how fresh, who cares."""

    rel: str
    parse: Callable[[Mapping[str, Any]], T]
    updated: Callable[[T | None], UcwaEvent]
    value: T | None = None
    wanted: int = 0
    """Bumped whenever the server says the resource changed (a link-only event, a new
    application): a value read before that is stale."""
    have: int = -1
    """`wanted` as it was when the cached value was read (or embedded in an event)."""
    started: int = 0
    finished: int = 0
    """Reads started and the number of the last one that succeeded."""
    in_flight: bool = False
    reading: int = -1
    """`wanted` as it was when the last read started."""
    interested: bool = False
    """Someone asked for it: only then do link-only events cost a GET."""
    reads: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def fresh(self) -> bool:
        """Whether the cached value is the server's current one, as far as events tell."""
        return self.value is not None and self.have == self.wanted


class MyPresence:
    """The presence and note of the signed-in user (the room behind UcwaClient's presence methods)."""

    def __init__(
        self,
        apps: Applications,
        timings: UcwaTimings,
        *,
        trusted: Callable[[], bool],
        emit: Callable[[UcwaEvent], None],
    ) -> None:
        """`trusted` says whether events flow (the cache may answer); `emit` reports changes."""
        self._apps = apps
        self._trusted = trusted
        self._emit = emit
        self._resources: dict[str, _Resource[Any]] = {
            "presence": _Resource("presence", Presence.from_json, PresenceUpdated),
            "note": _Resource("note", Note.from_json, NoteUpdated),
        }
        self._pacers = {
            rel: PacedRefresh(timings, self._refresh_for(resource), f"ucwa {rel} re-read")
            for rel, resource in self._resources.items()
        }

    def reads(self, rel: str) -> int:
        """Count the GETs of `presence` or `note` so far (the session's diagnostics)."""
        return self._resources[rel].reads

    # ------------------------------------------------------------------ reads

    async def get_presence(self) -> Presence:
        """Return the user's presence: from the cache while events flow, else one GET."""
        value: Presence = await self._get(self._resources["presence"])
        return value

    async def get_note(self) -> Note:
        """Return the user's note: from the cache while events flow, else one GET."""
        value: Note = await self._get(self._resources["note"])
        return value

    async def _get(self, resource: _Resource[Any]) -> Any:
        resource.interested = True
        if resource.fresh and self._trusted():
            return resource.value
        return await self._read(resource)

    async def _read(self, resource: _Resource[Any]) -> Any:
        """GET the resource; callers that meet at the lock share one read (and its answer).

        A caller takes the answer of the read in flight when nothing changed since it began
        (concurrent first reads cost one GET), else that of a read started after it asked.
        """
        if resource.in_flight and resource.reading == resource.wanted:
            enough = resource.started
        else:
            enough = resource.started + 1
        async with resource.lock:
            if resource.finished >= enough and resource.value is not None:
                return resource.value
            resource.started += 1
            number, version = resource.started, resource.wanted
            resource.reading, resource.in_flight = version, True
            try:
                response = await self._send("GET", resource.rel)
            finally:
                resource.in_flight = False
            resource.reads += 1
            resource.finished = number
            value = resource.parse(response.json())
            if resource.have > version and resource.value is not None:
                return resource.value  # an event embedded a newer one meanwhile
            self._store(resource, value, version)
            return value

    def _store(self, resource: _Resource[Any], value: Any, version: int) -> None:
        """Keep a value read (or embedded) at `version`; report it when it differs."""
        changed = value != resource.value
        resource.value, resource.have = value, version
        if changed:
            self._emit(resource.updated(value))

    # ------------------------------------------------------------------ writes

    async def set_availability(self, availability: str) -> None:
        """POST presence with one of PREFERRED_AVAILABILITY (ValueError before sending otherwise)."""
        if availability not in PREFERRED_AVAILABILITY:
            raise ValueError(
                f"availability must be one of {', '.join(PREFERRED_AVAILABILITY)}, "
                f"not {availability!r}"
            )
        await self._write("presence", {"availability": availability})

    async def reset_availability(self) -> None:
        """POST presence with an empty body: automatic again (ResetMyPresenceInformation.md)."""
        await self._write("presence", None)

    async def set_note(self, message: str) -> None:
        """POST note with the message; "" resets it (note_ref.md: "If blank, the note will be reset")."""
        await self._write("note", {"message": message})

    async def _write(self, rel: str, body: Mapping[str, Any] | None) -> None:
        await self._send("POST", rel, body)
        # What the server publishes now follows from it (another device may still win): the
        # cached value is stale until the `updated` event (or a read) says what it is.
        self._resources[rel].wanted += 1

    async def _send(self, method: str, rel: str, body: Mapping[str, Any] | None = None) -> Response:
        """Send to me's `rel`; after 409 MakeMeAvailableRequired, make the user available again.

        The server put the application back in lurker mode without saying so. It refused the
        request without acting on it, so sending it once more after makeMeAvailable is safe.
        A POST without input goes out as an empty JSON request (ResetMyPresenceInformation.md
        shows one), not as the untyped body HTTP libraries send by default.
        """
        empty = method == "POST" and body is None
        for attempt in range(2):
            try:
                return await self._apps.request(
                    method,
                    ME,
                    rel,
                    json_body=body,
                    data=b"" if empty else None,
                    content_type="application/json" if empty else None,
                )
            except UcwaApiError as err:
                if attempt or (err.status, err.subcode) != MAKE_ME_AVAILABLE_REQUIRED:
                    raise
                if not await self._apps.make_available_again():
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ events

    def on_event(self, rel: str, kind: object, resource: Mapping[str, Any] | None) -> bool:
        """Apply one `presence`/`note` event from `me`; True when it calls for a re-read.

        `resource` is the embedded representation, if the event carries one.
        """
        state = self._resources[rel]
        if kind == "deleted":
            state.wanted += 1
            if state.value is not None:
                state.value = None
                self._emit(state.updated(None))
            return False
        if kind not in ("added", "updated"):
            return False
        if resource is not None:
            state.wanted += 1
            self._store(state, state.parse(resource), state.wanted)
            return False
        if kind == "added":
            # The application left lurker mode: a value read since (or being read) is current.
            return state.interested and not state.fresh and not state.in_flight
        state.wanted += 1
        return state.interested

    async def changed(self, rel: str) -> None:
        """Re-read `rel` within its budget (at once while it lasts)."""
        await self._pacers[rel].changed(None)

    def _refresh_for(self, resource: _Resource[Any]) -> Callable[[None], Any]:
        async def refresh(_payload: None) -> None:
            await self._refresh(resource)

        return refresh

    async def _refresh(self, resource: _Resource[Any]) -> None:
        """Re-read a resource an event (or a new application) said changed; never raises."""
        try:
            await self._read(resource)
        except UcwaLinkNotOfferedError as err:
            _LOGGER.debug("Not re-reading: %s", err)  # back in lurker mode, or a policy
        except UcwaError as err:
            _LOGGER.warning("Could not re-read the user's %s: %s", resource.rel, err)
        except Exception:
            _LOGGER.exception("Unexpected error while re-reading the user's %s", resource.rel)

    def reset(self) -> None:
        """Events may have been missed (resync, resume): the next read asks the server."""
        for resource in self._resources.values():
            resource.wanted += 1

    async def replaced(self) -> None:
        """Re-read what someone asked for: a new application's events start afresh."""
        for resource in self._resources.values():
            resource.wanted += 1
            if resource.interested:
                await self._refresh(resource)

    async def close(self) -> None:
        """Cancel re-reads waiting for their turn."""
        for pacer in self._pacers.values():
            await pacer.close()
