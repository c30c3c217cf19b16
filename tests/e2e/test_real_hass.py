"""Drive a real `hass` process the way a person would, but over its REST API.

It starts the simulator and Home Assistant (with the repository's config/) as separate processes,
onboards, adds the integration through the config flow, calls the action with `return_response`, and
checks the states and the exact request the simulator received; then changes presence on the
simulator as another device would and checks it shows with one round trip (one GET). This is what `scripts/develop` gives a
person, so it proves the development set-up works on a fresh machine too.
"""

from __future__ import annotations

from datetime import datetime
import json
from pathlib import Path
from typing import Any

import aiohttp

from simulator import default_seed

from .conftest import CLIENT_ID, START_TIMEOUT, Stack, until


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

    steps = await until(onboarding_ready, "Home Assistant to serve onboarding", START_TIMEOUT)
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


async def _ws(stack: Stack, headers: dict[str, str], command: dict[str, Any]) -> Any:
    """Run one websocket command (what the frontend sends) and return its result."""
    async with stack.session.ws_connect(f"{stack.ha_url}/api/websocket") as ws:
        assert (await ws.receive_json())["type"] == "auth_required"
        token = headers["Authorization"].removeprefix("Bearer ")
        await ws.send_json({"type": "auth", "access_token": token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        await ws.send_json({"id": 1, **command})
        answer = await ws.receive_json()
    assert answer["success"], answer
    return answer["result"]


def _listening_addresses(port: int) -> set[str]:
    """Return the local addresses of the TCP sockets listening on `port` (Linux's /proc)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text(encoding="ascii").splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


async def _check_doors(stack: Stack, headers: dict[str, str], config: dict[str, Any]) -> None:
    """Check what a user finds in scripts/develop's Home Assistant, on either stack.

    The web server on 127.0.0.1 only and without a repair issue about its configuration
    (2026.10 would raise one for `http:` YAML); Assist's dialog (assist_pipeline with a
    pipeline, conversation); automations made in the UI (automation, from automations.yaml);
    the five blueprints, listed without a download.
    """
    assert config["recovery_mode"] is False
    assert {"frontend", "assist_pipeline", "conversation", "automation"} <= set(
        config["components"]
    )
    port = int(stack.ha_url.rsplit(":", 1)[1])
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else, no IPv6
    issues = await _ws(stack, headers, {"type": "repairs/list_issues"})
    assert [i["issue_id"] for i in issues["issues"] if i["domain"] == "http"] == []
    pipelines = await _ws(stack, headers, {"type": "assist_pipeline/pipeline/list"})
    assert [p["conversation_engine"] for p in pipelines["pipelines"]] == [
        "conversation.home_assistant"
    ]
    blueprints = await _ws(stack, headers, {"type": "blueprint/list", "domain": "automation"})
    assert {path for path in blueprints if path.startswith("ucwa/")} == {
        "ucwa/busy_light.yaml",
        "ucwa/call_back_when_home.yaml",
        "ucwa/do_not_disturb_while.yaml",
        "ucwa/notify_missed_conversation.yaml",
        "ucwa/voice_call_back.yaml",
    }
    assert all("error" not in blueprints[path] for path in blueprints)


async def _states(stack: Stack, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    async with stack.session.get(f"{stack.ha_url}/api/states", headers=headers) as resp:
        return {state["entity_id"]: state for state in await _json(resp)}


async def test_develop_stack_end_to_end(stack: Stack) -> None:
    """Onboard, add the integration through the flow, read sensors, call the action."""
    session, url = stack.session, stack.ha_url

    async def simulator_state() -> dict[str, Any] | None:
        async with session.get(f"{stack.sim_url}/_sim/state") as resp:
            return await resp.json() if resp.status == 200 else None

    sim_state = await until(simulator_state, "the simulator", START_TIMEOUT)
    demo = default_seed().user  # the simulator process runs with the default demo seed
    assert sim_state["user"]["sign_in_address"] == demo.sign_in_address

    headers = await _onboard(stack)

    # Once started (onboarding is served before the later stages are set up), Home Assistant is
    # not in recovery mode: the frontend, the doors and our flow are there.
    async def started_config() -> dict[str, Any] | None:
        async with session.get(f"{url}/api/config", headers=headers) as resp:
            config: dict[str, Any] = await _json(resp)
        return config if config["state"] == "RUNNING" else None

    config = await until(started_config, "Home Assistant to finish starting", START_TIMEOUT)
    await _check_doors(stack, headers, config)

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

    states = await until(sensors_ready, "the ucwa sensors", 30)
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

    await _presence_in_real_home_assistant(stack, headers)


async def _presence_in_real_home_assistant(stack: Stack, headers: dict[str, str]) -> None:
    """Presence changed on another device shows with the event's one round trip (one GET)."""
    session = stack.session
    presence, on_a_call = (
        "sensor.alice_contoso_com_presence",
        "binary_sensor.alice_contoso_com_on_a_call",
    )

    async def requests() -> list[dict[str, Any]]:
        async with session.get(f"{stack.sim_url}/_sim/requests") as resp:
            found: list[dict[str, Any]] = await _json(resp)
            return found

    before = len(await requests())
    body = {"availability": "Busy", "activity": "In a conference call"}
    async with session.post(f"{stack.sim_url}/_sim/presence", json=body) as resp:
        assert resp.status == 204

    async def shown() -> bool | None:
        states = await _states(stack, headers)
        busy = states[presence]["state"] == "busy" and states[on_a_call]["state"] == "on"
        return True if busy else None

    await until(shown, "presence and on_a_call to show the call", 10)
    since = [r for r in (await requests())[before:] if not r["path"].endswith("/events")]
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in since] == [("GET", "presence")]
