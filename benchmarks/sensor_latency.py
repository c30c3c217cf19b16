"""How long a missed call takes to reach Home Assistant's sensor, alone and right behind another.

Run from the repository root (it needs Home Assistant's test harness, hence pytest):
`pytest benchmarks/sensor_latency.py --no-cov -s` (`UCWA_PAIRS=N` for other than 20 pairs). The
integration runs in a test Home Assistant against the in-process simulator (trace profile, real
`UcwaTimings`, 127.0.0.1). From the simulator logging a missed call to
`sensor.<user>_last_missed_conversation` naming it, it prints the latency of the first call of
each pair (a single call after a quiet spell) and of the second, logged the moment the first
reached the sensor. benchmarks/push_latency.py measures the same at the client.
"""

from __future__ import annotations

from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import custom_components  # noqa: F401  # isort: skip  # ours, before the test plugin's

import asyncio
import os
import statistics
import time

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.api import UcwaTimings
from simulator import Simulator
from tests.components.conftest import (  # the integration suite's own fixtures
    auto_enable_custom_integrations,
    mock_config_entry,
    setup_integration,
    simulator,
    simulator_options,
    wait_for_state,
)
from tests.components.test_sensor import names

__all__ = [  # fixtures pytest finds here by name
    "auto_enable_custom_integrations",
    "mock_config_entry",
    "setup_integration",
    "simulator",
    "simulator_options",
]

LAST_MISSED = "sensor.alice_contoso_com_last_missed_conversation"
PAIRS = int(os.environ.get("UCWA_PAIRS", "20"))


@pytest.mark.timeout(60 + 5 * PAIRS)
async def test_sensor_latency(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Print the median, fastest and slowest latency of single and back-to-back missed calls."""
    quiet = 2 * UcwaTimings().refresh_interval + 0.1  # what a pair spends is earned back
    first: list[float] = []
    second: list[float] = []
    for _ in range(PAIRS):
        await asyncio.sleep(quiet)  # a quiet spell, as between calls on a real desk
        await simulator.wait_for_parked_pget()
        for latencies in (first, second):
            began = time.perf_counter()
            log_id = simulator.add_conversation_log(
                direction="Incoming", status="Missed", unread=True
            ).log_id
            await wait_for_state(hass, LAST_MISSED, names(log_id))
            latencies.append((time.perf_counter() - began) * 1000)
    timings = UcwaTimings()
    sys.stdout.write(
        f"\nHome Assistant, trace profile, 127.0.0.1, refresh_burst {timings.refresh_burst}, "
        f"refresh_interval {timings.refresh_interval:g} s\n"
        f"{'missed call -> sensor state':<36} {'samples':>7} {'median ms':>9} "
        f"{'min ms':>8} {'max ms':>8}\n"
    )
    for label, samples in (
        ("single missed call", first),
        ("second of two back-to-back calls", second),
    ):
        sys.stdout.write(
            f"{label:<36} {len(samples):>7} {statistics.median(samples):>9.1f} "
            f"{min(samples):>8.1f} {max(samples):>8.1f}\n"
        )
