"""The call-back status: what the account's latest call-back is doing, as its sensor shows it.

Fed by the button or action that starts a call-back (it shows `connecting` before the server has
answered) and by the invitation's events from the event channel; it falls back to `idle` on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .api import PhoneAudioInvitationEvent
from .const import CALL_BACK_NO_NEWS, CALL_BACK_OUTCOME_SHOWN
from .errors import ucwa_codes

CALL_BACK_IDLE: Final = "idle"
CALL_BACK_CONNECTING: Final = "connecting"
CALL_BACK_RINGING: Final = "ringing"
CALL_BACK_CONNECTED: Final = "connected"
CALL_BACK_FAILED: Final = "failed"
CALL_BACK_STATES: Final = [
    CALL_BACK_IDLE,
    CALL_BACK_CONNECTING,
    CALL_BACK_RINGING,
    CALL_BACK_CONNECTED,
    CALL_BACK_FAILED,
]
# InvitationState_ref.md values of an invitation still in progress, in the sensor's words.
_INVITATION_STATES: Final = {
    "Connecting": CALL_BACK_CONNECTING,
    "Alerting": CALL_BACK_RINGING,
    "TeamRing": CALL_BACK_RINGING,
    "Forwarded": CALL_BACK_RINGING,
    "Connected": CALL_BACK_CONNECTED,
    "Declined": CALL_BACK_FAILED,
    "Cancelled": CALL_BACK_FAILED,
    "Failed": CALL_BACK_FAILED,
}


@dataclass(frozen=True, slots=True)
class CallBackStatus:
    """Where the account's latest call-back stands, as the call-back sensor shows it."""

    state: str = CALL_BACK_IDLE
    conversation_log_id: str | None = None
    display_name: str | None = None
    """Who the server connects you to: the other party of that conversation."""
    sip_uri: str | None = None
    phone_number: str | None = None
    operation_id: str | None = None
    reason: str | None = None
    """Why it failed: the server's reason, or the error the request met."""

    @property
    def finished(self) -> bool:
        """Whether the call-back has its outcome (or never started)."""
        return self.state in (CALL_BACK_IDLE, CALL_BACK_CONNECTED, CALL_BACK_FAILED)


class CallBackTracker:
    """Follow the latest call-back of one account and tell the entities when it moves."""

    def __init__(self, hass: HomeAssistant, on_change: Callable[[], None]) -> None:
        """Start idle; `on_change` is called after every change (the coordinator's listeners)."""
        self._hass = hass
        self._on_change = on_change
        self.status = CallBackStatus()
        self._cancel_reset: Callable[[], None] | None = None

    @callback
    def async_started(
        self,
        conversation_log_id: str,
        phone_number: str,
        operation_id: str,
        *,
        display_name: str | None = None,
        sip_uri: str | None = None,
    ) -> None:
        """Show `connecting` for a call-back whose request is about to be sent."""
        self._async_set(
            CallBackStatus(
                CALL_BACK_CONNECTING,
                conversation_log_id,
                display_name=display_name,
                sip_uri=sip_uri,
                phone_number=phone_number,
                operation_id=operation_id,
            )
        )

    @callback
    def async_failed(self, operation_id: str, reason: str) -> None:
        """Show that the request of this call-back failed, and why."""
        if self.status.operation_id == operation_id:
            self._async_set(replace(self.status, state=CALL_BACK_FAILED, reason=reason))

    @callback
    def async_follow(self, event: PhoneAudioInvitationEvent) -> None:
        """Move with the invitation events of the latest call-back.

        Events of an older call-back (its operation id is not the current one) are ignored, so
        the sensor always tells the story of the last press.
        """
        current = self.status
        if event.operation_id is None or event.operation_id != current.operation_id:
            return
        reason = None
        if event.type == "completed":
            state = CALL_BACK_CONNECTED if event.status == "Success" else CALL_BACK_FAILED
            if state == CALL_BACK_FAILED and (why := event.reason) is not None:
                reason = why.message or ucwa_codes(why.code, why.subcode)
        else:
            state = _INVITATION_STATES.get(event.state or "", current.state)
        self._async_set(replace(current, state=state, reason=reason))

    @callback
    def async_cancel(self) -> None:
        """Forget the pending return to idle (the entry is unloading)."""
        if self._cancel_reset is not None:
            self._cancel_reset()
            self._cancel_reset = None

    @callback
    def _async_set(self, status: CallBackStatus) -> None:
        """Show a new status and schedule its return to idle.

        An outcome (connected or failed) shows for CALL_BACK_OUTCOME_SHOWN; a call-back in
        progress falls back to idle after CALL_BACK_NO_NEWS without an event, since an event
        lost with the channel would otherwise leave it ringing for ever.
        """
        self.async_cancel()
        self.status = status
        self._cancel_reset = async_call_later(
            self._hass,
            CALL_BACK_OUTCOME_SHOWN if status.finished else CALL_BACK_NO_NEWS,
            self._async_reset,
        )
        self._on_change()

    @callback
    def _async_reset(self, _now: datetime) -> None:
        self._cancel_reset = None
        self.status = CallBackStatus()
        self._on_change()
