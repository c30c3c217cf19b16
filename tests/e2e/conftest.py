"""The development stack as separate processes: the simulator and a real Home Assistant.

Both end-to-end tests start them the way `scripts/develop` does, on free loopback ports, with the
repository's committed config/ files copied to a temporary folder (a developer's own state there
is left alone) and prepared by the same `scripts/dev_config.py` (the integration, the blueprints,
automations.yaml, the web server's address as the installed release reads it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass
import os
from pathlib import Path
import shutil
import socket
import sys
import time

import aiohttp
import pytest

REPO = Path(__file__).resolve().parents[2]
COMMITTED_CONFIG = ("configuration.yaml", "ucwa_dashboard.yaml")
"""What git keeps of config/ (.gitignore); the rest there is a developer's own state."""
CLIENT_ID = "http://127.0.0.1/"
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def until[T](probe: Callable[[], Awaitable[T | None]], what: str, within: float) -> T:
    """Poll another process until `probe` returns a value: there is no event to await across processes."""
    deadline = time.monotonic() + within
    while True:
        with contextlib.suppress(aiohttp.ClientError, OSError):
            if (value := await probe()) is not None:
                return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.25)


@dataclass
class Stack:
    """The two processes and how to reach them."""

    session: aiohttp.ClientSession
    ha_url: str
    sim_url: str
    ha_log: Path


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@pytest.fixture
async def stack(tmp_path: Path, socket_enabled: None) -> AsyncIterator[Stack]:
    """Start the simulator and Home Assistant as `scripts/develop` does, on free loopback ports."""
    config = tmp_path / "config"
    config.mkdir()
    for name in COMMITTED_CONFIG:
        shutil.copy(REPO / "config" / name, config / name)
    sim_port, ha_port = free_port(), free_port()
    # pytest-cov would measure the child processes too; their data cannot be combined with ours.
    env = {key: value for key, value in os.environ.items() if not key.startswith("COV_CORE_")}
    env |= {"UCWA_HA_PORT": str(ha_port), "PYTHONPATH": str(REPO)}
    prepared = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "scripts" / "dev_config.py"), str(config), "--port", str(ha_port),
        env=env, stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await prepared.wait() == 0, "scripts/dev_config.py failed"
    ha_log = tmp_path / "home-assistant.out"
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(sim_port),
        "--profile", "trace",  # links come and go as in the reference's own trace
        cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    with ha_log.open("wb") as out:
        hass = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "homeassistant", "--config", str(config),
            cwd=tmp_path, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    session = aiohttp.ClientSession()
    sim_url = f"http://127.0.0.1:{sim_port}"

    async def simulator_up() -> bool | None:
        async with session.get(f"{sim_url}/_sim/state") as resp:
            return True if resp.status == 200 else None

    try:
        # A test's first step may be a control request to the simulator: let it bind first.
        await until(simulator_up, "the simulator", START_TIMEOUT)
        yield Stack(session, f"http://127.0.0.1:{ha_port}", sim_url, ha_log)
    finally:
        await session.close()
        await asyncio.gather(_stop(hass), _stop(sim))
