"""How long a presence change on another device takes to reach Home Assistant's entities.

Run from the repository root (it needs Home Assistant's test harness, hence pytest):
`pytest benchmarks/presence_sensor_latency.py --no-cov -s` (`UCWA_PAIRS=N` for other than 20
pairs). The integration runs in a test Home Assistant against the in-process simulator (real
`UcwaTimings`, 127.0.0.1), on the trace profile (the `presence` event carries a link: one GET)
and on embedded_events (the event carries the presence: no request). From the simulator
publishing the user's presence as another device would (`Simulator.set_device_presence`, what
`POST /_sim/presence` does) to `sensor.<user>_presence` and `binary_sensor.<user>_on_a_call`
showing it, it prints the latency of a change after a quiet spell and of one right behind it,
and the most requests a change cost (long polls left out). benchmarks/presence_latency.py
measures the same at the client.
"""

from __future__ import annotations

from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import custom_components  # noqa: F401  # isort: skip  # ours, before the test plugin's

import asyncio
from collections.abc import Callable
import os
import statistics
import time
from typing import Any

from homeassistant.core import HomeAssistant, State
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

__all__ = [  # fixtures pytest finds here by name
    "auto_enable_custom_integrations",
    "mock_config_entry",
    "setup_integration",
    "simulator",
    "simulator_options",
]

PRESENCE = "sensor.alice_contoso_com_presence"
ON_A_CALL = "binary_sensor.alice_contoso_com_on_a_call"
PAIRS = int(os.environ.get("UCWA_PAIRS", "20"))
# A call on the desk phone, then back to available right after: each change moves both entities.
STEPS = (("Busy", "on-the-phone", "busy", "on"), ("Online", None, "online", "off"))


def state_is(value: str) -> Callable[[State], bool]:
    return lambda state: state.state == value


@pytest.mark.parametrize(
    "simulator_options", [{"profile_name": "trace"}, {"profile_name": "embedded_events"}]
)
@pytest.mark.timeout(60 + 5 * PAIRS)
async def test_presence_latency(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    simulator_options: dict[str, Any],
) -> None:
    """Print the median, fastest and slowest latency of single and back-to-back changes."""
    quiet = 2 * UcwaTimings().refresh_interval + 0.1  # what a pair spends is earned back
    latencies: tuple[list[float], list[float]] = ([], [])
    requests: tuple[list[int], list[int]] = ([], [])
    for _ in range(PAIRS):
        await asyncio.sleep(quiet)  # a quiet spell, as between calls on a real desk
        for (availability, activity, state, call), samples, counts in zip(
            STEPS, latencies, requests, strict=True
        ):
            await simulator.wait_for_parked_pget()
            before = len(simulator.requests)
            began = time.perf_counter()
            simulator.set_device_presence(availability, activity)
            await wait_for_state(hass, PRESENCE, state_is(state))
            await wait_for_state(hass, ON_A_CALL, state_is(call))
            samples.append((time.perf_counter() - began) * 1000)
            counts.append(sum(1 for r in simulator.requests[before:] if r.route != "events"))
    timings = UcwaTimings()
    sys.stdout.write(
        f"\nHome Assistant, {simulator_options['profile_name']} profile, 127.0.0.1, "
        f"refresh_burst {timings.refresh_burst}, refresh_interval {timings.refresh_interval:g} s\n"
        f"{'presence change -> sensor, on_a_call':<36} {'samples':>7} {'median ms':>9} "
        f"{'min ms':>8} {'max ms':>8} {'requests':>8}\n"
    )
    for label, samples, counts in zip(
        ("a call after a quiet spell", "the call ends right after"),
        latencies,
        requests,
        strict=True,
    ):
        sys.stdout.write(
            f"{label:<36} {len(samples):>7} {statistics.median(samples):>9.1f} "
            f"{min(samples):>8.1f} {max(samples):>8.1f} {max(counts):>8}\n"
        )
