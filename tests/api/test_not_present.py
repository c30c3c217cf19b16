"""Nothing the client sends makes an Away user look present (issue 14, point 3).

The simulator models the reference's rule (simulator/presence.py): a manual availability wins
(signInAs sets one), and an application endpoint is active only while it reports activity
itself. An Away user, as their other devices publish it, stays Away through everything the
integration does at start and afterwards: sign-in, application, makeMeAvailable, P-GETs, the
history, presence reads and a call-back, on every pool shape. The last two tests show the model
would catch the bug: a client that sends signInAs, or reports activity, turns the user Online.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import contextlib
from typing import Any

import aiohttp
import pytest

from custom_components.ucwa.api import (
    Presence,
    PresenceUpdated,
    UcwaClient,
    UcwaConfig,
    UcwaError,
)
import custom_components.ucwa.api.application as application_room
from simulator import PROFILES, CallbackOutcome, Simulator
from tests.conftest import MakeSimulator

from .conftest import FAST
from .helpers import Recorder

AWAY = Presence(availability="Away", activity="Away")


@pytest.fixture
async def away(make_simulator: MakeSimulator, request: pytest.FixtureRequest) -> Simulator:
    """Start a pool (the test's profile) whose user is Away on their other device."""
    sim = await make_simulator(
        getattr(request, "param", "trace"),
        pget_timeout_override=0.5,
        callback_outcome=CallbackOutcome(step_delay=0.01),
        call_duration=0.05,
    )
    sim.set_device_presence("Away")
    return sim


@pytest.fixture
async def make_client(
    away: Simulator, session: aiohttp.ClientSession
) -> AsyncIterator[Callable[..., UcwaClient]]:
    """Build clients of the away pool's user (closed after the test)."""
    clients: list[UcwaClient] = []

    def factory(**overrides: Any) -> UcwaClient:
        config = UcwaConfig(
            sign_in_address=away.user.sign_in_address,
            password=away.user.password,
            phone_number=away.user.phone_number,
            discovery_url=away.discovery_url,
            **overrides,
        )
        client = UcwaClient(config, session=session, request_timeout=5.0, timings=FAST)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()


async def _integration_start(client: UcwaClient, sim: Simulator) -> None:
    """Do what the integration does: start, first refresh, P-GETs, a call-back where it can."""
    await client.start()
    with contextlib.suppress(UcwaError):  # no history on some pools: the account still loads
        logs = await client.get_conversation_logs()
        await client.get_missed_items()
        call = await client.continue_phone_audio(logs[0])
        await client.wait_for_invitation(call.operation_id, timeout=10)
    await client.get_presence()
    await client.get_note()
    pgets = sum(1 for r in sim.requests if r.route == "events")
    await sim.wait_for_request("GET", "events", count=pgets + 3)  # idle P-GETs come and go


def _assert_away(sim: Simulator) -> None:
    state = sim.state()
    assert (state["presence"]["availability"], state["presence"]["activity"]) == ("Away", "Away")
    assert state["presence"]["manual"] is None
    for app in state["applications"]:
        assert app["available"]
        assert (app["endpoint_availability"], app["activity_reported"]) == ("Away", False)


@pytest.mark.parametrize("away", sorted(PROFILES), indirect=True)
async def test_an_away_user_stays_away(
    away: Simulator, make_client: Callable[..., UcwaClient]
) -> None:
    client = make_client()
    recorder = Recorder()
    client.subscribe(recorder)
    await _integration_start(client, away)
    _assert_away(away)
    assert await client.get_presence() == AWAY
    pushed = {event.presence for event in recorder.events if isinstance(event, PresenceUpdated)}
    assert pushed == {AWAY}
    sent = [r for r in away.requests if r.route in ("makeMeAvailable", "reportMyActivity")]
    assert [r.route for r in sent] == ["makeMeAvailable"]
    assert "signinas" not in sent[0].body.lower()
    if away.config.conversation_history == "available":
        assert [call.status for call in away.callbacks] == ["Success"]


async def test_an_away_user_stays_away_across_a_new_application(
    away: Simulator, make_client: Callable[..., UcwaClient]
) -> None:
    client = make_client()
    await _integration_start(client, away)
    away.drop_application("expired")
    await away.wait_for_request("POST", "makeMeAvailable", count=2)
    await away.wait_for_parked_pget()
    _assert_away(away)


async def test_a_client_that_signs_in_as_online_turns_the_user_online(
    away: Simulator, make_client: Callable[..., UcwaClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bug this issue removed, put back: the model catches it."""
    body = application_room.make_me_available_body
    monkeypatch.setattr(
        application_room,
        "make_me_available_body",
        lambda config: {**body(config), "signInAs": "Online"},
    )
    client = make_client()
    await _integration_start(client, away)
    assert away.state()["presence"]["manual"] == "Online"
    assert await client.get_presence() == Presence("Online", "Available")


async def test_a_client_that_reports_activity_turns_the_user_online(
    away: Simulator, make_client: Callable[..., UcwaClient]
) -> None:
    """A reportMyActivity claims the user is at this device: the integration never sends it."""
    client = make_client()
    await _integration_start(client, away)
    await client.report_activity()
    assert away.state()["presence"]["availability"] == "Online"
    [app] = away.state()["applications"]
    assert (app["endpoint_availability"], app["activity_reported"]) == ("Online", True)
