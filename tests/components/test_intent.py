"""The `UcwaCallBack` intent, through Home Assistant's intent API, against the simulator."""

from __future__ import annotations

from collections.abc import Generator
import json
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.const import DOMAIN
from custom_components.ucwa.intent import (
    INTENT_CALL_BACK,
    UNREACHABLE,
    async_call_back,
    find_conversation_log,
)
from simulator import Simulator

from .conftest import wait_for_state


def callbacks_sent(sim: Simulator) -> list[Any]:
    """Return the continuePhoneAudio requests the simulator received."""
    return [r for r in sim.requests if r.route == "continuePhoneAudio"]


def log_of(sim: Simulator, display_name: str) -> str:
    """Return the id of the newest simulator log with this remote party."""
    logs = [log for log in sim.logs if log.recipients[0].display_name == display_name]
    return max(logs, key=lambda log: log.creation_time).log_id


async def handle(hass: HomeAssistant, **slots: str) -> intent.IntentResponse:
    """Handle the intent the way Assist and the LLM tools do."""
    return await intent.async_handle(
        hass, "test", INTENT_CALL_BACK, {key: {"value": value} for key, value in slots.items()}
    )


def speech(response: intent.IntentResponse) -> str:
    """Return the plain speech of a response."""
    text: str = response.speech["plain"]["speech"]
    return text


