"""continuePhoneAudio, fault injection and the /_sim/ control API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from simulator import CallbackOutcome, Simulator
from tests.simulator.conftest import Walker

MakeSim = Callable[..., Awaitable[Simulator]]


async def _log_link(walker: Walker, sim: Simulator, rel: str) -> str:
    log = next(log for log in sim.logs if log.status == "Missed")
    href = walker.link("communication", "conversationLogs") + f"/{log.log_id}"
    return str((await walker.get(href)).json["_links"][rel]["href"])


async def test_call_back_failure_carries_reason(sim: Simulator, walker: Walker) -> None:
    sim.set_callback_outcome(CallbackOutcome.failure(step_delay=0.01))
    await walker.create_app()
    await walker.make_me_available()
    pget = asyncio.create_task(
        walker.events_until(walker.link("events"), lambda e: e.get("type") == "completed")
    )
    await sim.wait_for_parked_pget()
    resp = await walker.post(await _log_link(walker, sim, "continuePhoneAudio"), {})
    assert resp.status == 201
    events, _ = await asyncio.wait_for(pget, 5)
    completed = next(e for e in events if e.get("type") == "completed")
    assert completed["status"] == "Failure"
    assert completed["reason"] == {
        "code": "RemoteFailure", "subcode": "Declined", "message": "The call was declined."
    }  # fmt: skip
    embedded = completed["_embedded"]["phoneAudioInvitation"]
    assert embedded["phoneNumber"] == "tel:+14255550100"  # the makeMeAvailable default
    assert embedded["state"] == "Declined"
    await sim.wait_for_request("GET", "events", 1)


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"operationId": "x" * 51, "phoneNumber": "+14255550100"}, "operationId"),
        ({"phoneNumber": "tel : +1425"}, "phoneNumber"),
        ({"phoneNumber": "555-0100"}, "phoneNumber"),
        ({}, "phoneNumber"),  # no number and no makeMeAvailable default
    ],
)
async def test_call_back_validation(
    sim: Simulator, walker: Walker, body: dict[str, str], name: str
) -> None:
    await walker.create_app()
    resp = await walker.post(await _log_link(walker, sim, "continuePhoneAudio"), body)
    assert (resp.status, resp.json["subcode"]) == (400, "ParameterValidationFailure")
    assert resp.json["parameters"][0]["name"] == name


async def test_call_back_without_event_channel(sim: Simulator, walker: Walker) -> None:
    await walker.create_app()
    resp = await walker.post(
        await _log_link(walker, sim, "continuePhoneAudio"), {"phoneNumber": "+14255550100"}
    )
    assert (resp.status, resp.json["code"], resp.json["subcode"]) == (
        500, "ServiceFailure", "CallbackChannelError"
    )  # fmt: skip
    assert sim.callbacks == []


REFERENCE_ERRORS = [
    (500, "ServiceFailure", "CallbackChannelError"),
    (409, "Conflict", "AlreadyExists"),
    (409, "Conflict", "TooManyGroups"),
    (409, "Conflict", None),
    (410, "Gone", "CannotRedirect"),
    (500, "ServiceFailure", "InvalidExchangeServerVersion"),
    (403, "Forbidden", None),
    (404, "NotFound", None),
    (429, "TooManyRequests", None),
    (504, "GatewayTimeout", None),
]


@pytest.mark.parametrize(("status", "code", "subcode"), REFERENCE_ERRORS)
async def test_fail_next_produces_reference_errors(
    sim: Simulator, walker: Walker, status: int, code: str, subcode: str | None
) -> None:
    await walker.create_app()
    sim.fail_next(method="POST", path="continuePhoneAudio", status=status, code=code,
                  subcode=subcode)  # fmt: skip
    href = await _log_link(walker, sim, "continuePhoneAudio")
    resp = await walker.post(href, {"phoneNumber": "+14255550100"})
    assert resp.status == status
    assert resp.json["code"] == code
    assert resp.json.get("subcode") == subcode
    assert resp.json["message"]
    assert sim.callbacks == []
    assert sim.requests[-1].status == status


async def test_fail_next_regex_count_and_token_shape(sim: Simulator, walker: Walker) -> None:
    sim.fail_next(path=r"oauth\w+$", status=400, code="invalid_grant")
    resp = await walker.request("POST", "/WebTicket/oauthtoken", data={}, auth=False)
    assert resp.json == {"error": "invalid_grant"}
    await walker.create_app()
    sim.fail_next("GET", "/me", status=401, count=2)
    assert (await walker.get(walker.link("me", "self"))).status == 401
    assert (await walker.get(walker.link("me", "self"))).status == 401
    assert (await walker.get(walker.link("me", "self"))).status == 200


async def test_drop_and_delay(sim: Simulator, walker: Walker) -> None:
    await walker.create_app()
    # count=2: aiohttp retries an idempotent request once after a disconnect.
    sim.drop_next("GET", "/me", count=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await walker.get(walker.link("me", "self"))
    assert [r.status for r in sim.requests if r.route == "me"] == [None, None]
    sim.drop_next("DELETE", "/applications/", after=True, count=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await walker.request("DELETE", walker.app_url)
    assert sim.applications == {}  # the server acted before the connection dropped
    sim.delay_next(None, "/autodiscover", 0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await walker.get(sim.discovery_url, auth=False)).status == 200
    assert loop.time() - started >= 0.2


async def test_control_api_over_http(sim: Simulator, walker: Walker) -> None:
    session = walker.session
    base = f"{sim.base_url}/_sim"
    await walker.create_app()
    async with session.get(f"{base}/requests") as resp:
        recorded = await resp.json()
    assert [r["route"] for r in recorded] == ["root", "user", "oauthtoken", "user", "applications"]
    assert recorded[-1]["headers"]["Authorization"].startswith("Bearer cwt=")
    async with session.get(f"{base}/counts") as resp:
        assert (await resp.json())["POST applications"] == 1
    async with session.post(
        f"{base}/logs",
        json={"direction": "Incoming", "status": "Missed", "id": "log-x",
              "recipients": [{"display_name": "Zoe", "sip_uri": "sip:zoe@contoso.com"}]},
    ) as resp:  # fmt: skip
        assert resp.status == 201
        assert (await resp.json())[0]["id"] == "log-x"
    async with session.post(f"{base}/logs", json={"direction": "Sideways"}) as resp:
        assert resp.status == 400
    async with session.post(
        f"{base}/faults", json={"kind": "fail", "path": "/me", "status": 409, "code": "Conflict"}
    ) as resp:
        assert resp.status == 201
    assert (await walker.get(walker.link("me", "self"))).status == 409
    async with session.post(f"{base}/faults", json={"kind": "drop", "path": "/me"}) as resp:
        assert resp.status == 201
    async with session.delete(f"{base}/faults") as resp:
        assert resp.status == 204
    assert (await walker.get(walker.link("me", "self"))).status == 200
    async with session.post(
        f"{base}/callback-outcome", json={"status": "Failure", "subcode": "Busy"}
    ) as resp:
        assert resp.status == 204
    assert sim.config.callback_outcome.subcode == "Busy"
    async with session.get(f"{base}/state") as resp:
        state = await resp.json()
    assert state["user"]["sign_in_address"] == "alice@contoso.com"
    assert any(log["id"] == "log-x" for log in state["logs"])
    assert len(state["applications"]) == 1
    async with session.post(f"{base}/expire-tokens") as resp:
        assert resp.status == 204
    assert (await walker.get(walker.app_url)).status == 401
    async with session.post(f"{base}/drop-application", json={"kind": "expired"}) as resp:
        assert (await resp.json())["dropped"] == [state["applications"][0]["app_id"]]
    async with session.delete(f"{base}/requests") as resp:
        assert resp.status == 204
    assert sim.requests == []
    assert not sim.route_counts


async def test_seed_file(tmp_path: Any) -> None:
    import json

    from simulator import load_seed

    path = tmp_path / "seed.json"
    path.write_text(
        json.dumps(
            {
                "user": {"sign_in_address": "bob@fabrikam.com", "password": "p",
                         "phone_number": "+12065550100"},
                "logs": [{"creation_time": "2024-05-01T09:30:00Z", "status": "Archived"}],
            }
        )
    )  # fmt: skip
    seed = load_seed(path)
    sim = Simulator(seed=seed)
    assert sim.user.domain == "fabrikam.com"
    assert sim.logs[0].status == "Archived"
    assert sim.logs[0].unread is False
