"""What the simulated pool and mailbox remember, as plain dataclasses.

The resource families' handlers read and change these (shared through `pool.Pool`);
`representations.py` turns them into the JSON the reference shows. Times that drive expiry are
`time.monotonic()` seconds; times that reach the wire are aware UTC datetimes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass(slots=True)
class User:
    """The one signed-in user the pool knows."""

    sign_in_address: str
    password: str
    phone_number: str
    """E.164 with a leading + (the number a call-back rings when nothing else is given)."""
    username: str | None = None
    """An extra accepted user name (UPN or DOMAIN\\user) besides the sign-in address."""
    name: str = "Alice Wood"
    title: str = "Program Manager"
    department: str = "Sales"
    company: str = "Contoso"
    office_location: str = "18/2107"
    voicemails: int = 0
    unread_voicemails: int = 0
    home_phone_number: str | None = None
    """E.164 with a leading +; `me` shows it as homePhoneNumber (me_ref.md) when set."""
    mobile_phone_number: str | None = None
    """E.164 with a leading +; `me` shows it as mobilePhoneNumber when set."""
    other_phone_number: str | None = None
    """E.164 with a leading +; `me` shows it as otherPhoneNumber when set."""

    @property
    def domain(self) -> str:
        """The SIP domain, which discovery and the Bearer challenge name."""
        return self.sign_in_address.partition("@")[2]

    @property
    def sip_uri(self) -> str:
        """The user's SIP URI."""
        return f"sip:{self.sign_in_address}"


@dataclass(frozen=True, slots=True)
class DevicePresence:
    """What the user's other devices publish (a desktop client, a desk phone): `POST /_sim/presence`."""

    availability: str
    """An Availability_ref.md member."""
    activity: str
    """A token (`on-the-phone`, `in-a-conference`) or localized text (`Off Work`), as sent."""


@dataclass(slots=True)
class UserPresence:
    """The user's presence, note and location, shared by all of the user's applications.

    `simulator.presence` derives what the pool publishes from these and from each application
    endpoint's own state (`Application.activity_reported`).
    """

    manual: str | None = None
    """A PreferredAvailability the user chose (POST presence, or makeMeAvailable's signInAs);
    None is automatic (ResetMyPresenceInformation.md)."""
    other_devices: DevicePresence | None = field(
        default_factory=lambda: DevicePresence("Online", "Available")
    )
    """The demo user's desktop client is signed in and active; None: no other device."""
    personal_note: str = ""
    out_of_office_note: str = ""
    """Set in Exchange (`POST /_sim/note` with type OutOfOffice); shown instead of the personal
    note while it is not empty (note_ref.md)."""
    location: str = ""
    published: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """What the pool last announced per resource (presence, note, location), so that an
    `updated` event goes out only when what an application would read changed."""


@dataclass(slots=True)
class Recipient:
    """The other party of a logged conversation (conversationLogRecipient)."""

    display_name: str
    sip_uri: str


@dataclass(slots=True)
class ConversationLogRecord:
    """One Exchange-backed conversation log; its id outlives applications and tokens."""

    log_id: str
    creation_time: datetime
    direction: str
    status: str
    type: str
    modalities: list[str]
    subject: str
    preview_message: str
    importance: str
    thread_id: str
    online_meeting_uri: str
    unread: bool
    recipients: list[Recipient]
    total_recipients_count: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One event waiting in, or delivered by, an event channel."""

    sender_rel: str
    sender_href: str
    body: dict[str, Any]


@dataclass(slots=True, eq=False)
class ParkedPGet:
    """A P-GET the server is holding; `outcome` says why it was woken."""

    ack: int
    priority: int
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: Literal["events", "replaced", "gone", "expired", "shutdown"] | None = None

    def wake(self, outcome: Literal["events", "replaced", "gone", "expired", "shutdown"]) -> None:
        """Release the P-GET; the first reason wins, later ones are ignored."""
        if self.outcome is None or self.outcome == "events":
            self.outcome = outcome
        self.wakeup.set()


@dataclass(slots=True, eq=False)
class EventChannel:
    """Batches of one application's event channel.

    The response to `?ack=N` is batch N. Batches below `acked` are acknowledged and forgotten;
    batch `sealed + 1` is the one being collected in `pending`.
    """

    last_release: float
    acked: int = 1
    sealed: int = 0
    batches: dict[int, list[Event]] = field(default_factory=dict)
    resumed: set[int] = field(default_factory=set)
    pending: list[Event] = field(default_factory=list)
    parked: ParkedPGet | None = None
    ever_parked: bool = False
    timeout: float = 180.0
    low: float = 15.0
    medium: float = 5.0


@dataclass(slots=True, eq=False)
class Application:
    """One registered application and its own event channel."""

    app_id: str
    registration_id: str
    endpoint_id: str
    instance_id: str | None
    user_agent: str
    culture: str
    etag: str
    origin: str
    """scheme://host of the request that created it, for absolute hrefs in events."""
    channel: EventChannel
    last_activity: float
    state: Literal["active", "expired"] = "active"
    available: bool = False
    """True after makeMeAvailable: the application left lurker mode."""
    callback_number: str | None = None
    activity_reported: float | None = None
    """When this application last sent reportMyActivity; only it moves this endpoint's own
    availability (MeDashboard.md), and the integration never sends it."""
    audio_preference: str = "VoipAudio"
    supported_modalities: list[str] = field(default_factory=list)
    supported_message_formats: list[str] = field(default_factory=lambda: ["Plain"])
    communication_etag: str = "3140562359"
    put_guard: str = ""


@dataclass(slots=True, eq=False)
class PhoneAudioInvitation:
    """A call-back started by continuePhoneAudio; `GET /_sim/state` lists these."""

    invitation_id: str
    conversation_id: str
    app_id: str
    log_id: str
    operation_id: str
    phone_number: str
    to: str
    to_name: str
    subject: str
    thread_id: str
    importance: str
    created: datetime
    state: str = "Connecting"
    status: str | None = None
    reason: dict[str, str] | None = None
    phone_audio_state: str = "Connecting"
    conversation_ended: bool = False


@dataclass(slots=True)
class Fault:
    """A misbehaviour armed for the next `remaining` matching requests."""

    kind: Literal["fail", "delay", "drop", "drop_after"]
    path: str
    method: str | None = None
    remaining: int = 1
    status: int = 500
    code: str = "ServiceFailure"
    subcode: str | None = None
    message: str | None = None
    seconds: float = 0.0


@dataclass(slots=True)
class RecordedRequest:
    """One UCWA request as the server saw it; `status` is None when the connection was dropped."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    route: str
    in_batch: bool = False
    status: int | None = None
