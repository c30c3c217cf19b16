"""The demo dashboard of scripts/develop names entities the integration really creates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]

DASHBOARD = Path(__file__).parents[2] / "config" / "ucwa_dashboard.yaml"


def entity_ids(node: Any) -> set[str]:
    """Collect every entity id a card names (`entity:`, entity lists, logbook targets)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("entity", "entity_id") and isinstance(value, str):
                found.add(value)
            elif key in ("entities", "entity_id") and isinstance(value, list):
                found.update(item for item in value if isinstance(item, str))
            found |= entity_ids(value)
    elif isinstance(node, list):
        for item in node:
            found |= entity_ids(item)
    return found


async def test_every_dashboard_entity_exists(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """A renamed entity would show as "Entity not available" on the demo dashboard."""
    named = entity_ids(load_yaml_dict(str(DASHBOARD)))
    assert {
        "sensor.alice_contoso_com_presence",
        "binary_sensor.alice_contoso_com_on_a_call",
        "select.alice_contoso_com_availability",
        "text.alice_contoso_com_note",
        "sensor.alice_contoso_com_call_back",
    } <= named
    ours = {entity_id for entity_id in named if "alice_contoso_com" in entity_id}
    assert sorted(entity_id for entity_id in ours if hass.states.get(entity_id) is None) == []
    # The rest is configuration.yaml's stand-in lamp for the busy-light blueprint.
    assert named - ours == {"light.demo_busy_light"}
