"""Diagnostics: the entry and the coordinator's data, without secrets or personal data."""

from __future__ import annotations

from dataclasses import asdict, replace
import re
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME

from .const import CONF_DISCOVERY_URL, CONF_PHONE_NUMBER, CONF_SIGN_IN_ADDRESS
from .errors import capability_reason

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .coordinator import UcwaConfigEntry, UcwaData

TO_REDACT = {
    CONF_PASSWORD,
    CONF_USERNAME,
    CONF_SIGN_IN_ADDRESS,
    CONF_PHONE_NUMBER,
    # Server host names name the company's pools: the discovery URL and every UCWA link.
    CONF_DISCOVERY_URL,
    "href",
    "continue_phone_audio_href",
    "mark_as_read_href",
    "title",
    "unique_id",
    "access_token",
    "token",
    "display_name",
    "sip_uri",
    "contact_href",
    "online_meeting_uri",
    "subject",
    "preview_message",
}
# In the data only: the note's text is the user's own words (the session's last error keeps its
# scrubbed `message`).
DATA_TO_REDACT = {*TO_REDACT, "message"}

# Whatever is left: the host of any URL (an error message may quote one), SIP and tel URIs,
# e-mail-like addresses, phone numbers, and `cwt=` tokens.
_PERSONAL_RE = re.compile(
    r"(?<=://)[^/\s\"',;]+|(?:sip|tel):[^\s\"',;]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\+\d[\d ()-]{5,}\d|cwt=[^\s\"',;&]+",
    re.IGNORECASE,
)


def _scrub(value: Any) -> Any:
    """Redact personal data inside any string, however deep (hrefs, ids, messages).

    Tuples become lists on the way, so the key-based redaction reaches into them too.
    """
    if isinstance(value, str):
        return _PERSONAL_RE.sub(REDACTED, value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def _data(data: UcwaData) -> dict[str, Any]:
    """Describe what the entities show, and what the server withholds by rel and why.

    The withheld capabilities' errors become their reasons: the errors themselves do not copy.
    """
    shown = asdict(replace(data, unavailable={}))
    shown["unavailable"] = {rel: capability_reason(err) for rel, err in data.unavailable.items()}
    redacted: dict[str, Any] = async_redact_data(shown, DATA_TO_REDACT)
    return redacted


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: UcwaConfigEntry
) -> dict[str, Any]:
    """Return the entry and what the entities show, redacted."""
    coordinator = entry.runtime_data
    diagnostics = {
        "entry": entry.as_dict(),
        "last_update_success": coordinator.last_update_success,
        "data": _data(coordinator.data),
        # Already free of hrefs, hosts and secrets (UcwaClient.session_info); scrubbed anyway.
        "session": asdict(coordinator.client.session_info()),
    }
    redacted: dict[str, Any] = async_redact_data(_scrub(diagnostics), TO_REDACT)
    return redacted
