"""Constants of the Skype for Business (UCWA) integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

from homeassistant.const import MAX_LENGTH_STATE_STATE

DOMAIN: Final = "ucwa"
LOGGER = logging.getLogger(__package__)

# Config entry data (connection) and options.
CONF_SIGN_IN_ADDRESS: Final = "sign_in_address"
CONF_PHONE_NUMBER: Final = "phone_number"
CONF_DISCOVERY_URL: Final = "discovery_url"
CONF_ENDPOINT_ID: Final = "endpoint_id"

# Action `ucwa.continue_phone_audio`: its fields and the keys of its response.
SERVICE_CONTINUE_PHONE_AUDIO: Final = "continue_phone_audio"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_CONVERSATION_LOG: Final = "conversation_log"
ATTR_PHONE_NUMBER: Final = "phone_number"
ATTR_OPERATION_ID: Final = "operation_id"
ATTR_INVITATION: Final = "invitation"
MAX_OPERATION_ID_LENGTH: Final = 50
# Words a person can put in `conversation_log` instead of a stable id.
CONVERSATION_LOG_LAST: Final = "last"
CONVERSATION_LOG_LAST_MISSED: Final = "last_missed"

# Action `ucwa.mark_as_read` and the response-only `ucwa.get_conversation_logs`.
SERVICE_MARK_AS_READ: Final = "mark_as_read"
SERVICE_GET_CONVERSATION_LOGS: Final = "get_conversation_logs"
ATTR_LIMIT: Final = "limit"
ATTR_MISSED_ONLY: Final = "missed_only"
ATTR_CONVERSATION_LOGS: Final = "conversation_logs"

# Action `ucwa.set_note` (the note text entity sets the note the same way). The reference gives
# the note no length limit; Home Assistant's states have one, so a longer note could not show.
SERVICE_SET_NOTE: Final = "set_note"
ATTR_MESSAGE: Final = "message"
MAX_NOTE_LENGTH: Final = MAX_LENGTH_STATE_STATE

# Attributes of the last-conversation sensors and of the event entity.
ATTR_CONVERSATION_LOG_ID: Final = "conversation_log_id"
ATTR_CREATION_TIME: Final = "creation_time"
ATTR_DIRECTION: Final = "direction"
ATTR_STATUS: Final = "status"
ATTR_TYPE: Final = "type"
ATTR_MODALITIES: Final = "modalities"
ATTR_SUBJECT: Final = "subject"
ATTR_DISPLAY_NAME: Final = "display_name"
ATTR_SIP_URI: Final = "sip_uri"

# Bus event fired for every phoneAudioInvitation event (started, updated, completed).
EVENT_PHONE_AUDIO_INVITATION: Final = "ucwa_phone_audio_invitation"

# The event channel pushes every change; this poll only re-syncs in case an event was lost.
SAFETY_POLL_INTERVAL: Final = timedelta(minutes=15)
# How many logs the coordinator keeps (newest first), and how many go in the unrecorded lists
# (a few, so the attribute stays readable on a dashboard).
CONVERSATION_LOG_LIMIT: Final = 50
RECENT_CONVERSATIONS: Final = 5

# The call-back status sensor: how long it shows an outcome, and how long it waits for news of a
# call-back in progress (an event lost with the channel must not leave it "ringing" for ever).
CALL_BACK_OUTCOME_SHOWN: Final = timedelta(seconds=60)
CALL_BACK_NO_NEWS: Final = timedelta(minutes=3)

ISSUE_APPLICATION_REFUSED: Final = "application_refused"
ISSUE_CONVERSATION_HISTORY: Final = "conversation_history_unavailable"
ISSUE_SESSION_DOWN: Final = "session_down"
# A session the client has not restored within this time gets a repair issue: shorter outages (a
# pool restarting, a network blip) only make the entities unavailable for a while.
SESSION_DOWN_ISSUE_AFTER: Final = timedelta(minutes=30)
