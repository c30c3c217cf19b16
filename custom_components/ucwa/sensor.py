"""Sensors: missed-items counters, the last conversations, the call-back status and presence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)

from .callback_status import CALL_BACK_STATES
from .const import (
    ATTR_CONVERSATION_LOG_ID,
    ATTR_DISPLAY_NAME,
    ATTR_OPERATION_ID,
    ATTR_PHONE_NUMBER,
    ATTR_SIP_URI,
    RECENT_CONVERSATIONS,
)
from .entity import UcwaEntity, conversation_log_attributes, recent_conversation
from .presence import PRESENCE_STATES, presence_state

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import ConversationLog, MissedItems
    from .coordinator import UcwaConfigEntry, UcwaData

PARALLEL_UPDATES = 0

ATTR_RECENT_CONVERSATIONS = "recent_conversations"
ATTR_REASON = "reason"
ATTR_ACTIVITY = "activity"


@dataclass(frozen=True, kw_only=True)
class UcwaSensorEntityDescription(SensorEntityDescription):
    """A sensor computed from the coordinator's data."""

    value_fn: Callable[[UcwaData], int | datetime | None]
    available_fn: Callable[[UcwaData], bool]
    """False while the server withholds what the sensor shows (see UcwaData.unavailable)."""
    logs_fn: Callable[[UcwaData], tuple[ConversationLog, ...]] | None = None
    """Last-conversation sensors: the logs (newest first) the state and attributes describe."""


def _counter(
    key: str, value_fn: Callable[[MissedItems], int | None]
) -> UcwaSensorEntityDescription:
    return UcwaSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.MEASUREMENT,
        available_fn=lambda data: data.missed_items is not None,
        value_fn=lambda data: None if data.missed_items is None else value_fn(data.missed_items),
    )


def _last(
    key: str, logs_fn: Callable[[UcwaData], tuple[ConversationLog, ...]]
) -> UcwaSensorEntityDescription:
    return UcwaSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.TIMESTAMP,
        available_fn=lambda data: data.conversation_logs is not None,
        logs_fn=logs_fn,
        value_fn=lambda data: logs[0].creation_time if (logs := logs_fn(data)) else None,
    )


SENSORS: tuple[UcwaSensorEntityDescription, ...] = (
    _counter("missed_conversations", lambda items: items.missed_conversations_count),
    _counter("unread_missed_conversations", lambda items: items.unread_missed_conversations_count),
    _counter("unread_voicemails", lambda items: items.unread_voicemails_count),
    _counter("voicemails", lambda items: items.voicemails_count),
    _counter("conversation_logs", lambda items: items.conversation_logs_count),
    _last("last_conversation", lambda data: data.conversation_logs or ()),
    _last("last_missed_conversation", lambda data: data.missed_conversation_logs),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: UcwaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's sensors."""
    coordinator = entry.runtime_data
    async_add_entities(
        [
            *(UcwaSensor(coordinator, description) for description in SENSORS),
            UcwaCallBackSensor(coordinator, CALL_BACK_SENSOR),
            UcwaPresenceSensor(coordinator, PRESENCE_SENSOR),
        ]
    )


class UcwaSensor(UcwaEntity, SensorEntity):
    """A counter or a last-conversation timestamp of one account."""

    entity_description: UcwaSensorEntityDescription
    # A list of the latest conversations is useful on a dashboard but too volatile to record.
    _unrecorded_attributes = frozenset({ATTR_RECENT_CONVERSATIONS})

    @property
    def available(self) -> bool:
        """Unavailable while the server withholds the capability this sensor shows."""
        return super().available and self.entity_description.available_fn(self.coordinator.data)

    @property
    def native_value(self) -> int | datetime | None:
        """Return the counter, or the time of the newest matching conversation."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Describe the newest matching conversation, and a short list of the ones before."""
        if self.entity_description.logs_fn is None:
            return None
        if not (logs := self.entity_description.logs_fn(self.coordinator.data)):
            return None
        recent = [recent_conversation(log) for log in logs[:RECENT_CONVERSATIONS]]
        return {**conversation_log_attributes(logs[0]), ATTR_RECENT_CONVERSATIONS: recent}


CALL_BACK_SENSOR = SensorEntityDescription(
    key="call_back",
    translation_key="call_back",
    device_class=SensorDeviceClass.ENUM,
    options=CALL_BACK_STATES,
)


class UcwaCallBackSensor(UcwaEntity, SensorEntity):
    """Where the latest call-back stands: the feedback after a press, and what automations wait on.

    Fed by the coordinator, which follows the phoneAudioInvitation events of the call-back the
    buttons or the action started; it starts `idle` after every restart.
    """

    @property
    def native_value(self) -> str:
        """Return idle, connecting, ringing, connected or failed."""
        return self.coordinator.call_back.state

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Name the conversation and who it connects you to, the number rung and the operation id.

        The reason comes after a failure.
        """
        status = self.coordinator.call_back
        attributes = {
            ATTR_CONVERSATION_LOG_ID: status.conversation_log_id,
            ATTR_DISPLAY_NAME: status.display_name,
            ATTR_SIP_URI: status.sip_uri,
            ATTR_PHONE_NUMBER: status.phone_number,
            ATTR_OPERATION_ID: status.operation_id,
            ATTR_REASON: status.reason,
        }
        return {key: value for key, value in attributes.items() if value is not None}


PRESENCE_SENSOR = SensorEntityDescription(
    key="presence",
    translation_key="presence",
    device_class=SensorDeviceClass.ENUM,
    options=PRESENCE_STATES,
)


class UcwaPresenceSensor(UcwaEntity, SensorEntity):
    """The user's presence as others see it: aggregated by the server over all their devices.

    Pushed by the server's `presence` events; `activity` is what it says the user does, as sent
    (a well-known token the UI translates, such as `on-the-phone`, or text the server localized).
    A value the reference does not list shows as unknown, with the activity still there.
    """

    @property
    def available(self) -> bool:
        """Unavailable while the server withholds presence from this account."""
        return super().available and self.coordinator.data.presence is not None

    @property
    def native_value(self) -> str | None:
        """Return online, busy, do_not_disturb, ... (PRESENCE_STATES)."""
        return presence_state(self.coordinator.data.presence)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the activity, when the server gives one."""
        presence = self.coordinator.data.presence
        if presence is None or not presence.activity:
            return None
        return {ATTR_ACTIVITY: presence.activity}
