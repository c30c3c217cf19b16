"""The call-back buttons and the call-back status sensor, pressed as a person would."""

from __future__ import annotations

from dataclasses import replace
import json
import logging
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button.const import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.components.sensor import ATTR_OPTIONS, SensorDeviceClass
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa import button
from custom_components.ucwa.api import (
    PhoneAudioCall,
    PhoneAudioInvitationEvent,
    Reason,
    UcwaConnectionError,
)
from custom_components.ucwa.const import DOMAIN
from custom_components.ucwa.entity import snake_case
from simulator import CallbackOutcome, Seed, Simulator, default_seed

from .conftest import POOL, wait_for_state

LAST_BUTTON = "button.alice_contoso_com_call_back_last_conversation"
MISSED_BUTTON = "button.alice_contoso_com_call_back_last_missed_conversation"
STATUS = "sensor.alice_contoso_com_call_back"


def callbacks_sent(sim: Simulator) -> list[Any]:
    """Return the continuePhoneAudio requests the simulator received."""
    return [r for r in sim.requests if r.route == "continuePhoneAudio"]


def newest(sim: Simulator, *, missed: bool = False) -> Any:
    """Return the simulator's newest (missed) log."""
    logs = [log for log in sim.logs if log.status == "Missed" or not missed]
    return max(logs, key=lambda log: log.creation_time)


async def press(hass: HomeAssistant, entity_id: str) -> None:
    """Press a button as the dashboard does."""
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


def track_states(hass: HomeAssistant, entity_id: str) -> list[str]:
    """Record every state the entity takes from now on."""
    seen: list[str] = []

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        if (new := event.data["new_state"]) is not None and (not seen or seen[-1] != new.state):
            seen.append(new.state)

    async_track_state_change_event(hass, [entity_id], _changed)
    return seen


