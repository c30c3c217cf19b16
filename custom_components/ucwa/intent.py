"""The `UcwaCallBack` intent: "call me back (about my conversation with Bob)" by voice.

The intent resolves a conversation log and runs the action `ucwa.continue_phone_audio` with its
stable id, so every check and translated error of the action applies. It answers in speech with
who is being called, or why not. The LLM tool of `llm.py` runs the same logic.

Choosing the account: the only loaded one; with several loaded, the one whose title or sign-in
address contains the optional `account` slot; with several loaded and no `account`, the intent
asks for it instead of guessing.

While the account's server cannot be reached (Home Assistant retrying its setup, the session
down, or the request failing to connect) the answer says so, in words for speech.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, intent
import voluptuous as vol

from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_CONVERSATION_LOG,
    ATTR_PHONE_NUMBER,
    DOMAIN,
    SERVICE_CONTINUE_PHONE_AUDIO,
)

if TYPE_CHECKING:
    from .api import ConversationLog
    from .coordinator import UcwaConfigEntry

INTENT_CALL_BACK: Final = "UcwaCallBack"
SLOT_NAME: Final = "name"
SLOT_ACCOUNT: Final = "account"

DESCRIPTION: Final = (
    "Calls the user back on their own phone and connects it to the other party of a past "
    "Skype for Business conversation. Without a name: the newest missed conversation. With a "
    "name: the newest conversation with someone whose name or SIP address contains it. Give "
    "an account only when the user has several Skype for Business accounts."
)
NAME_DESCRIPTION: Final = (
    "Part of the other party's name or SIP address, e.g. 'Bob'; leave out for the newest "
    "missed conversation"
)
ACCOUNT_DESCRIPTION: Final = (
    "Part of the Skype for Business account's sign-in address; only needed with several accounts"
)
UNREACHABLE: Final = "The Skype for Business server cannot be reached right now; try again later"


@dataclass(frozen=True, slots=True)
class CallBackResult:
    """What a call-back attempt did, spoken and as data (for the intent and the LLM tool)."""

    success: bool
    speech: str
    error_code: intent.IntentResponseErrorCode | None = None
    display_name: str | None = None
    conversation_log: str | None = None
    account: str | None = None
    response: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable summary (the LLM tool's result)."""
        data: dict[str, Any] = {"success": self.success, "speech": self.speech}
        if self.error_code is not None:
            data["error_code"] = self.error_code.value
        optional = {
            "display_name": self.display_name,
            "conversation_log": self.conversation_log,
            "account": self.account,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        if self.response:
            data["call_back"] = self.response
        return data


def _failure(code: intent.IntentResponseErrorCode, speech: str, **kwargs: Any) -> CallBackResult:
    return CallBackResult(success=False, speech=speech, error_code=code, **kwargs)


def _unreachable(**kwargs: Any) -> CallBackResult:
    return _failure(intent.IntentResponseErrorCode.FAILED_TO_HANDLE, UNREACHABLE, **kwargs)


def _select_entry(hass: HomeAssistant, account: str | None) -> UcwaConfigEntry | CallBackResult:
    """Return the account to use, or the answer saying why there is none.

    An account Home Assistant keeps retrying to set up is the user's account all the same: its
    server is what is missing, and the answer says so.
    """
    loaded = [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_RETRY)
    ]
    if not loaded:
        return _failure(
            intent.IntentResponseErrorCode.FAILED_TO_HANDLE,
            "No Skype for Business account is loaded",
        )
    if account:
        needle = account.casefold()
        loaded = [
            entry
            for entry in loaded
            if needle in entry.title.casefold() or needle in (entry.unique_id or "").casefold()
        ]
        if not loaded:
            return _failure(
                intent.IntentResponseErrorCode.NO_VALID_TARGETS,
                f"There is no loaded Skype for Business account matching {account}",
            )
    if len(loaded) > 1:
        titles = ", ".join(sorted(entry.title for entry in loaded))
        return _failure(
            intent.IntentResponseErrorCode.NO_VALID_TARGETS,
            f"You have more than one Skype for Business account; say which one: {titles}",
        )
    if loaded[0].state is not ConfigEntryState.LOADED:
        return _unreachable(account=loaded[0].title)
    return cast("UcwaConfigEntry", loaded[0])


def _party_name(log: ConversationLog, needle: str | None) -> str | None:
    """Name the remote party: the recipient that matched, else the first one."""
    recipients = list(log.recipients)
    if needle is not None:
        recipients.sort(key=lambda recipient: not _recipient_matches(recipient, needle))
    for recipient in recipients:
        if recipient.display_name:
            return recipient.display_name
        if recipient.sip_uri:
            return recipient.sip_uri.removeprefix("sip:").split(";", 1)[0]
    return None


