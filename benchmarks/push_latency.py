"""How long a missed call takes to reach the client, alone and right behind another one.

Run from the repository root: `python benchmarks/push_latency.py [PAIRS]` (default 20). Against an
in-process simulator (the reference's trace profile, real `UcwaTimings`, 127.0.0.1) it measures,
from the simulator logging a missed call to the client's `ConversationLogsAdded` naming it:

- a single missed call after a quiet spell;
- the second of two back-to-back missed calls: one logged the moment the first arrived (what
  two callers a second apart look like).

PAIRS pairs, each after a quiet spell long enough (2 x `refresh_interval`) to earn back the
re-reads the pair before spent. benchmarks/sensor_latency.py measures the same through Home
Assistant's sensors.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import statistics
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from custom_components.ucwa.api import (
    ConversationLogsAdded,
    UcwaClient,
    UcwaConfig,
    UcwaEvent,
    UcwaTimings,
)
from simulator import Simulator, SimulatorConfig


class Arrivals:
    """Waits for the `ConversationLogsAdded` that names a given log."""

    def __init__(self) -> None:
        """Start with no log seen."""
        self._seen: set[str] = set()
        self._changed = asyncio.Event()

    def __call__(self, event: UcwaEvent) -> None:
        """Note the logs an event reports (the client's subscriber callback)."""
        if isinstance(event, ConversationLogsAdded):
            self._seen.update(log.log_id for log in event.logs)
            self._changed.set()

    async def wait(self, log_id: str) -> None:
        """Return once the log was reported (at most 10 s)."""
        async with asyncio.timeout(10):
            while log_id not in self._seen:
                self._changed.clear()
                await self._changed.wait()


def _missed_call(sim: Simulator) -> str:
    return sim.add_conversation_log(direction="Incoming", status="Missed", unread=True).log_id


async def measure(pairs: int) -> tuple[list[float], list[float]]:
    """Return the latencies (ms) of the first and of the second call of each pair."""
    timings = UcwaTimings()
    quiet = 2 * timings.refresh_interval + 0.1  # what a pair spends is earned back
    sim = Simulator(SimulatorConfig.from_profile("trace", pget_timeout_override=30.0))
    await sim.start()
    first: list[float] = []
    second: list[float] = []
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
            await client.get_conversation_logs()  # the baseline of "new", as the integration
            await client.get_missed_items()
            for _ in range(pairs):
                await asyncio.sleep(quiet)  # a quiet spell, as between calls on a real desk
                await sim.wait_for_parked_pget()
                for latencies in (first, second):
                    began = time.perf_counter()
                    await arrivals.wait(_missed_call(sim))
                    latencies.append((time.perf_counter() - began) * 1000)
            await client.close()
    finally:
        await sim.stop()
    return first, second


def _row(label: str, samples: list[float]) -> str:
    return (
        f"{label:<36} {len(samples):>7} {statistics.median(samples):>9.1f} "
        f"{min(samples):>8.1f} {max(samples):>8.1f}"
    )


async def main(pairs: int) -> None:
    """Print one row per figure: samples, median, fastest and slowest."""
    timings = UcwaTimings()
    print(
        f"trace profile, 127.0.0.1, refresh_burst {timings.refresh_burst}, "
        f"refresh_interval {timings.refresh_interval:g} s"
    )
    print(f"{'missed call -> ConversationLogsAdded':<36} {'samples':>7} {'median ms':>9} "
          f"{'min ms':>8} {'max ms':>8}")  # fmt: skip
    first, second = await measure(pairs)
    print(_row("single missed call", first))
    print(_row("second of two back-to-back calls", second))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
