"""What the logbook shows of the conversation event entity: conversations, not outages.

The frontend writes "detected an event" (2025.4) or the event type (2026.x) for every logbook
entry of an event entity, whatever its state, so an entry is only right for a real conversation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.components.recorder.common import (  # type: ignore[import-untyped,unused-ignore]
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator  # type: ignore[import-untyped,unused-ignore]

from simulator import Simulator

from .conftest import wait_for_state

EVENT = "event.alice_contoso_com_conversation"
MISSED = "sensor.alice_contoso_com_missed_conversations"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Any, enable_custom_integrations: None) -> None:
    """Start the recorder before Home Assistant (the recorder fixture must come first)."""


async def logbook_entries(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, entity_id: str
) -> list[dict[str, Any]]:
    """Return the logbook's entries for the entity, as the frontend asks for them."""
    await async_wait_recording_done(hass)
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": (dt_util.utcnow() - timedelta(hours=1)).isoformat(),
            "entity_ids": [entity_id],
        }
    )
    response = await client.receive_json()
    assert response["success"], response
    entries: list[dict[str, Any]] = response["result"]
    return entries


async def test_an_outage_is_no_conversation(
    recorder_mock: Any,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
) -> None:
    """One missed call, then the session lost and back: one logbook entry, the call's."""
    assert await async_setup_component(hass, "logbook", {})
    record = simulator.add_conversation_log(status="Missed", direction="Incoming")
    fired = await wait_for_state(
        hass, EVENT, lambda s: s.attributes.get("conversation_log_id") == record.log_id
    )

    simulator.fail_next("POST", "applications", status=500, code="ServiceFailure", count=1)
    simulator.drop_application("not_found")
    await wait_for_state(hass, MISSED, lambda s: s.state == STATE_UNAVAILABLE)
    assert hass.states.get(EVENT).state == fired.state  # type: ignore[union-attr]
    await wait_for_state(hass, MISSED, lambda s: s.state != STATE_UNAVAILABLE)
    await hass.async_block_till_done()

    entries = await logbook_entries(hass, hass_ws_client, EVENT)
    assert [entry["state"] for entry in entries] == [fired.state]
