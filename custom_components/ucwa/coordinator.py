"""The data flow: the UCWA event channel pushes changes, a slow poll only re-syncs.

Presence and note are read once, at the first refresh, and then only pushed: the safety poll
leaves them to the events (the client re-reads both itself after a replaced application).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .api import (
    ApplicationLost,
    ApplicationRestored,
    AuthenticationFailed,
    ConversationLog,
    MissedItems,
    MissedItemsUpdated,
    Note,
    NoteUpdated,
    PhoneAudioInvitationEvent,
    Presence,
    PresenceUpdated,
    UcwaApiError,
    UcwaApplicationError,
    UcwaAuthenticationError,
    UcwaClient,
    UcwaConfig,
    UcwaError,
    UcwaEvent,
    UcwaLinkNotOfferedError,
    UcwaSecurityError,
)
from .callback_status import CallBackStatus, CallBackTracker
from .const import (
    CONF_DISCOVERY_URL,
    CONF_PHONE_NUMBER,
    CONF_SIGN_IN_ADDRESS,
    CONVERSATION_LOG_LIMIT,
    DOMAIN,
    EVENT_PHONE_AUDIO_INVITATION,
    LOGGER,
    SAFETY_POLL_INTERVAL,
)
from .errors import api_error_placeholders
from .issues import (
    SessionDownWatch,
    async_create_application_issue,
    async_delete_application_issue,
    async_update_history_issue,
)

type UcwaConfigEntry = ConfigEntry[UcwaCoordinator]
type NewLogsListener = Callable[[tuple[ConversationLog, ...]], None]

_NO_TIME = datetime.min.replace(tzinfo=UTC)

MISSED_ITEMS: Final = "missedItems"
CONVERSATION_LOGS: Final = "conversationLogs"
PRESENCE: Final = "presence"
NOTE: Final = "note"
# The capabilities of the conversation history, which its repair issue names; presence and note
# have none (they come with makeMeAvailable, which the integration always sends).
_HISTORY: Final = (MISSED_ITEMS, CONVERSATION_LOGS)
# What a pool answers when the account's conversation history lives in an Exchange mailbox it cannot
# use (conversationLogs_ref.md, ErrorSubcode_ref.md): the capability is missing, not the server.
_HISTORY_SUBCODES = frozenset({"InvalidExchangeServerVersion", "ExchangeTimeout"})


@dataclass(frozen=True, slots=True)
class UcwaData:
    """What the entities show: the missed-items counters, the newest logs, presence and note.

    A capability the server does not give this account (no link, or Exchange refusing) is None,
    and `unavailable` says why, keyed by the UCWA link rel; the entities it feeds are unavailable
    while the rest of the account works.
    """

    missed_items: MissedItems | None
    conversation_logs: tuple[ConversationLog, ...] | None
    """Newest first, at most CONVERSATION_LOG_LIMIT."""
    presence: Presence | None = None
    note: Note | None = None
    unavailable: dict[str, UcwaError] = field(default_factory=dict, compare=False)

    @property
    def missed_conversation_logs(self) -> tuple[ConversationLog, ...]:
        """The logs nobody answered, newest first."""
        return tuple(log for log in self.conversation_logs or () if log.is_missed)

    def find_log(self, log_id: str) -> ConversationLog | None:
        """Return the log with this stable id, if it is among the newest ones."""
        return next((log for log in self.conversation_logs or () if log.log_id == log_id), None)


def is_capability_missing(err: UcwaError) -> bool:
    """Whether the error says the account lacks a capability rather than that the server failed."""
    if isinstance(err, UcwaLinkNotOfferedError):
        return True
    return isinstance(err, UcwaApiError) and err.subcode in _HISTORY_SUBCODES


async def _read_capability[T](
    rel: str, read: Awaitable[T], unavailable: dict[str, UcwaError]
) -> T | None:
    """Await a read; None (and the reason in `unavailable`) when the server withholds it."""
    try:
        return await read
    except UcwaError as err:
        if not is_capability_missing(err):
            raise
        unavailable[rel] = err
        return None


def _withheld_after(
    data: UcwaData, rel: str, pushed: Presence | Note | None
) -> dict[str, UcwaError]:
    """Return what the server withholds once an event pushed presence or note.

    A value makes the capability available again (its first one after the server withheld it
    comes by an `added` event); None means the server withdrew it (a `deleted` event: the
    application is in lurker mode), which the entities show as unavailable, as at setup.
    """
    unavailable = {key: err for key, err in data.unavailable.items() if key != rel}
    if pushed is None:
        unavailable[rel] = UcwaLinkNotOfferedError(rel, "me")
    return unavailable


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
        self._new_logs_listeners: list[NewLogsListener] = []
        self.call_back_tracker = CallBackTracker(hass, self.async_update_listeners)
        self._session_down = SessionDownWatch(hass, entry)

    async def _async_setup(self) -> None:
        """Start the UCWA session: sign in, create the application and open the event channel."""
        self.config_entry.async_on_unload(self.client.subscribe(self._async_handle_event))
        self.config_entry.async_on_unload(self.call_back_tracker.async_cancel)
        self.config_entry.async_on_unload(self._session_down.async_stop)
        try:
            await self.client.start()
        except UcwaError as err:
            raise self._translate_error(err) from err

    async def _async_update_data(self) -> UcwaData:
        """Re-read everything: the first time, then as a safety net behind the event channel.

        A capability the account lacks (see `is_capability_missing`) leaves its part of the data
        None and raises a repair issue, instead of failing the whole account.
        """
        unavailable: dict[str, UcwaError] = {}
        try:
            logs = await self._async_read_logs(unavailable)
            try:
                missed_items: MissedItems | None = await self.client.get_missed_items(
                    force=self.data is not None
                )
            except UcwaError as err:
                if not is_capability_missing(err):
                    raise
                missed_items, unavailable[MISSED_ITEMS] = None, err
            presence, note = await self._async_read_presence(unavailable)
        except UcwaError as err:
            raise self._translate_error(err) from err
        async_delete_application_issue(self.hass, self.config_entry.entry_id)
        async_update_history_issue(
            self.hass,
            self.config_entry,
            {rel: err for rel, err in unavailable.items() if rel in _HISTORY},
        )
        conversation_logs = (
            None if logs is None else _newest_first({log.log_id: log for log in logs})
        )
        return UcwaData(missed_items, conversation_logs, presence, note, unavailable)

    async def _async_read_presence(
        self, unavailable: dict[str, UcwaError]
    ) -> tuple[Presence | None, Note | None]:
        """Read presence and note the first time; a re-sync keeps what the events pushed."""
        if (data := self._current_data) is not None:
            unavailable.update(
                (rel, err) for rel, err in data.unavailable.items() if rel in (PRESENCE, NOTE)
            )
            return data.presence, data.note
        presence = await _read_capability(PRESENCE, self.client.get_presence(), unavailable)
        note = await _read_capability(NOTE, self.client.get_note(), unavailable)
        return presence, note

    async def _async_read_logs(
        self, unavailable: dict[str, UcwaError]
    ) -> list[ConversationLog] | None:
        """Read the newest logs; None (and the reason in `unavailable`) when history is missing."""
        try:
            if self.data is not None:
                # The client answers from its cache while events flow: make it re-read the list,
                # which reports logs an event missed (as ConversationLogsAdded, handled below).
                await self.client.refresh_conversation_logs()
            return await self.client.get_conversation_logs(limit=CONVERSATION_LOG_LIMIT)
        except UcwaError as err:
            if not is_capability_missing(err):
                raise
            unavailable[CONVERSATION_LOGS] = err
            return None

    @property
    def _current_data(self) -> UcwaData | None:
        """The data, or None before the first refresh (the base class types it as always set)."""
        return self.data

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
        async_create_application_issue(self.hass, self.config_entry, err)

    @callback
    def async_add_new_logs_listener(self, listener: NewLogsListener) -> Callable[[], None]:
        """Call `listener` with each batch of logs not seen before (newest first)."""
        self._new_logs_listeners.append(listener)

        @callback
        def remove_listener() -> None:
            self._new_logs_listeners.remove(listener)

        return remove_listener

    @callback
    def _async_handle_event(self, event: UcwaEvent) -> None:
        """Apply one event from the client's event channel, in the order they came."""
        if isinstance(event, PhoneAudioInvitationEvent):
            self.hass.bus.async_fire(EVENT_PHONE_AUDIO_INVITATION, self._invitation_data(event))
            self.call_back_tracker.async_follow(event)
        elif isinstance(event, ApplicationLost):
            if isinstance(event.cause, UcwaApplicationError):
                self.async_create_application_issue(event.cause)
            self._async_session_lost(event.error)
            self._session_down.async_start(event.error)
        elif isinstance(event, AuthenticationFailed):
            # The client stopped its channel rather than fail sign-ins towards a lockout.
            self._async_session_lost(event.error)
            self.config_entry.async_start_reauth(self.hass)
        elif isinstance(event, ApplicationRestored):
            self._session_down.async_stop()
            # The counters and logs may have changed while the channel was gone.
            self.config_entry.async_create_task(
                self.hass, self.async_refresh(), f"{DOMAIN} re-sync after the session came back"
            )
        elif (data := self._current_data) is None:
            return  # the first refresh reads everything anyway
        elif isinstance(event, MissedItemsUpdated):
            self.async_set_updated_data(replace(data, missed_items=event.missed_items))
        elif isinstance(event, PresenceUpdated):
            withheld = _withheld_after(data, PRESENCE, event.presence)
            self.async_set_updated_data(
                replace(data, presence=event.presence, unavailable=withheld)
            )
        elif isinstance(event, NoteUpdated):
            withheld = _withheld_after(data, NOTE, event.note)
            self.async_set_updated_data(replace(data, note=event.note, unavailable=withheld))
        else:  # ConversationLogsAdded: the client decides what is new, once, for everyone
            if data.conversation_logs is None:
                # History came back: re-read it all (and withdraw the repair issue).
                self.config_entry.async_create_task(
                    self.hass, self.async_refresh(), f"{DOMAIN} re-read the conversation history"
                )
            else:
                merged = {log.log_id: log for log in data.conversation_logs}
                merged.update((log.log_id, log) for log in event.logs)
                self.async_set_updated_data(replace(data, conversation_logs=_newest_first(merged)))
            for listener in list(self._new_logs_listeners):
                listener(event.logs)

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

    @property
    def call_back(self) -> CallBackStatus:
        """Where the account's latest call-back stands (the call-back sensor's state)."""
        return self.call_back_tracker.status

    @callback
    def async_call_back_started(
        self,
        conversation_log_id: str,
        phone_number: str,
        operation_id: str,
        *,
        display_name: str | None = None,
        sip_uri: str | None = None,
    ) -> None:
        """Show `connecting` at once, before the server answers: a press must show something."""
        self.call_back_tracker.async_started(
            conversation_log_id,
            phone_number,
            operation_id,
            display_name=display_name,
            sip_uri=sip_uri,
        )

    @callback
    def async_call_back_failed(self, operation_id: str, reason: str) -> None:
        """Show that the request for the call-back failed, and why."""
        self.call_back_tracker.async_failed(operation_id, reason)

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


