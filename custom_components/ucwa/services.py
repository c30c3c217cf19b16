"""The actions: call back about a conversation, mark conversations read, list conversations.

`async_call_back` is also what the call-back buttons press, so a button and the action fail with
the same translated errors and move the call-back status sensor the same way.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import uuid4

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .api import (
    ConversationLog,
    PhoneAudioCall,
    UcwaApiError,
    UcwaApplicationError,
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaConversationLogNotFoundError,
    UcwaError,
    UcwaLinkNotOfferedError,
    UcwaTimeoutError,
)
from .api.models import is_phone_number, normalize_phone_number, validate_operation_id
from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_CONVERSATION_LOG,
    ATTR_CONVERSATION_LOGS,
    ATTR_DISPLAY_NAME,
    ATTR_INVITATION,
    ATTR_LIMIT,
    ATTR_MISSED_ONLY,
    ATTR_OPERATION_ID,
    ATTR_PHONE_NUMBER,
    ATTR_SIP_URI,
    CONVERSATION_LOG_LAST,
    CONVERSATION_LOG_LAST_MISSED,
    DOMAIN,
    LOGGER,
    MAX_OPERATION_ID_LENGTH,
    SERVICE_CONTINUE_PHONE_AUDIO,
    SERVICE_GET_CONVERSATION_LOGS,
    SERVICE_MARK_AS_READ,
)
from .coordinator import CONVERSATION_LOGS, UcwaConfigEntry, UcwaData, default_phone_number
from .entity import conversation_log_attributes
from .errors import UcwaActionError, api_error_placeholders, capability_reason

# Only types here: every value check raises a translated ServiceValidationError in the handler.
CONTINUE_PHONE_AUDIO_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_CONVERSATION_LOG): cv.string,
        vol.Optional(ATTR_PHONE_NUMBER): cv.string,
        vol.Optional(ATTR_OPERATION_ID): cv.string,
    }
)
MARK_AS_READ_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_CONVERSATION_LOG): cv.string,
    }
)
MAX_LIST_LIMIT = 100
GET_CONVERSATION_LOGS_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_LIMIT, default=10): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=MAX_LIST_LIMIT)
        ),
        vol.Optional(ATTR_MISSED_ONLY, default=False): cv.boolean,
    }
)


def validation_error(key: str, **placeholders: str) -> ServiceValidationError:
    """Refuse an action's input in the user's language (the `exceptions` translations)."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def async_get_entry(hass: HomeAssistant, call: ServiceCall) -> UcwaConfigEntry:
    """Return the targeted loaded entry; the field may be left out when only one is loaded."""
    if (entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID)) is None:
        loaded = hass.config_entries.async_loaded_entries(DOMAIN)
        if len(loaded) != 1:
            raise validation_error("config_entry_required")
        return cast("UcwaConfigEntry", loaded[0])
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise validation_error("config_entry_not_found", config_entry_id=entry_id)
    if entry.state is not ConfigEntryState.LOADED:
        raise validation_error("config_entry_not_loaded", title=entry.title)
    return cast("UcwaConfigEntry", entry)


def _phone_number(entry: UcwaConfigEntry, number: str | None) -> str:
    """Return the number to ring: the given one, else the entry's default read now.

    The client turns it into the `tel:+…` URI the server expects.
    """
    if number is None:
        number = default_phone_number(entry)
    if not is_phone_number(number):
        raise validation_error("invalid_phone_number", phone_number=number)
    return number


def resolve_conversation_log(data: UcwaData, reference: str | None) -> ConversationLog:
    """Find the log a person means: `last`, `last_missed` or a stable id (left out: `last`).

    The same words work in every action and for the buttons, so nobody has to copy a 32-hex id
    out of a sensor's attributes to call someone back.
    """
    logs = _history(data)
    if reference in (None, CONVERSATION_LOG_LAST):
        if not logs:
            raise validation_error("no_conversation_logs")
        return logs[0]
    if reference == CONVERSATION_LOG_LAST_MISSED:
        if not (missed := data.missed_conversation_logs):
            raise validation_error("no_missed_conversation_logs")
        return missed[0]
    assert reference is not None
    if (found := data.find_log(reference)) is None:
        raise validation_error("conversation_log_not_found", conversation_log=reference)
    return found


def _history(data: UcwaData) -> tuple[ConversationLog, ...]:
    """Return the newest logs, or say what the server withholds."""
    if data.conversation_logs is None:
        raise _missing_capability_error(data.unavailable[CONVERSATION_LOGS])
    return data.conversation_logs


