"""Small helpers shared by the client tests."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

from custom_components.ucwa.api import UcwaEvent
from simulator import RecordedRequest, Simulator


class Recorder:
    """Collects the client's events and lets a test await one of a given type."""

    def __init__(self) -> None:
        self.events: list[UcwaEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: UcwaEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for[T](self, kind: type[T], within: float = 5.0) -> T:
        """Return the first event of this type, waiting for it if needed."""
        async with asyncio.timeout(within):
            while True:
                for event in self.events:
                    if isinstance(event, kind):
                        return event
                self._changed.clear()
                await self._changed.wait()

    async def wait_for_nth[T](self, kind: type[T], n: int, within: float = 5.0) -> T:
        """Return the `n`-th event of this type (1-based), waiting for it if needed."""
        async with asyncio.timeout(within):
            while True:
                matching = [event for event in self.events if isinstance(event, kind)]
                if len(matching) >= n:
                    return matching[n - 1]
                self._changed.clear()
                await self._changed.wait()

    def of(self, kind: type[object]) -> list[UcwaEvent]:
        """Return the recorded events of one type."""
        return [event for event in self.events if isinstance(event, kind)]


class TaskRecorder:
    """A task factory (what Home Assistant's background tasks stand for) that keeps the tasks."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    def __call__(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self.tasks.append(task)
        return task

    def names(self) -> list[str]:
        """Return the names of the tasks started so far."""
        return [task.get_name() for task in self.tasks]

    def named(self, name: str) -> asyncio.Task[None]:
        """Return the latest task of that name."""
        return next(task for task in reversed(self.tasks) if task.get_name() == name)


def http_requests(sim: Simulator) -> list[RecordedRequest]:
    """HTTP requests the client made (a batch counts once, its parts not at all)."""
    return [r for r in sim.requests if not r.in_batch]


def count(sim: Simulator, method: str, route: str) -> int:
    """How many HTTP requests of `METHOD route` reached the simulator (batch parts excluded)."""
    return sum(1 for r in http_requests(sim) if (r.method, r.route) == (method, route))


def non_event_requests(sim: Simulator) -> list[str]:
    """Return `METHOD route` of every HTTP request except P-GETs."""
    return [f"{r.method} {r.route}" for r in http_requests(sim) if r.route != "events"]


def new_application(sim: Simulator) -> list[str]:
    """Return the requests that replace an application, up to the first communication link.

    On a pool like the reference's trace, communication's capability links (conversationLogs,
    missedItems) appear after makeMeAvailable, so the client re-reads communication once.
    """
    created = ["POST applications", "POST makeMeAvailable"]
    return [*created, "GET communication"] if sim.config.profile == "trace" else created


def add_missed_call(sim: Simulator) -> str:
    """Log an unread missed call from Dan on the simulator (it fires missedItems updated)."""
    record = sim.add_conversation_log(
        direction="Incoming",
        status="Missed",
        type="AudioLog",
        modalities=["Audio"],
        unread=True,
        recipients=[{"display_name": "Dan Park", "sip_uri": "sip:dan@contoso.com"}],
    )
    return record.log_id


class LoopbackResolver(AbstractResolver):
    """Resolve every name to 127.0.0.1."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET,
                          proto=0, flags=socket.AI_NUMERICHOST)
        ]  # fmt: skip

    async def close(self) -> None:
        return None
