"""STAND-IN until branch issue14-api is merged: the presence models and calls of the contract.

/work/notes/presence-contract.md names what `custom_components.ucwa.api` will offer (Presence,
Note, PresenceUpdated, NoteUpdated, AVAILABILITY, PREFERRED_AVAILABILITY and the client's
get_presence, get_note, set_availability, reset_availability, set_note). Until the client has
them, this module gives the integration the same names; a client without the calls behaves like
a server that withholds presence and note (UcwaLinkNotOfferedError). Deleted at the merge, when
the imports switch to `.api`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from .api import UcwaClient, UcwaLinkNotOfferedError

AVAILABILITY: Final = (
    "Online",
    "IdleOnline",
    "Busy",
    "IdleBusy",
    "DoNotDisturb",
    "BeRightBack",
    "Away",
    "Offline",
)
PREFERRED_AVAILABILITY: Final = ("Online", "Busy", "DoNotDisturb", "BeRightBack", "Away", "Offwork")


@dataclass(frozen=True, slots=True)
class Presence:
    """The user's availability and activity as the server sent them."""

    availability: str | None
    activity: str | None


@dataclass(frozen=True, slots=True)
class Note:
    """The user's note: its text and whether it is Personal or OutOfOffice."""

    message: str | None
    type: str | None


@dataclass(frozen=True, slots=True)
class PresenceUpdated:
    """The user's presence changed."""

    presence: Presence


@dataclass(frozen=True, slots=True)
class NoteUpdated:
    """The user's note changed."""

    note: Note


def _call(client: UcwaClient, name: str, rel: str) -> Callable[..., Awaitable[Any]]:
    method: Callable[..., Awaitable[Any]] | None = getattr(client, name, None)
    if method is None:
        raise UcwaLinkNotOfferedError(rel, "me")
    return method


async def get_presence(client: UcwaClient) -> Presence:
    """Read the user's presence."""
    presence: Presence = await _call(client, "get_presence", "presence")()
    return presence


async def get_note(client: UcwaClient) -> Note:
    """Read the user's note."""
    note: Note = await _call(client, "get_note", "note")()
    return note


async def set_availability(client: UcwaClient, value: str) -> None:
    """POST a PreferredAvailability value on presence."""
    await _call(client, "set_availability", "presence")(value)


async def reset_availability(client: UcwaClient) -> None:
    """POST an empty body on presence."""
    await _call(client, "reset_availability", "presence")()


async def set_note(client: UcwaClient, message: str) -> None:
    """POST the personal note."""
    await _call(client, "set_note", "note")(message)
