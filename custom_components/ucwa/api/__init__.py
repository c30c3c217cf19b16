"""Asynchronous client for the Unified Communications Web API (UCWA) 2.0 of Skype for Business Server.

This package imports nothing from Home Assistant, so it can be published on its own.
"""

from .client import TaskFactory, UcwaClient
from .config import UcwaConfig, UcwaTimings
from .exceptions import (
    UcwaApiError,
    UcwaApplicationError,
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaConversationLogNotFoundError,
    UcwaError,
    UcwaLinkNotOfferedError,
    UcwaMalformedResponseError,
    UcwaSecurityError,
    UcwaTimeoutError,
)
from .models import (
    ApplicationLost,
    ApplicationRestored,
    AuthenticationFailed,
    ConversationLog,
    ConversationLogRecipient,
    ConversationLogsAdded,
    MissedItems,
    MissedItemsUpdated,
    PhoneAudioCall,
    PhoneAudioInvitationEvent,
    Reason,
    UcwaEvent,
    is_phone_number,
    normalize_phone_number,
    parse_ucwa_datetime,
    validate_operation_id,
)
from .presence import (
    AVAILABILITY,
    PREFERRED_AVAILABILITY,
    Note,
    NoteUpdated,
    Presence,
    PresenceUpdated,
)
from .session_info import EventChannelState, RequestCounts, SessionError, SessionInfo

__all__ = [
    "AVAILABILITY",
    "PREFERRED_AVAILABILITY",
    "ApplicationLost",
    "ApplicationRestored",
    "AuthenticationFailed",
    "ConversationLog",
    "ConversationLogRecipient",
    "ConversationLogsAdded",
    "EventChannelState",
    "MissedItems",
    "MissedItemsUpdated",
    "Note",
    "NoteUpdated",
    "PhoneAudioCall",
    "PhoneAudioInvitationEvent",
    "Presence",
    "PresenceUpdated",
    "Reason",
    "RequestCounts",
    "SessionError",
    "SessionInfo",
    "TaskFactory",
    "UcwaApiError",
    "UcwaApplicationError",
    "UcwaAuthenticationError",
    "UcwaClient",
    "UcwaConfig",
    "UcwaConnectionError",
    "UcwaConversationLogNotFoundError",
    "UcwaError",
    "UcwaEvent",
    "UcwaLinkNotOfferedError",
    "UcwaMalformedResponseError",
    "UcwaSecurityError",
    "UcwaTimeoutError",
    "UcwaTimings",
    "is_phone_number",
    "normalize_phone_number",
    "parse_ucwa_datetime",
    "validate_operation_id",
]
