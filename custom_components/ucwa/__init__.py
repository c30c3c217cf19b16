"""The Skype for Business (UCWA) integration."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import uuid4

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.helpers import config_validation as cv

from .const import CONF_ENDPOINT_ID, DOMAIN
from .coordinator import UcwaConfigEntry, UcwaCoordinator, build_client, default_phone_number
from .errors import async_setup_error_logging
from .intent import async_setup_intents
from .issues import async_delete_issues
from .presence_actions import async_setup_presence_services
from .services import async_setup_services

if TYPE_CHECKING:
    from homeassistant.core import Event, HomeAssistant
    from homeassistant.helpers.typing import ConfigType

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.TEXT,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions, once, whether or not an entry is loaded."""
    async_setup_error_logging()
    async_setup_services(hass)
    async_setup_presence_services(hass)
    await async_setup_intents(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: UcwaConfigEntry) -> bool:
    """Start the UCWA session of one account and its entities."""
    if CONF_ENDPOINT_ID not in entry.data:
        # Stable across restarts, so the server sees the same application instead of a new one.
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_ENDPOINT_ID: str(uuid4())}
        )
    client = build_client(
        hass,
        entry.data,
        phone_number=default_phone_number(entry),
        endpoint_id=entry.data[CONF_ENDPOINT_ID],
        entry=entry,
    )
    # Runs on unload and when setup fails: stops the event channel and deletes the application.
    entry.async_on_unload(client.close)

    async def _async_close_on_stop(_: Event) -> None:
        # Entries are not unloaded when Home Assistant stops; free the application all the same.
        await client.close()

    # A plain listener, not async_listen_once: the stop event fires once anyway, and removing a
    # once-listener that has fired (an unload after the stop) logs an error.
    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_close_on_stop))
    coordinator = UcwaCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: UcwaConfigEntry) -> bool:
    """Unload the entities; the client is closed by the callback registered at setup."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: UcwaConfigEntry) -> None:
    """Forget the entry's repair issues: nobody can act on them once the account is removed."""
    async_delete_issues(hass, entry.entry_id)
