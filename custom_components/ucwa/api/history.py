"""Reading the user's conversation history over HTTP: missed items, the log list, details in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
import logging
from typing import Any

from multidict import CIMultiDict
from yarl import URL

from .application import Application, Applications
from .batch import MAX_BATCH_PARTS, BatchPart, build_batch_request, parse_batch_response
from .config import UcwaTimings
from .exceptions import (
    UcwaApiError,
    UcwaConversationLogNotFoundError,
    UcwaError,
    UcwaLinkNotOfferedError,
    UcwaMalformedResponseError,
)
from .links import APPLICATION, COMMUNICATION
from .logs import LogCache
from .models import (
    ConversationLog,
    ConversationLogsAdded,
    MissedItems,
    MissedItemsUpdated,
    UcwaEvent,
    link_hrefs,
    log_id_from_href,
)
from .transport import Response, Transport, is_lost

_LOGGER = logging.getLogger(__package__)

DEFAULT_LOG_LIMIT = 50


class ConversationHistory:
    """Missed-item counters and conversation logs, served from the cache while events flow.

    `trusted` says whether the event channel is parked and healthy: only then can the cache
    stand in for the server, since a `missedItems` event is what says something changed.
    """

    def __init__(
        self,
        transport: Transport,
        apps: Applications,
        *,
        cache: LogCache,
        timings: UcwaTimings,
        trusted: Callable[[], bool],
        emit: Callable[[UcwaEvent], None],
    ) -> None:
        """Keep the rooms it reads through and the cache it fills."""
        self._transport = transport
        self._apps = apps
        self.cache = cache
        self._timings = timings
        self._trusted = trusted
        self._emit = emit
        self._lock = asyncio.Lock()
        self.missed_items_reads = self.log_list_reads = self.re_reads = 0
        """What the history cost, for the session's diagnostics."""

    async def get_missed_items(self, *, force: bool = False) -> MissedItems:
        """Return the counters; from the cache while events flow, unless `force`."""
        cached = self.cache.missed_items
        if cached is not None and self._trusted() and not force:
            return cached

        async def read(app: Application) -> Response:
            href = await self._apps.link(app, COMMUNICATION, "missedItems")
            self.missed_items_reads += 1
            return await self._transport.request("GET", href)

        response = await self._apps.with_application(read)
        self.cache.missed_items = MissedItems.from_json(response.json())
        return self.cache.missed_items

    async def get_conversation_logs(self, limit: int) -> list[ConversationLog]:
        """Return at most `limit` logs, newest first (see UcwaClient.get_conversation_logs)."""
        if limit < 1:
            return []
        async with self._lock:
            if not self.cache.covers(limit, trusted=self._trusted()):
                await self._read_log_list(limit)
            return self.cache.newest(limit)

    async def refresh(self) -> list[ConversationLog]:
        """Re-read the list and report (and return) the logs that are new."""
        async with self._lock:
            ids = await self._read_log_list(max(self.cache.list_limit, DEFAULT_LOG_LIMIT))
            new = self.cache.take_new(ids)
            if new:
                self._emit(ConversationLogsAdded(logs=tuple(new)))
            return new

    async def catch_up(self, missed_items: Mapping[str, Any] | None = None) -> None:
        """Re-read missed items and the log list, reporting what changed; never raises.

        Runs on a `missedItems updated` event, and after the application was replaced, since the
        old application's events were lost with it. `missed_items` is the resource when the event
        embedded it (EventsInUCWA.md allows that), which saves reading it.
        """
        self.re_reads += 1
        try:
            if missed_items is not None:
                missed = self.cache.missed_items = MissedItems.from_json(missed_items)
            else:
                self.cache.missed_items = None
                missed = await self.get_missed_items()
            self._emit(MissedItemsUpdated(missed_items=missed))
            await self.refresh()
        except UcwaLinkNotOfferedError as err:
            # A policy, not a failure: it would say the same on every missed call.
            _LOGGER.debug("Not re-reading: %s", err)
        except UcwaError as err:
            _LOGGER.warning("Could not re-read missed items and logs: %s", err)
        except Exception:
            _LOGGER.exception("Unexpected error while re-reading missed items and logs")

    async def _read_log_list(self, limit: int) -> list[str]:
        """GET the list with `?limit=`, fetch unknown details, and remember the order."""

        async def read(app: Application) -> tuple[list[str], int]:
            url = await self._apps.link(app, COMMUNICATION, "conversationLogs")
            target = self._transport.allowed("GET", url).update_query(limit=str(limit))
            self.log_list_reads += 1
            response = await self._transport.request("GET", target)
            hrefs = link_hrefs(response.json(), "conversationLog", str(response.url))
            by_id = _first_ids(hrefs, limit)
            self.cache.store(await self._fetch_logs(app, self.cache.unknown(by_id)))
            return list(by_id), len(hrefs)

        ids, listed = await self._apps.with_application(read)
        return self.cache.set_list(ids, limit, complete=listed < limit)

    async def _fetch_logs(self, app: Application, hrefs: Sequence[str]) -> list[ConversationLog]:
        """Fetch log details with the batch resource, at most 100 parts per POST."""
        logs: list[ConversationLog] = []
        for start in range(0, len(hrefs), MAX_BATCH_PARTS):
            chunk = hrefs[start : start + MAX_BATCH_PARTS]
            for href, part in zip(chunk, await self._batch(app, chunk), strict=True):
                if part.status == 404 and not is_lost(self._part_error(part)):
                    continue  # deleted between the list and the batch
                if part.status >= 400:
                    raise self._part_error(part)
                try:
                    data = part.json()
                except UcwaMalformedResponseError as err:
                    raise UcwaMalformedResponseError(
                        f"Unreadable conversation log ({part.status}): {err}"
                    ) from err
                if not isinstance(data, dict):
                    raise UcwaMalformedResponseError("A conversation log that is not a JSON object")
                log = ConversationLog.from_json(data, href, href=href)
                if not _same_resource(log.href, href):
                    # A part answers the request at its position; a self link elsewhere would
                    # make later requests (mark as read, call back) follow the server's word.
                    _LOGGER.warning("Ignored a batch part whose self link is not its request")
                    continue
                logs.append(log)
        return logs

    def _part_error(self, part: BatchPart) -> UcwaApiError:
        return self._transport.error_from(part.status, part.content_type, part.body)

    async def _batch(self, app: Application, hrefs: Sequence[str]) -> list[BatchPart]:
        """POST one batch of GETs; on 429 (none of it ran) split it and try again later."""
        batch_url = app.links.get(APPLICATION, "batch")
        if batch_url is None:
            # Batching only saves requests: without the link, one GET per log does the same.
            return [await self._single_get(href) for href in hrefs]
        content_type, body = build_batch_request([URL(href) for href in hrefs])
        try:
            response = await self._transport.request(
                "POST", batch_url, data=body, content_type=content_type, accept="multipart/batching"
            )
        except UcwaApiError as err:
            if err.status != 429 or len(hrefs) == 1:
                raise
            await asyncio.sleep(self._timings.batch_retry_delay)
            middle = len(hrefs) // 2
            return [
                *await self._batch(app, hrefs[:middle]),
                *await self._batch(app, hrefs[middle:]),
            ]
        try:
            parts = parse_batch_response(response.headers.get("Content-Type", ""), response.body)
        except ValueError as err:
            raise UcwaMalformedResponseError(f"Unreadable batch response: {err}") from err
        if len(parts) != len(hrefs):
            raise UcwaMalformedResponseError(
                f"Batch answered {len(parts)} parts for {len(hrefs)} requests"
            )
        return parts

    async def _single_get(self, href: str) -> BatchPart:
        """Fallback when the server offers no batch link: one GET, shaped like a batch part."""
        try:
            response = await self._transport.request("GET", href)
        except UcwaApiError as err:
            if err.status != 404 or is_lost(err):
                raise
            return BatchPart(status=404, headers=CIMultiDict(), body=b"")
        return BatchPart(
            status=response.status, headers=CIMultiDict(response.headers), body=response.body
        )

    async def current_log(self, log: ConversationLog) -> ConversationLog:
        """Return the log as the live application knows it (hrefs embed the application id)."""
        if (cached := self.cache.get(log.log_id)) is not None:
            return cached
        async with self._lock:
            await self._read_log_list(max(self.cache.list_limit, DEFAULT_LOG_LIMIT))
        if (cached := self.cache.get(log.log_id)) is None:
            raise UcwaConversationLogNotFoundError(log.log_id)
        return cached

    async def log_link(
        self, log: ConversationLog, rel: str, pick: Callable[[ConversationLog], str | None]
    ) -> str:
        """Return a link of the log, re-reading the log once when its representation lacks it."""
        if (url := pick(log)) is not None:
            return url
        response = await self._transport.request("GET", log.href)
        fresh = ConversationLog.from_json(response.json(), str(response.url), href=log.href)
        self.cache.store([fresh])
        if (url := pick(fresh)) is None:
            raise UcwaLinkNotOfferedError(rel, "conversationLog")
        return url

    async def log_request(
        self,
        method: str,
        log: ConversationLog,
        rel: str,
        pick: Callable[[ConversationLog], str | None],
    ) -> ConversationLog:
        """Send a request to one of the log's links, re-finding the log on a new application."""

        async def send(_app: Application) -> ConversationLog:
            current = await self.current_log(log)
            await self._transport.request(method, await self.log_link(current, rel, pick))
            return current

        return await self._apps.with_application(send)


def _first_ids(hrefs: Sequence[str], limit: int) -> dict[str, str]:
    """Return the first `limit` distinct logs of the list (newest first), by stable id.

    `limit` bounds what is fetched and cached whatever the server lists: 100,000 links for a
    limit of 50 cost one batch of 50 parts, not 1,000 batches.
    """
    by_id: dict[str, str] = {}
    for href in hrefs:
        by_id.setdefault(log_id_from_href(href), href)
        if len(by_id) >= limit:
            break
    return by_id


def _same_resource(self_href: str, requested: str) -> bool:
    """Whether a part's self link names the resource requested (scheme, host, port and path)."""
    try:
        return URL(self_href).with_query(None).with_fragment(None) == URL(requested).with_query(
            None
        ).with_fragment(None)
    except ValueError:
        return False
