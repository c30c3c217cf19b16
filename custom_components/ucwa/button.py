"""Buttons that call the user back about the last (missed) conversation, one press away."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription

from .const import CONVERSATION_LOG_LAST, CONVERSATION_LOG_LAST_MISSED
from .entity import UcwaEntity
from .services import async_call_back

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import ConversationLog
    from .coordinator import UcwaConfigEntry, UcwaData

# One press at a time per platform: a second press waits rather than ringing the phone twice at
# once.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class UcwaButtonEntityDescription(ButtonEntityDescription):
    """A call-back button: which log it means, in the action's words."""

    conversation_log: str
    logs_fn: Callable[[UcwaData], tuple[ConversationLog, ...]]


BUTTONS: tuple[UcwaButtonEntityDescription, ...] = (
    UcwaButtonEntityDescription(
        key="call_back_last_conversation",
        translation_key="call_back_last_conversation",
        conversation_log=CONVERSATION_LOG_LAST,
        logs_fn=lambda data: data.conversation_logs or (),
    ),
    UcwaButtonEntityDescription(
        key="call_back_last_missed_conversation",
        translation_key="call_back_last_missed_conversation",
        conversation_log=CONVERSATION_LOG_LAST_MISSED,
        logs_fn=lambda data: data.missed_conversation_logs,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: UcwaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's call-back buttons."""
    async_add_entities(UcwaCallBackButton(entry.runtime_data, button) for button in BUTTONS)


class UcwaCallBackButton(UcwaEntity, ButtonEntity):
    """Rings the account's default phone and connects it to the other party of a conversation."""

    entity_description: UcwaButtonEntityDescription

    @property
    def available(self) -> bool:
        """Unavailable while there is no such conversation (or no history): nothing to call."""
        return super().available and bool(self.entity_description.logs_fn(self.coordinator.data))

    async def async_press(self) -> None:
        """Call back exactly as the action does, with the same errors and the same status."""
        await async_call_back(
            self.coordinator.config_entry, self.entity_description.conversation_log
        )
