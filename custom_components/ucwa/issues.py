"""The account's repair issues: what only the user or an administrator can fix, and withdrawing them.

Three per entry, each with its own id so one is withdrawn without touching the others: the server
refuses an application for us, the server withholds conversation history, the session stays down.
The coordinator decides when; this module says how each reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later

from .api import UcwaApplicationError, UcwaError
from .const import (
    DOMAIN,
    ISSUE_APPLICATION_REFUSED,
    ISSUE_CONVERSATION_HISTORY,
    ISSUE_SESSION_DOWN,
    SESSION_DOWN_ISSUE_AFTER,
)
from .errors import api_error_placeholders, capability_reason


def application_issue_id(entry_id: str) -> str:
    """Return the id of an entry's "server refuses an application" repair issue."""
    return f"{ISSUE_APPLICATION_REFUSED}_{entry_id}"


def session_down_issue_id(entry_id: str) -> str:
    """Return the id of an entry's "the session stays down" repair issue."""
    return f"{ISSUE_SESSION_DOWN}_{entry_id}"


def history_issue_id(entry_id: str) -> str:
    """Return the id of an entry's "server withholds conversation history" repair issue."""
    return f"{ISSUE_CONVERSATION_HISTORY}_{entry_id}"


@callback
def async_delete_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Forget all of an entry's issues (it is being removed: nobody can act on them any more)."""
    for issue_id in (
        application_issue_id(entry_id),
        history_issue_id(entry_id),
        session_down_issue_id(entry_id),
    ):
        ir.async_delete_issue(hass, DOMAIN, issue_id)


@callback
def async_create_application_issue(
    hass: HomeAssistant, entry: ConfigEntry, err: UcwaApplicationError
) -> None:
    """Tell the user the server refuses an application for us; only they can fix that."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        application_issue_id(entry.entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_APPLICATION_REFUSED,
        translation_placeholders={**api_error_placeholders(err), "entry_title": entry.title},
    )


@callback
def async_delete_application_issue(hass: HomeAssistant, entry_id: str) -> None:
    """Withdraw the "refuses an application" issue: the server gave us one."""
    ir.async_delete_issue(hass, DOMAIN, application_issue_id(entry_id))


@callback
def async_update_history_issue(
    hass: HomeAssistant, entry: ConfigEntry, withheld: Mapping[str, UcwaError]
) -> None:
    """Tell the user which history capability the server withholds, or withdraw the issue."""
    issue_id = history_issue_id(entry.entry_id)
    if not withheld:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_CONVERSATION_HISTORY,
        translation_placeholders={
            "entry_title": entry.title,
            "capability": ", ".join(sorted(withheld)),
            "error": "; ".join(capability_reason(err) for err in withheld.values()),
        },
    )


class SessionDownWatch:
    """Raise a repair issue if the session stays down, whatever broke the event channel.

    The client keeps trying with back-off and reports `ApplicationRestored` when it is back; a
    channel that failed for SESSION_DOWN_ISSUE_AFTER deserves more than unavailable entities.
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Watch nothing yet."""
        self._hass = hass
        self._entry = entry
        self._cancel: Callable[[], None] | None = None

    @callback
    def async_start(self, error: str) -> None:
        """Start the clock of an outage, unless it is already running."""
        if self._cancel is not None:
            return

        @callback
        def _async_still_down(_now: datetime) -> None:
            self._cancel = None
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                session_down_issue_id(self._entry.entry_id),
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_SESSION_DOWN,
                translation_placeholders={
                    "entry_title": self._entry.title,
                    "minutes": str(int(SESSION_DOWN_ISSUE_AFTER.total_seconds() // 60)),
                    "error": error,
                },
            )

        self._cancel = async_call_later(self._hass, SESSION_DOWN_ISSUE_AFTER, _async_still_down)

    @callback
    def async_stop(self) -> None:
        """Stop the clock and withdraw the issue: the session is back, or the entry unloads."""
        if self._cancel is not None:
            self._cancel()
            self._cancel = None
        ir.async_delete_issue(self._hass, DOMAIN, session_down_issue_id(self._entry.entry_id))
