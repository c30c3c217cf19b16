"""The integration's main paths against every shape of pool the reference allows.

Each simulator profile is the reference trace plus one knob (or today's lenient pool): setup, the
sensors, a missed call pushed through the event channel, the action, recovery from a lost
application and a reload all behave the same, whatever links the pool hands out and when.
"""

from __future__ import annotations

import json
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.const import DOMAIN
from simulator import PROFILES, Simulator

from .conftest import wait_for_state

PREFIX = "sensor.alice_contoso_com"
MISSED = f"{PREFIX}_missed_conversations"
LAST_MISSED = f"{PREFIX}_last_missed_conversation"
EVENT = "event.alice_contoso_com_conversation"
# Profiles whose account has no usable conversation history (see test_capabilities.py).
NO_HISTORY = {
    name
    for name, knobs in PROFILES.items()
    if knobs.get("conversation_history", "available") != "available"
}
MISSED_LOG = {
    "direction": "Incoming",
    "status": "Missed",
    "type": "AudioLog",
    "modalities": ["Audio"],
    "recipients": [{"display_name": "Zoe Ortiz", "sip_uri": "sip:zoe@contoso.com"}],
}


@pytest.fixture(params=sorted(PROFILES))
def profile(request: pytest.FixtureRequest) -> str:
    """Return the name of the pool's profile."""
    name: str = request.param
    return name


@pytest.fixture
def simulator_options(profile: str) -> dict[str, Any]:
    """Run the simulated pool with that profile."""
    return {"profile_name": profile}


def routes(sim: Simulator, start: int = 0) -> list[str]:
    """Return "METHOD route" of every UCWA request the simulator received since `start`."""
    return [f"{r.method} {r.route}" for r in sim.requests[start:]]


async def push_missed_call(hass: HomeAssistant, sim: Simulator, profile: str) -> str:
    """Add a missed call on the server and wait until Home Assistant shows it; return its id."""
    before = int(hass.states.get(MISSED).state)  # type: ignore[union-attr]
    record = sim.add_conversation_log(MISSED_LOG)
    await wait_for_state(hass, MISSED, lambda s: s.state == str(before + 1))
    if profile not in NO_HISTORY:
        await wait_for_state(
            hass, LAST_MISSED, lambda s: s.attributes.get("conversation_log_id") == record.log_id
        )
        state = await wait_for_state(
            hass, EVENT, lambda s: s.attributes.get("conversation_log_id") == record.log_id
        )
        assert state.attributes["event_type"] == "missed_conversation"
    return record.log_id


async def call_back(hass: HomeAssistant, sim: Simulator, profile: str, log_id: str) -> None:
    """Run the action on the log: exactly one POST, or a precise error without any POST."""
    start = len(sim.requests)
    if profile in NO_HISTORY:
        with pytest.raises(HomeAssistantError, match="conversation"):
            await hass.services.async_call(DOMAIN, "continue_phone_audio", {}, blocking=True)
        assert "POST continuePhoneAudio" not in routes(sim, start)
        return
    response = await hass.services.async_call(
        DOMAIN,
        "continue_phone_audio",
        {"conversation_log": log_id},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["conversation_log"] == log_id
    posts = [r for r in sim.requests[start:] if r.route == "continuePhoneAudio"]
    assert len(posts) == 1
    assert posts[0].status == 201
    assert posts[0].path.endswith(f"/conversationLogs/{log_id}/continuePhoneAudio")
    assert json.loads(posts[0].body)["phoneNumber"] == "tel:+14255551234"
    assert routes(sim, start) == ["POST continuePhoneAudio"]


async def test_main_paths(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry, profile: str
) -> None:
    """Setup, sensors, a pushed missed call, the action, recovery and a reload, on one pool."""
    entry = setup_integration
    assert entry.state is ConfigEntryState.LOADED
    missed = [log for log in simulator.logs if log.status == "Missed"]
    assert hass.states.get(MISSED).state == str(len(missed))  # type: ignore[union-attr]
    last_missed = hass.states.get(LAST_MISSED)
    assert last_missed is not None
    if profile in NO_HISTORY:
        assert last_missed.state == STATE_UNAVAILABLE
    else:
        newest = max(missed, key=lambda log: log.creation_time)
        assert last_missed.attributes["conversation_log_id"] == newest.log_id

    log_id = await push_missed_call(hass, simulator, profile)
    await call_back(hass, simulator, profile, log_id)

    # The server forgets the application: the integration makes a new one and keeps pushing.
    notes_read = simulator.route_counts["GET note"]
    [lost] = simulator.drop_application("not_found")
    log_id = await push_missed_call(hass, simulator, profile)
    # The client re-reads what the lost events would have said, presence and note last; the
    # call-back below is to be the only request then.
    await simulator.wait_for_request("GET", "note", count=notes_read + 1)
    assert lost not in simulator.applications
    await call_back(hass, simulator, profile, log_id)

    # A reload deletes the application and starts afresh, firing no event for old logs.
    event_before = hass.states.get(EVENT)
    start = len(simulator.requests)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert "DELETE application" in routes(simulator, start)
    assert "POST applications" in routes(simulator, start)
    assert hass.states.get(MISSED).state == str(len(missed) + 2)  # type: ignore[union-attr]
    event_after = hass.states.get(EVENT)
    assert event_before is not None
    assert event_after is not None
    if profile not in NO_HISTORY:
        assert event_after.state == event_before.state
    log_id = await push_missed_call(hass, simulator, profile)
    await call_back(hass, simulator, profile, log_id)
