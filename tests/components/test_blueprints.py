"""The blueprints in blueprints/automation/ucwa, loaded by Home Assistant and run on the simulator."""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path
import shutil
from typing import Any
from unittest.mock import MagicMock

from homeassistant.components import conversation
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant, ServiceCall, State
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
    async_mock_service,
)

from custom_components.ucwa.api import Presence, PresenceUpdated, UcwaEvent
from simulator import Simulator

from .conftest import async_setup_mock_entry, capture_subscribers, wait_for_state

BLUEPRINTS = Path(__file__).parents[2] / "blueprints" / "automation" / "ucwa"
EVENT = "event.alice_contoso_com_conversation"
PERSON = "person.alice"


def callbacks_sent(sim: Simulator) -> list[Any]:
    """Return the continuePhoneAudio requests the simulator received."""
    return [r for r in sim.requests if r.route == "continuePhoneAudio"]


def log_of(sim: Simulator, display_name: str) -> str:
    """Return the id of the newest simulator log with this remote party."""
    logs = [log for log in sim.logs if log.recipients[0].display_name == display_name]
    return max(logs, key=lambda log: log.creation_time).log_id


@pytest.fixture(autouse=True)
def blueprint_folder(hass: HomeAssistant, tmp_path: Path) -> None:
    """Give this test its own config folder holding the repository's blueprints."""
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(BLUEPRINTS, hass.config.path("blueprints/automation/ucwa"))


async def use_blueprint(hass: HomeAssistant, path: str, **inputs: Any) -> None:
    """Set `automation` up with one automation from the blueprint (its own validation runs)."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "under_test",
                "alias": "Under test",
                "use_blueprint": {"path": f"ucwa/{path}", "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    state = hass.states.get("automation.under_test")
    assert state is not None
    assert state.state == "on", state.attributes


def test_every_blueprint_has_its_raw_source_url() -> None:
    """The import badge and the blueprint's `source_url` point at the raw file on main."""
    names = sorted(path.name for path in BLUEPRINTS.glob("*.yaml"))
    assert names == [
        "busy_light.yaml",
        "call_back_when_home.yaml",
        "do_not_disturb_while.yaml",
        "notify_missed_conversation.yaml",
        "voice_call_back.yaml",
    ]
    for name in names:
        text = (BLUEPRINTS / name).read_text(encoding="utf-8")
        assert (
            "source_url: https://raw.githubusercontent.com/ucwa-ha/ucwa/main/"
            f"blueprints/automation/ucwa/{name}\n"
        ) in text


# Voice -------------------------------------------------------------------------------------------


async def converse(hass: HomeAssistant, text: str, language: str = "en") -> str:
    """Say `text` to Assist's built-in agent and return its spoken answer."""
    result = await conversation.async_converse(hass, text, None, Context(), language=language)
    speech: str = result.response.speech["plain"]["speech"]
    return speech


