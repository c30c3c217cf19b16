"""Drive a real `hass` process the way a person would, but over its REST API.

It starts the simulator and Home Assistant (with the repository's config/) as separate processes,
onboards, adds the integration through the config flow, calls the action with `return_response`, and
checks the states and the exact request the simulator received. This is what `scripts/develop` gives a
person, so it proves the development set-up works on a fresh machine too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass
from datetime import datetime
import json
import os
from pathlib import Path
import shutil
import socket
import sys
import time
from typing import Any

import aiohttp
import pytest

from simulator import default_seed

REPO = Path(__file__).resolve().parents[2]
CLIENT_ID = "http://127.0.0.1/"
START_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _until[T](probe: Callable[[], Awaitable[T | None]], what: str, within: float) -> T:
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
    for name in ("configuration.yaml", "ucwa_dashboard.yaml"):
        shutil.copy(REPO / "config" / name, config / name)
    (config / "custom_components").mkdir()
    (config / "custom_components" / "ucwa").symlink_to(REPO / "custom_components" / "ucwa")
    sim_port, ha_port = _free_port(), _free_port()
    # pytest-cov would measure the child processes too; their data cannot be combined with ours.
    env = {key: value for key, value in os.environ.items() if not key.startswith("COV_CORE_")}
    env |= {"UCWA_HA_PORT": str(ha_port), "PYTHONPATH": str(REPO)}
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
    try:
        yield Stack(session, f"http://127.0.0.1:{ha_port}", f"http://127.0.0.1:{sim_port}", ha_log)
    finally:
        await session.close()
        await asyncio.gather(_stop(hass), _stop(sim))


async def _json(resp: aiohttp.ClientResponse, status: int = 200) -> Any:
    body = await resp.text()
    assert resp.status == status, f"{resp.method} {resp.url}: {resp.status} {body}"
    return await resp.json(content_type=None)


async def _onboard(stack: Stack) -> dict[str, str]:
    """Create the owner account as the onboarding screens would, and return the auth header."""
    session, url = stack.session, stack.ha_url

    async def onboarding_ready() -> list[dict[str, Any]] | None:
        async with session.get(f"{url}/api/onboarding") as resp:
            return await resp.json() if resp.status == 200 else None

    steps = await _until(onboarding_ready, "Home Assistant to serve onboarding", START_TIMEOUT)
    assert {step["step"] for step in steps} >= {"user", "core_config"}
    user = {
        "client_id": CLIENT_ID,
        "name": "Test Owner",
        "username": "owner",
        "password": "owner-secret-1",
        "language": "en",
    }
    async with session.post(f"{url}/api/onboarding/users", json=user) as resp:
        auth_code = (await _json(resp))["auth_code"]
    form = {"grant_type": "authorization_code", "code": auth_code, "client_id": CLIENT_ID}
    async with session.post(f"{url}/auth/token", data=form) as resp:
        token = (await _json(resp))["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(f"{url}/api/onboarding/core_config", headers=headers) as resp:
        await _json(resp)
    async with session.post(f"{url}/api/onboarding/analytics", headers=headers) as resp:
        await _json(resp)
    body = {"client_id": CLIENT_ID, "redirect_uri": f"{CLIENT_ID}?auth_callback=1"}
    async with session.post(
        f"{url}/api/onboarding/integration", json=body, headers=headers
    ) as resp:
        await _json(resp)
    return headers


async def _states(stack: Stack, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    async with stack.session.get(f"{stack.ha_url}/api/states", headers=headers) as resp:
        return {state["entity_id"]: state for state in await _json(resp)}


async def test_develop_stack_end_to_end(stack: Stack) -> None:
    """Onboard, add the integration through the flow, read sensors, call the action."""
    session, url = stack.session, stack.ha_url

    async def simulator_state() -> dict[str, Any] | None:
        async with session.get(f"{stack.sim_url}/_sim/state") as resp:
            return await resp.json() if resp.status == 200 else None

    sim_state = await _until(simulator_state, "the simulator", START_TIMEOUT)
    demo = default_seed().user  # the simulator process runs with the default demo seed
    assert sim_state["user"]["sign_in_address"] == demo.sign_in_address

    headers = await _onboard(stack)

    # Home Assistant is not in recovery mode: the frontend and our integration's flow are there.
    async with session.get(f"{url}/api/config", headers=headers) as resp:
        config = await _json(resp)
    assert config["recovery_mode"] is False
    assert "frontend" in config["components"]

    flow_url = f"{url}/api/config/config_entries/flow"
    async with session.post(flow_url, json={"handler": "ucwa"}, headers=headers) as resp:
        form = await _json(resp)
    assert form["type"] == "form"
    assert form["step_id"] == "user"
    user_input = {
        "sign_in_address": demo.sign_in_address,
        "password": demo.password,
        "phone_number": demo.phone_number,
        "discovery_url": f"{stack.sim_url}/autodiscover/autodiscoverservice.svc/root",
        "verify_ssl": True,
    }
    async with session.post(
        f"{flow_url}/{form['flow_id']}", json=user_input, headers=headers
    ) as resp:
        created = await _json(resp)
    assert created["type"] == "create_entry", created
    assert created["result"]["state"] == "loaded"
    entry_id = created["result"]["entry_id"]

    missed_id = "sensor.alice_contoso_com_missed_conversations"

    async def sensors_ready() -> dict[str, dict[str, Any]] | None:
        states = await _states(stack, headers)
        ready = missed_id in states and states[missed_id]["state"] not in ("unknown", "unavailable")
        return states if ready else None

    states = await _until(sensors_ready, "the ucwa sensors", 30)
    expected_missed = sum(1 for log in sim_state["logs"] if log["status"] == "Missed")
    assert int(states[missed_id]["state"]) == expected_missed
    last = states["sensor.alice_contoso_com_last_conversation"]
    newest = max(sim_state["logs"], key=lambda log: datetime.fromisoformat(log["creation_time"]))
    assert last["attributes"]["conversation_log_id"] == newest["id"]

    # The action, over REST, with its response.
    async with session.post(
        f"{url}/api/services/ucwa/continue_phone_audio?return_response",
        json={"config_entry_id": entry_id},
        headers=headers,
    ) as resp:
        result = await _json(resp)
    response = result["service_response"]
    assert response["conversation_log"] == newest["id"]
    assert response["phone_number"] == "tel:" + demo.phone_number
    assert response["invitation"].startswith(stack.sim_url)

    async with session.get(f"{stack.sim_url}/_sim/requests") as resp:
        requests = await _json(resp)
    posts = [
        r for r in requests if r["method"] == "POST" and r["path"].endswith("/continuePhoneAudio")
    ]
    assert len(posts) == 1
    assert newest["id"] in posts[0]["path"]
    assert json.loads(posts[0]["body"]) == {
        "operationId": response["operation_id"],
        "phoneNumber": response["phone_number"],
    }
