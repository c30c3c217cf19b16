"""The action forms as the UI builds them: `conversation_log` offers its words, ids still go."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
import pytest

from custom_components.ucwa.const import DOMAIN

ACTIONS_WITH_A_LOG = ["continue_phone_audio", "mark_as_read"]


@pytest.mark.parametrize("action", ACTIONS_WITH_A_LOG)
async def test_conversation_log_offers_last_and_last_missed(
    hass: HomeAssistant, action: str
) -> None:
    """A list with `last` and `last_missed`, translated, that also takes a typed log id."""
    assert await async_setup_component(hass, DOMAIN, {})
    descriptions = await async_get_all_descriptions(hass)
    field = descriptions[DOMAIN][action]["fields"]["conversation_log"]
    config = field["selector"]["select"]
    assert config["options"] == ["last", "last_missed"]
    assert config["custom_value"] is True

    translations = await async_get_translations(hass, "en", "selector", {DOMAIN})
    key = f"component.{DOMAIN}.selector.{config['translation_key']}.options"
    assert translations[f"{key}.last"] == "Last conversation"
    assert translations[f"{key}.last_missed"] == "Last missed conversation"

    # What the UI sends passes the selector: a word from the list, or an id typed in.
    chooser = selector.SelectSelector(config)
    assert chooser("last_missed") == "last_missed"
    assert chooser("534e445ee854436a8abe02c24985f78a") == "534e445ee854436a8abe02c24985f78a"
