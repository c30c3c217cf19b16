"""The base entity: one device (a service) per Skype for Business account."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

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


# ConversationLogStatus_ref.md: Archived means answered.
_STATUS_WORDS: Final = {"Archived": "answered", "Missed": "missed"}
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_case(value: str | None) -> str | None:
    """Spell a UCWA enumeration value the way Home Assistant shows attribute values.

    `AudioLog` becomes `audio_log`, `ApplicationSharing` `application_sharing`; values the
    reference does not list are spelled the same way rather than dropped. The frontend
    translates them through `state_attributes.<attr>.state.<value>`.
    """
    if not value:
        return None
    return _WORD_BOUNDARY.sub("_", value).lower()


def conversation_log_attributes(log: ConversationLog, *, with_time: bool = False) -> dict[str, Any]:
    """Describe a conversation log the same way in sensors, events and the action's answers.

    The remote party is the first recipient: UCWA lists the other side of a two-party call there.
    `with_time` adds `creation_time` where no state already carries it (events, list items).
    Empty values (no subject, no display name) are left out rather than shown as empty rows.
    """
    remote = log.recipients[0] if log.recipients else None
    attributes: dict[str, Any] = {
        ATTR_CREATION_TIME: log.creation_time.isoformat()
        if with_time and log.creation_time
        else None,
        ATTR_CONVERSATION_LOG_ID: log.log_id,
        ATTR_DIRECTION: snake_case(log.direction),
        ATTR_STATUS: _STATUS_WORDS.get(log.status or "", snake_case(log.status)),
        ATTR_TYPE: snake_case(log.type),
        ATTR_MODALITIES: [snake_case(modality) for modality in log.modalities if modality],
        ATTR_SUBJECT: log.subject,
        ATTR_DISPLAY_NAME: remote.display_name if remote else None,
        ATTR_SIP_URI: remote.sip_uri if remote else None,
    }
    return {key: value for key, value in attributes.items() if value not in (None, "", [])}


def recent_conversation(log: ConversationLog) -> str:
    """Describe one item of a `recent_conversations` list the way a person reads it.

    Who and when, such as `Bob Kelly (2026-11-29 09:48)`: the frontend shows a list of strings
    as they are, joined by commas, but a list of objects as raw YAML (keys, ISO times, ids).
    The time is in Home Assistant's time zone; the id stays in the single-log attributes and
    the action's answers. Without a name or SIP address only the time is left.
    """
    remote = log.recipients[0] if log.recipients else None
    who = (remote.display_name or (remote.sip_uri or "").removeprefix("sip:")) if remote else ""
    if log.creation_time is None:
        return who
    when = f"{dt_util.as_local(log.creation_time):%Y-%m-%d %H:%M}"
    return f"{who} ({when})" if who else when
