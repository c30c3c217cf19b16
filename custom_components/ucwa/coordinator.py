"""The data flow: the UCWA event channel pushes changes, a slow poll only re-syncs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .api import (
    ApplicationLost,
    ApplicationRestored,
    AuthenticationFailed,
    ConversationLog,
    MissedItems,
    MissedItemsUpdated,
    PhoneAudioInvitationEvent,
    UcwaApiError,
    UcwaApplicationError,
    UcwaAuthenticationError,
    UcwaError,
    UcwaEvent,
    UcwaSecurityError,
)
from .const import (
    CONF_PHONE_NUMBER,
    CONVERSATION_LOG_LIMIT,
    DOMAIN,
    EVENT_PHONE_AUDIO_INVITATION,
    ISSUE_APPLICATION_REFUSED,
    LOGGER,
    SAFETY_POLL_INTERVAL,
)

if TYPE_CHECKING:
    from .api.client import UcwaClient

type UcwaConfigEntry = ConfigEntry[UcwaCoordinator]
type NewLogsListener = Callable[[tuple[ConversationLog, ...]], None]

_NO_TIME = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class UcwaData:
    """What the entities show: the missed-items counters and the newest conversation logs."""

    missed_items: MissedItems
    conversation_logs: tuple[ConversationLog, ...]
    """Newest first, at most CONVERSATION_LOG_LIMIT."""

    @property
    def missed_conversation_logs(self) -> tuple[ConversationLog, ...]:
        """The logs nobody answered, newest first."""
        return tuple(log for log in self.conversation_logs if log.is_missed)

    def find_log(self, log_id: str) -> ConversationLog | None:
        """Return the log with this stable id, if it is among the newest ones."""
        return next((log for log in self.conversation_logs if log.log_id == log_id), None)


def _newest_first(logs: dict[str, ConversationLog]) -> tuple[ConversationLog, ...]:
    ordered = sorted(logs.values(), key=lambda log: log.creation_time or _NO_TIME, reverse=True)
    return tuple(ordered[:CONVERSATION_LOG_LIMIT])


class UcwaCoordinator(DataUpdateCoordinator[UcwaData]):
    """Keeps one account's UCWA session and the data its entities show."""

    config_entry: UcwaConfigEntry

    def __init__(self, hass: HomeAssistant, entry: UcwaConfigEntry, client: UcwaClient) -> None:
        """Wire the coordinator to a client that is not started yet."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=DOMAIN,
            update_interval=SAFETY_POLL_INTERVAL,
        )
        self.client = client
        self._known_log_ids: set[str] = set()
        self._new_logs_listeners: list[NewLogsListener] = []

    async def _async_setup(self) -> None:
        """Start the UCWA session: sign in, create the application and open the event channel."""
        self.config_entry.async_on_unload(self.client.subscribe(self._async_handle_event))
        try:
            await self.client.start()
        except UcwaError as err:
            raise self._translate_error(err) from err

    async def _async_update_data(self) -> UcwaData:
        """Re-read everything: the first time, then as a safety net behind the event channel."""
        try:
            if self.data is not None:
                # The client answers from its cache while events flow: make it re-read the list,
                # which reports logs an event missed (as ConversationLogsAdded, handled below).
                await self.client.refresh_conversation_logs()
            logs = await self.client.get_conversation_logs(limit=CONVERSATION_LOG_LIMIT)
            missed_items = await self.client.get_missed_items(force=self.data is not None)
        except UcwaError as err:
            raise self._translate_error(err) from err
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
        data = UcwaData(missed_items, _newest_first({log.log_id: log for log in logs}))
        if self.data is not None:
            self._async_notify_new_logs(data.conversation_logs)
        self._known_log_ids.update(log.log_id for log in data.conversation_logs)
        return data

    @property
    def _current_data(self) -> UcwaData | None:
        """The data, or None before the first refresh (the base class types it as always set)."""
        return self.data

    @property
    def _issue_id(self) -> str:
        return application_issue_id(self.config_entry.entry_id)

    def _translate_error(self, err: UcwaError) -> Exception:
        """Map a client error to what Home Assistant expects from a coordinator."""
        if isinstance(err, UcwaAuthenticationError):
            return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="invalid_auth")
        if isinstance(err, UcwaSecurityError):
            return ConfigEntryError(
                translation_domain=DOMAIN, translation_key="security_check_failed"
            )
        if isinstance(err, UcwaApplicationError):
            self.async_create_application_issue(err)
        if isinstance(err, UcwaApiError):
            return UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="server_error",
                translation_placeholders=api_error_placeholders(err),
            )
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        )

    @callback
    def async_create_application_issue(self, err: UcwaApplicationError) -> None:
        """Tell the user the server refuses an application for us; only they can fix that."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_APPLICATION_REFUSED,
            translation_placeholders={
                **api_error_placeholders(err),
                "entry_title": self.config_entry.title,
            },
        )

    @callback
    def async_add_new_logs_listener(self, listener: NewLogsListener) -> Callable[[], None]:
        """Call `listener` with each batch of logs not seen before (newest first)."""
        self._new_logs_listeners.append(listener)

        @callback
        def remove_listener() -> None:
            self._new_logs_listeners.remove(listener)

        return remove_listener

    @callback
    def _async_notify_new_logs(self, logs: tuple[ConversationLog, ...]) -> None:
        if new := tuple(log for log in logs if log.log_id not in self._known_log_ids):
            for listener in list(self._new_logs_listeners):
                listener(new)

    @callback
    def _async_handle_event(self, event: UcwaEvent) -> None:
        """Apply one event from the client's event channel, in the order they came."""
        if isinstance(event, PhoneAudioInvitationEvent):
            self.hass.bus.async_fire(EVENT_PHONE_AUDIO_INVITATION, self._invitation_data(event))
        elif isinstance(event, ApplicationLost):
            if isinstance(event.cause, UcwaApplicationError):
                self.async_create_application_issue(event.cause)
            self._async_session_lost(event.error)
        elif isinstance(event, AuthenticationFailed):
            # The client stopped its channel rather than fail sign-ins towards a lockout.
            self._async_session_lost(event.error)
            self.config_entry.async_start_reauth(self.hass)
        elif isinstance(event, ApplicationRestored):
            # The counters and logs may have changed while the channel was gone.
            self.config_entry.async_create_task(
                self.hass, self.async_refresh(), f"{DOMAIN} re-sync after the session came back"
            )
        elif (data := self._current_data) is None:
            return  # the first refresh reads everything anyway
        elif isinstance(event, MissedItemsUpdated):
            self.async_set_updated_data(replace(data, missed_items=event.missed_items))
        else:  # ConversationLogsAdded
            merged = {log.log_id: log for log in data.conversation_logs}
            merged.update((log.log_id, log) for log in event.logs)
            self.async_set_updated_data(replace(data, conversation_logs=_newest_first(merged)))
            self._async_notify_new_logs(event.logs)
            self._known_log_ids.update(log.log_id for log in event.logs)

    @callback
    def async_set_updated_data(self, data: UcwaData) -> None:
        """Take pushed data; log the recovery when it ends an outage, as a refresh would."""
        if not self.last_update_success:
            self.logger.info("Fetching %s data recovered", self.name)
        super().async_set_updated_data(data)

    @callback
    def _async_session_lost(self, error: str) -> None:
        """Make the entities unavailable until the client has restored the application."""
        self.last_exception = UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="session_lost",
            translation_placeholders={"error": error},
        )
        if self.last_update_success:
            LOGGER.info("The UCWA session was lost, entities are unavailable: %s", error)
            self.last_update_success = False
            self.async_update_listeners()

    def _invitation_data(self, event: PhoneAudioInvitationEvent) -> dict[str, Any]:
        reason = event.reason
        return {
            "config_entry_id": self.config_entry.entry_id,
            "type": event.type,
            "operation_id": event.operation_id,
            "invitation": event.href,
            "state": event.state,
            "direction": event.direction,
            "status": event.status,
            "reason": None
            if reason is None
            else {"code": reason.code, "subcode": reason.subcode, "message": reason.message},
        }


def default_phone_number(entry: ConfigEntry) -> str:
    """Return the account's call-back number: the options' one, else the one from setup.

    Read at use time, so an options change needs no reload.
    """
    number: str = entry.options.get(CONF_PHONE_NUMBER, entry.data[CONF_PHONE_NUMBER])
    return number


def application_issue_id(entry_id: str) -> str:
    """Return the id of an entry's "server refuses an application" repair issue."""
    return f"{ISSUE_APPLICATION_REFUSED}_{entry_id}"


def api_error_placeholders(err: UcwaApiError) -> dict[str, str]:
    """Name the HTTP status, UCWA code and subcode in a translated message."""
    return {
        "status": str(err.status),
        "code": err.code or "None",
        "subcode": err.subcode or "None",
    }
