"""How re-reads that events ask for are paced: a token bucket, and the coalescing of what waits.

A server's events are the one thing that can make the client send requests at the server's pace:
a `missedItems` or `presence` event with every answer of the event channel would otherwise cost
a GET per round trip. Each kind of re-read gets its own `PacedRefresh`, so a flood of one kind
never delays another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .config import UcwaTimings
from .events import cancel


class RefreshBudget:
    """A token bucket for re-reads: `refresh_burst` at once, one earned back per `refresh_interval`.

    Changes come in twos and threes (a caller tries again, a colleague calls, presence flips
    from Busy to Online as a call ends), so each of a few events close together gets its own
    re-read at once; a server that never stops sending them is held to one per interval.
    """

    def __init__(self, timings: UcwaTimings) -> None:
        """Start with a full bucket."""
        self._timings = timings
        self._tokens = float(max(1, timings.refresh_burst))
        self._stamp: float | None = None

    def _refill(self) -> None:
        now = asyncio.get_running_loop().time()
        burst = float(max(1, self._timings.refresh_burst))
        interval = self._timings.refresh_interval
        if self._stamp is not None:
            earned = (now - self._stamp) / interval if interval > 0 else burst
            self._tokens = min(burst, self._tokens + earned)
        self._stamp = now

    def delay(self) -> float:
        """Seconds until the next re-read may start (0: now)."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) * self._timings.refresh_interval)

    def take(self) -> None:
        """Spend one re-read (it may start now)."""
        self._refill()
        self._tokens -= 1.0


class PacedRefresh[T]:
    """Runs `refresh(payload)` for each change an event reports, within a `RefreshBudget`.

    While the budget lasts, each change's re-read runs at once, awaited by the caller (the
    event dispatcher, so it completes before the next batch is handled: one round trip per
    back-to-back change). Once it is spent, changes share one later re-read when the next one
    is earned, with the latest payload, so no change goes unreported and a server that reports
    one with every answer gets one re-read per `refresh_interval`.
    """

    def __init__(
        self, timings: UcwaTimings, refresh: Callable[[T], Awaitable[None]], name: str
    ) -> None:
        """`refresh` must not raise: a failed re-read is logged by it, not by the pacer."""
        self._budget = RefreshBudget(timings)
        self._refresh = refresh
        self._name = name
        self._due: tuple[T] | None = None  # the latest payload waiting for its turn
        self._later: asyncio.Task[None] | None = None

    async def changed(self, payload: T) -> None:
        """Re-read now if the budget allows, else once the next re-read is earned."""
        if self._later is not None and not self._later.done():
            self._due = (payload,)  # the waiting re-read will read the latest state
            return
        if self._budget.delay() == 0:
            await self._run(payload)
            return
        self._due = (payload,)
        self._later = asyncio.create_task(self._run_later(), name=self._name)

    async def _run(self, payload: T) -> None:
        self._budget.take()
        await self._refresh(payload)

    async def _run_later(self) -> None:
        """Run the re-reads that came while the budget was spent, one per turn, until none is due."""
        while self._due is not None:
            await asyncio.sleep(self._budget.delay())
            (payload,), self._due = self._due, None
            await self._run(payload)

    async def close(self) -> None:
        """Cancel a re-read waiting for its turn (the client is closing)."""
        if self._later is not None:
            await cancel(self._later)
            self._later = None