@pytest.fixture
async def voice(hass: HomeAssistant, setup_integration: MockConfigEntry) -> MockConfigEntry:
    """Load `conversation` and the voice blueprint with only the account chosen."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    await use_blueprint(hass, "voice_call_back.yaml", account=setup_integration.entry_id)
    return setup_integration


@pytest.mark.usefixtures("voice")
async def test_voice_call_me_back(hass: HomeAssistant, simulator: Simulator) -> None:
    """Saying "call me back": the newest missed conversation, answered with who is called."""
    assert await converse(hass, "call me back") == (
        "Calling you back about your conversation with Bob Kelly."
    )
    [request] = callbacks_sent(simulator)
    assert request.method == "POST"
    assert f"/conversationLogs/{log_of(simulator, 'Bob Kelly')}/continuePhoneAudio" in (
        request.path
    )
    assert json.loads(request.body)["phoneNumber"] == "tel:+14255551234"


@pytest.mark.usefixtures("voice")
async def test_voice_call_name_back(hass: HomeAssistant, simulator: Simulator) -> None:
    """Saying "call {name} back": the newest conversation with that party, missed or not."""
    assert await converse(hass, "call Carol back") == (
        "Calling you back about your conversation with Carol Ruiz."
    )
    [request] = callbacks_sent(simulator)
    assert f"/conversationLogs/{log_of(simulator, 'Carol Ruiz')}/continuePhoneAudio" in (
        request.path
    )
    assert json.loads(request.body)["phoneNumber"] == "tel:+14255551234"


@pytest.mark.usefixtures("voice")
async def test_voice_german(hass: HomeAssistant, simulator: Simulator) -> None:
    """Saying "ruf {name} zurück" gets a German answer."""
    assert await converse(hass, "ruf Dan zurück", language="de") == (
        "Ich rufe dich zurück wegen deiner Unterhaltung mit Dan Park."
    )
    [request] = callbacks_sent(simulator)
    assert f"/conversationLogs/{log_of(simulator, 'Dan Park')}/continuePhoneAudio" in (request.path)


@pytest.mark.usefixtures("voice")
async def test_voice_german_refused(hass: HomeAssistant, simulator: Simulator) -> None:
    """The German answer to a refused call-back uses the words of the German UI."""
    simulator.fail_next("POST", "continuePhoneAudio", status=403, code="Forbidden")
    assert await converse(hass, "ruf Dan zurück", language="de") == (
        "Der Rückruf wegen deiner Unterhaltung mit Dan Park ist fehlgeschlagen."
    )


@pytest.mark.usefixtures("voice")
async def test_voice_no_such_conversation(hass: HomeAssistant, simulator: Simulator) -> None:
    """A name nobody has: says so and sends nothing."""
    assert await converse(hass, "call Zed back") == "I found no recent conversation with Zed."
    assert callbacks_sent(simulator) == []


@pytest.mark.usefixtures("voice")
async def test_voice_refused_call_back(hass: HomeAssistant, simulator: Simulator) -> None:
    """A refused call-back is not answered with "Done"."""
    simulator.fail_next("POST", "continuePhoneAudio", status=403, code="Forbidden")

    assert await converse(hass, "call Bob back") == (
        "The call-back about your conversation with Bob Kelly failed."
    )
    assert len(callbacks_sent(simulator)) == 1


async def test_voice_account_not_loaded(
    hass: HomeAssistant, voice: MockConfigEntry, simulator: Simulator
) -> None:
    """An unloaded account: says so."""
    await hass.config_entries.async_unload(voice.entry_id)
    await hass.async_block_till_done()

    assert await converse(hass, "call me back") == (
        "The Skype for Business account is not available."
    )
    assert callbacks_sent(simulator) == []


async def test_voice_server_unreachable(
    hass: HomeAssistant, voice: MockConfigEntry, simulator: Simulator
) -> None:
    """The account is loaded but its session is down: says the server cannot be reached."""
    await simulator.wait_for_parked_pget()
    simulator.fail_next("POST", r"/applications$", status=503, code="ServiceFailure", count=50)
    simulator.drop_application(kind="not_found")
    await wait_for_state(
        hass, "sensor.alice_contoso_com_call_back", lambda s: s.state == STATE_UNAVAILABLE
    )

    assert await converse(hass, "call me back") == (
        "The Skype for Business server cannot be reached right now."
    )
    assert await converse(hass, "ruf mich zurück", language="de") == (
        "Der Skype-for-Business-Server ist gerade nicht erreichbar."
    )
    assert callbacks_sent(simulator) == []
    simulator.clear_faults()


@pytest.mark.parametrize("simulator_options", [{"conversation_history": "absent"}])
async def test_voice_without_history(
    hass: HomeAssistant, voice: MockConfigEntry, simulator: Simulator
) -> None:
    """The account works but the server gives it no conversation history: says that."""
    assert await converse(hass, "call me back") == (
        "Skype for Business gives this account no conversation history."
    )
    assert callbacks_sent(simulator) == []


# Notify on a missed conversation -----------------------------------------------------------------


async def test_notify_missed_conversation(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A missed call notifies with the caller's name; an answered one and a reload do not."""
    calls: list[ServiceCall] = async_mock_service(hass, "notify", "test")
    await use_blueprint(
        hass,
        "notify_missed_conversation.yaml",
        conversation_event=EVENT,
        notify=[
            {
                "action": "notify.test",
                "data": {"title": "Missed Skype call", "message": "From {{ caller }}"},
            }
        ],
    )

    answered = simulator.add_conversation_log(
        direction="Incoming",
        status="Archived",
        type="AudioLog",
        modalities=["Audio"],
        recipients=[{"display_name": "Hugo Lee", "sip_uri": "sip:hugo@contoso.com"}],
    )
    await wait_for_state(
        hass, EVENT, lambda s: s.attributes.get("conversation_log_id") == answered.log_id
    )
    missed = simulator.add_conversation_log(
        direction="Incoming",
        status="Missed",
        type="AudioLog",
        modalities=["Audio"],
        recipients=[{"display_name": "Gina Ortiz", "sip_uri": "sip:gina@contoso.com"}],
    )
    await wait_for_state(
        hass, EVENT, lambda s: s.attributes.get("conversation_log_id") == missed.log_id
    )
    await hass.async_block_till_done()
    assert [call.data for call in calls] == [
        {"title": "Missed Skype call", "message": "From Gina Ortiz"}
    ]

    # A reload restores the event entity's last state (unavailable -> missed_conversation).
    states: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: (
            states.append(event.data["new_state"].state)
            if event.data["entity_id"] == EVENT and event.data["new_state"]
            else None
        ),
    )
    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    await wait_for_state(hass, EVENT, lambda s: s.state != STATE_UNAVAILABLE)
    await hass.async_block_till_done()
    assert STATE_UNAVAILABLE in states
    assert hass.states.get(EVENT).attributes["event_type"] == "missed_conversation"  # type: ignore[union-attr]
    assert len(calls) == 1


