"""Typed views of the UCWA resources the client uses.

The wire format is parsed once, here, at the edge: the rest of the code (and Home Assistant) only sees
these frozen dataclasses. Unknown properties are ignored and missing ones become None, because the
reference says clients must tolerate both. Enumerated values (direction, status, type, state, code,
subcode) stay plain strings: servers add values the reference does not list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
import re
from typing import Any, Literal
from urllib.parse import unquote, urljoin, urlsplit

from .exceptions import UcwaError
from .presence import NoteUpdated, PresenceUpdated

_DATE_RE = re.compile(r"^/Date\((-?[0-9]{1,18})([+-][0-9]{4})?\)/$")
_INT_RE = re.compile(r"^-?[0-9]{1,18}$")
_PHONE_RE = re.compile(r"^(?:tel:)?\+([1-9][\d\s().-]*)$")
_OPERATION_ID_RE = re.compile(r"^[A-Za-z0-9._~-]{1,50}$")


def normalize_phone_number(value: str) -> str:
    """Return a phone number in the `tel:+<digits>` form UCWA samples use.

    The project's one phone-number rule (the action, the config flow and the client use it): E.164
    with its `+` and country code, 3 to 15 digits, optionally as a `tel:` URI and with the spaces,
    dots, dashes and brackets people type: `+14255551234`, `+1 (425) 555-1234`,
    `tel:+14255551234`. A number without `+` is refused rather than guessed: `425.555.1234` could
    ring the wrong country. Anything else (letters, `sip:` URIs) raises ValueError, so a typo is
    reported before a phone rings.
    """
    match = _PHONE_RE.match(value.strip())
    digits = re.sub(r"\D", "", match.group(1)) if match else ""
    if not 3 <= len(digits) <= 15:
        raise ValueError(
            f"Not a phone number: {value!r} (expected + and 3 to 15 digits, E.164, "
            "such as +14255551234)"
        )
    return f"tel:+{digits}"


def is_phone_number(value: str) -> bool:
    """Whether `normalize_phone_number` accepts the value (for form and schema validators)."""
    try:
        normalize_phone_number(value)
    except ValueError:
        return False
    return True


def validate_operation_id(value: str) -> str:
    """Check a caller's operation id: 1 to 50 URL-safe characters (continuePhoneAudio_ref.md)."""
    if not _OPERATION_ID_RE.match(value):
        raise ValueError(
            "operation_id must be 1 to 50 characters of A-Z, a-z, 0-9, '.', '_', '~', '-'"
        )
    return value


def parse_ucwa_datetime(value: object) -> datetime | None:
    """Read a UCWA date in either form a server sends.

    JSON uses ASP.NET's `/Date(ms)/` (milliseconds since the epoch, UTC, with an optional offset that
    only says which zone the writer was in); XML and some servers use ISO 8601 with seven fractional
    digits. Anything else yields None rather than an error, since a bad date must not hide a log:
    a `/Date(...)/` beyond year 9999 (OverflowError, OSError or ValueError from the platform's
    clock) and an offset of 99 hours included.
    """
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        if match := _DATE_RE.match(value):
            instant = datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
            if offset := match.group(2):
                sign = 1 if offset[0] == "+" else -1
                delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
                return instant.astimezone(timezone(sign * delta))
            return instant
        parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT_RE.match(value):
        # ASCII digits only (`²` is a digit to str.isdigit but not to int), and few enough of
        # them that int() cannot refuse: a bad count is None, not a failed list.
        return int(value)
    return None


def link_href(resource: Mapping[str, Any], rel: str, base_url: str) -> str | None:
    """Return the absolute href of a single link, or None when the server left the link out.

    A missing link is UCWA's way of saying "not allowed now" (Hypermedia.md), so callers treat None as
    a capability answer, not an error. Relative hrefs resolve against the pool's origin.
    """
    links = resource.get("_links")
    if not isinstance(links, Mapping):
        return None
    link = links.get(rel)
    if isinstance(link, list):
        link = link[0] if link else None
    if isinstance(link, Mapping) and isinstance(link.get("href"), str):
        return join_href(base_url, str(link["href"]))
    return None


def join_href(base_url: str, href: str) -> str:
    """Resolve an href; one the URL parser cannot read is kept as sent.

    Resolving must not raise (`http://[::1` is a ValueError to urljoin): the chokepoint refuses
    such a link with UcwaSecurityError when someone follows it, like any link off the pool.
    """
    try:
        return urljoin(base_url, href)
    except ValueError:
        return href


