"""A read-only picture of the session for diagnostics: what is up, what the pool offers, what it cost.

`UcwaClient.session_info()` builds it from the rooms' own counters. Nothing in it leads to the
pool or the user: links are rel names without hrefs, and the last error keeps UCWA's code and
subcode but has its text scrubbed of the password and tokens (by the chokepoint's scrubber) and
of host names, addresses, SIP and tel URIs, e-mail addresses and phone numbers (`redact`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
import re
from typing import Final, Literal

from .exceptions import UcwaApiError

type EventChannelState = Literal["stopped", "connected", "reconnecting"]
"""`connected`: a P-GET is parked and the last answer was good; `reconnecting`: the loop runs
but the application or the channel is being restored; `stopped`: not started, closed, or ended
on refused credentials."""

HOST: Final = "<host>"
REDACTED: Final = "<redacted>"
MAX_MESSAGE_CHARS: Final = 300

_HEX = r"[0-9a-f]{1,4}"
_IPV6 = rf"(?<![\w:])(?:(?:{_HEX}:){{7}}{_HEX}|(?:{_HEX}(?::{_HEX})*)?::(?:{_HEX}(?::{_HEX})*)?)(?![\w:])"
_REDACTIONS: Final = (
    # Whole URLs first: their paths carry application and log ids.
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE), HOST),
    (re.compile(r"\b(?:sips?|tel):[^\s\"',;<>]+", re.IGNORECASE), REDACTED),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), REDACTED),
    (re.compile(r"cwt=[^\s\"',;&]+", re.IGNORECASE), REDACTED),
    (re.compile(r"\[[0-9a-f:.]+\](?::\d+)?", re.IGNORECASE), HOST),
    (re.compile(_IPV6, re.IGNORECASE), HOST),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), HOST),
    (
        re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?::\d+)?\b", re.IGNORECASE),
        HOST,
    ),
    (re.compile(r"\+?\d[\d ().-]{5,}\d"), REDACTED),
)


def redact(text: str) -> str:
    """Replace what could name the pool or a person in a message the client wrote or received.

    Host names, IP addresses and URLs become `<host>`; SIP and tel URIs, e-mail addresses (the
    sign-in address), `cwt=` tickets and phone numbers `<redacted>`. It errs on the side of
    redacting: a dotted word like a version number is taken for a host.
    """
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text[:MAX_MESSAGE_CHARS]


@dataclass(frozen=True, slots=True)
class SessionError:
    """The last error that broke the event channel or its recovery, without anything private."""

    kind: str
    """The exception's class, e.g. UcwaApiError, UcwaConnectionError, RecursionError."""
    status: int | None
    code: str | None
    subcode: str | None
    message: str
    at: datetime

    @classmethod
    def of(cls, err: BaseException, scrub: Callable[[str], str | None]) -> SessionError:
        """Describe `err` now; `scrub` removes the password and tokens (the chokepoint's)."""
        api = err if isinstance(err, UcwaApiError) else None
        return cls(
            kind=type(err).__name__,
            status=api.status if api else None,
            code=api.code if api else None,
            subcode=api.subcode if api else None,
            message=redact(scrub(str(err)) or ""),
            at=datetime.now(UTC),
        )


@dataclass(frozen=True, slots=True)
class RequestCounts:
    """What the session cost the pool since the client was built, counted where it is sent."""

    requests: int
    """Every HTTP request the chokepoint sent (a batch is one; aiohttp's own second try of a
    GET on a fresh connection, after the server closed a reused one, is not seen)."""
    pgets: int
    """P-GETs of the event channel."""
    discoveries: int
    """Walks of autodiscovery (sign-ins)."""
    token_grants: int
    """Password grants sent to a token endpoint."""
    applications_created: int
    """POSTs that create a UCWA application."""
    missed_items_reads: int
    """GETs of missedItems (the counters)."""
    log_list_reads: int
    """GETs of the conversation log list."""
    re_reads: int
    """Re-reads of counters and list after a missedItems event or a replaced application."""
    presence_reads: int = 0
    """GETs of the user's presence (the first read, re-reads after link-only events)."""
    note_reads: int = 0
    """GETs of the user's note."""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """Where the session stands: the answer to "why does it not update?" in a bug report."""

    signed_in: bool
    """Discovery found the user's applications URL."""
    application: bool
    """A UCWA application is alive."""
    event_channel: EventChannelState
    event_channel_failures: int
    """Failed P-GETs (or recoveries) in a row; 0 while all is well."""
    last_error: SessionError | None
    links: Mapping[str, tuple[str, ...]]
    """The rels `application`, `me` and `communication` offer now, by owner; empty without an
    application. Capability links (conversationLogs, missedItems, startPhoneAudio,
    reportMyActivity) appear here when the pool grants them."""
    counts: RequestCounts
