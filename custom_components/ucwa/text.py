"""The personal note: what others read next to your presence, set from a dashboard or automation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.text import TextEntity, TextEntityDescription, TextMode

from .const import MAX_NOTE_LENGTH
from .entity import UcwaEntity, snake_case
from .presence_actions import async_set_note

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import UcwaConfigEntry

# One note at a time, in the order they were set.
PARALLEL_UPDATES = 1

ATTR_NOTE_TYPE = "type"

NOTE_TEXT = TextEntityDescription(
    key="note", translation_key="note", mode=TextMode.TEXT, native_max=MAX_NOTE_LENGTH
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: UcwaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's note."""
    async_add_entities([UcwaNoteText(entry.runtime_data, NOTE_TEXT)])


class UcwaNoteText(UcwaEntity, TextEntity):
    """The note the server shows for the user; setting it sets the personal note (one POST).

    The server aggregates the personal note and Exchange's out-of-office message into one
    (note_ref.md): `type` says which is shown. The state follows the server's `note` events, so
    it shows what others see rather than what was typed.
    """

    @property
    def available(self) -> bool:
        """Unavailable while the server withholds the note from this account."""
        return super().available and self.coordinator.data.note is not None

    @property
    def native_value(self) -> str | None:
        """Return the note ("" for none), cut to what a state can hold."""
        note = self.coordinator.data.note
        return None if note is None else (note.message or "")[:MAX_NOTE_LENGTH]

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Say whether the note is the personal one or the out-of-office message."""
        note = self.coordinator.data.note
        if note is None or not (kind := snake_case(note.type)):
            return None
        return {ATTR_NOTE_TYPE: kind}

    async def async_set_value(self, value: str) -> None:
        """Set the personal note; the server's `note` event updates the state."""
        await async_set_note(self.coordinator.config_entry, value)
