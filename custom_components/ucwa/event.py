"""An event entity that fires when a new conversation log arrives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback

from .entity import UcwaEntity, conversation_log_attributes

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import ConversationLog
    from .coordinator import UcwaConfigEntry

PARALLEL_UPDATES = 0

EVENT_MISSED = "missed_conversation"
EVENT_INCOMING = "incoming_conversation"
EVENT_OUTGOING = "outgoing_conversation"

CONVERSATION_EVENT = EventEntityDescription(
    key="conversation",
    translation_key="conversation",
    event_types=[EVENT_MISSED, EVENT_INCOMING, EVENT_OUTGOING],
)


def event_type(log: ConversationLog) -> str:
    """Classify a log: missed first (a missed call is incoming too), then by direction."""
    if log.is_missed:
        return EVENT_MISSED
    if log.direction == "Outgoing":
        return EVENT_OUTGOING
    return EVENT_INCOMING


async def async_setup_entry(
    hass: HomeAssistant,
    entry: UcwaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's conversation event entity."""
    async_add_entities([UcwaConversationEvent(entry.runtime_data, CONVERSATION_EVENT)])


class UcwaConversationEvent(UcwaEntity, EventEntity):
    """Fires missed_conversation, incoming_conversation or outgoing_conversation per new log.

    Its state is the time of the last conversation event, which no outage changes, so it stays
    available while the session is down or the server withholds the history (the sensors and
    a repair issue say so). Going unavailable and back would write that time again: the
    logbook shows every such change as an event, and Home Assistant stores the `unavailable`
    when the entity is removed (a reload), from which the event entity restores `unknown` with
    the old event type, losing the time of the last event.
    """

    @property
    def available(self) -> bool:
        """Always: the last event stays true however the server is doing."""
        return True

    async def async_added_to_hass(self) -> None:
        """Listen for logs the account had not seen before."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_new_logs_listener(self._async_new_logs))

    @callback
    def _async_new_logs(self, logs: tuple[ConversationLog, ...]) -> None:
        # Oldest first, so the entity's final state is the newest conversation.
        for log in reversed(logs):
            self._trigger_event(event_type(log), conversation_log_attributes(log, with_time=True))
            self.async_write_ha_state()
