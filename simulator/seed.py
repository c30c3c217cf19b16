r"""The simulated mailbox's starting content: one user and their conversation logs.

A seed file is JSON:

```json
{
  "user": {
    "sign_in_address": "alice@contoso.com",   // required
    "password": "Pass@word1",                 // required
    "phone_number": "+14255551234",           // required, E.164
    "username": "CONTOSO\\alice",             // optional second accepted user name
    "name": "Alice Wood", "title": "...", "department": "...", "company": "...",
    "office_location": "...",                 // optional profile fields of `me`
    "home_phone_number": "+14255550123",      // optional, E.164: me's homePhoneNumber,
    "mobile_phone_number": "+14255550124",    //   mobilePhoneNumber and otherPhoneNumber
    "other_phone_number": "+14255550125",     //   (left out of `me` when absent)
    "voicemails": 2, "unread_voicemails": 1   // optional missedItems voicemail counters
  },
  "logs": [
    {
      "id": "optional stable id (default: generated)",
      "creation_time": "2024-05-01T09:30:00Z",  // or "minutes_ago": 42 (relative to start)
      "direction": "Incoming",                   // Incoming | Outgoing
      "status": "Missed",                        // Missed | Archived (answered)
      "type": "AudioLog",                        // AudioLog | MessageLog | ConferenceLog | ...
      "modalities": ["Audio"],                   // ConversationModalityType values
      "subject": "", "preview_message": "",
      "importance": "Normal",                    // Normal | Urgent | Emergency
      "thread_id": "optional (default: generated)",
      "online_meeting_uri": "",
      "unread": true,
      "recipients": [{"display_name": "Bob Kelly", "sip_uri": "sip:bob@contoso.com"}],
      "total_recipients_count": 1                // optional, default: len(recipients)
    }
  ]
}
```

`POST /_sim/logs` and `Simulator.add_conversation_log` take the same log objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any
import uuid

from simulator.state import ConversationLogRecord, Recipient, User

LOG_DIRECTIONS = frozenset({"Incoming", "Outgoing"})
LOG_STATUSES = frozenset({"Archived", "Missed"})
LOG_TYPES = frozenset(
    {"AppSharingLog", "AudioLog", "ConferenceLog", "MessageLog", "UnknownLog", "VideoLog"}
)
LOG_MODALITIES = frozenset(
    {"ApplicationSharing", "Audio", "DataCollaboration", "Messaging", "PanoramicVideo", "Video"}
)
IMPORTANCES = frozenset({"Emergency", "Normal", "Urgent"})


@dataclass(slots=True)
class Seed:
    """A user and their logs, before the simulator turns the logs into records."""

    user: User
    logs: list[dict[str, Any]] = field(default_factory=list)


DEFAULT_SEED = Path(__file__).with_name("seed.json")
"""The demo mailbox: a mix of missed and answered calls, chats and a meeting."""


def default_seed() -> Seed:
    """Return the demo mailbox (`seed.json`), read afresh so that callers may change it."""
    return load_seed(DEFAULT_SEED)


def load_seed(path: Path) -> Seed:
    """Read a seed file (format in this module's docstring)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("user"), dict):
        raise TypeError("a seed file is an object with a `user` object")
    raw_user: dict[str, Any] = data["user"]
    for key in ("sign_in_address", "password", "phone_number"):
        if not isinstance(raw_user.get(key), str) or not raw_user[key]:
            raise ValueError(f"seed user needs `{key}`")
    known = set(User.__dataclass_fields__)
    unknown = set(raw_user) - known
    if unknown:
        raise ValueError(f"unknown seed user fields: {sorted(unknown)}")
    user = User(**raw_user)
    logs = data.get("logs", [])
    if not isinstance(logs, list) or not all(isinstance(item, dict) for item in logs):
        raise ValueError("seed `logs` is a list of objects")
    for item in logs:
        parse_log(item, datetime.now(UTC))  # fail early on a bad file
    return Seed(user, list(logs))


def _choice(raw: dict[str, Any], key: str, allowed: frozenset[str], default: str) -> str:
    value = raw.get(key, default)
    if value not in allowed:
        raise ValueError(f"log `{key}` must be one of {sorted(allowed)}, not {value!r}")
    return str(value)


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise TypeError(f"log `{key}` must be a string")
    return value


def parse_log(raw: dict[str, Any], now: datetime) -> ConversationLogRecord:
    """Turn one seed/control-API log object into a record, checking values against the enums."""
    if "creation_time" in raw:
        created = datetime.fromisoformat(str(raw["creation_time"]))
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
    else:
        created = now - timedelta(minutes=float(raw.get("minutes_ago", 0)))
    modalities = raw.get("modalities", ["Audio"])
    if not isinstance(modalities, list) or not set(modalities) <= LOG_MODALITIES:
        raise ValueError(f"log `modalities` must be a list of {sorted(LOG_MODALITIES)}")
    recipients_raw = raw.get("recipients", [])
    if not isinstance(recipients_raw, list):
        raise TypeError("log `recipients` must be a list")
    recipients = []
    for item in recipients_raw:
        if not isinstance(item, dict) or not str(item.get("sip_uri", "")).startswith("sip:"):
            raise ValueError("a recipient needs a `sip_uri` starting with sip:")
        recipients.append(Recipient(str(item.get("display_name", "")), str(item["sip_uri"])))
    total = raw.get("total_recipients_count")
    return ConversationLogRecord(
        log_id=str(raw.get("id") or uuid.uuid4().hex),
        creation_time=created,
        direction=_choice(raw, "direction", LOG_DIRECTIONS, "Incoming"),
        status=_choice(raw, "status", LOG_STATUSES, "Missed"),
        type=_choice(raw, "type", LOG_TYPES, "AudioLog"),
        modalities=[str(item) for item in modalities],
        subject=_text(raw, "subject"),
        preview_message=_text(raw, "preview_message"),
        importance=_choice(raw, "importance", IMPORTANCES, "Normal"),
        thread_id=str(raw.get("thread_id") or uuid.uuid4().hex),
        online_meeting_uri=_text(raw, "online_meeting_uri"),
        unread=bool(raw.get("unread", raw.get("status", "Missed") == "Missed")),
        recipients=recipients,
        total_recipients_count=int(total) if total is not None else None,
    )


def log_state(log: ConversationLogRecord) -> dict[str, Any]:
    """Return a log in seed format, with its id, for the control API."""
    return {
        "id": log.log_id,
        "creation_time": log.creation_time.isoformat(),
        "direction": log.direction,
        "status": log.status,
        "type": log.type,
        "modalities": list(log.modalities),
        "subject": log.subject,
        "preview_message": log.preview_message,
        "importance": log.importance,
        "thread_id": log.thread_id,
        "online_meeting_uri": log.online_meeting_uri,
        "unread": log.unread,
        "recipients": [
            {"display_name": r.display_name, "sip_uri": r.sip_uri} for r in log.recipients
        ],
        "total_recipients_count": log.total_recipients_count,
    }