async def test_by_name(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """`name` picks the newest conversation whose party's name contains it, any case."""
    response = await handle(hass, name="bob")

    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert speech(response) == "Calling you back about your conversation with Bob Kelly"
    [request] = callbacks_sent(simulator)
    log_id = log_of(simulator, "Bob Kelly")
    assert request.method == "POST"
    assert f"/conversationLogs/{log_id}/continuePhoneAudio" in request.path
    assert json.loads(request.body)["phoneNumber"] == "tel:+14255551234"
    assert response.success_results[0].id == log_id
    assert response.speech_slots["call_back"]["conversation_log"] == log_id


async def test_by_sip_uri_answered(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """The SIP URI matches too, and a name may pick an answered conversation."""
    response = await handle(hass, name="CAROL@contoso")

    assert speech(response) == "Calling you back about your conversation with Carol Ruiz"
    [request] = callbacks_sent(simulator)
    assert f"/conversationLogs/{log_of(simulator, 'Carol Ruiz')}/continuePhoneAudio" in (
        request.path
    )
    assert json.loads(request.body)["phoneNumber"] == "tel:+14255551234"


async def test_newest_missed_without_name(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Without a name: the newest missed conversation, even when an answered one is newer."""
    newer = simulator.add_conversation_log(
        minutes_ago=1,
        direction="Incoming",
        status="Archived",
        type="AudioLog",
        recipients=[{"display_name": "Gina Ortiz", "sip_uri": "sip:gina@contoso.com"}],
    )
    coordinator = setup_integration.runtime_data
    await coordinator.async_refresh()
    assert coordinator.data.conversation_logs is not None
    assert coordinator.data.conversation_logs[0].log_id == newer.log_id

    response = await handle(hass)

    assert speech(response) == "Calling you back about your conversation with Bob Kelly"
    [request] = callbacks_sent(simulator)
    assert f"/conversationLogs/{log_of(simulator, 'Bob Kelly')}/continuePhoneAudio" in (
        request.path
    )
    assert json.loads(request.body)["phoneNumber"] == "tel:+14255551234"


async def test_no_such_conversation(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A name nobody has: an error answer, and nothing is sent."""
    response = await handle(hass, name="Zed")

    assert response.response_type is intent.IntentResponseType.ERROR
    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS
    assert speech(response) == "I found no recent Skype for Business conversation with Zed"
    assert callbacks_sent(simulator) == []


async def test_no_missed_conversation(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Without a name and with no missed log: says so."""
    coordinator = setup_integration.runtime_data
    answered = tuple(log for log in coordinator.data.conversation_logs or () if not log.is_missed)
    assert find_conversation_log(answered, None) is None

    coordinator.async_set_updated_data(
        type(coordinator.data)(coordinator.data.missed_items, answered)
    )
    response = await handle(hass)

    assert speech(response) == "You have no missed Skype for Business conversation to call back"
    assert callbacks_sent(simulator) == []


async def test_action_error_is_spoken(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """The action's translated error is the answer."""
    simulator.fail_next("POST", "continuePhoneAudio", status=403, code="Forbidden")

    response = await handle(hass, name="bob")

    assert response.response_type is intent.IntentResponseType.ERROR
    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert speech(response).startswith(
        "The Skype for Business server refused the call-back: HTTP 403 Forbidden"
    )
    [request] = callbacks_sent(simulator)
    assert f"/conversationLogs/{log_of(simulator, 'Bob Kelly')}/" in request.path


async def test_no_account_loaded(hass: HomeAssistant) -> None:
    """The intent exists without an entry and says that no account is loaded."""
    assert await async_setup_component(hass, DOMAIN, {})

    response = await handle(hass, name="bob")

    assert response.response_type is intent.IntentResponseType.ERROR
    assert speech(response) == "No Skype for Business account is loaded"


@pytest.fixture
def second_account(hass: HomeAssistant) -> Generator[MockConfigEntry]:
    """Return a second entry that counts as loaded (it is never set up).

    Marked not loaded again at teardown, so Home Assistant does not try to unload platforms it
    never set up (and log a warning for each).
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="alice@fabrikam.com",
        unique_id="alice@fabrikam.com",
        state=ConfigEntryState.LOADED,
    )
    entry.add_to_hass(hass)
    yield entry
    entry.mock_state(hass, ConfigEntryState.NOT_LOADED)


async def test_several_accounts(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    second_account: MockConfigEntry,
) -> None:
    """With two loaded accounts the intent asks which; the `account` slot chooses."""
    response = await handle(hass, name="bob")

    assert speech(response) == (
        "You have more than one Skype for Business account; say which one: "
        "alice@contoso.com, alice@fabrikam.com"
    )
    assert callbacks_sent(simulator) == []

    response = await handle(hass, name="bob", account="Contoso")

    assert speech(response) == "Calling you back about your conversation with Bob Kelly"
    [request] = callbacks_sent(simulator)
    assert f"/conversationLogs/{log_of(simulator, 'Bob Kelly')}/continuePhoneAudio" in (
        request.path
    )

    response = await handle(hass, account="northwind")
    assert speech(response) == "There is no loaded Skype for Business account matching northwind"


async def test_registered_once(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    """The `intent` integration loads intent.py as a platform; the handler is not replaced."""
    assert await async_setup_component(hass, DOMAIN, {})
    [handler] = [h for h in intent.async_get(hass) if h.intent_type == INTENT_CALL_BACK]
    assert await async_setup_component(hass, "intent", {})
    await hass.async_block_till_done()

    assert [h for h in intent.async_get(hass) if h.intent_type == INTENT_CALL_BACK] == [handler]
    assert "being overwritten" not in caplog.text


async def test_party_known_by_sip_uri_only(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A party without a display name is named by its SIP address."""
    record = simulator.add_conversation_log(
        minutes_ago=1,
        direction="Incoming",
        status="Missed",
        type="AudioLog",
        recipients=[{"sip_uri": "sip:ivan@contoso.com"}],
    )
    await setup_integration.runtime_data.async_refresh()

    response = await handle(hass, name="ivan")

    assert speech(response) == "Calling you back about your conversation with ivan@contoso.com"
    [request] = callbacks_sent(simulator)
    assert f"/conversationLogs/{record.log_id}/continuePhoneAudio" in request.path


@pytest.mark.parametrize("simulator_options", [{"conversation_history": "absent"}])
async def test_without_conversation_history(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Without history the action's translated capability error is the answer."""
    assert setup_integration.runtime_data.data.conversation_logs is None

    response = await handle(hass, name="bob")

    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert speech(response) == "The server does not offer conversationLogs for this account"
    assert callbacks_sent(simulator) == []


async def test_server_down(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """The server stops answering while the account is loaded: says so, not a socket error."""
    await simulator.stop()

    response = await handle(hass, name="bob")

    assert setup_integration.state is ConfigEntryState.LOADED
    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert speech(response) == UNREACHABLE
    # The LLM tool runs the same logic and gets the same words.
    result = await async_call_back(hass, name="bob")
    assert result.as_dict() == {
        "success": False,
        "speech": UNREACHABLE,
        "error_code": "failed_to_handle",
        "display_name": "Bob Kelly",
        "conversation_log": log_of(simulator, "Bob Kelly"),
        "account": "alice@contoso.com",
    }


async def test_session_lost(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """While the session is down (entities unavailable), nothing is sent and it says why."""
    await simulator.wait_for_parked_pget()
    simulator.fail_next("POST", r"/applications$", status=503, code="ServiceFailure", count=50)
    simulator.drop_application(kind="not_found")
    await wait_for_state(
        hass, "sensor.alice_contoso_com_missed_conversations", lambda s: s.state == "unavailable"
    )

    response = await handle(hass)

    assert speech(response) == UNREACHABLE
    assert callbacks_sent(simulator) == []
    simulator.clear_faults()


async def test_server_down_since_start(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """An account Home Assistant keeps retrying is there, its server is not: says that."""
    assert await async_setup_component(hass, DOMAIN, {})
    await simulator.stop()
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY

    response = await handle(hass, name="bob")

    assert speech(response) == UNREACHABLE
