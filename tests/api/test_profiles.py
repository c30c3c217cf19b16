"""The client's main paths against every pool shape the simulator knows (`simulator.PROFILES`).

Each test asserts the exact requests the pool received, which is where the request budget of
following the hypermedia shows: a pool like the reference's trace (capability links only after
makeMeAvailable) costs at most one request more at setup than one that offers them at creation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from custom_components.ucwa.api import (
    ConversationLogsAdded,
    MissedItemsUpdated,
    UcwaApiError,
    UcwaLinkNotOfferedError,
)
from custom_components.ucwa.api.client import UcwaClient, UcwaConfig
from simulator import PROFILES, Simulator, SimulatorConfig

from .helpers import Recorder, add_missed_call, non_event_requests

SIGN_IN = ["GET root", "GET user", "POST oauthtoken", "GET user"]
CREATE = ["POST applications", "POST makeMeAvailable"]


@pytest.fixture(params=sorted(PROFILES))
def sim_config(request: pytest.FixtureRequest) -> SimulatorConfig:
    """Every named profile of the simulator."""
    return SimulatorConfig.from_profile(request.param, pget_timeout_override=1.0)


@pytest.fixture
async def fresh(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> AsyncIterator[UcwaClient]:
    """Yield a client that has not signed in yet."""
    client = UcwaClient(make_config(), session=session, request_timeout=5.0)
    try:
        yield client
    finally:
        await client.close()


def _history(sim: Simulator) -> str:
    return sim.config.conversation_history


def _log_reads(sim: Simulator) -> list[str]:
    """Return what reading the log list costs on this pool (nothing without history)."""
    return {
        "available": ["GET conversationLogs", "POST batch"],
        "absent": [],
    }.get(_history(sim), ["GET conversationLogs"])


async def _set_up(client: UcwaClient, sim: Simulator) -> None:
    """Do what the integration does at setup: start, first log list, first missed items."""
    await client.start()
    history = _history(sim)
    if history == "available":
        assert await client.get_conversation_logs(limit=50)
    elif history == "absent":
        with pytest.raises(UcwaLinkNotOfferedError) as not_offered:
            await client.get_conversation_logs(limit=50)
        assert (not_offered.value.rel, not_offered.value.owner) == (
            "conversationLogs",
            "communication",
        )
    else:
        with pytest.raises(UcwaApiError) as failed:
            await client.get_conversation_logs(limit=50)
        subcode = {"invalid_exchange_version": "InvalidExchangeServerVersion"}
        assert (failed.value.status, failed.value.code, failed.value.subcode) == (
            500,
            "ServiceFailure",
            subcode.get(history, "ExchangeTimeout"),
        )
    # Missed items never need conversation logs.
    assert (await client.get_missed_items()).missed_conversations_count is not None


async def test_setup_requests(fresh: UcwaClient, sim: Simulator) -> None:
    """Setup costs one re-read of communication on a trace-like pool, nothing extra otherwise."""
    await _set_up(fresh, sim)
    re_read = [] if sim.config.profile == "lenient" else ["GET communication"]
    assert non_event_requests(sim) == [*SIGN_IN, *CREATE, *re_read, *_log_reads(sim),
                                       "GET missedItems"]  # fmt: skip
    # Whatever events arrive later, nothing is read again while nothing changes.
    await sim.wait_for_parked_pget()
    sim.reset_requests()
    await fresh.get_missed_items()
    if _history(sim) == "available":
        await fresh.get_conversation_logs(limit=50)
    assert non_event_requests(sim) == []


async def test_pushed_missed_call_and_call_back(fresh: UcwaClient, sim: Simulator) -> None:
    """A missed call arrives by push at the cost the pool's shape allows; one POST calls back."""
    await _set_up(fresh, sim)
    await sim.wait_for_parked_pget()
    recorder = Recorder()
    fresh.subscribe(recorder)
    sim.reset_requests()
    log_id = add_missed_call(sim)
    updated = await recorder.wait_for(MissedItemsUpdated)
    assert updated.missed_items.unread_missed_conversations_count
    history = _history(sim)
    if history == "available":
        added = await recorder.wait_for(ConversationLogsAdded)
        assert [log.log_id for log in added.logs] == [log_id]
    elif history != "absent":
        await sim.wait_for_request("GET", "conversationLogs")
    read_counters = [] if sim.config.embedded_events else ["GET missedItems"]
    assert non_event_requests(sim) == [*read_counters, *_log_reads(sim)]
    if history != "available":
        return

    sim.reset_requests()
    call = await fresh.continue_phone_audio(added.logs[0])
    assert non_event_requests(sim) == ["POST continuePhoneAudio"]
    result = await fresh.wait_for_invitation(call.operation_id, timeout=5)
    assert result.status == "Success"
    assert len(sim.callbacks) == 1