def _missing_capability_error(
    err: UcwaError, error_class: type[HomeAssistantError] = HomeAssistantError
) -> HomeAssistantError:
    """Name what the server withholds: the missing link's rel, or Exchange's refusal."""
    if isinstance(err, UcwaLinkNotOfferedError):
        return error_class(
            translation_domain=DOMAIN,
            translation_key="link_not_offered",
            translation_placeholders={"rel": err.rel},
        )
    return error_class(
        translation_domain=DOMAIN,
        translation_key="conversation_history_unavailable",
        translation_placeholders={"error": capability_reason(err)},
    )


def _operation_id(operation_id: str | None) -> str:
    """Return the caller's operation id after the checks the server would make, or a new one.

    Chosen here rather than by the client, so the call-back sensor knows which invitation events
    are this call-back's before the server has answered.
    """
    if operation_id is None:
        return uuid4().hex
    try:
        return validate_operation_id(operation_id)
    except ValueError:
        raise validation_error(
            "invalid_operation_id", max_length=str(MAX_OPERATION_ID_LENGTH)
        ) from None


def client_error(
    entry: UcwaConfigEntry,
    err: UcwaError,
    failed_key: str,
    what: str,
    *,
    timeout_key: str = "request_timeout",
) -> HomeAssistantError:
    """Translate what the client raised and log it once; `failed_key` names the refused request.

    Every UcwaError is an answer the integration expects (a refusal the reference documents, a
    server that does not answer): one warning line says `what` failed and why, and the error
    raised carries the same words for the person, without a traceback in the log. `what` names
    a conversation by its log id: names and SIP addresses stay out of logs, as out of
    diagnostics. `timeout_key` says what an unanswered request means for this one.
    """
    error = _translate_client_error(entry, err, failed_key, timeout_key)
    LOGGER.warning("%s failed: %s", what, error)
    return error


def _translate_client_error(
    entry: UcwaConfigEntry, err: UcwaError, failed_key: str, timeout_key: str
) -> HomeAssistantError:
    if isinstance(err, UcwaAuthenticationError):
        entry.async_start_reauth(entry.runtime_data.hass)
        return UcwaActionError(translation_domain=DOMAIN, translation_key="invalid_auth")
    if isinstance(err, UcwaLinkNotOfferedError):
        return _missing_capability_error(err, UcwaActionError)
    if isinstance(err, UcwaConversationLogNotFoundError):
        # Deleted on the server since the sensors last saw it.
        return validation_error("conversation_log_not_found", conversation_log=err.log_id)
    if isinstance(err, UcwaApiError):
        if isinstance(err, UcwaApplicationError):
            entry.runtime_data.async_create_application_issue(err)
        return UcwaActionError(
            translation_domain=DOMAIN,
            translation_key=failed_key,
            translation_placeholders=api_error_placeholders(err),
        )
    if isinstance(err, UcwaTimeoutError):
        return UcwaActionError(translation_domain=DOMAIN, translation_key=timeout_key)
    key = "cannot_connect" if isinstance(err, UcwaConnectionError) else "request_failed"
    return UcwaActionError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders={"error": str(err)}
    )


async def async_call_back(
    entry: UcwaConfigEntry,
    conversation_log: str | None,
    phone_number: str | None = None,
    operation_id: str | None = None,
) -> dict[str, Any]:
    """Ring the user's phone and connect it to the remote party of a past conversation.

    The one code path of the action and the buttons: input is checked before anything is sent,
    the call-back sensor shows `connecting` before the request goes out, and a failure shows
    `failed` there as well as being raised. The sensor and the response name who the server
    connects you to (the log's other party, as the last-conversation sensors show it).
    """
    number = _phone_number(entry, phone_number)
    operation = _operation_id(operation_id)
    log = resolve_conversation_log(entry.runtime_data.data, conversation_log)
    if log.continue_phone_audio_href is None:
        # UCWA leaves the link out when the action is not allowed on that log.
        raise validation_error("conversation_log_not_continuable", conversation_log=log.log_id)
    coordinator = entry.runtime_data
    shown_number = normalize_phone_number(number).removeprefix("tel:")
    described = conversation_log_attributes(log)
    party: dict[str, Any] = {
        key: described[key] for key in (ATTR_DISPLAY_NAME, ATTR_SIP_URI) if key in described
    }
    coordinator.async_call_back_started(log.log_id, shown_number, operation, **party)
    try:
        result: PhoneAudioCall = await coordinator.client.continue_phone_audio(
            log, phone_number=number, operation_id=operation
        )
    except UcwaError as err:
        error = client_error(
            entry,
            err,
            "continue_phone_audio_failed",
            f"Call-back about conversation log {log.log_id}",
            # The server may have acted: the phone may still ring.
            timeout_key="timeout",
        )
        coordinator.async_call_back_failed(operation, str(error))
        raise error from err
    return {
        ATTR_INVITATION: result.invitation_href,
        ATTR_OPERATION_ID: result.operation_id,
        ATTR_CONVERSATION_LOG: result.conversation_log_id,
        ATTR_PHONE_NUMBER: result.phone_number,
        **party,
    }


