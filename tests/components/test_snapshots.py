"""Snapshots of what a user sees: entity states and attributes, diagnostics, the action's answer.

The mailbox has fixed ids and absolute times and the clock is frozen, so a snapshot changes only
when what Home Assistant shows changes. Functional tests elsewhere say why each value is right;
these catch any unintended change. One set per Home Assistant release series
(`snapshots/2025.4/`, `snapshots/2026.10/`, see `ReleaseSnapshotExtension`); regenerate each with
`scripts/test tests/components/test_snapshots.py --snapshot-update` and
`scripts/test --newest tests/components/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.components.diagnostics import (  # type: ignore[import-untyped,unused-ignore]
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator  # type: ignore[import-untyped,unused-ignore]
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.ucwa import PLATFORMS
from custom_components.ucwa.const import DOMAIN
from simulator import Seed, Simulator, default_seed

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def fixed_seed() -> Seed:
    """Return the demo mailbox with stable ids and absolute creation times."""
    seed = default_seed()
    logs: list[dict[str, Any]] = []
    for index, raw in enumerate(seed.logs):
        log = {key: value for key, value in raw.items() if key != "minutes_ago"}
        minutes = float(raw.get("minutes_ago", 0))
        log["id"] = f"{index + 1:032x}"
        log["thread_id"] = f"thread{index + 1}"
        log["creation_time"] = (NOW - timedelta(minutes=minutes)).isoformat()
        logs.append(log)
    return Seed(seed.user, logs)


@pytest.fixture
def simulator_options() -> dict[str, Any]:
    """Run the pool with the fixed mailbox."""
    return {"seed": fixed_seed()}


@pytest.fixture
def frozen(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    """Freeze the wall clock at NOW (diagnostics leave it alone: see test_diagnostics)."""
    freezer.move_to(NOW)
    return freezer


def scrub(value: Any, sim: Simulator) -> Any:
    """Replace the simulator's random port, the only thing a run changes, by a fixed name."""
    if isinstance(value, str):
        return value.replace(sim.base_url, "http://simulator")
    if isinstance(value, dict):
        return {key: scrub(item, sim) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, sim) for item in value]
    return value


@pytest.fixture
def platform() -> Platform:
    """Return the one platform to set up (snapshot_platform takes one at a time)."""
    return Platform.SENSOR


@pytest.fixture
def only_platform(platform: Platform) -> Generator[None]:
    """Set up only that platform."""
    with patch("custom_components.ucwa.PLATFORMS", [platform]):
        yield


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_entities(
    hass: HomeAssistant,
    *,
    frozen: FrozenDateTimeFactory,
    only_platform: None,
    setup_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every entity's registry entry, state and attributes."""
    await snapshot_platform(hass, entity_registry, snapshot, setup_integration.entry_id)


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """What a user attaches to a bug report, redacted.

    Home Assistant's diagnostics cannot run under a frozen clock (its manifest loader compiles
    a datetime parser then), so the entry's own timestamps are left out instead. The session's
    request counts depend on how long setup took (a P-GET held 2 s may be answered empty):
    test_diagnostics checks them against the requests the pool received.
    """
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)
    assert scrub(diagnostics, simulator) == snapshot(
        exclude=props("created_at", "modified_at", "counts")
    )


async def test_action_response(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The call-back's answer for the newest missed conversation."""
    response = await hass.services.async_call(
        DOMAIN,
        "continue_phone_audio",
        {"conversation_log": f"{1:032x}", "operation_id": "snapshot-op", "phone_number": "+1425"},
        blocking=True,
        return_response=True,
    )
    assert scrub(response, simulator) == snapshot


async def test_conversation_logs_response(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    setup_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """What scripts and LLM tools get from ucwa.get_conversation_logs."""
    response = await hass.services.async_call(
        DOMAIN, "get_conversation_logs", {"limit": 4}, blocking=True, return_response=True
    )
    assert response == snapshot
