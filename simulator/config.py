"""Knobs of the simulated Skype for Business pool.

Every value the reference leaves to the server (timeouts, limits, the outcome of a call) is a field
here, so tests can shrink minutes to fractions of a second and provoke each documented branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Self

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

DEFAULT_GRANT_TYPES = ("urn:microsoft.rtc:windows", "urn:microsoft.rtc:anonmeeting", "password")

Profile = Literal["trace", "lenient"]
ConversationHistory = Literal["available", "absent", "invalid_exchange_version", "exchange_timeout"]

PROFILES: dict[str, dict[str, Any]] = {
    "trace": {"profile": "trace"},
    "lenient": {"profile": "lenient"},
    "absolute_hrefs": {"profile": "trace", "absolute_hrefs": True},
    "single_link_objects": {"profile": "trace", "single_link_objects": True},
    "embedded_events": {"profile": "trace", "embedded_events": True},
    "no_history": {"profile": "trace", "conversation_history": "absent"},
    "exchange_error": {"profile": "trace", "conversation_history": "invalid_exchange_version"},
    "exchange_timeout": {"profile": "trace", "conversation_history": "exchange_timeout"},
}
"""The pool shapes the test matrix runs against: the reference's trace plus one knob each, and
the lenient pool of earlier versions (every capability link offered at creation)."""

CHOICE_KNOBS: dict[str, tuple[str, ...]] = {
    "profile": ("trace", "lenient"),
    "conversation_history": ("available", "absent", "invalid_exchange_version", "exchange_timeout"),
}
BOOL_KNOBS = ("absolute_hrefs", "single_link_objects", "embedded_events")
KNOBS = (*CHOICE_KNOBS, *BOOL_KNOBS, "hidden_links")
"""The shape knobs a running simulator can switch (`POST /_sim/config`), with their values."""


@dataclass(frozen=True, slots=True)
class CallbackOutcome:
    """How a simulated call-back ends.

    A real pool learns this from the phone network; here the test decides. `status` is the
    `completed` event's status; on "Failure" the event carries `reason` {code, subcode, message}.
    """

    status: Literal["Success", "Failure"] = "Success"
    code: str = "RemoteFailure"
    subcode: str | None = "Declined"
    message: str = "The call was declined."
    step_delay: float = 0.05
    """Seconds between started, updated and completed."""

    @classmethod
    def failure(
        cls,
        code: str = "RemoteFailure",
        subcode: str | None = "Declined",
        message: str = "The call was declined.",
        step_delay: float = 0.05,
    ) -> CallbackOutcome:
        """Build a failing outcome; the default matches the shape seen in the field."""
        return cls("Failure", code, subcode, message, step_delay)


@dataclass(slots=True)
class SimulatorConfig:
    """Configuration of one simulated pool; defaults follow the reference where it gives values."""

    host: str = "127.0.0.1"
    port: int = 0
    """0 picks any free port."""

    server_fqdn: str = "fe1.contoso.com"
    """Sent as X-MS-Server-Fqdn and in X-Ms-diagnostics, like a front end names itself."""
    ucwa_version: str = "1.7"
    """Sent as X-MS-UcwaVersion (the value Versioning.md shows)."""

    # Discovery and authentication
    root_redirect: str | None = None
    """When set, `GET /` answers with only `_links.redirect` to this href. `{origin}` is replaced by
    the request's scheme://host, so `{origin}/autodiscover/autodiscoverservice.svc/root` is a
    one-hop redirect back into this simulator (that path never redirects)."""
    user_redirect: str | None = None
    """When set, the authenticated user resource carries `_links.redirect` (user homed on another
    pool) instead of `applications`. `{origin}` is replaced as above."""
    grant_types: tuple[str, ...] = DEFAULT_GRANT_TYPES
    """Grant types announced in the MsRtcOAuth challenge."""
    quote_challenge_href: bool = True
    """False sends `href=https://...` unquoted, as AuthenticationInUCWA.md shows."""
    token_lifetime: float = 8 * 3600.0
    """Seconds; the reference gives 8 h for authenticated users."""

    # Shape of the pool: which links appear when, and how the JSON is written
    profile: Profile = "trace"
    """"trace" behaves like the reference's own trace (CreateAnApplication.md, ReceiveAnIM.md):
    conversationLogs, missedItems, startPhoneAudio and the audio/video and media links
    (`representations.CAPABILITY_LINKS`) are capability links that appear only after
    makeMeAvailable, announced by a `communication` `updated` event. "lenient" offers every
    communication link at creation, as the composite `applications_ref.md` sample shows."""
    single_link_objects: bool = False
    """A multi-valued link rel with one element (one `conversationLog`) is sent as an object, not
    a one-element array, as CommunicationDashboard.md shows it."""
    embedded_events: bool = False
    """Every event about a live resource embeds it (`missedItems`, `me`, `conversation`, ...);
    False embeds only where the reference's samples do (communication updated, invitations)."""
    conversation_history: ConversationHistory = "available"
    """"absent": the account's policy gives no conversation history, so no conversationLogs link
    ever appears. "invalid_exchange_version" / "exchange_timeout": the link is offered but GET
    answers 500 ServiceFailure with that subcode (conversationLogs_ref.md, ErrorSubcode_ref.md)."""

    # Application
    max_applications: int = 10
    """Creating more live applications than this answers 410 Gone/TooManyApplications."""
    absolute_hrefs: bool = False
    """UCWA hrefs are relative (as most samples); True makes them absolute like the *_ref events."""
    hidden_links: frozenset[str] = field(default_factory=frozenset)
    """Link rels left out everywhere: a missing capability link means "not allowed now"."""
    country_code: str = "1"
    """Prefix used to normalise a bare 10-digit national number, as the samples do (425... →
    tel:+1425...)."""

    # Event channel and application lifetime
    pget_timeout_override: float | None = None
    """Seconds a P-GET is held without events; None honours `timeout` (180-1800 s, default 180)."""
    pget_idle_expiry: float = 15 * 60.0
    """The application ends when no P-GET is parked for this long (reference: 15 minutes)."""
    activity_expiry: float = 15 * 60.0
    """After makeMeAvailable, the application ends when no activity is reported for this long and
    the user is not in a call. The reference gives no number; 15 minutes is our choice."""
    resume_after: float | None = 10 * 60.0
    """A P-GET arriving after this much event-channel silence gets `resume` instead of `next`."""
    expiry_check_interval: float | None = None
    """How often parked P-GETs are checked for expiry (and presence for idle endpoints); None
    derives it from the expiry and presence times."""

    # Presence (MeDashboard.md, "Reporting activity")
    inactive_timeout: float = 5 * 60.0
    """An application endpoint is Online this long after its last reportMyActivity, then
    IdleOnline (makeMeAvailable_ref.md: inactiveTimeout, default 5 minutes)."""
    away_timeout: float = 10 * 60.0
    """After IdleOnline this long more, the endpoint is Away. The reference names awayTimeout
    but gives no number; 10 minutes is our choice."""

    # Call-back (continuePhoneAudio)
    callback_channel_grace: float = 1.0
    """A P-GET released this recently still counts as a reachable event channel, since a client
    re-parks right after each release. Beyond it continuePhoneAudio answers 500
    CallbackChannelError."""
    callback_outcome: CallbackOutcome = field(default_factory=CallbackOutcome)
    call_duration: float | None = 0.5
    """Seconds a successful call stays connected before it hangs up; None keeps it up."""
    log_completed_calls: bool = False
    """When True, a finished call-back adds an outgoing AudioLog, as Exchange would."""

    # Batch
    batch_limit: int = 100
    """More parts than this answer 429 TooManyRequests and none runs (reference: 100)."""

    def __post_init__(self) -> None:
        """Refuse to listen beyond loopback: the simulator accepts a demo password."""
        if self.host not in LOOPBACK_HOSTS:
            raise ValueError(f"the simulator only binds loopback, not {self.host!r}")
        self.apply_knobs(self.knobs())

    @classmethod
    def from_profile(cls, name: str, **overrides: Any) -> Self:
        """Return the configuration of a named profile (`PROFILES`), with any field overridden."""
        if name not in PROFILES:
            raise ValueError(f"unknown profile {name!r}; known: {sorted(PROFILES)}")
        return cls(**{**PROFILES[name], **overrides})

    def knobs(self) -> dict[str, Any]:
        """Return the shape knobs as JSON-ready values (what `GET /_sim/config` shows)."""
        return {
            "profile": self.profile,
            "absolute_hrefs": self.absolute_hrefs,
            "single_link_objects": self.single_link_objects,
            "embedded_events": self.embedded_events,
            "conversation_history": self.conversation_history,
            "hidden_links": sorted(self.hidden_links),
        }

    def apply_knobs(self, values: dict[str, Any]) -> None:
        """Check and set shape knobs; a wrong name or value raises ValueError and changes nothing.

        A running simulator reads these on every answer, so a switch applies to the next request.
        """
        checked: dict[str, Any] = {}
        for name, value in values.items():
            if name in BOOL_KNOBS and not isinstance(value, bool):
                raise ValueError(f"{name} is true or false, not {value!r}")
            if name in CHOICE_KNOBS and value not in CHOICE_KNOBS[name]:
                raise ValueError(f"{name} is one of {list(CHOICE_KNOBS[name])}, not {value!r}")
            if name == "hidden_links":
                if isinstance(value, str) or not all(isinstance(rel, str) for rel in value):
                    raise ValueError(f"hidden_links is a list of link rels, not {value!r}")
                checked[name] = frozenset(value)
                continue
            if name not in KNOBS:
                raise ValueError(f"unknown knob {name!r}; known: {sorted(KNOBS)}")
            checked[name] = value
        for name, value in checked.items():
            setattr(self, name, value)


__all__ = [
    "KNOBS",
    "LOOPBACK_HOSTS",
    "PROFILES",
    "CallbackOutcome",
    "ConversationHistory",
    "Profile",
    "SimulatorConfig",
]
