"""What the client is told: the user and how to reach the pool (UcwaConfig), and its delays (UcwaTimings)."""

from __future__ import annotations

from dataclasses import dataclass, field
import random
import uuid

DEFAULT_USER_AGENT = "ha-ucwa/0.1"


@dataclass(frozen=True, kw_only=True)
class UcwaConfig:
    """Everything the client needs to know about the user and how to reach the server.

    `endpoint_id` must stay the same across restarts (store it): the server treats applications
    with the same endpoint id as one, which avoids 410 TooManyApplications. When None, a new one
    is generated. `trusted_hosts` are host names (or domains, matching their subdomains) the user
    approved for discovery redirects that leave the sign-in domain.
    """

    sign_in_address: str
    password: str = field(repr=False)
    username: str | None = None
    phone_number: str | None = None
    discovery_url: str | None = None
    verify_ssl: bool = True
    endpoint_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    user_agent: str = DEFAULT_USER_AGENT
    culture: str = "en-US"
    report_activity: bool = False
    event_timeout: float = 180.0
    trusted_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Generate the endpoint id when none is stored yet and normalise the lists."""
        if not self.endpoint_id:
            object.__setattr__(self, "endpoint_id", str(uuid.uuid4()))
        object.__setattr__(self, "trusted_hosts", tuple(self.trusted_hosts))

    @property
    def domain(self) -> str:
        """The sign-in domain: what follows the @ of the sign-in address."""
        address = self.sign_in_address.removeprefix("sip:")
        return address.partition("@")[2].strip().lower() if "@" in address else ""


@dataclass(frozen=True, kw_only=True)
class UcwaTimings:
    """The client's delays, in seconds: one place to read them, and the one way tests shrink them.

    None of them may be set so low that a server's answers make a loop send more than about one
    request a second; the defaults keep every retry loop at or under that.
    """

    reconnect_base: float = 1.0
    """First event-channel reconnect delay; it doubles per failure (with jitter) up to the cap."""
    reconnect_cap: float = 30.0
    """Longest wait between reconnects, so the channel is never silent for longer."""
    parked_grace: float = 0.2
    """After a new P-GET is sent, time for the server to park it before a call-back is sent."""
    batch_retry_delay: float = 1.0
    """Wait after a 429 on a batch before its halves are sent (none of it ran)."""
    activity_interval: float = 180.0
    """reportMyActivity must come at least every 4 minutes (MeDashboard.md); 3 leaves a margin."""
    pget_margin: float = 30.0
    """Extra read time on a P-GET beyond the `timeout` the server is asked to hold it for."""
    pget_min_interval: float = 1.0
    """After a burst of P-GETs answered at once, at most one P-GET per this many seconds."""
    pget_empty_interval: float = 1.0
    """After a P-GET that brought no event, the next one waits until this long after it was
    sent: a server that answers empty at once (instead of holding the P-GET) gets one a second."""
    application_reset: float = 120.0
    """A new application that the event channel never saw answer counts as unproven; losses
    this far apart are unrelated, so the recreation backoff starts again from nothing."""
    token_min_lifetime: float = 60.0
    """A token is used at least this long, whatever `expires_in` says (0, -5, NaN, "abc"):
    otherwise a server could make the client send the password before every request."""
    token_grant_window: float = 60.0
    """At most `GRANT_BURST` password grants in any window this long (a directory lockout
    counts failed sign-ins); a 403 does not renew a token younger than this."""
    refresh_burst: int = 3
    """Re-reads of missed items and the log list that `missedItems` events may start back to
    back, so two missed calls a second apart each reach the sensors in one round trip (a
    count, not seconds). Events beyond it wait for `refresh_interval` and share one re-read.
    Presence and note re-reads (link-only `updated` events from me) each get a budget of
    their own with the same two numbers."""
    refresh_interval: float = 1.5
    """One re-read of the burst is earned back every this many seconds: a server that sends
    `missedItems` with every answer gets one re-read per 1.5 s once the burst is spent, and at
    most 3 + 10 / 1.5 = 9 in any 10 s, within issue 9's budget of 10."""

    def backoff(self, failures: int) -> float:
        """Exponential backoff with jitter, never above the cap (so never silent for longer).

        The jitter (half to all of the delay) keeps many clients of one pool from coming back
        in step after the pool recovers.
        """
        delay = min(self.reconnect_cap, self.reconnect_base * float(2 ** min(failures, 16)))
        return float(delay) * random.uniform(0.5, 1.0)  # noqa: S311  # jitter, not crypto
