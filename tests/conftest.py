"""Fixtures shared by every test.

`custom_components` is imported first on purpose: the test plugin puts its own `custom_components`
package on sys.path, and Home Assistant must find ours instead.
"""

from __future__ import annotations

import custom_components  # noqa: F401  # isort: skip

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from simulator import Simulator, SimulatorConfig

MakeSimulator = Callable[..., Awaitable[Simulator]]


@pytest.fixture
async def make_simulator(socket_enabled: None) -> AsyncIterator[MakeSimulator]:
    """Start simulators on 127.0.0.1 and stop them at teardown, for every suite.

    `await make_simulator(profile="trace", **knobs)`: `profile` is a name from
    `simulator.PROFILES`, `knobs` any `SimulatorConfig` field. The test plugin blocks sockets
    unless asked, hence `socket_enabled`.
    """
    started: list[Simulator] = []

    async def factory(profile: str = "trace", **knobs: Any) -> Simulator:
        sim = Simulator(SimulatorConfig.from_profile(profile, **knobs))
        await sim.start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        await sim.stop()
