"""What the event channel tells the client: batches routed in order, resets, new applications.

The channel (events.py) hands each batch here. Events about `me` and `communication` move the
links (`ApplicationLinks.apply_event`); `phoneAudioInvitation` events become typed events;
`missedItems` starts a re-read of the counters and the log list (history.py); `presence` and
`note` from `me` update the user's presence and note (me.py). Every re-read an event asks for
is paced by a `PacedRefresh` of its own kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .application import Application
from .callbacks import Invitations
from .config import UcwaTimings
from .history import ConversationHistory
from .links import ME, as_list, embedded
from .logs import LogCache
from .me import MyPresence
from .models import UcwaEvent
from .pacing import PacedRefresh

ME_RESOURCES = ("presence", "note")
"""me's children the client follows; `location` events move me's links only."""


class Dispatch:
    """The channel's listener (`events.ChannelListener`).

    A `missedItems` event re-reads missed items and the log list: while the budget lasts, at
    once, before the next batch is handled (the push latency of back-to-back missed calls);
    once it is spent, events share one later re-read, so no change goes unreported and a server
    that sends one with every answer gets one re-read per `refresh_interval`. Presence and
    note are paced the same way, each on its own budget (me.py).
    """

    def __init__(
        self,
        emit: Callable[[UcwaEvent], None],
        cache: LogCache,
        history: ConversationHistory,
        invitations: Invitations,
        *,
        me: MyPresence,
        timings: UcwaTimings,
    ) -> None:
        """Keep the rooms events feed; nothing runs until a batch arrives."""
        self.emit = emit
        self._cache = cache
        self._history = history
        self._invitations = invitations
        self._me = me
        self._missed_items: PacedRefresh[Mapping[str, Any] | None] = PacedRefresh(
            timings, history.catch_up, "ucwa re-read"
        )

    async def close(self) -> None:
        """Cancel re-reads waiting for their turn (the client is closing)."""
        await self._missed_items.close()
        await self._me.close()

    def reset(self) -> None:
        """Distrust what events kept: the server reset the channel (resync, resume)."""
        self._cache.forget()
        self._me.reset()

    async def replaced(self) -> None:
        """Re-read what the lost events of a replaced application would have said."""
        await self._history.catch_up()
        await self._me.replaced()

    async def batch(self, batch: Mapping[str, Any], base: str, app: Application) -> None:
        """Route one batch in the server's order; events about me/communication move links.

        State changes are applied event by event; the re-reads they call for run once per
        kind after the batch, so several events of one kind in a batch cost one read.
        """
        missed_items_changed = False
        missed_items: Mapping[str, Any] | None = None
        reread: dict[str, None] = {}
        for sender in as_list(batch.get("sender")):
            if not isinstance(sender, Mapping):
                continue
            for event in as_list(sender.get("events")):
                if not isinstance(event, Mapping) or not isinstance(event.get("link"), Mapping):
                    continue
                app.links.apply_event(sender.get("rel"), event, base)
                rel = event["link"].get("rel")
                if rel == "phoneAudioInvitation":
                    self._invitations.on_event(event, base)
                elif rel == "missedItems":
                    missed_items_changed = True
                    missed_items = embedded(event, "missedItems")
                elif rel in ME_RESOURCES and sender.get("rel") == ME:
                    assert isinstance(rel, str)
                    if self._me.on_event(rel, event.get("type"), embedded(event, rel)):
                        reread[rel] = None
        if missed_items_changed:
            await self._missed_items.changed(missed_items)
        for rel in reread:
            await self._me.changed(rel)
