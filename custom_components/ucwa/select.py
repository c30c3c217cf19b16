"""The availability select: choose Busy, Do not disturb, ... or let the server decide again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import callback
from homeassistant.helpers.restore_state import RestoreEntity

from .entity import UcwaEntity
from .presence import AVAILABILITY_OPTIONS, availability_option
from .presence_actions import async_set_availability

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import Presence
    from .coordinator import UcwaConfigEntry

# One choice at a time: two POSTs racing could leave the earlier one set.
PARALLEL_UPDATES = 1

AVAILABILITY_SELECT = SelectEntityDescription(
    key="availability", translation_key="availability", options=AVAILABILITY_OPTIONS
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: UcwaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's availability select."""
    async_add_entities([UcwaAvailabilitySelect(entry.runtime_data, AVAILABILITY_SELECT)])


class UcwaAvailabilitySelect(UcwaEntity, SelectEntity, RestoreEntity):
    """What the user has chosen: `automatic` or one of the six states a person can set.

    A choice here is one POST, shown at once; after that the option follows the presence the
    server pushes by the rules of `availability_option` (the server's own idle and busy logic
    leaves it `automatic`, a state chosen on another device shows). The last option is restored
    after a restart, since a state chosen here stays set on the server.
    """

    _attr_current_option: str | None = None
    _presence_seen: Presence | None = None

    @property
    def available(self) -> bool:
        """Unavailable while the server withholds presence from this account."""
        return super().available and self.coordinator.data.presence is not None

    async def async_added_to_hass(self) -> None:
        """Take the last option back, then check it against the presence the server has now."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None and last.state in (
            AVAILABILITY_OPTIONS
        ):
            self._attr_current_option = last.state
        self._follow_presence()

    @callback
    def _handle_coordinator_update(self) -> None:
        """Follow presence when it changed; other data (counters, logs) leaves the option alone."""
        self._follow_presence()
        super()._handle_coordinator_update()

    def _follow_presence(self) -> None:
        presence = self.coordinator.data.presence
        if presence != self._presence_seen:
            self._presence_seen = presence
            self._attr_current_option = availability_option(presence, self._attr_current_option)

    async def async_select_option(self, option: str) -> None:
        """Send the choice (one POST); show it once the server took it."""
        await async_set_availability(self.coordinator.config_entry, option)
        self._attr_current_option = option
        self.async_write_ha_state()
