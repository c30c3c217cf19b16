"""The base entity: one device (a service) per Skype for Business account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import (
    ATTR_CONVERSATION_LOG_ID,
    ATTR_CREATION_TIME,
    ATTR_DIRECTION,
    ATTR_DISPLAY_NAME,
    ATTR_MODALITIES,
    ATTR_SIP_URI,
    ATTR_STATUS,
    ATTR_SUBJECT,
    ATTR_TYPE,
    DOMAIN,
)
from .coordinator import UcwaCoordinator

if TYPE_CHECKING:
    from homeassistant.helpers.entity import EntityDescription

    from .api import ConversationLog


class UcwaEntity(CoordinatorEntity[UcwaCoordinator]):
    """An entity of one account, named from its translation key."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: UcwaCoordinator, description: EntityDescription) -> None:
        """Attach the entity to the account's device."""
        super().__init__(coordinator)
        self.entity_description = description
        entry = coordinator.config_entry
        assert entry.unique_id is not None
        self._attr_unique_id = f"{entry.unique_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.unique_id)},
            entry_type=DeviceEntryType.SERVICE,
            manufacturer="Microsoft",
            model="Skype for Business Server (UCWA 2.0)",
            name=entry.title,
        )


def conversation_log_attributes(log: ConversationLog, *, with_time: bool = False) -> dict[str, Any]:
    """Describe a conversation log the same way in sensors, events and the recent lists.

    The remote party is the first recipient: UCWA lists the other side of a two-party call there.
    `with_time` adds `creation_time` where no state already carries it (events, list items).
    """
    remote = log.recipients[0] if log.recipients else None
    time = {ATTR_CREATION_TIME: log.creation_time.isoformat() if log.creation_time else None}
    return {
        **(time if with_time else {}),
        ATTR_CONVERSATION_LOG_ID: log.log_id,
        ATTR_DIRECTION: log.direction,
        ATTR_STATUS: log.status,
        ATTR_TYPE: log.type,
        ATTR_MODALITIES: list(log.modalities),
        ATTR_SUBJECT: log.subject,
        ATTR_DISPLAY_NAME: remote.display_name if remote else None,
        ATTR_SIP_URI: remote.sip_uri if remote else None,
    }
