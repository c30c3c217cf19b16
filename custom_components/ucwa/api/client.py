"""The asynchronous UCWA 2.0 client: the one public façade over the rooms of this package.

Each room owns one thing: `transport` the request chokepoint and error mapping, `tokens` the
tokens per host, `hosts` and `discovery` where the pool is and which hosts are trusted,
`application` the live application and the links it offers (`links`), `events` the event
channel and `dispatch` what its batches say, `logs` and `history` the conversation history and
its cache, `callbacks` the call-back and its correlation, `me` the user's own presence and
note. They share one `SessionState`. The client never builds a UCWA
URL: it follows the links the server hands out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
import contextlib
import logging
from typing import Any, Self

import aiohttp

from .application import Applications
from .callbacks import CallBack, Invitations
from .config import DEFAULT_USER_AGENT, UcwaConfig, UcwaTimings
from .dispatch import Dispatch
from .events import EventChannel, cancel
from .exceptions import UcwaError
from .history import DEFAULT_LOG_LIMIT, ConversationHistory
from .hosts import HostPolicy
from .links import COMMUNICATION
from .logs import LogCache
from .me import MyPresence
from .models import (
    ConversationLog,
    MissedItems,
    PhoneAudioCall,
    PhoneAudioInvitationEvent,
    UcwaEvent,
)
from .presence import Note, Presence
from .session import SessionState
from .session_info import RequestCounts, SessionInfo
from .transport import Transport, error_from_response

__all__ = [
    "DEFAULT_LOG_LIMIT",
    "DEFAULT_USER_AGENT",
    "TaskFactory",
    "UcwaClient",
    "UcwaConfig",
    "UcwaTimings",
    "error_from_response",
]

_LOGGER = logging.getLogger(__name__)

type EventCallback = Callable[[UcwaEvent], None]
type TaskFactory = Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]]
"""Starts a long-running task of the client: `factory(coroutine, name) -> task`."""


def _create_task(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    return asyncio.create_task(coro, name=name)


class UcwaClient:
    """An asynchronous UCWA 2.0 client for one user.

    `sign_in()` finds the pool and checks the credentials; `start()` also creates the application,
    makes the user available for phone audio and starts the event channel. Subscribers receive
    typed events in order. `close()` stops the channel and deletes the application.

    Long-running tasks (the event channel, activity reports) are started with `task_factory`, so
    whoever owns the client's lifetime (Home Assistant: `entry.async_create_background_task`)
    knows and cancels them. Delays come from `timings`.
    """

    def __init__(
        self,
        config: UcwaConfig,
        session: aiohttp.ClientSession | None = None,
        request_timeout: float = 30.0,
        *,
        timings: UcwaTimings | None = None,
        task_factory: TaskFactory | None = None,
    ) -> None:
        """Build the rooms; a given session is used and never closed by the client."""
        self.config = config
        self.timings = timings or UcwaTimings()
        self._task_factory = task_factory or _create_task
        self._state = SessionState()
        self._subscribers: list[EventCallback] = []
        hosts = HostPolicy(config)
        self._transport = Transport(config, hosts, self._state, session, request_timeout)
        self._transport.tokens.timings = self.timings
        self._cache = LogCache()
        self._apps = Applications(
            config,
            self._transport,
            hosts,
            self._state,
            lambda: self._cache.forget(logs=True),
            timings=self.timings,
        )
        self._history = ConversationHistory(
            self._transport,
            self._apps,
            cache=self._cache,
            timings=self.timings,
            trusted=lambda: self.events_flowing,
            emit=self._emit,
        )
        self._invitations = Invitations(self._emit)
        self._me = MyPresence(
            self._apps, self.timings, trusted=lambda: self.events_flowing, emit=self._emit
        )
        self._dispatch = Dispatch(
            self._emit,
            self._cache,
            self._history,
            self._invitations,
            me=self._me,
            timings=self.timings,
        )
        self._channel = EventChannel(
            config,
            self.timings,
            transport=self._transport,
            apps=self._apps,
            state=self._state,
            listener=self._dispatch,
        )
        self._callback = CallBack(
            self._transport,
            self._apps,
            history=self._history,
            channel=self._channel,
            state=self._state,
            channel_running=lambda: self._event_task is not None and not self._event_task.done(),
        )
        self._event_task: asyncio.Task[None] | None = None
        self._activity_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        """Describe the client without its password or tokens."""
        app = self._apps.current
        return (
            f"UcwaClient(sign_in_address={self.config.sign_in_address!r}, "
            f"signed_in={self._state.applications_url is not None}, "
            f"application={app.href if app else None!r})"
        )

    async def __aenter__(self) -> Self:
        """Use the client as an async context manager."""
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        """Close the client when leaving the context."""
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session: the one given, or one the client created and will close."""
        return self._transport.session

    @property
    def request_timeout(self) -> float:
        """Seconds a request may take (P-GETs get the event timeout plus a margin)."""
        return self._transport.request_timeout

    @request_timeout.setter
    def request_timeout(self, seconds: float) -> None:
        self._transport.request_timeout = seconds

    # ------------------------------------------------------------------ lifetime

    async def sign_in(self) -> None:
        """Discover the pool, get a token and read the user resource.

        Raises UcwaAuthenticationError for bad credentials, UcwaSecurityError when a redirect
        fails the security check and UcwaConnectionError when no root answers.
        """
        await self._apps.sign_in()

    async def start(self) -> None:
        """Create the application, make the user available for phone audio, start the channel.

        Calling it again after the channel's loop ended (refused credentials) starts it again.
        """
        self._state.closed = False
        await self._apps.ensure()
        if self._event_task is None or self._event_task.done():
            self._state.events_ok = True
            self._event_task = self._task_factory(self._channel.run(), "ucwa event channel")
        if self.config.report_activity and (
            self._activity_task is None or self._activity_task.done()
        ):
            self._activity_task = self._task_factory(
                self._run_activity_reports(), "ucwa reportMyActivity"
            )

    async def close(self) -> None:
        """Stop the event channel, delete the application and close a session we created."""
        self._state.closed = True
        for task in (self._event_task, self._activity_task):
            if task is not None:
                await cancel(task)
        self._event_task = self._activity_task = None
        await self._dispatch.close()
        self._invitations.cancel_waiters()
        await self._apps.delete()
        await self._transport.close()

    async def _run_activity_reports(self) -> None:
        """Report activity every few minutes so the server keeps the user available."""
        while True:
            await asyncio.sleep(self.timings.activity_interval)
            try:
                await self.report_activity()
            except UcwaError as err:
                _LOGGER.debug("reportMyActivity failed: %s", err)

    async def report_activity(self) -> None:
        """POST reportMyActivity once (MeDashboard.md), finding its link on `me` if needed."""
        await self._apps.report_activity()

    # ------------------------------------------------------------------ events

    def subscribe(self, callback: EventCallback) -> Callable[[], None]:
        """Call `callback(event)` for every event, in order; returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: UcwaEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                _LOGGER.exception("Error in a UCWA event subscriber")

    @property
    def events_flowing(self) -> bool:
        """Whether the event channel is parked and its last answer was good (caches are trusted)."""
        task = self._event_task
        return (
            task is not None
            and not task.done()
            and self._state.events_ok
            and self._apps.current is not None
        )

    def session_info(self) -> SessionInfo:
        """Describe the session for diagnostics: state, offered rels, what it cost; nothing private."""
        app, task, history = self._apps.current, self._event_task, self._history
        running = task is not None and not task.done()
        return SessionInfo(
            signed_in=self._state.applications_url is not None,
            application=app is not None,
            event_channel="connected"
            if self.events_flowing
            else ("reconnecting" if running else "stopped"),
            event_channel_failures=self._channel.failures,
            last_error=self._channel.last_error,
            links=app.links.offered() if app is not None else {},
            counts=RequestCounts(
                requests=self._transport.requests_sent,
                pgets=self._channel.pget_count,
                discoveries=self._apps.discoveries,
                token_grants=self._transport.tokens.grants_sent,
                applications_created=self._apps.created,
                missed_items_reads=history.missed_items_reads,
                log_list_reads=history.log_list_reads,
                re_reads=history.re_reads,
                presence_reads=self._me.reads("presence"),
                note_reads=self._me.reads("note"),
            ),
        )

    # ------------------------------------------------------------------ history

    async def get_missed_items(self, *, force: bool = False) -> MissedItems:
        """Return the missed-items counters; served from cache while events flow, unless `force`.

        `force` (a safety poll) also allows one re-read of communication if missedItems was
        missing: a policy may have changed without an event saying so.
        """
        if force:
            self._communication_may_have_changed()
        return await self._history.get_missed_items(force=force)

    async def get_conversation_logs(self, limit: int = DEFAULT_LOG_LIMIT) -> list[ConversationLog]:
        """Return at most `limit` conversation logs, newest first.

        The list (hrefs only) is one request; details of logs not yet cached come in batches of up
        to 100. While the event channel flows and no missedItems event arrived, the answer comes
        from the cache at no cost.
        """
        return await self._history.get_conversation_logs(limit)

    async def refresh_conversation_logs(self) -> list[ConversationLog]:
        """Re-read the log list now; report (and return) logs not seen before, newest first.

        The reference has no conversationLog event: the client calls this on missedItems
        changes, and callers may call it to pick up answered calls, which change no counter.
        The first read only sets what "new" means. A caller asking for the server's current
        state also lets the client re-read communication once if it offered no
        conversationLogs link.
        """
        self._communication_may_have_changed()
        return await self._history.refresh()

    def _communication_may_have_changed(self) -> None:
        if (app := self._apps.current) is not None:
            app.links.changed(COMMUNICATION)

    async def mark_as_read(self, log: ConversationLog) -> None:
        """POST the log's markAsRead link (the server then updates missedItems)."""
        await self._history.log_request("POST", log, "markAsRead", lambda c: c.mark_as_read_href)

    async def delete_conversation_log(self, log: ConversationLog) -> None:
        """DELETE the log from the user's mailbox."""
        current = await self._history.log_request("DELETE", log, "self", lambda c: c.href)
        self._cache.remove(current.log_id)

    # ------------------------------------------------------------------ presence and note

    async def get_presence(self) -> Presence:
        """Return the user's presence (availability and activity, as every device adds up).

        One GET of me's `presence` link (me's links re-read once if it is not known yet); while
        the event channel flows, later calls are answered from what events brought, at no
        cost. `PresenceUpdated` reports every change. UcwaLinkNotOfferedError("presence",
        "me") when the server withholds it (the application is in lurker mode).
        """
        return await self._me.get_presence()

    async def get_note(self) -> Note:
        """Return the user's note; cached and reported (`NoteUpdated`) like the presence."""
        return await self._me.get_note()

    async def set_availability(self, availability: str) -> None:
        """Choose the user's availability: one POST on presence (PreferredAvailability_ref.md).

        `availability` is one of PREFERRED_AVAILABILITY (ValueError before anything is sent
        otherwise). It stays until `reset_availability`, whatever the user's devices say.
        """
        await self._me.set_availability(availability)

    async def reset_availability(self) -> None:
        """Let the server derive the availability again: one POST with an empty body."""
        await self._me.reset_availability()

    async def set_note(self, message: str) -> None:
        """Publish the user's personal note: one POST on note ("" removes it)."""
        await self._me.set_note(message)

    # ------------------------------------------------------------------ phone audio

    async def continue_phone_audio(
        self,
        log: ConversationLog,
        phone_number: str | None = None,
        operation_id: str | None = None,
    ) -> PhoneAudioCall:
        """Call the log's counterpart back: the server first rings `phone_number` (the user's).

        One POST while the application is alive. It is repeated only when the server certainly
        did not act: once after a 401 (new token), once after 500 CallbackChannelError when the
        event channel is parked again, once after the application was found lost. A timeout or a
        dropped connection after sending raises: a phone must never ring twice.
        """
        number = phone_number or self.config.phone_number
        call = await self._callback.continue_phone_audio(log, number, operation_id)
        self._invitations.remember(call.invitation_href, call.operation_id)
        return call

    async def wait_for_invitation(
        self,
        operation_id: str,
        timeout: float = 120.0,  # noqa: ASYNC109  # the contract's name; applied with wait_for
    ) -> PhoneAudioInvitationEvent:
        """Wait for the `completed` event of the invitation started with `operation_id`.

        The event may already have arrived (even before continue_phone_audio returned): it is
        kept by operation id. Raises UcwaTimeoutError when it does not come in time.
        """
        return await self._invitations.wait_for(operation_id, timeout)