def link_hrefs(resource: Mapping[str, Any], rel: str, base_url: str) -> list[str]:
    """Return every href of a link relation that may be one object or a list of them.

    conversationLogs_ref.md shows `conversationLog` as an array while CommunicationDashboard.md shows
    a single object, so both are accepted.
    """
    links = resource.get("_links")
    if not isinstance(links, Mapping):
        return []
    value = links.get(rel)
    items = value if isinstance(value, list) else [value]
    return [
        join_href(base_url, item["href"])
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get("href"), str)
    ]


def log_id_from_href(href: str) -> str:
    """Derive the stable id of a conversation log from its href.

    The href embeds the application id, which changes whenever the application is recreated; the last
    path segment is the mailbox item's id, which does not. That is what users put in automations.
    """
    try:
        path = urlsplit(href).path
    except ValueError:  # an href the URL parser cannot read; requests to it are refused anyway
        path = href
    return unquote(path.rstrip("/").rsplit("/", 1)[-1])


@dataclass(frozen=True, slots=True)
class ConversationLogRecipient:
    """A remote party of a past conversation (conversationLogRecipient_ref.md)."""

    display_name: str | None
    sip_uri: str | None
    contact_href: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], base_url: str) -> ConversationLogRecipient:
        """Parse one embedded `conversationLogRecipient`."""
        return cls(
            display_name=_str(data, "displayName"),
            sip_uri=_str(data, "sipUri"),
            contact_href=link_href(data, "contact", base_url),
        )


@dataclass(frozen=True, slots=True)
class ConversationLog:
    """One past conversation (conversationLog_ref.md), with the links the client acts on."""

    log_id: str
    href: str
    creation_time: datetime | None
    direction: str | None
    importance: str | None
    modalities: tuple[str, ...]
    online_meeting_uri: str | None
    preview_message: str | None
    status: str | None
    subject: str | None
    thread_id: str | None
    total_recipients_count: int | None
    type: str | None
    recipients: tuple[ConversationLogRecipient, ...]
    continue_phone_audio_href: str | None
    mark_as_read_href: str | None

    @property
    def is_missed(self) -> bool:
        """Whether nobody answered: `status` Missed (Archived means answered)."""
        return self.status == "Missed"

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], base_url: str, href: str | None = None
    ) -> ConversationLog:
        """Parse a `conversationLog` body; `href` is the URL it was fetched from when known."""
        self_href = link_href(data, "self", base_url) or (href and join_href(base_url, href)) or ""
        embedded = data.get("_embedded")
        recipients_raw: Any = (
            embedded.get("conversationLogRecipient") if isinstance(embedded, Mapping) else None
        )
        if isinstance(recipients_raw, Mapping):
            recipients_raw = [recipients_raw]
        modalities = data.get("modalities")
        return cls(
            log_id=log_id_from_href(self_href),
            href=self_href,
            creation_time=parse_ucwa_datetime(data.get("creationTime")),
            direction=_str(data, "direction"),
            importance=_str(data, "importance"),
            modalities=tuple(m for m in modalities if isinstance(m, str))
            if isinstance(modalities, list)
            else (),
            online_meeting_uri=_str(data, "onlineMeetingUri"),
            preview_message=_str(data, "previewMessage"),
            status=_str(data, "status"),
            subject=_str(data, "subject"),
            thread_id=_str(data, "threadId"),
            total_recipients_count=_int(data, "totalRecipientsCount"),
            type=_str(data, "type"),
            recipients=tuple(
                ConversationLogRecipient.from_json(item, base_url)
                for item in recipients_raw or ()
                if isinstance(item, Mapping)
            ),
            continue_phone_audio_href=link_href(data, "continuePhoneAudio", base_url),
            mark_as_read_href=link_href(data, "markAsRead", base_url),
        )


