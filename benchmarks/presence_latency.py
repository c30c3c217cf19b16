"""How long a presence change takes to reach the client, and what setting presence costs.

Run from the repository root: `python benchmarks/presence_latency.py [CHANGES]` (default 20).
Against an in-process simulator (127.0.0.1, real `UcwaTimings`) it measures, per pool shape:

- from the user's other device changing presence (`Simulator.set_device_presence`, what
  `POST /_sim/presence` does) to the client's `PresenceUpdated` with the new value: CHANGES
  changes, each after a quiet spell of `refresh_interval` (what one spends is earned back). On the
  trace profile the event is a link only and costs one GET; on embedded_events it carries the
  presence and costs nothing;
- the requests of a `set_availability`, a `reset_availability` and a `set_note`, counted by the
  simulator until the change came back as an event: the POST, and the re-read on link-only pools.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
import statistics
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from custom_components.ucwa.api import (
    NoteUpdated,
    PresenceUpdated,
    UcwaClient,
    UcwaConfig,
    UcwaEvent,
    UcwaTimings,
)
from simulator import Simulator, SimulatorConfig

PROFILES = ("trace", "embedded_events")


class Arrivals:
    """Counts the client's presence and note events, so a test can wait for the next one."""

    def __init__(self) -> None:
        """Start with nothing seen."""
        self.presence = 0
        self.note = 0
        self._changed = asyncio.Event()

    def __call__(self, event: UcwaEvent) -> None:
        """Count one event (the client's subscriber callback)."""
        if isinstance(event, PresenceUpdated):
            self.presence += 1
        elif isinstance(event, NoteUpdated):
            self.note += 1
        self._changed.set()

    def count(self, note: bool) -> int:
        """How many note (or presence) events came so far."""
        return self.note if note else self.presence

    async def wait(self, after: int, *, note: bool = False) -> None:
        """Return once more than `after` presence (or note) events came (at most 10 s)."""
        async with asyncio.timeout(10):
            while self.count(note) <= after:
                self._changed.clear()
                await self._changed.wait()


def _requests(sim: Simulator) -> list[str]:
    """HTTP requests other than P-GETs, as `METHOD route`."""
    return [f"{r.method} {r.route}" for r in sim.requests if not r.in_batch and r.route != "events"]


async def _cost(
    sim: Simulator, arrivals: Arrivals, action: Awaitable[None], note: bool = False
) -> str:
    """Run `action`, wait for its event to come back, and return the requests it took."""
    await asyncio.sleep(UcwaTimings().refresh_interval)  # the budget is full again
    await sim.wait_for_parked_pget()
    sim.reset_requests()
    seen = arrivals.count(note)
    await action
    await arrivals.wait(seen, note=note)
    return ", ".join(_requests(sim))


async def measure(profile: str, changes: int) -> tuple[list[float], list[tuple[str, str]]]:
    """Return the latencies (ms) of `changes` presence changes and the cost of each setter."""
    sim = Simulator(SimulatorConfig.from_profile(profile, pget_timeout_override=30.0))
    await sim.start()
    latencies: list[float] = []
    costs: list[tuple[str, str]] = []
    try:
        async with aiohttp.ClientSession() as session:
            client = UcwaClient(
                UcwaConfig(
                    sign_in_address=sim.user.sign_in_address,
                    password=sim.user.password,
                    discovery_url=sim.discovery_url,
                ),
                session=session,
            )
            arrivals = Arrivals()
            client.subscribe(arrivals)
            await client.start()
            await client.get_presence()  # the first refresh's one read
            await client.get_note()
            quiet = UcwaTimings().refresh_interval + 0.05
            for index in range(changes):
                await asyncio.sleep(quiet)
                await sim.wait_for_parked_pget()
                wanted = "Busy" if index % 2 == 0 else "Online"
                seen = arrivals.presence
                began = time.perf_counter()
                sim.set_device_presence(wanted)
                await arrivals.wait(seen)
                latencies.append((time.perf_counter() - began) * 1000)
            costs.append(
                ("set_availability", await _cost(sim, arrivals, client.set_availability("Busy")))
            )
            costs.append(
                ("reset_availability", await _cost(sim, arrivals, client.reset_availability()))
            )
            costs.append(
                ("set_note", await _cost(sim, arrivals, client.set_note("Heads down"), True))
            )
            await client.close()
    finally:
        await sim.stop()
    return latencies, costs


async def main(changes: int) -> None:
    """Print the latency and the costs per profile."""
    timings = UcwaTimings()
    print(
        f"127.0.0.1, real UcwaTimings (refresh_burst {timings.refresh_burst}, "
        f"refresh_interval {timings.refresh_interval:g} s)"
    )
    print("another device changes presence -> PresenceUpdated at the client")
    print(f"{'profile':<16} {'samples':>7} {'median ms':>9} {'min ms':>8} {'max ms':>8}")
    rows = []
    for profile in PROFILES:
        latencies, costs = await measure(profile, changes)
        rows.append((profile, costs))
        print(
            f"{profile:<16} {len(latencies):>7} {statistics.median(latencies):>9.1f} "
            f"{min(latencies):>8.1f} {max(latencies):>8.1f}"
        )
    print(f"\n{'profile':<16} {'action':<20} requests until its event came back")
    for profile, costs in rows:
        for action, requests in costs:
            print(f"{profile:<16} {action:<20} {requests}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