async def _async_continue_phone_audio(call: ServiceCall) -> ServiceResponse:
    """Handle `ucwa.continue_phone_audio`; answer only when asked to."""
    response = await async_call_back(
        async_get_entry(call.hass, call),
        call.data.get(ATTR_CONVERSATION_LOG),
        call.data.get(ATTR_PHONE_NUMBER),
        call.data.get(ATTR_OPERATION_ID),
    )
    return response if call.return_response else None


def unread_missed_logs(data: UcwaData) -> tuple[ConversationLog, ...]:
    """Return the missed logs that are unread: the N newest, N being the server's unread counter.

    UCWA gives no per-log read flag (conversationLog_ref.md lists none; markAsRead_ref.md only
    acts): only missedItems counts the unread missed conversations. A missed conversation
    arrives unread, and a client marks read what the user has seen, so the unread ones are the
    newest N. That rule fails only when a newer one was read elsewhere while an older one was
    not; the counter then stays above 0, and that log can be named by its id. Without the
    counter (the server withholds missedItems, or leaves the property out) every missed log is
    taken: marking a read one again changes nothing.
    """
    missed = data.missed_conversation_logs
    if (
        data.missed_items is None
        or (unread := data.missed_items.unread_missed_conversations_count) is None
    ):
        return missed
    return missed[: max(unread, 0)]


async def _async_mark_as_read(call: ServiceCall) -> None:
    """Mark one conversation read in Exchange, or the unread missed ones (`unread_missed_logs`).

    When the unread counter says 0, nothing is sent. The counter follows by the server's
    missedItems event.
    """
    entry = async_get_entry(call.hass, call)
    data = entry.runtime_data.data
    if (reference := call.data.get(ATTR_CONVERSATION_LOG)) is not None:
        logs: tuple[ConversationLog, ...] = (resolve_conversation_log(data, reference),)
        if logs[0].mark_as_read_href is None:
            raise validation_error("conversation_log_not_markable", conversation_log=logs[0].log_id)
    else:
        _history(data)
        logs = tuple(log for log in unread_missed_logs(data) if log.mark_as_read_href)
    for log in logs:
        try:
            await entry.runtime_data.client.mark_as_read(log)
        except UcwaError as err:
            raise client_error(
                entry, err, "mark_as_read_failed", f"Marking conversation log {log.log_id} read"
            ) from err


async def _async_get_conversation_logs(call: ServiceCall) -> ServiceResponse:
    """List the newest conversations with what the sensors show of each, for scripts and LLMs.

    `missed_only` reads the newest 100 and keeps the missed ones, so a short `limit` still finds
    missed conversations behind answered ones.
    """
    entry = async_get_entry(call.hass, call)
    _history(entry.runtime_data.data)
    limit: int = call.data[ATTR_LIMIT]
    missed_only: bool = call.data[ATTR_MISSED_ONLY]
    try:
        logs = await entry.runtime_data.client.get_conversation_logs(
            limit=MAX_LIST_LIMIT if missed_only else limit
        )
    except UcwaError as err:
        raise client_error(entry, err, "server_error", "Reading the conversation logs") from err
    chosen = [log for log in logs if log.is_missed or not missed_only][:limit]
    return {
        ATTR_CONVERSATION_LOGS: [conversation_log_attributes(log, with_time=True) for log in chosen]
    }


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions (from async_setup, once)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_CONTINUE_PHONE_AUDIO,
        _async_continue_phone_audio,
        schema=CONTINUE_PHONE_AUDIO_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_MARK_AS_READ, _async_mark_as_read, schema=MARK_AS_READ_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_CONVERSATION_LOGS,
        _async_get_conversation_logs,
        schema=GET_CONVERSATION_LOGS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
