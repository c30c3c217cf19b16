"""The event channel: the P-GET on `events?ack=N`, held until events arrive or it times out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import time

from simulator.pool import Pool
import simulator.representations as rep
from simulator.state import Application, EventChannel, ParkedPGet
from simulator.wire import Call, Reply, UcwaReplyError, invalid_parameter, json_reply

EVENT_TIMEOUT_RANGE = (180.0, 1800.0)
AGGREGATION_RANGE = (5.0, 1800.0)


def bounded(call: Call, name: str, bounds: tuple[float, float], current: float) -> float:
    """Return a channel setting from the query, clamped as the pool clamps it; absent keeps it."""
    raw = call.query.get(name)
    if raw is None:
        return current
    try:
        value = float(raw)
    except ValueError:
        raise invalid_parameter(name) from None
    return min(max(value, bounds[0]), bounds[1])


class EventHandlers:
    """The P-GET handler; `notify` tells the recorder's waiters that a P-GET is parked."""

    def __init__(self, pool: Pool, notify: Callable[[], None]) -> None:
        """Share the pool; `notify` wakes `wait_for_parked_pget`."""
        self.pool = pool
        self.notify = notify

    def _reply(self, app: Application, ack: int) -> Reply:
        return json_reply(200, rep.events_body(self.pool.hrefs(app), app.channel, ack))

    def _should_resume(self, channel: EventChannel) -> bool:
        """Tell whether a P-GET after a long gap answers `resume` instead of `next` (config.resume_after)."""
        resume_after = self.pool.config.resume_after
        return (
            resume_after is not None
            and channel.parked is None
            and channel.ever_parked
            and time.monotonic() - channel.last_release > resume_after
        )

    async def _park(self, channel: EventChannel, parked: ParkedPGet) -> None:
        """Hold the P-GET until woken or its timeout, unless events already wait."""
        channel.parked = parked
        channel.ever_parked = True
        self.notify()
        try:
            if not channel.pending:
                timeout = self.pool.config.pget_timeout_override or channel.timeout
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(parked.wakeup.wait(), timeout)
        finally:
            if channel.parked is parked:
                channel.parked = None
                channel.last_release = time.monotonic()

    async def get_events(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Answer the P-GET with batch `ack`, or hold it until events or the timeout."""
        assert app is not None
        channel = app.channel
        channel.timeout = bounded(call, "timeout", EVENT_TIMEOUT_RANGE, channel.timeout)
        channel.low = bounded(call, "low", AGGREGATION_RANGE, channel.low)
        channel.medium = bounded(call, "medium", AGGREGATION_RANGE, channel.medium)
        try:
            ack = int(call.query.get("ack", ""))
            priority = int(call.query.get("priority", "0"))
        except ValueError:
            ack, priority = -1, 0
        if ack < channel.acked or ack > channel.sealed + 1:
            return json_reply(200, rep.resync_body(self.pool.hrefs(app), channel.acked))
        for number in range(channel.acked, ack):
            channel.batches.pop(number, None)
            channel.resumed.discard(number)
        channel.acked = ack
        if ack <= channel.sealed:
            return self._reply(app, ack)
        resume = self._should_resume(channel)
        previous = channel.parked
        if previous is not None:
            if priority < previous.priority:
                raise UcwaReplyError(409, "Conflict", "PGetReplaced")
            previous.wake("replaced")
        parked = ParkedPGet(ack, priority)
        await self._park(channel, parked)
        if parked.outcome == "replaced":
            raise UcwaReplyError(409, "Conflict", "PGetReplaced")
        if parked.outcome == "gone":
            raise UcwaReplyError(404, "NotFound", "ApplicationNotFound")
        if parked.outcome == "expired":
            self.pool.remove_app(app)
            raise UcwaReplyError(410, "Gone", "InactiveApplicationExpired")
        channel.sealed = ack
        channel.batches[ack] = channel.pending
        channel.pending = []
        if resume:
            channel.resumed.add(ack)
        return self._reply(app, ack)
