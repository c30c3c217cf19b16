"""The communication dashboard and missedItems, and the `missedItems updated` broadcast when the mailbox changes."""

from __future__ import annotations

from simulator.pool import Pool
import simulator.representations as rep
from simulator.state import Application
from simulator.wire import Call, Reply, json_reply


def broadcast_missed_items(pool: Pool) -> None:
    """`missedItems updated` (sender communication, link only) to every application."""
    for app in pool.applications.values():
        h = pool.hrefs(app)
        href = h.under("communication/missedItems")
        body = rep.missed_items_body(h, pool.logs, pool.user)
        event = rep.event(h, "missedItems", href, "updated", body)
        pool.emit(app, "communication", h.under("communication"), event)


class CommunicationHandlers:
    """Handlers of communication and missedItems."""

    def __init__(self, pool: Pool) -> None:
        """Share the pool with the other families."""
        self.pool = pool

    async def get_communication(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Return the communication dashboard with its capability links."""
        assert app is not None
        body = rep.communication_body(self.pool.hrefs(app), app)
        return json_reply(200, body, [("Etag", app.communication_etag)])

    async def get_missed_items(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Counters of missed and unread items, derived from the mailbox."""
        assert app is not None
        body = rep.missed_items_body(self.pool.hrefs(app), self.pool.logs, self.pool.user)
        return json_reply(200, body)