async def test_entities(
    hass: HomeAssistant, setup_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Two named buttons and an idle enum sensor whose states are listed."""
    for entity_id, name in (
        (LAST_BUTTON, "alice@contoso.com Call back last conversation"),
        (MISSED_BUTTON, "alice@contoso.com Call back last missed conversation"),
        (STATUS, "alice@contoso.com Call-back"),
    ):
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        assert state.attributes["friendly_name"] == name
        entry = entity_registry.async_get(entity_id)
        assert entry is not None
        assert entry.translation_key == entity_id.split("alice_contoso_com_")[1]
    status = hass.states.get(STATUS)
    assert status is not None
    assert status.state == "idle"
    assert status.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENUM
    assert status.attributes[ATTR_OPTIONS] == [
        "idle",
        "connecting",
        "ringing",
        "connected",
        "failed",
    ]
    assert button.PARALLEL_UPDATES == 1


@pytest.mark.parametrize(("entity_id", "missed"), [(MISSED_BUTTON, True), (LAST_BUTTON, False)])
async def test_press_calls_back_and_status_follows(
    hass: HomeAssistant,
    *,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    entity_id: str,
    missed: bool,
) -> None:
    """One press: one POST for the right log; connecting at once, then ringing, connected."""
    seen = track_states(hass, STATUS)
    await press(hass, entity_id)
    # Before any event: the press shows at once.
    assert seen[0] == "connecting"
    target = newest(simulator, missed=missed)
    final = await wait_for_state(hass, STATUS, lambda s: s.state == "connected")
    [request] = callbacks_sent(simulator)
    assert request.method == "POST"
    assert request.path.endswith(f"/conversationLogs/{target.log_id}/continuePhoneAudio")
    body = json.loads(request.body)
    assert body["phoneNumber"] == "tel:+14255551234"
    assert seen == ["connecting", "ringing", "connected"]
    assert final.attributes == {
        **final.attributes,
        "conversation_log_id": target.log_id,
        "display_name": target.recipients[0].display_name,
        "sip_uri": target.recipients[0].sip_uri,
        "phone_number": "+14255551234",
        "operation_id": body["operationId"],
    }
    assert "reason" not in final.attributes
    translations = await async_get_translations(hass, "en", "entity", {DOMAIN})
    named = f"component.{DOMAIN}.entity.sensor.call_back.state_attributes"
    for attribute in set(final.attributes) - {"device_class", "options", "friendly_name", "icon"}:
        assert translations.get(f"{named}.{attribute}.name"), attribute
    assert translations[f"{named}.display_name.name"] == "Other party"


@pytest.mark.parametrize(
    "simulator_options",
    [{"callback_outcome": CallbackOutcome.failure(step_delay=0.01)}],
)
async def test_declined_call_back_shows_the_reason(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A call-back the other side declines ends `failed`, with the server's reason."""
    await press(hass, MISSED_BUTTON)
    state = await wait_for_state(hass, STATUS, lambda s: s.state == "failed")
    assert state.attributes["reason"] == "The call was declined."
    assert len(callbacks_sent(simulator)) == 1


def invitation(operation_id: str, kind: str, **fields: Any) -> PhoneAudioInvitationEvent:
    """Build a phoneAudioInvitation event as the client emits it."""
    return PhoneAudioInvitationEvent(
        type=kind,  # type: ignore[arg-type]
        href=f"{POOL}/ucwa/oauth/v1/applications/1/communication/invitations/1",
        operation_id=operation_id,
        state=fields.pop("state", None),
        direction="Outgoing",
        **fields,
    )


def push(mock_client: MagicMock, event: PhoneAudioInvitationEvent) -> None:
    """Deliver an event the way the client's event channel does."""
    mock_client.subscribe.call_args.args[0](event)


async def test_status_returns_to_idle(
    hass: HomeAssistant,
    mock_client: MagicMock,
    mock_loaded_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The outcome shows for a minute, then the sensor is idle again, without attributes."""
    mock_client.continue_phone_audio.return_value = PhoneAudioCall(
        "invitation", "op-1", "tel:+14255551234", "log"
    )
    await hass.services.async_call(
        DOMAIN, "continue_phone_audio", {"operation_id": "op-1"}, blocking=True
    )
    push(mock_client, invitation("op-1", "updated", state="Alerting"))
    assert hass.states.get(STATUS).state == "ringing"  # type: ignore[union-attr]
    push(mock_client, invitation("op-1", "completed", state="Connected", status="Success"))
    assert hass.states.get(STATUS).state == "connected"  # type: ignore[union-attr]
    freezer.tick(59)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(STATUS).state == "connected"  # type: ignore[union-attr]
    freezer.tick(2)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    state = hass.states.get(STATUS)
    assert state is not None
    assert state.state == "idle"
    assert "operation_id" not in state.attributes


async def test_status_without_news_returns_to_idle(
    hass: HomeAssistant,
    mock_client: MagicMock,
    mock_loaded_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A call-back whose events never come (lost with the channel) is idle after 3 minutes.

    Events without an operation id, or of another call-back, change nothing.
    """
    mock_client.continue_phone_audio.return_value = PhoneAudioCall(
        "invitation", "op-2", "tel:+14255551234", "log"
    )
    await hass.services.async_call(
        DOMAIN, "continue_phone_audio", {"operation_id": "op-2"}, blocking=True
    )
    push(mock_client, invitation("other", "completed", status="Success"))
    push(mock_client, replace(invitation("op-2", "updated"), operation_id=None))
    push(mock_client, invitation("op-2", "updated", state="NotInTheReference"))
    assert hass.states.get(STATUS).state == "connecting"  # type: ignore[union-attr]
    freezer.tick(179)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(STATUS).state == "connecting"  # type: ignore[union-attr]
    freezer.tick(2)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(STATUS).state == "idle"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("subcode", "shown"), [("Timeout", "RemoteFailure/Timeout"), (None, "RemoteFailure")]
)
async def test_failure_without_message(
    hass: HomeAssistant,
    mock_client: MagicMock,
    mock_loaded_entry: MockConfigEntry,
    subcode: str | None,
    shown: str,
) -> None:
    """A failure whose reason has no message names its code and subcode (when there is one)."""
    mock_client.continue_phone_audio.return_value = PhoneAudioCall(
        "invitation", "op-3", "tel:+14255551234", "log"
    )
    await hass.services.async_call(
        DOMAIN, "continue_phone_audio", {"operation_id": "op-3"}, blocking=True
    )
    push(
        mock_client,
        invitation(
            "op-3",
            "completed",
            status="Failure",
            reason=Reason(code="RemoteFailure", subcode=subcode, message=None),
        ),
    )
    state = hass.states.get(STATUS)
    assert state is not None
    assert state.state == "failed"
    assert state.attributes["reason"] == shown


async def test_failed_press_raises_the_action_error(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A refused press raises the action's translated error and shows `failed` with it."""
    message = "The Skype for Business server refused the call-back: HTTP 409 Conflict/AlreadyExists"
    simulator.fail_next(
        "POST", "continuePhoneAudio", status=409, code="Conflict", subcode="AlreadyExists"
    )
    with pytest.raises(HomeAssistantError) as err:
        await press(hass, MISSED_BUTTON)
    assert err.value.translation_key == "continue_phone_audio_failed"
    assert str(err.value) == message
    state = hass.states.get(STATUS)
    assert state is not None
    assert state.state == "failed"
    assert state.attributes["reason"] == message
    assert len(callbacks_sent(simulator)) == 1

    # The action fails with the same words.
    simulator.fail_next(
        "POST", "continuePhoneAudio", status=409, code="Conflict", subcode="AlreadyExists"
    )
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "continue_phone_audio", {"conversation_log": "last_missed"}, blocking=True
        )
    assert str(err.value) == message


async def test_bad_default_number_leaves_status_alone(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Input refused before sending is a validation error; the status does not move."""
    hass.config_entries.async_update_entry(setup_integration, options={"phone_number": "12"})
    with pytest.raises(ServiceValidationError):
        await press(hass, LAST_BUTTON)
    assert hass.states.get(STATUS).state == "idle"  # type: ignore[union-attr]
    assert callbacks_sent(simulator) == []


async def test_events_of_an_older_call_back_are_ignored(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """The sensor tells the story of the last press, whatever an earlier call-back does."""
    simulator.set_callback_outcome(CallbackOutcome(step_delay=3600))
    await hass.services.async_call(
        DOMAIN, "continue_phone_audio", {"operation_id": "first"}, blocking=True
    )
    simulator.set_callback_outcome(CallbackOutcome.failure(step_delay=0.01))
    await hass.services.async_call(
        DOMAIN, "continue_phone_audio", {"operation_id": "second"}, blocking=True
    )
    state = await wait_for_state(hass, STATUS, lambda s: s.state == "failed")
    assert state.attributes["operation_id"] == "second"


ANSWERED_ONLY = Seed(
    default_seed().user, [log for log in default_seed().logs if log["status"] != "Missed"]
)


@pytest.mark.parametrize("simulator_options", [{"seed": ANSWERED_ONLY}])
async def test_missed_button_unavailable_without_missed_log(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """No missed conversation: that button is unavailable until one arrives."""
    assert hass.states.get(MISSED_BUTTON).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert hass.states.get(LAST_BUTTON).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    simulator.add_conversation_log(
        status="Missed",
        direction="Incoming",
        recipients=[{"display_name": "Zoe Ortiz", "sip_uri": "sip:zoe@contoso.com"}],
    )
    await wait_for_state(hass, MISSED_BUTTON, lambda s: s.state != STATE_UNAVAILABLE)


@pytest.mark.parametrize("simulator_options", [{"conversation_history": "absent"}])
async def test_buttons_unavailable_without_history(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Without conversation history there is nothing to call back; the status still works."""
    assert hass.states.get(LAST_BUTTON).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert hass.states.get(MISSED_BUTTON).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert hass.states.get(STATUS).state == "idle"  # type: ignore[union-attr]


async def test_late_failure_of_an_older_call_back(
    hass: HomeAssistant, mock_client: MagicMock, mock_loaded_entry: MockConfigEntry
) -> None:
    """A request that fails after a newer call-back started does not overwrite its status."""
    coordinator = mock_loaded_entry.runtime_data

    async def _newer_started_meanwhile(*_: Any, **__: Any) -> PhoneAudioCall:
        coordinator.async_call_back_started("other-log", "+14255550111", "newer")
        raise UcwaConnectionError("connection reset")

    mock_client.continue_phone_audio.side_effect = _newer_started_meanwhile
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN, "continue_phone_audio", {"operation_id": "older"}, blocking=True
        )
    state = hass.states.get(STATUS)
    assert state is not None
    assert state.state == "connecting"
    assert state.attributes["operation_id"] == "newer"


def test_snake_case() -> None:
    """UCWA's enumeration values read the Home Assistant way; empty ones are left out."""
    assert snake_case("AppSharingLog") == "app_sharing_log"
    assert snake_case("ApplicationSharing") == "application_sharing"
    assert snake_case("") is None
    assert snake_case(None) is None


async def test_refused_press_in_the_ui(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refused press, as the dashboard sends it: a translated error, one warning, no traceback.

    The refusal is an answer the reference documents, not a bug: the log gets one line naming
    the conversation log (not the person) and why, and the person sees the action's words.
    """
    message = "The Skype for Business server refused the call-back: HTTP 409 Conflict/AlreadyExists"
    simulator.fail_next(
        "POST", "continuePhoneAudio", status=409, code="Conflict", subcode="AlreadyExists"
    )
    client = await hass_ws_client(hass)
    caplog.clear()
    await client.send_json_auto_id(
        {
            "type": "call_service",
            "domain": BUTTON_DOMAIN,
            "service": SERVICE_PRESS,
            "target": {ATTR_ENTITY_ID: MISSED_BUTTON},
        }
    )
    result = await client.receive_json()

    assert result["success"] is False
    assert result["error"]["code"] == "home_assistant_error"
    assert result["error"]["translation_domain"] == DOMAIN
    assert result["error"]["translation_key"] == "continue_phone_audio_failed"
    assert result["error"]["message"] == message
    assert len(callbacks_sent(simulator)) == 1
    shown = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.levelname, r.name) for r in shown] == [("WARNING", "custom_components.ucwa")]
    target = newest(simulator, missed=True)
    assert shown[0].getMessage() == (
        f"Call-back about conversation log {target.log_id} failed: {message}"
    )
    # No traceback at the levels a log shows by default (a debug one is fine).
    assert all(r.exc_info is None for r in caplog.records if r.levelno >= logging.INFO)
