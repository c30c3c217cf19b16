"""The request recorder: every UCWA request as the server saw it, counted per route, and waits on them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from simulator.state import RecordedRequest
from simulator.wire import Call

T = TypeVar("T")


class Recorder:
    """Tests assert on traffic rather than on timing, so every change wakes the waiters."""

    def __init__(self) -> None:
        """Start with nothing recorded."""
        self.requests: list[RecordedRequest] = []
        self.route_counts: Counter[str] = Counter()
        self._changed = asyncio.Event()

    def record(self, call: Call, route: str) -> RecordedRequest:
        """Record a request before it is handled, so a dropped one is still seen (status None)."""
        record = RecordedRequest(
            method=call.method,
            path=call.path,
            query=dict(call.query),
            headers=dict(call.headers),
            body=call.body.decode("utf-8", errors="replace"),
            route=route,
            in_batch=call.in_batch,
        )
        self.requests.append(record)
        self.route_counts[f"{call.method} {route}"] += 1
        self.notify()
        return record

    def finish(self, record: RecordedRequest, status: int) -> None:
        """Note the answer's status once the handler is done."""
        record.status = status
        self.notify()

    def notify(self) -> None:
        """Wake every waiter; each one re-checks its own condition."""
        self._changed.set()
        self._changed = asyncio.Event()

    def reset(self) -> None:
        """Forget recorded requests and route counts."""
        self.requests.clear()
        self.route_counts.clear()

    async def wait_for_request(
        self, method: str, route: str, count: int, seconds: float
    ) -> RecordedRequest:
        """Wait until `count` requests of `METHOD route` were received; return the latest."""
        key = f"{method.upper()} {route}"
        await self.wait_until(lambda: self.route_counts[key] >= count or None, seconds)
        return [r for r in self.requests if (r.method, r.route) == (method.upper(), route)][-1]

    async def wait_until(self, found: Callable[[], T | None], seconds: float) -> T:
        """Wait until `found()` returns something other than None, re-checking on each change."""
        async with asyncio.timeout(seconds):
            while (result := found()) is None:
                await self._changed.wait()
        return result
