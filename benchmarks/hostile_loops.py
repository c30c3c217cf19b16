"""Requests per minute the UCWA client's loops spend against servers that answer uselessly forever.

Run from the repository root: `python benchmarks/hostile_loops.py [SECONDS]` (default 10). For each
behaviour of issue 9 (tests/api/hostile/loops_pool.py serves it on 127.0.0.1), it starts a client
with the REAL `UcwaTimings`, counts requests over a window of SECONDS after setup and prints the
count in the window, the issue's limit for that window and the rate per minute. A window stops
early after 5,000 requests of the counted kind (a client without a budget would otherwise send
tens of thousands), and the rate is then extrapolated from the time it took.

The `expires_*` behaviours also make ten forced missed-items reads a second, since a token that
expires at once costs a grant per request, not per P-GET. For `presence` and `note` the client
reads the resource once first: events of a resource nobody asked for cost nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.ucwa.api import UcwaClient, UcwaError, UcwaTimings
from tests.api.hostile.loops_pool import LoopPool, loop_client, running

CAP = 5_000
ROWS: tuple[tuple[str, str, str, int], ...] = (
    # behaviour, what the P-GET or token endpoint does, counted request, limit per 10 s
    ("empty", "P-GET answered at once, empty 200", "pget", 15),
    ("redirect", "P-GET answered 302", "pget", 15),
    ("not_found", "P-GET 404 ApplicationNotFound forever", "application", 4),
    ("expired", "P-GET 410 InactiveApplicationExpired forever", "application", 4),
    ("forbidden", "P-GET 403 forever: password grants", "grant", 2),
    ("forbidden", "P-GET 403 forever: rediscoveries", "root", 4),
    ("missed_items", "every P-GET a missedItems event: reads", "missed_items", 10),
    ("missed_items", "every P-GET a missedItems event: lists", "logs", 10),
    ("presence", "every P-GET a presence event: reads", "presence", 10),
    ("note", "every P-GET a note event: reads", "note", 10),
    ("expires_zero", "expires_in 0, 10 reads/s: grants", "grant", 2),
    ("expires_negative", "expires_in -5, 10 reads/s: grants", "grant", 2),
    ("expires_nan", "expires_in NaN, 10 reads/s: grants", "grant", 2),
    ("crash", "P-GET body that makes the loop raise", "pget", 15),
)


async def _reads(client: UcwaClient) -> None:
    """Ten forced missed-items reads a second (what a busy dashboard might cause)."""
    while True:
        with contextlib.suppress(UcwaError):
            await client.get_missed_items(force=True)
        await asyncio.sleep(0.1)


async def measure(behaviour: str, key: str, seconds: float) -> tuple[int, float, str]:
    """Return (requests of `key` in the window, per minute, what else the window cost)."""
    async with running(LoopPool(behaviour=behaviour)) as pool:
        client = loop_client(pool, UcwaTimings(), request_timeout=10.0)
        try:
            await client.start()
            if behaviour == "presence":
                await client.get_presence()
            elif behaviour == "note":
                await client.get_note()
            reader = (
                asyncio.create_task(_reads(client)) if behaviour.startswith("expires") else None
            )
            before = dict(pool.counts)
            began = time.perf_counter()
            spent = 0
            while time.perf_counter() - began < seconds and spent < CAP:  # a clock, not a wait
                await asyncio.sleep(0.02)
                spent = pool.count(key) - before.get(key, 0)
            elapsed = time.perf_counter() - began
            counted = pool.count(key) - before.get(key, 0)
            others = {k: v - before.get(k, 0) for k, v in pool.counts.items() if k != key}
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        finally:
            await client.close()
    rest = ", ".join(f"{k} {v}" for k, v in sorted(others.items()) if v)
    return counted, counted * 60.0 / elapsed, rest


async def main(seconds: float) -> None:
    """Print one row per behaviour."""
    print(f"window {seconds:g} s after setup, real UcwaTimings, 127.0.0.1; limit per 10 s window")
    print(f"{'behaviour':<46} {'counted':<13} {'window':>7} {'limit':>6} {'per min':>9}  also")
    for behaviour, label, key, limit in ROWS:
        counted, per_minute, rest = await measure(behaviour, key, seconds)
        scaled_limit = limit * seconds / 10.0
        flag = "" if counted <= scaled_limit else "  OVER"
        print(f"{label:<46} {key:<13} {counted:>7} {limit:>6} {per_minute:>9.0f}  {rest}{flag}")


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0))