def build_client(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    *,
    phone_number: str,
    endpoint_id: str,
    entry: ConfigEntry | None = None,
) -> UcwaClient:
    """Build a client from an entry's (or a flow's) data with Home Assistant's HTTP session.

    The one place where entry data becomes a UcwaConfig, for setup and the config flow alike.
    With an `entry`, the client's long-running loops (the event channel) run as the entry's
    background tasks: Home Assistant knows them, shows them in its diagnostics and cancels them
    on unload.
    """
    verify_ssl: bool = data[CONF_VERIFY_SSL]
    return UcwaClient(
        UcwaConfig(
            sign_in_address=data[CONF_SIGN_IN_ADDRESS],
            password=data[CONF_PASSWORD],
            username=data.get(CONF_USERNAME),
            phone_number=phone_number,
            discovery_url=data.get(CONF_DISCOVERY_URL),
            verify_ssl=verify_ssl,
            endpoint_id=endpoint_id,
        ),
        session=async_get_clientsession(hass, verify_ssl=verify_ssl),
        task_factory=None
        if entry is None
        else lambda coro, name: entry.async_create_background_task(hass, coro, name),
    )


def default_phone_number(entry: ConfigEntry) -> str:
    """Return the account's call-back number: the options' one, else the one from setup.

    Read at use time, so an options change needs no reload.
    """
    number: str = entry.options.get(CONF_PHONE_NUMBER, entry.data[CONF_PHONE_NUMBER])
    return number
