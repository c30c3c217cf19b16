"""The conversation event entity fires for each new log, classified by status and direction."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import ATTR_EVENT_TYPE, ATTR_EVENT_TYPES
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]

from simulator import Simulator

from .conftest import wait_for_state

EVENT = "event.alice_contoso_com_conversation"


async def test_event_entity(hass: HomeAssistant, setup_integration: MockConfigEntry) -> None:
    """The entity lists its event types and fires nothing for the logs present at setup."""
    state = hass.states.get(EVENT)
    assert state is not None
    assert state.state == STATE_UNKNOWN
    assert state.attributes[ATTR_EVENT_TYPES] == [
        "missed_conversation",
        "incoming_conversation",
        "outgoing_conversation",
    ]


# What a person reads: Home Assistant's snake_case values (Archived means answered).
READ_AS = {
    "Incoming": "incoming",
    "Outgoing": "outgoing",
    "Missed": "missed",
    "Archived": "answered",
}


@pytest.mark.parametrize(
    ("log", "event_type"),
    [
        ({"direction": "Incoming", "status": "Missed"}, "missed_conversation"),
        ({"direction": "Incoming", "status": "Archived"}, "incoming_conversation"),
        ({"direction": "Outgoing", "status": "Archived"}, "outgoing_conversation"),
    ],
)
async def test_new_log_fires(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    log: dict[str, Any],
    event_type: str,
) -> None:
    """A log added on the server fires its event type with the log's attributes."""
    record = simulator.add_conversation_log(
        {
            **log,
            "type": "AudioLog",
            "modalities": ["Audio"],
            "subject": "Delivery",
            "recipients": [{"display_name": "Zoe Ortiz", "sip_uri": "sip:zoe@contoso.com"}],
        }
    )
    state = await wait_for_state(
        hass, EVENT, lambda s: s.attributes.get("conversation_log_id") == record.log_id
    )
    assert state.attributes[ATTR_EVENT_TYPE] == event_type
    assert state.attributes["direction"] == READ_AS[log["direction"]]
    assert state.attributes["status"] == READ_AS[log["status"]]
    assert state.attributes["type"] == "audio_log"
    assert state.attributes["modalities"] == ["audio"]
    assert state.attributes["subject"] == "Delivery"
    assert state.attributes["display_name"] == "Zoe Ortiz"
    assert state.attributes["sip_uri"] == "sip:zoe@contoso.com"
    assert state.attributes["creation_time"].startswith(record.creation_time.date().isoformat())


async def test_each_new_log_fires_once_in_order(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Logs arriving together fire oldest first, each once; the state ends on the newest."""
    fired: list[str] = []

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        if (new := event.data["new_state"]) and (
            log_id := new.attributes.get("conversation_log_id")
        ):
            fired.append(log_id)

    unsub = async_track_state_change_event(hass, [EVENT], _changed)
    older = simulator.add_conversation_log(minutes_ago=1, status="Archived")
    newer = simulator.add_conversation_log(status="Missed")
    await wait_for_state(
        hass, EVENT, lambda s: s.attributes.get("conversation_log_id") == newer.log_id
    )
    await hass.async_block_till_done()
    assert fired.count(older.log_id) == 1
    assert fired.count(newer.log_id) == 1
    assert fired.index(older.log_id) < fired.index(newer.log_id)
    unsub()
