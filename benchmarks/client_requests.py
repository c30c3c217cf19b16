"""How many HTTP requests the UCWA client spends, measured on an in-process simulator.

Run from the repository root: `python benchmarks/client_requests.py`. For 10, 100 and 1,000
conversation logs it prints the requests (as the simulator counted them; a batch is one request)
and the wall time of: a cold load of all logs after sign-in (target ≤ 1 + ceil(N/100)), a refresh
when nothing changed (target 0) and one continue_phone_audio (target 1).

Then, for the reference's trace (capability links appear after makeMeAvailable) and the lenient
pool (every link offered at creation), it prints the requests of a setup as the integration runs
it (start, first log list, first missed-items read; sign-in included, P-GETs not) and the push
latency of a missed call: from the simulator logging it to the client's ConversationLogsAdded.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
import math
from pathlib import Path
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from custom_components.ucwa.api import (
    ConversationLogsAdded,
    MissedItemsUpdated,
    UcwaApiError,
    UcwaClient,
    UcwaConfig,
    UcwaEvent,
    UcwaLinkNotOfferedError,
)
from simulator import PROFILES, Simulator, SimulatorConfig, default_seed


def _requests(sim: Simulator) -> int:
    """HTTP requests other than P-GETs (a batch counts once, its parts not at all)."""
    return sum(1 for r in sim.requests if not r.in_batch and r.route != "events")


async def measure(n_logs: int) -> list[tuple[str, int, str, float]]:
    """Return (step, requests, target, milliseconds) for one mailbox size."""
    seed = default_seed()
    template = seed.logs[0]
    seed = replace(
        seed,
        logs=[{**template, "minutes_ago": index + 1, "unread": False} for index in range(n_logs)],
    )
    sim = Simulator(SimulatorConfig.from_profile("lenient", pget_timeout_override=5.0), seed=seed)
    await sim.start()
    rows: list[tuple[str, int, str, float]] = []
    try:
        async with aiohttp.ClientSession() as session:
            client = demo_client(sim, session)
            await client.start()
            await sim.wait_for_parked_pget()

            sim.reset_requests()
            began = time.perf_counter()
            logs = await client.get_conversation_logs(limit=n_logs)
            elapsed = (time.perf_counter() - began) * 1000
            assert len(logs) == n_logs
            target = f"<= {1 + math.ceil(n_logs / 100)}"
            rows.append(("cold load of all logs", _requests(sim), target, elapsed))

            await client.get_missed_items()  # first read of the counters; events keep it fresh
            sim.reset_requests()
            began = time.perf_counter()
            await client.get_conversation_logs(limit=n_logs)
            await client.get_missed_items()
            elapsed = (time.perf_counter() - began) * 1000
            rows.append(("refresh, nothing changed", _requests(sim), "0", elapsed))

            sim.reset_requests()
            began = time.perf_counter()
            call = await client.continue_phone_audio(logs[0])
            elapsed = (time.perf_counter() - began) * 1000
            rows.append(("continue_phone_audio", _requests(sim), "1", elapsed))
            await client.wait_for_invitation(call.operation_id, timeout=10)
            await client.close()
    finally:
        await sim.stop()
    return rows


def demo_client(sim: Simulator, session: aiohttp.ClientSession) -> UcwaClient:
    """Return a client for the simulator's demo user (not started)."""
    return UcwaClient(
        UcwaConfig(
            sign_in_address=sim.user.sign_in_address,
            password=sim.user.password,
            phone_number=sim.user.phone_number,
            discovery_url=sim.discovery_url,
        ),
        session=session,
    )


async def measure_setup(profile: str) -> tuple[int, float]:
    """Return the requests of a setup and the push latency (ms) of one missed call."""
    sim = Simulator(SimulatorConfig.from_profile(profile, pget_timeout_override=5.0))
    await sim.start()
    try:
        async with aiohttp.ClientSession() as session:
            client = demo_client(sim, session)
            await client.start()
            # A pool without conversation history answers this with a capability error, as
            # the integration sees it; the counters still come.
            with contextlib.suppress(UcwaLinkNotOfferedError, UcwaApiError):
                await client.get_conversation_logs()
            await client.get_missed_items()
            setup = _requests(sim)
            await sim.wait_for_parked_pget()

            arrived = asyncio.Event()

            def on_event(event: UcwaEvent) -> None:
                # The first sign of the call: the counters (every pool), then the log.
                if isinstance(event, MissedItemsUpdated | ConversationLogsAdded):
                    arrived.set()

            client.subscribe(on_event)
            began = time.perf_counter()
            sim.add_conversation_log(direction="Incoming", status="Missed", unread=True)
            await asyncio.wait_for(arrived.wait(), 10)
            latency = (time.perf_counter() - began) * 1000
            await client.close()
    finally:
        await sim.stop()
    return setup, latency


async def main() -> None:
    """Print one table for every mailbox size, then setup costs per pool profile."""
    print(f"{'logs':>6}  {'step':<26} {'requests':>8}  {'target':<7} {'wall ms':>8}")
    for n_logs in (10, 100, 1000):
        for step, requests, target, elapsed in await measure(n_logs):
            print(f"{n_logs:>6}  {step:<26} {requests:>8}  {target:<7} {elapsed:>8.1f}")
    print()
    print(f"{'profile':<20}  {'setup requests':>14}  {'push latency ms':>15}")
    for profile in sorted(PROFILES):
        setup, latency = await measure_setup(profile)
        print(f"{profile:<20}  {setup:>14}  {latency:>15.1f}")


if __name__ == "__main__":
    asyncio.run(main())
