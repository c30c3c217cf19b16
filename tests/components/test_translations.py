"""The German UI: every English string has a German one, with the same placeholders, translated.

translations/en.json is the source (a custom integration ships no strings.json); de.json must
follow it key for key, so a string added in English without German fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import WebSocketGenerator  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.const import DOMAIN

TRANSLATIONS = Path(__file__).parents[2] / "custom_components" / DOMAIN / "translations"

# Words German writes like English (or product and protocol names); anything else equal to its
# English source is taken for a string someone forgot to translate.
SAME_IN_GERMAN = frozenset(
    {"Audio", "Video", "Status", "SIP-URI", "Offline", "Skype for Business (UCWA)"}
)
# English words that have no business in a German sentence, once names and identifiers are out
# ("Server" and "will" are German words too).
ENGLISH_WORDS = re.compile(
    r"\b(?:the|and|your|you|with|this|that|from|when|please|account|call|calls|missed|"
    r"conversation|conversations|phone|number|settings|password|sign|failed|refused|not|"
    r"could|should|must|answer|answered|back|ring|rings|unknown|error)\b",
    re.IGNORECASE,
)
# Names and identifiers kept as they are: the product, UCWA's rels, codes and subcodes, event
# and action names, examples (alice@contoso.com, CONTOSO\alice, +14255551234).
IDENTIFIERS = re.compile(
    r"Skype for Business|[\w.+-]+@[\w.-]+|\S*\\\S*|\S*_\S*|\b[a-z]+[A-Z]\w*|\b[A-Z][a-z]+[A-Z]\w*|"
    r"\btel:\S*|\{\w+\}"
)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def load(language: str) -> dict[str, str]:
    """Return one translation file as dotted keys and strings."""
    data = json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    flat: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else key)
        else:
            assert isinstance(node, str), path
            flat[path] = node

    walk(data, "")
    return flat


@pytest.fixture(scope="module")
def english() -> dict[str, str]:
    """Return the English strings, the source."""
    return load("en")


@pytest.fixture(scope="module")
def german() -> dict[str, str]:
    """Return the German strings."""
    return load("de")


def test_every_english_key_has_german(english: dict[str, str], german: dict[str, str]) -> None:
    """Same keys: none missing in German, none left over from strings English dropped."""
    assert sorted(set(english) - set(german)) == [], "missing in de.json"
    assert sorted(set(german) - set(english)) == [], "not in en.json any more"
    assert all(german.values()), "empty German strings"


def test_same_placeholders(english: dict[str, str], german: dict[str, str]) -> None:
    """A placeholder lost or renamed would show as `{status}` or be missing in the UI."""
    for key, text in english.items():
        if key in german:
            wanted = sorted(PLACEHOLDER.findall(text))
            assert sorted(PLACEHOLDER.findall(german[key])) == wanted, key


def test_no_english_left(english: dict[str, str], german: dict[str, str]) -> None:
    """German strings are not the English ones, and hold no English words but names."""
    for key, text in german.items():
        if text == english.get(key):
            assert text in SAME_IN_GERMAN, f"{key} is still English: {text!r}"
        words = ENGLISH_WORDS.findall(IDENTIFIERS.sub(" ", text))
        assert not words, f"{key} has English words {words}: {text!r}"


def test_du_form(german: dict[str, str]) -> None:
    """Home Assistant's German UI says "du", never "Sie" as the polite form."""
    for key, text in german.items():
        assert not re.search(r"\b(?:Sie|Ihr|Ihre|Ihren|Ihrem|Ihrer|Ihnen)\b", text), key


async def test_the_frontend_gets_german(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    """What the UI asks Home Assistant for a German user: the config flow and the entities."""
    assert await async_setup_component(hass, "frontend", {})
    client = await hass_ws_client(hass)
    found: dict[str, str] = {}
    for category in ("config", "entity", "services", "exceptions", "issues"):
        await client.send_json_auto_id(
            {
                "type": "frontend/get_translations",
                "language": "de",
                "category": category,
                "integration": [DOMAIN],
            }
        )
        response = await client.receive_json()
        assert response["success"], response
        found.update(response["result"]["resources"])
    prefix = f"component.{DOMAIN}"
    assert found[f"{prefix}.config.step.user.title"] == "Bei Skype for Business anmelden"
    assert found[f"{prefix}.entity.sensor.last_missed_conversation.name"] == (
        "Letzte verpasste Unterhaltung"
    )
    assert found[f"{prefix}.services.continue_phone_audio.name"] == (
        "Wegen einer Unterhaltung zurückrufen"
    )
    assert f"{prefix}.exceptions.server_error.message" in found
    assert f"{prefix}.issues.session_down.title" in found