def _recipient_matches(recipient: Any, needle: str) -> bool:
    return any(
        value is not None and needle in value.casefold()
        for value in (recipient.display_name, recipient.sip_uri)
    )


def find_conversation_log(
    logs: tuple[ConversationLog, ...], name: str | None
) -> ConversationLog | None:
    """Return the newest log with a party whose name or SIP URI contains `name`, case-insensitively.

    Without a name, the newest missed log. `logs` are newest first.
    """
    if name is None:
        return next((log for log in logs if log.is_missed), None)
    needle = name.casefold()
    return next(
        (log for log in logs if any(_recipient_matches(r, needle) for r in log.recipients)),
        None,
    )


async def async_call_back(
    hass: HomeAssistant,
    *,
    name: str | None = None,
    account: str | None = None,
    phone_number: str | None = None,
    context: Context | None = None,
) -> CallBackResult:
    """Resolve the conversation, run `ucwa.continue_phone_audio` and say what happened."""
    name = name.strip() or None if name else None
    account = account.strip() or None if account else None
    selected = _select_entry(hass, account)
    if isinstance(selected, CallBackResult):
        return selected
    entry = selected
    if not entry.runtime_data.last_update_success:
        # The session is down (the entities and buttons are unavailable): nothing to send to.
        return _unreachable(account=entry.title)
    service_data: dict[str, Any] = {ATTR_CONFIG_ENTRY_ID: entry.entry_id}
    if phone_number:
        service_data[ATTR_PHONE_NUMBER] = phone_number
    party: str | None = None
    logs = entry.runtime_data.data.conversation_logs
    if logs is not None:
        if (log := find_conversation_log(logs, name)) is None:
            if name is None:
                return _failure(
                    intent.IntentResponseErrorCode.NO_VALID_TARGETS,
                    "You have no missed Skype for Business conversation to call back",
                    account=entry.title,
                )
            return _failure(
                intent.IntentResponseErrorCode.NO_VALID_TARGETS,
                f"I found no recent Skype for Business conversation with {name}",
                account=entry.title,
            )
        service_data[ATTR_CONVERSATION_LOG] = log.log_id
        party = _party_name(log, name.casefold() if name else None)
    # Without conversation history the action raises its translated capability error.
    try:
        response = await hass.services.async_call(
            DOMAIN,
            SERVICE_CONTINUE_PHONE_AUDIO,
            service_data,
            blocking=True,
            context=context,
            return_response=True,
        )
    except HomeAssistantError as err:
        # A socket error's details are for the log, not for speech.
        return _failure(
            intent.IntentResponseErrorCode.FAILED_TO_HANDLE,
            UNREACHABLE if err.translation_key == "cannot_connect" else str(err),
            display_name=party,
            conversation_log=service_data.get(ATTR_CONVERSATION_LOG),
            account=entry.title,
        )
    speech = (
        f"Calling you back about your conversation with {party}"
        if party
        else "Calling you back about your conversation"
    )
    return CallBackResult(
        success=True,
        speech=speech,
        display_name=party,
        conversation_log=service_data.get(ATTR_CONVERSATION_LOG),
        account=entry.title,
        response=dict(response or {}),
    )


class UcwaCallBackIntentHandler(intent.IntentHandler):
    """Call the user back about a past conversation, by name or the newest missed one."""

    intent_type = INTENT_CALL_BACK
    description = DESCRIPTION

    @property
    def slot_schema(self) -> dict[Any, Any]:
        """Both slots are optional strings."""
        return {
            vol.Optional(SLOT_NAME, description=NAME_DESCRIPTION): cv.string,
            vol.Optional(SLOT_ACCOUNT, description=ACCOUNT_DESCRIPTION): cv.string,
        }

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Run the call-back and answer in speech."""
        slots = self.async_validate_slots(intent_obj.slots)
        result = await async_call_back(
            intent_obj.hass,
            name=slots.get(SLOT_NAME, {}).get("value"),
            account=slots.get(SLOT_ACCOUNT, {}).get("value"),
            context=intent_obj.context,
        )
        response = intent_obj.create_response()
        if not result.success:
            assert result.error_code is not None
            response.async_set_error(result.error_code, result.speech)
            return response
        response.async_set_speech(result.speech)
        response.async_set_speech_slots(result.as_dict())
        response.async_set_results(
            success_results=[
                intent.IntentResponseTarget(
                    type=intent.IntentResponseTargetType.CUSTOM,
                    name=result.display_name or "",
                    id=result.conversation_log,
                )
            ]
        )
        return response


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the integration's intents once.

    Called from `async_setup`, and again by the `intent` integration, which treats this module
    as the integration's intent platform; the second call finds the handler and does nothing.
    """
    if any(handler.intent_type == INTENT_CALL_BACK for handler in intent.async_get(hass)):
        return
    intent.async_register(hass, UcwaCallBackIntentHandler())
