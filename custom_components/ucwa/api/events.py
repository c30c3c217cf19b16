"""The event channel: one P-GET parked at a time, batches handed on in order, the application kept alive."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
import contextlib
import logging
import math
from typing import Any, Protocol

from .application import Application, Applications
from .config import UcwaConfig, UcwaTimings
from .exceptions import (
    UcwaApiError,
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaError,
    UcwaSecurityError,
)
from .links import as_list
from .models import ApplicationLost, ApplicationRestored, AuthenticationFailed, UcwaEvent, link_href
from .session import SessionState
from .session_info import SessionError
from .transport import Response, Transport, is_lost

_LOGGER = logging.getLogger(__package__)

PGET_BURST = 5
"""P-GETs that may go out back to back (events come in bursts) before the rate limit applies."""
REDISCOVER_AFTER_FAILURES = 5
LOST_AFTER_FAILURES = 3
"""Consecutive failed P-GETs after which the channel reports itself down (ApplicationLost)."""
"""Consecutive connection failures of the channel that count as "many retries" (RootURL.md)."""


class ChannelListener(Protocol):
    """What the channel tells the rest of the client."""

    def emit(self, event: UcwaEvent) -> None:
        """Hand a typed event to the subscribers."""

    def reset(self) -> None:
        """Forget caches events kept fresh: the server reset the channel (`resync`/`resume`)."""

    async def replaced(self) -> None:
        """Re-read what the lost events would have said: the application was replaced."""

    async def batch(self, batch: Mapping[str, Any], base: str, app: Application) -> None:
        """Handle one batch of events of `app`, in order."""


async def cancel(task: asyncio.Task[Any]) -> None:
    """Cancel a helper task and wait for it, without swallowing our own cancellation."""
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # retrieved: the outcome of an abandoned P-GET does not matter


class EventChannel:
    """Runs the channel's loop (`run`, started by whoever owns the client's lifetime).

    The next P-GET is sent before a batch is handled (EventChannelDetails.md). A lost application
    is recreated here too; ApplicationLost/ApplicationRestored are only emitted when that takes
    more than one attempt. No answer of the server makes the loop ask faster than the backoff:
    an answer without events waits `pget_empty_interval`, a redirect or an unreadable batch
    counts as a failure, and recreation backs off in `Applications`.

    The loop never ends silently: any failure inside it, whatever its type, is logged (with its
    traceback the first time in a row), reported as `ApplicationLost` (cause None when it is
    not a library error) and followed by a fresh P-GET from the application's events link after
    a backoff; `ApplicationRestored` follows the next good answer. Only refused credentials
    (`AuthenticationFailed`) and cancellation end it.
    """

    def __init__(
        self,
        config: UcwaConfig,
        timings: UcwaTimings,
        *,
        transport: Transport,
        apps: Applications,
        state: SessionState,
        listener: ChannelListener,
    ) -> None:
        """Keep what the loop needs; nothing runs until `run()` is awaited."""
        self._config = config
        self._timings = timings
        self._transport = transport
        self._apps = apps
        self._state = state
        self._listener = listener
        self._kick = asyncio.Event()
        self._dispatched = asyncio.Condition()
        self.pget_count = 0
        self._parked_generation = -1
        self._sent: deque[float] = deque(maxlen=PGET_BURST)
        self._empty = False
        # The state of one run of the loop: where to P-GET next, failures in a row.
        self._failures = self._crashes = 0
        self._lost_reported = False
        self._generation = state.generation
        self._url: str | None = None
        self._app: Application | None = None
        self._pending: asyncio.Task[Response] | None = None
        self.last_error: SessionError | None = None
        """What last broke the channel or its recovery, redacted (the session's diagnostics)."""

    @property
    def failures(self) -> int:
        """Failed P-GETs or recoveries in a row (0 once the channel answers again)."""
        return max(self._failures, self._crashes)

    def _note(self, err: BaseException) -> None:
        self.last_error = SessionError.of(err, self._transport.scrub)

    def kick(self) -> None:
        """Cut a backoff short or re-park the P-GET now (someone needs the channel back)."""
        self._kick.set()

    async def wait_for_pget(
        self, *, after: int | None = None, generation: int | None = None
    ) -> bool:
        """Wait until a P-GET newer than `after`, or one of `generation`'s application, went out.

        Then give the server `parked_grace` to park it. False when none came in time.
        """

        def sent() -> bool:
            if after is not None:
                return self.pget_count > after
            return self._parked_generation == generation

        async with self._dispatched:
            try:
                await asyncio.wait_for(
                    self._dispatched.wait_for(sent), self._transport.request_timeout
                )
            except TimeoutError:
                return False
        await asyncio.sleep(self._timings.parked_grace)
        return True

    def parked_for(self, generation: int) -> bool:
        """Whether the last P-GET belongs to the application of `generation`."""
        return self._parked_generation == generation

    async def _backoff(self, failures: int) -> None:
        """Wait before reconnecting, or less when someone kicked the channel."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._kick.wait(), self._timings.backoff(failures))
        self._kick.clear()

    async def _pget(self, url: str, generation: int) -> Response:
        """Park one P-GET, asking the server to hold it for `event_timeout` seconds.

        A server that answers at once, every time, must not make the channel ask as fast as it
        answers: after a burst, P-GETs go out no faster than one per `pget_min_interval`.
        """
        await self._pace()
        seconds = max(1, math.ceil(self._config.event_timeout))
        target = self._transport.allowed("GET", url).update_query(timeout=str(seconds))
        async with self._dispatched:
            self.pget_count += 1
            self._parked_generation = generation
            self._dispatched.notify_all()
        read_timeout = seconds + self._timings.pget_margin
        return await self._transport.request("GET", target, read_timeout=read_timeout)

    async def _pace(self) -> None:
        """Wait until sending one more P-GET keeps within the burst and the rate.

        After an answer without events the burst does not apply: the next P-GET waits until
        `pget_empty_interval` after the last one was sent (a server holding the P-GET, as it
        should, answers empty only after its timeout, so this costs it nothing).
        """
        loop = asyncio.get_running_loop()
        interval = self._timings.pget_min_interval
        wait_until = loop.time()
        if len(self._sent) == PGET_BURST:
            wait_until = self._sent[0] + PGET_BURST * interval
        if self._empty and self._sent:
            wait_until = max(wait_until, self._sent[-1] + self._timings.pget_empty_interval)
        await asyncio.sleep(max(0.0, wait_until - loop.time()))
        self._sent.append(loop.time())

    async def _await_pget(self, pending: asyncio.Task[Response]) -> Response | None:
        """Wait for the parked P-GET; None when someone kicked the channel to re-park it."""
        kick = asyncio.create_task(self._kick.wait())
        try:
            await asyncio.wait({pending, kick}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel(kick)
        if pending.done():
            return pending.result()
        self._kick.clear()
        await cancel(pending)
        return None

    async def run(self) -> None:
        """Run the channel until cancelled or the credentials are refused."""
        self._failures = self._crashes = 0
        self._lost_reported = self._empty = False
        self._generation = self._state.generation
        self._url = self._app = self._pending = None
        self._state.events_ok = True  # events queue from the application's creation
        try:
            while True:
                try:
                    await self._loop()
                except Exception as err:  # noqa: BLE001  # whatever it is, push must go on
                    await self._crashed(err)
                else:
                    return
        finally:
            self._state.events_ok = False
            await self._drop_pending()

    async def _crashed(self, err: Exception) -> None:
        """Report a failure the loop did not expect, then start again from the events link.

        The `next` link that led here may be the culprit (`javascript:x`, a port of 99999), so
        the channel restarts from the application's events link; the server answers that with
        `resync` if it must. Logged with its traceback once per streak, reported once.
        """
        self._crashes += 1
        self._state.events_ok = False
        self._note(err)
        if self._crashes == 1:
            _LOGGER.error(
                "The UCWA event channel failed (%s); restarting it",
                type(err).__name__,
                exc_info=err,
            )
        else:
            _LOGGER.debug("The UCWA event channel failed again: %s", type(err).__name__)
        if not self._lost_reported:
            self._lost_reported = True
            cause = err if isinstance(err, UcwaError) else None
            self._listener.emit(
                ApplicationLost(error=f"Event channel failed: {type(err).__name__}", cause=cause)
            )
        await self._drop_pending()
        self._url = None
        await self._backoff(self._crashes - 1)

    async def _drop_pending(self) -> None:
        """Cancel the parked P-GET, if any (a new application, or the loop ends)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            await cancel(pending)

    async def _loop(self) -> None:
        """Park, wait, hand the batch on; recover what fails, with backoff."""
        while True:
            if (self._apps.current is None or self._state.discovery_stale) and not (
                await self._recover()
            ):
                return
            app = self._apps.current
            if app is None:
                continue
            replaced = self._url is not None and self._generation != self._state.generation
            if self._url is None or replaced:
                self._generation, self._url, self._app, self._failures = (
                    self._state.generation, app.events_url, app, 0,
                )  # fmt: skip
                await self._drop_pending()
            if self._pending is None:
                self._pending = self._park(self._url)
            if replaced:
                # Events of the old application are gone with it: re-read what they would
                # have reported, once the new channel is parked.
                await self._listener.replaced()
            try:
                response = await self._await_pget(self._pending)
            except UcwaAuthenticationError as err:
                # A retry would be one more failed sign-in towards the account's lockout.
                self._pending = None
                self._note(err)
                self._listener.emit(AuthenticationFailed(error=str(err)))
                return
            except UcwaError as err:
                self._pending = None
                await self._failed(err)
                continue
            self._pending = None
            if response is not None:
                await self._answered(response)

    def _park(self, url: str) -> asyncio.Task[Response]:
        return asyncio.create_task(self._pget(url, self._generation))

    async def _recover(self) -> bool:
        """Replace a lost application; False when the credentials are refused (stop)."""
        try:
            await self._apps.recover(self._generation)
        except UcwaAuthenticationError as err:
            self._note(err)
            self._listener.emit(AuthenticationFailed(error=str(err)))
            return False
        except UcwaError as err:
            self._note(err)
            self._state.events_ok = False
            if not self._lost_reported:
                self._lost_reported = True
                self._listener.emit(ApplicationLost(error=str(err), cause=err))
            await self._backoff(self._failures)
            self._failures += 1
            return True
        self._state.events_ok = True
        if self._lost_reported:
            self._lost_reported = False
            self._listener.emit(ApplicationRestored())
        return True

    async def _failed(self, err: UcwaError) -> None:
        """Decide, after a failed P-GET, between a new application, a backoff and re-discovery.

        A lost application, or a 403/502 that made the pool suspect, is replaced at once the
        first time; `Applications` backs off when the new ones do not work either. A refused
        link (UcwaSecurityError) is handled like a crash.
        """
        if isinstance(err, UcwaSecurityError):
            # A link the server handed the loop cannot be followed: asking it again would fail
            # the same way for ever, silently. Start again from the events link, and say so.
            await self._crashed(err)
            return
        self._note(err)
        self._state.events_ok = False
        self._failures += 1
        backoff = self._backoff
        if is_lost(err):
            self._apps.mark_lost(self._generation)
        elif isinstance(err, UcwaApiError) and err.status == 409:
            _LOGGER.warning("Event channel replaced (%s); is another client running?", err)
            await backoff(self._failures)
        elif isinstance(err, UcwaApiError) and self._state.discovery_stale:
            self._apps.mark_lost(self._generation)
        else:
            if isinstance(err, UcwaConnectionError) and self._failures >= REDISCOVER_AFTER_FAILURES:
                self._state.discovery_stale = True
            _LOGGER.debug("Event channel error (%s), reconnecting", err)
            self._report_if_persisting(err)
            await backoff(self._failures)

    def _report_if_persisting(self, err: UcwaError) -> None:
        """Say once that the channel is down when P-GETs keep failing (a redirect, 5xx, no answer).

        One failed P-GET is routine (a restarted front end); LOST_AFTER_FAILURES in a row mean push
        updates have stopped, which the integration shows (entities unavailable, then a repair
        issue). `ApplicationRestored` follows the next good answer.
        """
        if self._failures >= LOST_AFTER_FAILURES and not self._lost_reported:
            self._lost_reported = True
            _LOGGER.warning(
                "The UCWA event channel keeps failing (%s); retrying with back-off", err
            )
            self._listener.emit(ApplicationLost(error=f"Event channel failed: {err}", cause=err))

    def _good(self, *, empty: bool) -> None:
        """Note a good answer: failures start afresh, caches are trusted, a loss is over.

        `empty` (no event, no resync/resume) makes the next P-GET wait `pget_empty_interval`.
        """
        self._failures = self._crashes = 0
        self._empty = empty
        self._apps.proven()
        self._state.events_ok = True
        if self._lost_reported:
            self._lost_reported = False
            self._listener.emit(ApplicationRestored())

    async def _answered(self, response: Response) -> None:
        """Park the next P-GET, then hand the batch that answered on.

        Only a 200 with a readable batch is an answer: a redirect (not followed: the security
        check decides where requests go) or an unreadable body counts as a failure and backs off.
        """
        if not 200 <= response.status < 300:
            await self._failed(
                UcwaApiError(response.status, None, None, f"HTTP {response.status} on a P-GET")
            )
            return
        try:
            batch = response.json()
        except UcwaError as err:
            _LOGGER.debug("Unreadable event batch: %s", err)
            self._note(err)
            self._failures += 1
            await self._backoff(self._failures)
            return
        base = str(response.url)
        resync = link_href(batch, "resync", base)
        resume = None if resync else link_href(batch, "resume", base)
        next_url = None if resync or resume else link_href(batch, "next", base)
        if following := resync or resume or next_url:
            # A link that will be refused makes this a bad answer, not a good one followed by
            # a failure: the crash path (once reported, backing off) handles it.
            self._transport.allowed("GET", following)
        # Only now is it a good answer: reading its links may have raised (a crash, retried).
        self._good(empty=not (resync or resume or _has_events(batch)))
        if resync or resume:
            self._listener.reset()
        self._url = resync or resume or next_url or self._url
        if resync:
            return
        assert self._url is not None
        assert self._app is not None
        self._pending = self._park(self._url)
        try:
            await self._listener.batch(batch, base, self._app)
        except Exception:
            # One malformed batch must not end push updates for good.
            _LOGGER.exception("Error while handling a UCWA event batch")


def _has_events(batch: Mapping[str, Any]) -> bool:
    """Whether a batch carries at least one event (an empty one is what a timeout answers)."""
    return any(
        isinstance(sender, Mapping) and as_list(sender.get("events"))
        for sender in as_list(batch.get("sender"))
    )
