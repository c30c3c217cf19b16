"""Conversation logs: the collection, one log, its recipients and transcript, markAsRead and delivering new logs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simulator.communication import broadcast_missed_items
from simulator.pool import Pool
import simulator.representations as rep
from simulator.seed import parse_log
from simulator.state import Application, ConversationLogRecord
from simulator.wire import Call, Reply, UcwaReplyError, empty_reply, invalid_parameter, json_reply


def find_log(pool: Pool, params: dict[str, str]) -> ConversationLogRecord:
    """Return the log the path names; log ids are the mailbox's, so any application sees them."""
    for log in pool.logs:
        if log.log_id == params["log"]:
            return log
    raise UcwaReplyError(404, "NotFound")


def deliver_log(pool: Pool, raw: dict[str, Any]) -> ConversationLogRecord:
    """Deliver a log to the mailbox (seed format) and fire `missedItems updated`."""
    record = parse_log(raw, datetime.now(UTC))
    if any(existing.log_id == record.log_id for existing in pool.logs):
        raise ValueError(f"a log with id {record.log_id!r} exists")
    pool.logs.append(record)
    broadcast_missed_items(pool)
    return record


class LogHandlers:
    """Handlers of the conversation-log resources."""

    def __init__(self, pool: Pool) -> None:
        """Share the pool with the other families."""
        self.pool = pool

    async def get_conversation_logs(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Hrefs of the newest logs first; `limit` keeps the N most recent.

        The logs live in Exchange: a pool whose Exchange integration is broken answers 500
        ServiceFailure (conversationLogs_ref.md; ExchangeTimeout from ErrorSubcode_ref.md), and
        an account without conversation history has no such resource.
        """
        assert app is not None
        history = self.pool.config.conversation_history
        if history == "absent":
            raise UcwaReplyError(404, "NotFound")
        if history == "invalid_exchange_version":
            raise UcwaReplyError(500, "ServiceFailure", "InvalidExchangeServerVersion")
        if history == "exchange_timeout":
            raise UcwaReplyError(500, "ServiceFailure", "ExchangeTimeout")
        logs = sorted(self.pool.logs, key=lambda log: log.creation_time, reverse=True)
        if "limit" in call.query:
            try:
                limit = int(call.query["limit"])
            except ValueError:
                raise invalid_parameter("limit") from None
            if limit < 0:
                raise invalid_parameter("limit")
            logs = logs[:limit]
        return json_reply(200, rep.conversation_logs_body(self.pool.hrefs(app), logs))

    async def get_conversation_log(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """One log with its recipients embedded."""
        assert app is not None
        log = find_log(self.pool, params)
        return json_reply(200, rep.conversation_log_body(self.pool.hrefs(app), log))

    async def delete_conversation_log(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Remove the log from the mailbox; the counters change, so missedItems is updated."""
        assert app is not None
        self.pool.logs.remove(find_log(self.pool, params))
        broadcast_missed_items(self.pool)
        return empty_reply()

    async def get_recipient(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """One conversationLogRecipient on its own."""
        assert app is not None
        log = find_log(self.pool, params)
        index = int(params["index"])
        if index >= len(log.recipients):
            raise UcwaReplyError(404, "NotFound")
        body = rep.recipient_body(self.pool.hrefs(app), log, index, log.recipients[index])
        return json_reply(200, body)

    async def get_transcripts(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the log's archived transcript, a single page."""
        assert app is not None
        log = find_log(self.pool, params)
        return json_reply(200, rep.transcripts_body(self.pool.hrefs(app), log, self.pool.user))

    async def get_transcript(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the one transcript entry a log has (conversationLogTranscript_ref.md)."""
        assert app is not None
        log = find_log(self.pool, params)
        page = rep.transcripts_body(self.pool.hrefs(app), log, self.pool.user)
        return json_reply(200, page["_embedded"]["conversationLogTranscript"][0])

    async def post_mark_as_read(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Mark read in Exchange; when that changes the counters, missedItems is updated."""
        assert app is not None
        log = find_log(self.pool, params)
        if log.unread:
            log.unread = False
            broadcast_missed_items(self.pool)
        return empty_reply()
