"""The `ucwa.continue_phone_audio` action: call the user back about a past conversation."""

from __future__ import annotations

from typing import cast

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
from .api.models import validate_operation_id
from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_CONVERSATION_LOG,
    ATTR_INVITATION,
    ATTR_OPERATION_ID,
    ATTR_PHONE_NUMBER,
    CONVERSATION_LOG_LAST,
    CONVERSATION_LOG_LAST_MISSED,
    DOMAIN,
    MAX_OPERATION_ID_LENGTH,
    PHONE_NUMBER_RE,
    SERVICE_CONTINUE_PHONE_AUDIO,
)
from .coordinator import (
    CONVERSATION_LOGS,
    UcwaConfigEntry,
    UcwaData,
    api_error_placeholders,
    capability_reason,
    default_phone_number,
)

# Only types here: every value check raises a translated ServiceValidationError in the handler.
CONTINUE_PHONE_AUDIO_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_CONVERSATION_LOG): cv.string,
        vol.Optional(ATTR_PHONE_NUMBER): cv.string,
        vol.Optional(ATTR_OPERATION_ID): cv.string,
    }
)


def _validation_error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _async_get_entry(hass: HomeAssistant, call: ServiceCall) -> UcwaConfigEntry:
    """Return the targeted loaded entry; the field may be left out when only one is loaded."""
    if (entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID)) is None:
        loaded = hass.config_entries.async_loaded_entries(DOMAIN)
        if len(loaded) != 1:
            raise _validation_error("config_entry_required")
        return cast("UcwaConfigEntry", loaded[0])
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise _validation_error("config_entry_not_found", config_entry_id=entry_id)
    if entry.state is not ConfigEntryState.LOADED:
        raise _validation_error("config_entry_not_loaded", title=entry.title)
    return cast("UcwaConfigEntry", entry)


def _phone_number(entry: UcwaConfigEntry, call: ServiceCall) -> str:
    """Return the number to ring: the field, else the entry's default read now.

    The client turns it into the `tel:+…` URI the server expects.
    """
    number: str = call.data.get(ATTR_PHONE_NUMBER, default_phone_number(entry))
    if not PHONE_NUMBER_RE.fullmatch(number):
        raise _validation_error("invalid_phone_number", phone_number=number)
    return number


def resolve_conversation_log(data: UcwaData, reference: str | None) -> ConversationLog:
    """Find the log a person means: `last`, `last_missed` or a stable id (left out: `last`).

    The same words work in every action and for the buttons, so nobody has to copy a 32-hex id
    out of a sensor's attributes to call someone back.
    """
    if data.conversation_logs is None:
        raise _missing_capability_error(data.unavailable[CONVERSATION_LOGS])
    if reference in (None, CONVERSATION_LOG_LAST):
        if not data.conversation_logs:
            raise _validation_error("no_conversation_logs")
        return data.conversation_logs[0]
    if reference == CONVERSATION_LOG_LAST_MISSED:
        if not (missed := data.missed_conversation_logs):
            raise _validation_error("no_missed_conversation_logs")
        return missed[0]
    assert reference is not None
    if (found := data.find_log(reference)) is None:
        raise _validation_error("conversation_log_not_found", conversation_log=reference)
    return found


def _conversation_log(entry: UcwaConfigEntry, call: ServiceCall) -> ConversationLog:
    """Return the log to continue, refused before sending when the server offers no call-back."""
    log = resolve_conversation_log(entry.runtime_data.data, call.data.get(ATTR_CONVERSATION_LOG))
    if log.continue_phone_audio_href is None:
        # UCWA leaves the link out when the action is not allowed on that log.
        raise _validation_error("conversation_log_not_continuable", conversation_log=log.log_id)
    return log


def _missing_capability_error(err: UcwaError) -> HomeAssistantError:
    """Name what the server withholds: the missing link's rel, or Exchange's refusal."""
    if isinstance(err, UcwaLinkNotOfferedError):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="link_not_offered",
            translation_placeholders={"rel": err.rel},
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="conversation_history_unavailable",
        translation_placeholders={"error": capability_reason(err)},
    )


def _operation_id(call: ServiceCall) -> str | None:
    """Return the caller's operation id after the checks the server would make."""
    if (operation_id := call.data.get(ATTR_OPERATION_ID)) is None:
        return None  # the client generates one
    try:
        return validate_operation_id(operation_id)
    except ValueError:
        raise _validation_error(
            "invalid_operation_id", max_length=str(MAX_OPERATION_ID_LENGTH)
        ) from None


async def _async_continue_phone_audio(call: ServiceCall) -> ServiceResponse:
    """Ring the user's phone and connect it to the remote party of a past conversation."""
    entry = _async_get_entry(call.hass, call)
    phone_number = _phone_number(entry, call)
    operation_id = _operation_id(call)
    log = _conversation_log(entry, call)
    coordinator = entry.runtime_data
    try:
        result: PhoneAudioCall = await coordinator.client.continue_phone_audio(
            log, phone_number=phone_number, operation_id=operation_id
        )
    except UcwaAuthenticationError as err:
        entry.async_start_reauth(call.hass)
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="invalid_auth") from err
    except UcwaLinkNotOfferedError as err:
        raise _missing_capability_error(err) from err
    except UcwaConversationLogNotFoundError as err:
        # Deleted on the server since the sensors last saw it.
        raise _validation_error("conversation_log_not_found", conversation_log=err.log_id) from err
    except UcwaApiError as err:
        if isinstance(err, UcwaApplicationError):
            coordinator.async_create_application_issue(err)
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="continue_phone_audio_failed",
            translation_placeholders=api_error_placeholders(err),
        ) from err
    except UcwaTimeoutError as err:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="timeout") from err
    except UcwaConnectionError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err
    except UcwaError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="request_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    return {
        ATTR_INVITATION: result.invitation_href,
        ATTR_OPERATION_ID: result.operation_id,
        ATTR_CONVERSATION_LOG: result.conversation_log_id,
        ATTR_PHONE_NUMBER: result.phone_number,
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