# Call me back when I come home -------------------------------------------------------------------


@pytest.fixture
async def away(hass: HomeAssistant) -> None:
    """Set up the home zone and a person who is away."""
    assert await async_setup_component(hass, "zone", {})
    hass.states.async_set(PERSON, "not_home", {"latitude": 0.0, "longitude": 0.0})
    await hass.async_block_till_done()


def come_home(hass: HomeAssistant) -> None:
    """Move the person into the home zone."""
    hass.states.async_set(
        PERSON,
        "home",
        {"latitude": hass.config.latitude, "longitude": hass.config.longitude},
    )


@pytest.mark.usefixtures("away")
async def test_call_back_when_home(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Arriving home rings the overriding number once, about the newest missed conversation."""
    await use_blueprint(
        hass,
        "call_back_when_home.yaml",
        account=setup_integration.entry_id,
        person=PERSON,
        phone_number="+14255550100",
    )

    come_home(hass)
    await hass.async_block_till_done()

    [request] = callbacks_sent(simulator)
    assert request.method == "POST"
    assert f"/conversationLogs/{log_of(simulator, 'Bob Kelly')}/continuePhoneAudio" in (
        request.path
    )
    assert json.loads(request.body)["phoneNumber"] == "tel:+14255550100"


@pytest.mark.usefixtures("away")
async def test_no_call_back_for_an_old_missed_call(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Bob's call was missed 12 minutes ago: with a 5-minute window nothing rings."""
    await use_blueprint(
        hass,
        "call_back_when_home.yaml",
        account=setup_integration.entry_id,
        person=PERSON,
        max_age={"minutes": 5},
    )

    come_home(hass)
    await hass.async_block_till_done()

    assert callbacks_sent(simulator) == []
    assert any(r.route != "continuePhoneAudio" for r in simulator.requests)


# Busy light --------------------------------------------------------------------------------------

ON_A_CALL = "binary_sensor.alice_contoso_com_on_a_call"
PRESENCE = "sensor.alice_contoso_com_presence"
LIGHT = "light.busy_light"
SWITCH = "switch.busy_sign"


@pytest.fixture
async def busy_light(hass: HomeAssistant) -> None:
    """Set up a real light (with colour) and a real switch: template entities doing nothing else."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "light": [{"name": "Busy light", "turn_on": [], "turn_off": [], "set_rgb": []}],
                    "switch": [{"name": "Busy sign", "turn_on": [], "turn_off": []}],
                }
            ]
        },
    )
    await hass.async_block_till_done()


@pytest.fixture
def emit(mock_client: MagicMock) -> Callable[[UcwaEvent], None]:
    """Hand the coordinator the presence events a server would push."""
    return capture_subscribers(mock_client)


def state_is(value: str) -> Callable[[State], bool]:
    return lambda state: state.state == value


def push(emit: Callable[[UcwaEvent], None], *presence: str | None) -> None:
    emit(PresenceUpdated(Presence(*presence)))


@pytest.mark.usefixtures("busy_light")
async def test_busy_light_follows_calls(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """On, in red, while on a call on the desk phone; off after; an outage leaves it as it is."""
    await use_blueprint(
        hass, "busy_light.yaml", on_a_call=ON_A_CALL, light=LIGHT, color=[255, 0, 0]
    )
    assert hass.states.get(LIGHT).state != "on"  # type: ignore[union-attr]

    simulator.set_device_presence("Busy", "on-the-phone")
    light = await wait_for_state(hass, LIGHT, lambda s: s.state == "on")
    assert light.attributes["rgb_color"] == (255, 0, 0)

    simulator.set_device_presence("Busy")  # busy, but not on a call: calls only by default
    await wait_for_state(hass, LIGHT, lambda s: s.state == "off")

    simulator.set_device_presence("Busy", "In a conference call")
    await wait_for_state(hass, LIGHT, lambda s: s.state == "on")
    await simulator.wait_for_parked_pget()
    simulator.fail_next("POST", r"/applications$", status=503, code="ServiceFailure", count=50)
    simulator.drop_application(kind="not_found")  # the session is lost and stays lost
    await wait_for_state(hass, ON_A_CALL, lambda s: s.state == STATE_UNAVAILABLE)
    await hass.async_block_till_done()
    assert hass.states.get(LIGHT).state == "on"  # type: ignore[union-attr]
    simulator.clear_faults()


@pytest.mark.usefixtures("busy_light")
async def test_busy_light_without_a_colour(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """The colour picker's black (what the UI shows for "none") keeps the light's own colour."""
    await use_blueprint(hass, "busy_light.yaml", on_a_call=ON_A_CALL, light=LIGHT, color=[0, 0, 0])
    simulator.set_device_presence("Busy", "on-the-phone")
    light = await wait_for_state(hass, LIGHT, state_is("on"))
    assert light.attributes.get("rgb_color") in (None, ())


@pytest.mark.usefixtures("busy_light")
async def test_busy_light_with_presence_and_a_switch(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """With the presence sensor: on while busy or in do not disturb too; a switch has no colour."""
    await use_blueprint(
        hass,
        "busy_light.yaml",
        on_a_call=ON_A_CALL,
        presence=PRESENCE,
        light=SWITCH,
        color=[255, 0, 0],
    )
    for availability, activity, expected in [
        ("DoNotDisturb", None, "on"),
        ("Online", None, "off"),
        ("Busy", "in-a-meeting", "on"),
        ("Away", None, "off"),
        ("Online", "on-the-phone", "on"),  # a call even without busy presence
        ("IdleOnline", None, "off"),
    ]:
        simulator.set_device_presence(availability, activity)
        await wait_for_state(hass, SWITCH, state_is(expected))


# Do not disturb while ... --------------------------------------------------------------------------

SELECT = "select.alice_contoso_com_availability"
DOOR = "input_boolean.office_door_closed"


@pytest.fixture
async def door(hass: HomeAssistant) -> None:
    """Set up the office door the automation watches (an input_boolean stands in for a sensor)."""
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"office_door_closed": {}}}
    )


async def use_door_blueprint(hass: HomeAssistant, **inputs: Any) -> None:
    """Use the do-not-disturb blueprint while the office door is closed."""
    await use_blueprint(
        hass,
        "do_not_disturb_while.yaml",
        availability_select=SELECT,
        watch=[{"trigger": "state", "entity_id": DOOR}],
        conditions=[{"condition": "state", "entity_id": DOOR, "state": "on"}],
        **inputs,
    )


async def close_door(hass: HomeAssistant, closed: bool) -> None:
    """Close (or open) the office door."""
    service = "turn_on" if closed else "turn_off"
    await hass.services.async_call("input_boolean", service, {"entity_id": DOOR}, blocking=True)


def presence_posts(sim: Simulator) -> list[Any]:
    """Return the bodies of the POSTs on presence the simulator received (None: a reset)."""
    return [
        json.loads(r.body) if r.body else None
        for r in sim.requests
        if (r.method, r.route) == ("POST", "presence")
    ]


@pytest.mark.usefixtures("door")
async def test_do_not_disturb_while_the_door_is_closed(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Door closed: do not disturb (one request); open: automatic again (one request)."""
    await use_door_blueprint(hass)
    await close_door(hass, True)
    await wait_for_state(hass, PRESENCE, lambda s: s.state == "do_not_disturb")
    assert hass.states.get(SELECT).state == "do_not_disturb"  # type: ignore[union-attr]
    assert presence_posts(simulator) == [{"availability": "DoNotDisturb"}]

    await close_door(hass, False)
    await wait_for_state(hass, PRESENCE, lambda s: s.state == "online")
    assert hass.states.get(SELECT).state == "automatic"  # type: ignore[union-attr]
    assert presence_posts(simulator) == [{"availability": "DoNotDisturb"}, None]


@pytest.mark.usefixtures("door")
async def test_a_choice_made_meanwhile_stays(
    hass: HomeAssistant, mock_client: MagicMock, emit: Callable[[UcwaEvent], None]
) -> None:
    """Chosen busy on the phone while the door was closed: opening it does not reset that."""
    await async_setup_mock_entry(hass)
    await use_door_blueprint(hass, availability="be_right_back")
    await close_door(hass, True)
    await hass.async_block_till_done()
    mock_client.set_availability.assert_awaited_once_with("BeRightBack")
    push(emit, "Busy", None)  # chosen on the phone
    await hass.async_block_till_done()
    assert hass.states.get(SELECT).state == "busy"  # type: ignore[union-attr]

    await close_door(hass, False)
    await hass.async_block_till_done()
    assert hass.states.get(SELECT).state == "busy"  # type: ignore[union-attr]
    mock_client.reset_availability.assert_not_awaited()
