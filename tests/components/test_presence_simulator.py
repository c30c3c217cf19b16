"""Presence against the simulated pool: what it publishes shows, each choice is one request.

What the server publishes reaches the entities within the event's round trip, and every choice
made in Home Assistant is exactly one request the server receives.

The simulator publishes presence as MeDashboard.md describes it: a chosen availability wins,
then what the user's other devices publish, then the most active endpoint, and this
integration's own endpoint never reports activity. `Simulator.set_device_presence` is another
device (what `POST /_sim/presence` does); the demo user's desktop client is Online.
"""

from __future__ import annotations

from collections.abc import Callable
import json
from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.typing import WebSocketGenerator  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.const import DOMAIN
from custom_components.ucwa.coordinator import UcwaCoordinator
from simulator import PROFILES, RecordedRequest, Simulator

from .conftest import wait_for_state, ws_call

PRESENCE = "sensor.alice_contoso_com_presence"
ON_A_CALL = "binary_sensor.alice_contoso_com_on_a_call"
SELECT = "select.alice_contoso_com_availability"
NOTE = "text.alice_contoso_com_note"
MISSED = "sensor.alice_contoso_com_missed_conversations"


def ucwa_requests(sim: Simulator, since: int) -> list[RecordedRequest]:
    """Return the requests after the first `since`, but the event channel's long polls."""
    return [r for r in sim.requests[since:] if r.route != "events"]


def posts(sim: Simulator, since: int = 0) -> list[RecordedRequest]:
    """Return the POSTs on presence and note after the first `since` requests."""
    return [
        r for r in sim.requests[since:] if r.method == "POST" and r.route in ("presence", "note")
    ]


def body(request: RecordedRequest) -> Any:
    return json.loads(request.body) if request.body else None


def is_(value: str) -> Callable[[State], bool]:
    return lambda state: state.state == value


async def choose(hass: HomeAssistant, option: str) -> None:
    await hass.services.async_call(
        "select", "select_option", {"entity_id": SELECT, "option": option}, blocking=True
    )


