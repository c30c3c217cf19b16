"""The call-back: continuePhoneAudio, the phoneAudioInvitation it starts, and that call's conversation, participants and phoneAudio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
import time
from typing import Any
import uuid

from simulator.application import normalise_phone
import simulator.callback_bodies as calls
from simulator.config import CallbackOutcome
from simulator.logs import deliver_log, find_log
from simulator.pool import Pool
from simulator.state import Application, PhoneAudioInvitation
from simulator.wire import Call, Reply, UcwaReplyError, empty_reply, invalid_parameter, json_reply

Spawn = Callable[[Coroutine[Any, Any, None]], None]


def operation_id(values: dict[str, Any]) -> str:
    """Return the client's operationId, or a new one; the simulator's one rule for it (≤ 50 chars)."""
    value = values.get("operationid")
    if value is None:
        value = uuid.uuid4().hex
    if not isinstance(value, str) or not value or len(value) > 50:
        raise invalid_parameter("operationId")
    return value


class CallbackHandlers:
    """Handlers of the call-back and the task that plays it out; `spawn` runs that task."""

    def __init__(self, pool: Pool, spawn: Spawn) -> None:
        """Take `spawn` from the server, which owns background tasks and stops them."""
        self.pool = pool
        self.spawn = spawn

    def _channel_reachable(self, app: Application) -> bool:
        """Tell whether the call-back's progress could reach the client as events; if not, refuse."""
        channel = app.channel
        if channel.parked is not None:
            return True
        recent = time.monotonic() - channel.last_release <= self.pool.config.callback_channel_grace
        return channel.ever_parked and recent

    def _phone(self, app: Application, values: dict[str, Any]) -> str:
        """Return the number to ring: the input's, else the one makeMeAvailable was given."""
        raw_phone = values.get("phonenumber")
        if raw_phone not in (None, ""):
            return normalise_phone("phoneNumber", raw_phone, self.pool.config.country_code)
        if app.callback_number is None:
            raise invalid_parameter("phoneNumber", "Missing")
        return app.callback_number

    async def post_continue_phone_audio(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Ring the user's own phone, then the log's counterpart; the progress comes as events."""
        assert app is not None
        pool = self.pool
        log = find_log(pool, params)
        values = call.input()
        operation = operation_id(values)
        phone = self._phone(app, values)
        if not self._channel_reachable(app):
            raise UcwaReplyError(500, "ServiceFailure", "CallbackChannelError")
        if not log.recipients:
            raise UcwaReplyError(409, "Conflict")
        target = log.recipients[0]
        invitation = PhoneAudioInvitation(
            invitation_id=pool.next_id(),
            conversation_id=pool.next_id(),
            app_id=app.app_id,
            log_id=log.log_id,
            operation_id=operation,
            phone_number=phone,
            to=target.sip_uri,
            to_name=target.display_name,
            subject=log.subject,
            thread_id=log.thread_id,
            importance=log.importance,
            created=datetime.now(UTC),
        )
        pool.callbacks.append(invitation)
        h = pool.hrefs(app)
        added = calls.conversation_added_event(h, invitation, pool.user)
        pool.emit(app, "communication", h.under("communication"), added)
        self._emit_invitation(app, invitation, "started")
        self.spawn(self._run(app, invitation, pool.config.callback_outcome))
        return empty_reply(201, [("Location", h.invitation(invitation.invitation_id))])

    def _emit_invitation(self, app: Application, inv: PhoneAudioInvitation, kind: str) -> None:
        h = self.pool.hrefs(app)
        event = calls.invitation_event(h, inv, self.pool.user, kind)
        self.pool.emit(app, "communication", h.under("communication"), event)

    def _emit_phone_audio(self, app: Application, inv: PhoneAudioInvitation) -> None:
        h = self.pool.hrefs(app)
        conversation = h.conversation(inv.conversation_id)
        self.pool.emit(app, "conversation", conversation, calls.phone_audio_event(h, inv))

    def _end_call(self, app: Application, inv: PhoneAudioInvitation) -> None:
        """Hang up: phoneAudio Disconnected, the conversation deleted, and maybe an AudioLog."""
        if inv.phone_audio_state != "Disconnected":
            inv.phone_audio_state = "Disconnected"
            self._emit_phone_audio(app, inv)
        inv.conversation_ended = True
        h = self.pool.hrefs(app)
        deleted = calls.conversation_deleted_event(h, inv)
        self.pool.emit(app, "communication", h.under("communication"), deleted)
        if self.pool.config.log_completed_calls:
            deliver_log(
                self.pool,
                {
                    "direction": "Outgoing",
                    "status": "Archived" if inv.status == "Success" else "Missed",
                    "type": "AudioLog",
                    "modalities": ["Audio"],
                    "subject": inv.subject,
                    "thread_id": inv.thread_id,
                    "unread": False,
                    "recipients": [{"display_name": inv.to_name, "sip_uri": inv.to}],
                },
            )

    async def _step(self, app: Application, inv: PhoneAudioInvitation, delay: float) -> bool:
        """Wait one step; False (and the conversation over) when the application is gone."""
        await asyncio.sleep(delay)
        if app.app_id not in self.pool.applications:
            inv.conversation_ended = True
            return False
        return True

    async def _run(
        self, app: Application, inv: PhoneAudioInvitation, outcome: CallbackOutcome
    ) -> None:
        """Play started → updated (Alerting) → completed, with phoneAudio and conversation."""
        if not await self._step(app, inv, outcome.step_delay):
            return
        inv.state = "Alerting"
        self._emit_phone_audio(app, inv)
        self._emit_invitation(app, inv, "updated")
        if not await self._step(app, inv, outcome.step_delay):
            return
        if outcome.status == "Success":
            inv.state, inv.status, inv.phone_audio_state = "Connected", "Success", "Connected"
            self._emit_phone_audio(app, inv)
            self._emit_invitation(app, inv, "completed")
            if self.pool.config.call_duration is None:
                return
            await asyncio.sleep(self.pool.config.call_duration)
            if app.app_id in self.pool.applications:
                self._end_call(app, inv)
            inv.conversation_ended = True
            return
        inv.state = "Declined" if outcome.subcode == "Declined" else "Failed"
        inv.status = "Failure"
        inv.reason = {"code": outcome.code, "message": outcome.message}
        if outcome.subcode is not None:
            inv.reason = {
                "code": outcome.code,
                "subcode": outcome.subcode,
                "message": outcome.message,
            }
        self._emit_invitation(app, inv, "completed")
        self._end_call(app, inv)

    def _find_invitation(self, app: Application, params: dict[str, str]) -> PhoneAudioInvitation:
        for inv in self.pool.callbacks:
            if inv.app_id == app.app_id and params["invitation"] == inv.invitation_id:
                return inv
        raise UcwaReplyError(404, "NotFound")

    def _find_conversation(self, app: Application, params: dict[str, str]) -> PhoneAudioInvitation:
        for inv in self.pool.callbacks:
            if inv.app_id == app.app_id and params["conversation"] == inv.conversation_id:
                if inv.conversation_ended:
                    break
                return inv
        raise UcwaReplyError(404, "NotFound")

    async def get_invitation(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the call-back's phoneAudioInvitation, in its current state."""
        assert app is not None
        inv = self._find_invitation(app, params)
        return json_reply(200, calls.invitation_body(self.pool.hrefs(app), inv, self.pool.user))

    async def get_conversations(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Return the application's conversations that are still going on."""
        assert app is not None
        live = [
            inv
            for inv in self.pool.callbacks
            if inv.app_id == app.app_id and not inv.conversation_ended
        ]
        return json_reply(200, calls.conversations_body(self.pool.hrefs(app), live))

    async def get_conversation(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the call-back's conversation while it lasts."""
        assert app is not None
        inv = self._find_conversation(app, params)
        body = calls.conversation_body(self.pool.hrefs(app), inv, self.pool.user)
        return json_reply(200, body)

    async def get_phone_audio(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the phoneAudio modality of the call-back's conversation."""
        assert app is not None
        inv = self._find_conversation(app, params)
        return json_reply(200, calls.phone_audio_body(self.pool.hrefs(app), inv))

    async def get_participant(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return a call-back's participants: the user and the log's counterpart."""
        assert app is not None
        inv = self._find_conversation(app, params)
        h = self.pool.hrefs(app)
        href = h.conversation(inv.conversation_id)
        user = self.pool.user
        people = [
            calls.participant_body(h, href, user.name, user.sip_uri, local=True),
            calls.participant_body(h, href, inv.to_name, inv.to, local=False),
        ]
        if "address" not in params:
            return json_reply(200, calls.participants_body(h, href, people))
        for person in people:
            if person["uri"].removeprefix("sip:").split(";", 1)[0] == params["address"]:
                return json_reply(200, person)
        raise UcwaReplyError(404, "NotFound")
