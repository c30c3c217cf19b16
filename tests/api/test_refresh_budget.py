"""Missed calls close together: each of a burst is re-read at once, more share one later re-read.

The re-reads a `missedItems` event starts are paced by `refresh_burst` and `refresh_interval`
(issue 13, item 6). tests/api/hostile/test_loops.py holds a server that never stops sending
them to its budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import aiohttp
import pytest

from custom_components.ucwa.api import ConversationLogsAdded, MissedItemsUpdated, UcwaTimings
from custom_components.ucwa.api.client import UcwaClient, UcwaConfig
from simulator import Simulator

from .conftest import FAST
from .helpers import Recorder, add_missed_call, non_event_requests

REREAD = ["GET missedItems", "GET conversationLogs", "POST batch"]
"""What one re-read costs on the simulator: the counters, the list, the new logs' details."""


@pytest.fixture
def timings() -> UcwaTimings:
    """Keep the real burst; earn a re-read back only after a minute, longer than any test waits."""
    return replace(FAST, refresh_burst=UcwaTimings().refresh_burst, refresh_interval=60.0)


@pytest.fixture
async def paced(
    sim: Simulator,
    session: aiohttp.ClientSession,
    make_config: Callable[..., UcwaConfig],
    timings: UcwaTimings,
) -> AsyncIterator[tuple[UcwaClient, Recorder]]:
    """Start a client with `timings`, do its first reads and clear the request log."""
    client = UcwaClient(make_config(), session=session, request_timeout=5.0, timings=timings)
    recorder = Recorder()
    client.subscribe(recorder)
    try:
        await client.start()
        await client.get_conversation_logs(limit=50)  # what "new" means
        await client.get_missed_items()
        await sim.wait_for_parked_pget()
        sim.reset_requests()
        yield client, recorder
    finally:
        await client.close()


async def _pget_parked_after(sim: Simulator) -> None:
    """Wait until the client parked the P-GET that follows the batch just delivered.

    The client handles a batch right after it sends the next P-GET and before that P-GET can
    reach the server, so once it is parked the client has decided what the batch costs.
    """
    pgets = sum(1 for r in sim.requests if r.route == "events")
    await sim.wait_for_request("GET", "events", count=pgets + 1)
    await sim.wait_for_parked_pget()


async def test_back_to_back_missed_calls_are_each_read_at_once(
    paced: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    """Three missed calls, each logged the moment the one before reached the client.

    Each is re-read at once (before: the second waited out `refresh_min_interval`, ~1 s; here a
    re-read is earned back only after 60 s, so any wait would time the test out). The fourth
    finds the burst spent: nothing is read for it yet.
    """
    _client, recorder = paced
    for nth in range(1, 4):
        log_id = add_missed_call(sim)
        added = await recorder.wait_for_nth(ConversationLogsAdded, nth)
        assert [log.log_id for log in added.logs] == [log_id]
        assert non_event_requests(sim) == REREAD * nth
    updates = len(recorder.of(MissedItemsUpdated))
    add_missed_call(sim)
    await _pget_parked_after(sim)
    assert non_event_requests(sim) == REREAD * 3
    assert len(recorder.of(MissedItemsUpdated)) == updates == 3


@pytest.mark.parametrize(
    "timings", [replace(FAST, refresh_burst=3, refresh_interval=1.0)], ids=["burst3-1s"]
)
async def test_calls_beyond_the_burst_share_one_later_reread(
    paced: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    """Five missed calls in a row: three re-reads at once, then one for the last two.

    The fourth and fifth come while the burst is spent; one re-read, when the next is earned
    (`refresh_interval`), reports both: no change goes unreported, and none costs a read of
    its own.
    """
    _client, recorder = paced
    for nth in range(1, 4):
        add_missed_call(sim)
        await recorder.wait_for_nth(ConversationLogsAdded, nth)
    late = [add_missed_call(sim)]
    await _pget_parked_after(sim)
    late.append(add_missed_call(sim))
    await _pget_parked_after(sim)
    assert non_event_requests(sim) == REREAD * 3  # both wait for their turn
    added = await recorder.wait_for_nth(ConversationLogsAdded, 4)
    assert {log.log_id for log in added.logs} == set(late)
    assert non_event_requests(sim) == REREAD * 4
    assert len(recorder.of(MissedItemsUpdated)) == 4
