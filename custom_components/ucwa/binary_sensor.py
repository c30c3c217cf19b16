"""On a call: what a busy light follows, from presence on any device and this integration's calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)

from .callback_status import CALL_BACK_CONNECTED
from .entity import UcwaEntity
from .presence import is_in_a_call

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import UcwaConfigEntry

PARALLEL_UPDATES = 0

# No device class says "in a call" (running, occupancy and sound mean other things): the
# translated name and the icons per state do.
ON_A_CALL = BinarySensorEntityDescription(key="on_a_call", translation_key="on_a_call")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: UcwaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's on-a-call sensor."""
    async_add_entities([UcwaOnACallSensor(entry.runtime_data, ON_A_CALL)])


class UcwaOnACallSensor(UcwaEntity, BinarySensorEntity):
    """On while the user is in a call or conference on any device, or in this integration's call.

    The server's presence says so by its activity (on-the-phone, in-a-call, in-a-conference,
    presenting) for calls on every device the user signed in to; a call-back this integration
    placed counts as soon as it connects, before any presence event says so.
    """

    @property
    def available(self) -> bool:
        """Unavailable while the server withholds presence: calls elsewhere would go unseen."""
        return super().available and self.coordinator.data.presence is not None

    @property
    def is_on(self) -> bool:
        """Return whether the user is in a call."""
        return (
            is_in_a_call(self.coordinator.data.presence)
            or self.coordinator.call_back.state == CALL_BACK_CONNECTED
        )
