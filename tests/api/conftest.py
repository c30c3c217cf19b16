"""Fixtures for the UCWA client tests: reference samples, a simulator and a client bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import fields
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from custom_components.ucwa.api import UcwaTimings
from custom_components.ucwa.api.client import UcwaClient, UcwaConfig
from simulator import Simulator, SimulatorConfig
from tests.conftest import MakeSimulator

from .helpers import TaskRecorder

REFERENCE = Path(__file__).parent.parent / "fixtures" / "reference"


def reference(name: str) -> dict[str, Any]:
    """Load one extracted reference sample (`<page>__<section>.json`)."""
    data: dict[str, Any] = json.loads((REFERENCE / f"{name}.json").read_text(encoding="utf-8"))
    return data


def reference_text(name: str) -> str:
    """Load one byte-for-byte reference code block (`<page>__<section>.txt`)."""
    return (REFERENCE / f"{name}.txt").read_text(encoding="utf-8")


FAST = UcwaTimings(
    reconnect_base=0.01,
    reconnect_cap=0.05,
    parked_grace=0.01,
    batch_retry_delay=0.01,
    pget_min_interval=0.01,
    pget_empty_interval=0.01,
    token_grant_window=0.01,
    refresh_interval=0.01,
)
"""Delays shrunk so tests do not wait on backoff (tests/api/hostile/ checks the real budget)."""


@pytest.fixture(params=["lenient", "trace"])
def sim_config(request: pytest.FixtureRequest) -> SimulatorConfig:
    """Return the simulator's knobs; tests override this fixture or mutate `sim.config`.

    Every test runs against both pool shapes: capability links offered at creation (lenient)
    and offered only after makeMeAvailable, as in the reference's trace.
    """
    return SimulatorConfig.from_profile(request.param, pget_timeout_override=1.0)


@pytest.fixture
async def sim(sim_config: SimulatorConfig, make_simulator: MakeSimulator) -> Simulator:
    """Run a simulator on 127.0.0.1 with the demo mailbox, from the suites' one factory."""
    knobs = {f.name: getattr(sim_config, f.name) for f in fields(sim_config) if f.init}
    return await make_simulator(**knobs)


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Yield an aiohttp session owned by the test (the client must never close it)."""
    # The threaded resolver: `localhost` must resolve without aiodns for the redirect tests.
    connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
    async with aiohttp.ClientSession(connector=connector) as client_session:
        yield client_session


@pytest.fixture
def make_config(sim: Simulator) -> Callable[..., UcwaConfig]:
    """Build a config for the simulator's demo user, with overrides."""

    def factory(**overrides: Any) -> UcwaConfig:
        values: dict[str, Any] = {
            "sign_in_address": sim.user.sign_in_address,
            "password": sim.user.password,
            "phone_number": sim.user.phone_number,
            "discovery_url": sim.discovery_url,
            "endpoint_id": "6b7a1e0c-53a4-4d1e-9b8c-7e9f0f2d1a11",
        }
        values.update(overrides)
        return UcwaConfig(**values)

    return factory


@pytest.fixture
def tasks() -> TaskRecorder:
    """Return the task factory of the `client` fixture: the tests' view of its tasks."""
    return TaskRecorder()


@pytest.fixture
async def client(
    sim: Simulator,
    session: aiohttp.ClientSession,
    make_config: Callable[..., UcwaConfig],
    tasks: TaskRecorder,
) -> AsyncIterator[UcwaClient]:
    """Yield a client for the demo user (not started); close it after the test."""
    ucwa = UcwaClient(
        make_config(), session=session, request_timeout=5.0, timings=FAST, task_factory=tasks
    )
    try:
        yield ucwa
    finally:
        await ucwa.close()


@pytest.fixture
async def started(client: UcwaClient, sim: Simulator) -> UcwaClient:
    """Start the client, wait for its P-GET to park and clear the request log."""
    await client.start()
    await sim.wait_for_parked_pget()
    sim.reset_requests()
    return client
