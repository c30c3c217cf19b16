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
    """Fires missed_conversation, incoming_conversation or outgoing_conversation per new log."""

    @property
    def available(self) -> bool:
        """Unavailable while the server gives this account no conversation history."""
        return super().available and self.coordinator.data.conversation_logs is not None

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
