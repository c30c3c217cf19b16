"""The cache of conversation logs and missed items, and the one place that decides whether a log is new."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .models import ConversationLog, MissedItems


class LogCache:
    """What the client knows of the user's conversation history, without any HTTP.

    Logs are kept by their stable id (the last segment of the href). The newest-first list is
    kept apart from the details: events say when the list changed, while details never change.
    A log is "new" when a re-read lists it and no earlier answer to a caller did: the first read
    only sets that baseline, so a restart does not report the whole history as new.
    """

    def __init__(self) -> None:
        """Start empty: nothing listed, nothing seen, no counters."""
        self._logs: dict[str, ConversationLog] = {}
        self._order: list[str] | None = None
        self.list_limit = 0
        self._complete = False
        self._seen: set[str] = set()
        self._baseline = False
        self.missed_items: MissedItems | None = None

    def covers(self, limit: int, *, trusted: bool) -> bool:
        """Whether the cached list answers a read of `limit` logs (only while events flow)."""
        return self._order is not None and trusted and (self.list_limit >= limit or self._complete)

    def get(self, log_id: str) -> ConversationLog | None:
        """Return the cached details of a log."""
        return self._logs.get(log_id)

    def unknown(self, hrefs_by_id: Mapping[str, str]) -> list[str]:
        """Return the hrefs of listed logs whose details are not cached yet."""
        return [href for log_id, href in hrefs_by_id.items() if log_id not in self._logs]

    def store(self, logs: Iterable[ConversationLog]) -> None:
        """Keep (or replace) the details of logs."""
        for log in logs:
            self._logs[log.log_id] = log

    def set_list(self, listed_ids: Iterable[str], limit: int, *, complete: bool) -> list[str]:
        """Record the server's list (ids of cached logs, newest first) and return it.

        `complete` says the server listed fewer than asked, so the list holds everything.
        """
        known = [log for log_id in listed_ids if (log := self._logs.get(log_id)) is not None]
        known.sort(
            key=lambda log: log.creation_time.timestamp() if log.creation_time else 0.0,
            reverse=True,
        )
        self._order = [log.log_id for log in known][:limit]
        self.list_limit = limit
        self._complete = complete
        return self._order

    def newest(self, limit: int) -> list[ConversationLog]:
        """Return the newest `limit` listed logs; a caller has now seen them."""
        ids = (self._order or [])[:limit]
        self._baseline = True
        self._seen.update(ids)
        return [self._logs[log_id] for log_id in ids if log_id in self._logs]

    def take_new(self, ids: Iterable[str]) -> list[ConversationLog]:
        """Return the listed logs no caller has seen, newest first, and mark them seen.

        The first call (nothing seen yet) only sets the baseline and returns nothing.
        """
        ids = list(ids)
        new = [self._logs[log_id] for log_id in ids if log_id not in self._seen]
        self._seen.update(ids)
        if not self._baseline:
            self._baseline = True
            return []
        return new

    def forget(self, *, logs: bool = False) -> None:
        """Forget what events would have told us; with `logs`, also hrefs of a dead application."""
        self._order = None
        self.missed_items = None
        if logs:
            self._logs.clear()

    def remove(self, log_id: str) -> None:
        """Forget a log the user deleted."""
        self._logs.pop(log_id, None)
        if self._order is not None and log_id in self._order:
            self._order.remove(log_id)
