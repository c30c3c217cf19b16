"""Typed views of the user's own presence and note (presence_ref.md, note_ref.md), and their events.

Like models.py, the wire format is parsed here, at the edge, and values stay the strings the server
sent: Availability_ref.md lists eight availabilities, but a server may add one, and the activity
is a token (`on-the-phone`) or text in the application's culture (`Off Work`). This module
imports nothing from the rest of the package, so models.py can list these events in `UcwaEvent`;
the room that reads and sets them is me.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

AVAILABILITY: Final[tuple[str, ...]] = (
    "Online",
    "IdleOnline",
    "Busy",
    "IdleBusy",
    "DoNotDisturb",
    "BeRightBack",
    "Away",
    "Offline",
)
"""The availabilities presence may read (Availability_ref.md), most available first."""

PREFERRED_AVAILABILITY: Final[tuple[str, ...]] = (
    "Online",
    "Busy",
    "DoNotDisturb",
    "BeRightBack",
    "Away",
    "Offwork",
)
"""The availabilities a user may choose (PreferredAvailability_ref.md): what `set_availability`
sends. Offwork has no Availability of its own: a pool reads it back as another availability
with the activity "Off Work"."""


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Presence:
    """The user's availability and activity, as every device of theirs adds up (MeDashboard.md)."""

    availability: str | None
    """Online, IdleOnline, Busy, IdleBusy, DoNotDisturb, BeRightBack, Away or Offline as sent
    (a value the reference does not list is kept too)."""
    activity: str | None
    """What the user is doing, as sent: a token (on-the-phone, in-a-conference, presenting) or
    text in the application's culture (Off Work)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Presence:
        """Parse a `presence` body (or one embedded in an event)."""
        return cls(availability=_text(data, "availability"), activity=_text(data, "activity"))


@dataclass(frozen=True, slots=True)
class Note:
    """The note others see next to the user's name (note_ref.md)."""

    message: str | None
    """The text; "" or None: no note."""
    type: str | None
    """Personal, or OutOfOffice while Exchange shows the out-of-office note instead."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Note:
        """Parse a `note` body (or one embedded in an event)."""
        return cls(message=_text(data, "message"), type=_text(data, "type"))


@dataclass(frozen=True, slots=True)
class PresenceUpdated:
    """The user's presence changed (or was read for the first time).

    `presence` is None when the server withdrew it (a `presence` `deleted` event: the
    application is back in lurker mode), so whoever shows it can say "unknown" instead of
    showing a stale value.
    """

    presence: Presence | None


@dataclass(frozen=True, slots=True)
class NoteUpdated:
    """The user's note changed (or was read for the first time); None: the server withdrew it."""

    note: Note | None