@dataclass(frozen=True, slots=True)
class MissedItems:
    """Counters of unread voicemails and conversations (missedItems_ref.md)."""

    conversation_logs_count: int | None
    conversation_logs_notifications: str | None
    missed_conversations_count: int | None
    unread_missed_conversations_count: int | None
    unread_voicemails_count: int | None
    voicemails_count: int | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MissedItems:
        """Parse a `missedItems` body."""
        return cls(
            conversation_logs_count=_int(data, "conversationLogsCount"),
            conversation_logs_notifications=_str(data, "conversationLogsNotifications"),
            missed_conversations_count=_int(data, "missedConversationsCount"),
            unread_missed_conversations_count=_int(data, "unreadMissedConversationsCount"),
            unread_voicemails_count=_int(data, "unreadVoicemailsCount"),
            voicemails_count=_int(data, "voiceMailsCount"),
        )


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an operation failed (reason_ref.md): code and subcode are open strings."""

    code: str | None
    subcode: str | None
    message: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reason:
        """Parse a `reason` object, as carried by a failed `completed` event or an error body."""
        return cls(
            code=_str(data, "code"), subcode=_str(data, "subcode"), message=_str(data, "message")
        )


@dataclass(frozen=True, slots=True)
class PhoneAudioCall:
    """What `continue_phone_audio` started: the invitation to follow and how to correlate it."""

    invitation_href: str
    operation_id: str
    phone_number: str | None
    conversation_log_id: str


type InvitationEventType = Literal["started", "updated", "completed"]


@dataclass(frozen=True, slots=True)
class PhoneAudioInvitationEvent:
    """A phoneAudioInvitation event from the event channel.

    `status` and `reason` come only with `completed`: Success, or Failure with a reason such as
    RemoteFailure/Declined.
    """

    type: InvitationEventType
    href: str
    operation_id: str | None
    state: str | None
    direction: str | None
    status: str | None = None
    reason: Reason | None = None

    @classmethod
    def from_json(cls, event: Mapping[str, Any], base_url: str) -> PhoneAudioInvitationEvent | None:
        """Parse one event of the channel whose link rel is `phoneAudioInvitation`.

        The invitation may be embedded or not (events_ref.md), so the operation id and state can
        be missing; the client fills the operation id in from the href it learnt earlier.
        Resource-style types are mapped the way Events.js does (added→started, deleted→completed).
        Returns None for event types an operation cannot have.
        """
        link = event.get("link")
        if not isinstance(link, Mapping) or not isinstance(link.get("href"), str):
            return None
        kind = _INVITATION_EVENT_TYPES.get(str(event.get("type", "")).lower())
        if kind is None:
            return None
        embedded = event.get("_embedded")
        invitation: Mapping[str, Any] = {}
        if isinstance(embedded, Mapping) and isinstance(
            embedded.get("phoneAudioInvitation"), Mapping
        ):
            invitation = embedded["phoneAudioInvitation"]
        reason = event.get("reason")
        return cls(
            type=kind,
            href=join_href(base_url, link["href"]),
            operation_id=_str(invitation, "operationId"),
            state=_str(invitation, "state"),
            direction=_str(invitation, "direction"),
            status=_str(event, "status"),
            reason=Reason.from_json(reason) if isinstance(reason, Mapping) else None,
        )


_INVITATION_EVENT_TYPES: dict[str, InvitationEventType] = {
    "started": "started",
    "added": "started",
    "updated": "updated",
    "completed": "completed",
    "deleted": "completed",
}


@dataclass(frozen=True, slots=True)
class MissedItemsUpdated:
    """The server said missed items changed; the client re-read them (the event carries a link only)."""

    missed_items: MissedItems


@dataclass(frozen=True, slots=True)
class ConversationLogsAdded:
    """Logs the client had not seen before, newest first.

    The reference defines no conversationLog event, so the client finds these by re-reading the list
    when missed items change, or when the caller asks it to.
    """

    logs: tuple[ConversationLog, ...]


@dataclass(frozen=True, slots=True)
class ApplicationLost:
    """The UCWA application or the event channel is gone and could not be restored yet.

    `cause` is the error of the last attempt, so a caller can tell a refusal that needs the user
    (UcwaApplicationError) from a server that is merely away.
    """

    error: str
    cause: UcwaError | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AuthenticationFailed:
    """The server refused the credentials while the session was running; the channel stopped.

    The client stops rather than retrying, since every retry is a failed sign-in that counts
    towards the directory's account lockout. Only new credentials help.
    """

    error: str


@dataclass(frozen=True, slots=True)
class ApplicationRestored:
    """The application and its event channel are back after an `ApplicationLost`."""


type UcwaEvent = (
    PhoneAudioInvitationEvent
    | AuthenticationFailed
    | MissedItemsUpdated
    | ConversationLogsAdded
    | ApplicationLost
    | ApplicationRestored
    | PresenceUpdated
    | NoteUpdated
)