async def test_one_read_at_setup(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Presence and note are read once, then only pushed: the safety poll does not read them."""
    assert hass.states.get(PRESENCE).state == "online"  # type: ignore[union-attr]
    assert hass.states.get(PRESENCE).attributes["activity"] == "Available"  # type: ignore[union-attr]
    assert hass.states.get(ON_A_CALL).state == STATE_OFF  # type: ignore[union-attr]
    assert hass.states.get(SELECT).state == "automatic"  # type: ignore[union-attr]
    assert hass.states.get(NOTE).state == ""  # type: ignore[union-attr]
    assert simulator.route_counts["GET presence"] == 1
    assert simulator.route_counts["GET note"] == 1

    coordinator: UcwaCoordinator = setup_integration.runtime_data
    await coordinator.async_refresh()
    assert simulator.route_counts["GET presence"] == 1
    assert simulator.route_counts["GET note"] == 1


@pytest.mark.parametrize(
    ("simulator_options", "round_trip"),
    [
        ({"profile_name": "trace"}, ["GET presence"]),  # the event names the link: one GET
        ({"profile_name": "embedded_events"}, []),  # the event carries the presence
    ],
)
async def test_another_device_within_one_round_trip(
    hass: HomeAssistant,
    *,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    round_trip: list[str],
) -> None:
    """A call on the desk phone shows on the sensor and on_a_call with the event's round trip."""
    for availability, activity, state, call in (
        ("Busy", "on-the-phone", "busy", STATE_ON),
        ("Online", None, "online", STATE_OFF),
        ("DoNotDisturb", "presenting", "do_not_disturb", STATE_ON),
        ("Away", "Off Work", "off_work", STATE_OFF),
    ):
        await simulator.wait_for_parked_pget()
        since = len(simulator.requests)
        simulator.set_device_presence(availability, activity)
        await wait_for_state(hass, PRESENCE, is_(state))
        await wait_for_state(hass, ON_A_CALL, is_(call))
        assert [f"{r.method} {r.route}" for r in ucwa_requests(simulator, since)] == round_trip
        # The server's own busy, presenting and off-work states leave the select automatic,
        # except off work, which someone chose.
        assert hass.states.get(SELECT).state == (  # type: ignore[union-attr]
            "off_work" if state == "off_work" else "automatic"
        )


@pytest.mark.parametrize(
    ("option", "sent", "published"),
    [
        ("online", {"availability": "Online"}, "online"),
        ("busy", {"availability": "Busy"}, "busy"),
        ("do_not_disturb", {"availability": "DoNotDisturb"}, "do_not_disturb"),
        ("be_right_back", {"availability": "BeRightBack"}, "be_right_back"),
        ("away", {"availability": "Away"}, "away"),
        ("off_work", {"availability": "Offwork"}, "off_work"),
    ],
)
async def test_a_choice_is_one_post(
    hass: HomeAssistant,
    *,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    option: str,
    sent: dict[str, str],
    published: str,
) -> None:
    """Each option is one POST presence; the pushed presence confirms it; automatic resets it."""
    await choose(hass, option)
    [request] = posts(simulator)
    assert (request.route, body(request), request.status) == ("presence", sent, 204)
    await wait_for_state(hass, PRESENCE, is_(published))
    assert hass.states.get(SELECT).state == option  # type: ignore[union-attr]
    assert simulator.state()["presence"]["manual"] == sent["availability"]

    # Other devices do not override a choice; automatic (the reset: one POST, empty) does.
    simulator.set_device_presence("IdleOnline")
    await choose(hass, "automatic")
    [_, reset] = posts(simulator)
    assert (reset.route, body(reset), reset.status) == ("presence", None, 204)
    await wait_for_state(hass, PRESENCE, is_("idle_online"))
    assert hass.states.get(SELECT).state == "automatic"  # type: ignore[union-attr]
    assert simulator.state()["presence"]["manual"] is None


async def test_refused_choice(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """The server's refusal is named; nothing is repeated and the select keeps its option."""
    simulator.fail_next("POST", "presence", status=409, code="Conflict", subcode="AlreadyExists")
    with pytest.raises(HomeAssistantError) as err:
        await choose(hass, "busy")
    assert str(err.value) == (
        "The Skype for Business server refused the availability: HTTP 409 Conflict/AlreadyExists"
    )
    assert len(posts(simulator)) == 1
    assert hass.states.get(SELECT).state == "automatic"  # type: ignore[union-attr]


async def test_an_invalid_option_sends_nothing(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A state nobody can choose (idle) is refused by the select before a request."""
    result = await ws_call(
        hass, hass_ws_client, "select_option", {"entity_id": SELECT, "option": "idle_online"},
        domain="select",
    )  # fmt: skip
    assert result["error"]["code"] == "service_validation_error"
    assert posts(simulator) == []


async def test_the_note_is_one_post(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The text entity and ucwa.set_note: one POST each; the server's event shows the note."""
    await hass.services.async_call(
        "text", "set_value", {"entity_id": NOTE, "value": "Back at 3"}, blocking=True
    )
    [request] = posts(simulator)
    assert (request.route, body(request), request.status) == (
        "note", {"message": "Back at 3"}, 204,
    )  # fmt: skip
    await wait_for_state(hass, NOTE, is_("Back at 3"))
    assert hass.states.get(NOTE).attributes["type"] == "personal"  # type: ignore[union-attr]

    await hass.services.async_call(
        DOMAIN, "set_note", {"message": "In the garden 🌻"}, blocking=True
    )
    await wait_for_state(hass, NOTE, is_("In the garden 🌻"))
    await hass.services.async_call(DOMAIN, "set_note", {"message": ""}, blocking=True)
    await wait_for_state(hass, NOTE, is_(""))
    assert [body(r) for r in posts(simulator)] == [
        {"message": "Back at 3"},
        {"message": "In the garden 🌻"},
        {"message": ""},
    ]

    # Too long for the note: refused, translated, nothing sent.
    result = await ws_call(hass, hass_ws_client, "set_note", {"message": "x" * 256})
    assert result["error"]["code"] == "service_validation_error"
    assert result["error"]["message"] == (
        "Validation error: The note is too long: at most 255 characters"
    )
    assert len(posts(simulator)) == 3


async def test_an_out_of_office_note_shows_as_such(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Exchange's out-of-office note is what others see; the attribute says which it is."""
    simulator.set_device_note("On holiday until Monday", "OutOfOffice")
    state = await wait_for_state(hass, NOTE, is_("On holiday until Monday"))
    assert state.attributes["type"] == "out_of_office"


@pytest.mark.parametrize("simulator_options", [{"profile_name": name} for name in sorted(PROFILES)])
async def test_presence_on_every_pool(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Read, pushed and chosen presence on every shape of pool, the history-less ones too."""
    assert hass.states.get(PRESENCE).state == "online"  # type: ignore[union-attr]
    simulator.set_device_presence("Busy", "In a conference call")
    await wait_for_state(hass, ON_A_CALL, is_(STATE_ON))
    await choose(hass, "do_not_disturb")
    await wait_for_state(hass, PRESENCE, is_("do_not_disturb"))
    assert [body(r) for r in posts(simulator)] == [{"availability": "DoNotDisturb"}]


async def test_the_integration_never_makes_an_away_user_present(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """With no other device signed in the user is Away, and stays so whatever Home Assistant does.

    Setup, the history, a call-back, the note, a safety poll and a new application: none of it
    reports activity or claims an availability (reportMyActivity_ref.md counts only for the
    application that sends it), so the server never publishes the user as present.
    """
    simulator.set_device_presence(None)  # the desktop client signed out
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(PRESENCE).state == "away"  # type: ignore[union-attr]
    assert hass.states.get(SELECT).state == "automatic"  # type: ignore[union-attr]

    await hass.services.async_call(DOMAIN, "continue_phone_audio", {}, blocking=True)
    await hass.services.async_call(DOMAIN, "set_note", {"message": "Out"}, blocking=True)
    coordinator: UcwaCoordinator = mock_config_entry.runtime_data
    await coordinator.async_refresh()
    simulator.drop_application("not_found")
    await simulator.wait_for_request("POST", "makeMeAvailable", count=2)
    await simulator.wait_for_parked_pget()
    await hass.async_block_till_done()

    assert simulator.state()["presence"]["availability"] == "Away"
    assert hass.states.get(PRESENCE).state == "away"  # type: ignore[union-attr]
    assert simulator.route_counts["POST reportMyActivity"] == 0
    assert all(
        "signInAs" not in (body(r) or {})
        for r in simulator.requests
        if r.route == "makeMeAvailable"
    )
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
