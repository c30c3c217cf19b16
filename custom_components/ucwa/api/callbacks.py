"""Call-backs: continuePhoneAudio's one POST, and matching the invitation's events to its operation id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
import uuid

from yarl import URL

from .application import Application, Applications
from .events import EventChannel
from .exceptions import UcwaApiError, UcwaMalformedResponseError, UcwaTimeoutError
from .history import ConversationHistory
from .models import (
    ConversationLog,
    PhoneAudioCall,
    PhoneAudioInvitationEvent,
    UcwaEvent,
    join_href,
    normalize_phone_number,
    validate_operation_id,
)
from .session import SessionState
from .transport import Response, Transport

KEPT_OPERATIONS = 100
"""Invitations remembered for correlation and results; older ones are forgotten."""


class Invitations:
    """Which operation id each invitation belongs to, and the results callers wait for (no HTTP)."""

    def __init__(self, emit: Callable[[UcwaEvent], None]) -> None:
        """Start with nothing to correlate."""
        self._emit = emit
        self._operations: dict[str, str] = {}
        self._results: dict[str, PhoneAudioInvitationEvent] = {}
        self._waiters: dict[str, asyncio.Future[PhoneAudioInvitationEvent]] = {}

    @property
    def waiting(self) -> int:
        """How many operations someone is waiting for."""
        return len(self._waiters)

    def remember(self, href: str, operation_id: str) -> None:
        """Map an invitation to its operation id, keeping only the latest hundred."""
        self._operations[href] = operation_id
        while len(self._operations) > KEPT_OPERATIONS:
            self._operations.pop(next(iter(self._operations)))

    def on_event(self, event: Mapping[str, Any], base: str) -> None:
        """Type a phoneAudioInvitation event, fill in its operation id, emit it, keep its result."""
        parsed = PhoneAudioInvitationEvent.from_json(event, base)
        if parsed is None:
            return
        if parsed.operation_id:
            self.remember(parsed.href, parsed.operation_id)
        elif operation_id := self._operations.get(parsed.href):
            parsed = replace(parsed, operation_id=operation_id)
        self._emit(parsed)
        if parsed.type != "completed" or not parsed.operation_id:
            return
        self._results[parsed.operation_id] = parsed
        while len(self._results) > KEPT_OPERATIONS:
            self._results.pop(next(iter(self._results)))
        waiter = self._waiters.pop(parsed.operation_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(parsed)

    async def wait_for(self, operation_id: str, timeout: float) -> PhoneAudioInvitationEvent:  # noqa: ASYNC109
        """Wait for the `completed` event of an operation (it may already have arrived)."""
        if (result := self._results.get(operation_id)) is not None:
            return result
        waiter = self._waiters.get(operation_id)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters[operation_id] = waiter
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError as err:
            if self._waiters.get(operation_id) is waiter:
                del self._waiters[operation_id]
            raise UcwaTimeoutError(
                f"No result for phone audio operation {operation_id} within {timeout} s"
            ) from err

    def cancel_waiters(self) -> None:
        """Cancel every wait (the client is closing)."""
        for waiter in self._waiters.values():
            waiter.cancel()
        self._waiters.clear()


class CallBack:
    """Sends continuePhoneAudio: one POST, repeated only when the server certainly did not act."""

    def __init__(
        self,
        transport: Transport,
        apps: Applications,
        *,
        history: ConversationHistory,
        channel: EventChannel,
        state: SessionState,
        channel_running: Callable[[], bool],
    ) -> None:
        """Keep the rooms a call-back passes through."""
        self._transport = transport
        self._apps = apps
        self._history = history
        self._channel = channel
        self._state = state
        self._channel_running = channel_running

    async def continue_phone_audio(
        self, log: ConversationLog, phone_number: str | None, operation_id: str | None
    ) -> PhoneAudioCall:
        """POST the log's continuePhoneAudio (see UcwaClient.continue_phone_audio)."""
        tel = normalize_phone_number(phone_number) if phone_number else None
        op_id = validate_operation_id(operation_id) if operation_id else uuid.uuid4().hex
        body: dict[str, Any] = {"operationId": op_id}
        if tel:
            body["phoneNumber"] = tel
        retried_channel = False

        async def post(app: Application) -> tuple[Response, ConversationLog]:
            nonlocal retried_channel
            await self._parked(app)
            current = await self._history.current_log(log)
            url = await self._history.log_link(
                current, "continuePhoneAudio", lambda log: log.continue_phone_audio_href
            )
            pget_count = self._channel.pget_count
            try:
                return await self._transport.request("POST", url, json_body=body), current
            except UcwaApiError as err:
                channel_error = (err.status, err.subcode) == (500, "CallbackChannelError")
                if not channel_error or retried_channel or not self._channel_running():
                    raise
                retried_channel = True
                # The server needs a parked P-GET to send the invitation's events to.
                self._channel.kick()
                if not await self._channel.wait_for_pget(after=pget_count):
                    raise
            return await self._transport.request("POST", url, json_body=body), current

        response, current = await self._apps.with_application(post)
        location = response.headers.get("Location")
        if not location:
            raise UcwaMalformedResponseError("continuePhoneAudio answered without a Location")
        app = self._apps.current
        pool = str(URL(app.href).origin()) if app else str(response.url.origin())
        href = join_href(pool + "/", location)
        return PhoneAudioCall(
            invitation_href=href,
            operation_id=op_id,
            phone_number=tel,
            conversation_log_id=current.log_id,
        )

    async def _parked(self, app: Application) -> None:
        """Let the channel park on a new application first.

        Otherwise the server answers 500 CallbackChannelError: it needs somewhere to send the
        invitation's events. A channel still parked on the old application is kicked to move.
        """
        del app  # the live one; its generation is the session's
        generation = self._state.generation
        if self._channel_running() and not self._channel.parked_for(generation):
            if self._channel.pget_count:
                self._channel.kick()
            await self._channel.wait_for_pget(generation=generation)
