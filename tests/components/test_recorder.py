"""What Home Assistant's history keeps of the sensors: the single-log attributes, not the list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.components.recorder.history import get_significant_states
from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.components.recorder.common import (  # type: ignore[import-untyped,unused-ignore]
    async_wait_recording_done,
)

LAST = "sensor.alice_contoso_com_last_conversation"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Any, enable_custom_integrations: None) -> None:
    """Start the recorder before Home Assistant (the recorder fixture must come first)."""


async def test_recent_list_is_not_recorded(
    recorder_mock: Any, hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """History keeps the single-log attributes but not the volatile recent list."""
    await async_wait_recording_done(hass)
    history: dict[str, list[State | dict[str, Any]]] = await recorder_mock.async_add_executor_job(
        get_significant_states, hass, dt_util.utcnow() - timedelta(hours=1), None, [LAST]
    )
    recorded = history[LAST][-1]
    assert isinstance(recorded, State)
    live = hass.states.get(LAST)
    assert live is not None
    assert "recent_conversations" in live.attributes
    assert "recent_conversations" not in recorded.attributes
    assert recorded.attributes["conversation_log_id"] == live.attributes["conversation_log_id"]
