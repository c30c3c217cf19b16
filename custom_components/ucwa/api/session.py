"""The session state the rooms share: application generation, discovery freshness, event-channel health."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SessionState:
    """One explicit object instead of flags spread over one class; each room gets this one.

    Who writes what: the application room bumps `generation`; the chokepoint sets
    `discovery_stale` on 403/502 and discovery clears it; the event channel sets `events_ok`;
    the façade sets `closed`. Everyone else only reads.
    """

    generation: int = 0
    """Bumped for every new application; a request remembers the one it used to tell a loss
    of its own application from one someone already repaired."""
    applications_url: str | None = None
    """Where discovery found the user's applications (cached until a failure, RootURL.md)."""
    discovery_stale: bool = False
    """A 403 or 502 (and nothing else, RootURL.md) said the cached pool may be wrong."""
    events_ok: bool = False
    """The event channel's last answer was good, so caches that events keep fresh are trusted."""
    closed: bool = False
    """close() ran: nothing may create an application any more (it would never be deleted)."""
