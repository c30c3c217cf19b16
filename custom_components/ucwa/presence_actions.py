"""Setting presence from Home Assistant: the availability select, the note and `ucwa.set_note`.

Each is one POST on the link `me` offers (presence_ref.md, note_ref.md; the client sends it),
after the input is checked, so a mistake sends nothing. Failures read and log like the other
actions' (services.client_error).
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .api import UcwaError, UcwaLinkNotOfferedError
from .const import ATTR_CONFIG_ENTRY_ID, ATTR_MESSAGE, DOMAIN, MAX_NOTE_LENGTH, SERVICE_SET_NOTE
from .coordinator import NOTE, PRESENCE, UcwaConfigEntry, UcwaData
from .errors import capability_reason
from .presence import AUTOMATIC, PREFERRED_AVAILABILITY_OF
from .services import async_get_entry, client_error, validation_error

# Only types here, as in services.py: the length is checked in the handler, translated.
SET_NOTE_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_MESSAGE): cv.string,
    }
)


def _require(data: UcwaData, rel: str) -> None:
    """Refuse before sending when the server withholds presence or note from this account."""
    if getattr(data, rel) is not None:
        return
    err = data.unavailable.get(rel)
    if err is None or isinstance(err, UcwaLinkNotOfferedError):
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="link_not_offered",
            translation_placeholders={"rel": rel},
        )
    raise HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="capability_unavailable",
        translation_placeholders={"rel": rel, "error": capability_reason(err)},
    )


async def async_set_availability(entry: UcwaConfigEntry, option: str) -> None:
    """Choose an availability (one of the select's options); `automatic` resets it.

    The select's own check has refused anything else before this runs.
    """
    coordinator = entry.runtime_data
    _require(coordinator.data, PRESENCE)
    try:
        if option == AUTOMATIC:
            await coordinator.client.reset_availability()
        else:
            await coordinator.client.set_availability(PREFERRED_AVAILABILITY_OF[option])
    except UcwaError as err:
        raise client_error(
            entry, err, "set_availability_failed", f"Setting the availability to {option}"
        ) from err


async def async_set_note(entry: UcwaConfigEntry, message: str) -> None:
    """Set the personal note; an empty message clears it (note_ref.md)."""
    if len(message) > MAX_NOTE_LENGTH:
        raise validation_error("note_too_long", max_length=str(MAX_NOTE_LENGTH))
    coordinator = entry.runtime_data
    _require(coordinator.data, NOTE)
    try:
        await coordinator.client.set_note(message)
    except UcwaError as err:
        # The note's text stays out of the log: it is the user's own words.
        raise client_error(entry, err, "set_note_failed", "Setting the note") from err


async def _async_set_note(call: ServiceCall) -> None:
    """Handle `ucwa.set_note`."""
    await async_set_note(async_get_entry(call.hass, call), call.data[ATTR_MESSAGE])


@callback
def async_setup_presence_services(hass: HomeAssistant) -> None:
    """Register `ucwa.set_note` (from async_setup, once, beside the other actions)."""
    hass.services.async_register(DOMAIN, SERVICE_SET_NOTE, _async_set_note, schema=SET_NOTE_SCHEMA)
