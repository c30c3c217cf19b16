"""Setting presence: the availability select, the note text entity and `ucwa.set_note`.

One request per choice, nothing sent for bad input, translated errors over the websocket API as
the UI shows them. The client is mocked here (its calls are the requests); the simulator tests
count the requests the server received.
"""

from __future__ import annotations

import logging
from typing import Any
from unittest.mock import AsyncMock, MagicMock

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.typing import WebSocketGenerator  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.api import (
    Presence,
    PresenceUpdated,
    UcwaApiError,
    UcwaConnectionError,
    UcwaLinkNotOfferedError,
    UcwaTimeoutError,
)
from custom_components.ucwa.const import DOMAIN

from .conftest import async_setup_mock_entry, capture_subscribers, ws_call

SELECT = "select.alice_contoso_com_availability"
NOTE = "text.alice_contoso_com_note"
SET_CALLS = ("set_availability", "reset_availability", "set_note")


def writes(client: MagicMock) -> list[tuple[str, tuple[Any, ...]]]:
    """Return the presence and note requests the client was asked to send, in order."""
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for name in SET_CALLS:
        method: AsyncMock = getattr(client, name)
        calls.extend((name, call.args) for call in method.await_args_list)
    return calls


async def choose(hass: HomeAssistant, option: str) -> None:
    await hass.services.async_call(
        "select", "select_option", {"entity_id": SELECT, "option": option}, blocking=True
    )


@pytest.mark.parametrize(
    ("option", "request_sent"),
    [
        ("automatic", ("reset_availability", ())),
        ("online", ("set_availability", ("Online",))),
        ("busy", ("set_availability", ("Busy",))),
        ("do_not_disturb", ("set_availability", ("DoNotDisturb",))),
        ("be_right_back", ("set_availability", ("BeRightBack",))),
        ("away", ("set_availability", ("Away",))),
        ("off_work", ("set_availability", ("Offwork",))),
    ],
)
async def test_each_option_is_one_request(
    hass: HomeAssistant,
    *,
    mock_client: MagicMock,
    mock_loaded_entry: MockConfigEntry,
    option: str,
    request_sent: tuple[str, tuple[Any, ...]],
) -> None:
    """Each choice sends its PreferredAvailability value once; automatic resets. Shown at once."""
    await choose(hass, option)
    assert writes(mock_client) == [request_sent]
    assert hass.states.get(SELECT).state == option  # type: ignore[union-attr]


async def test_the_choice_then_follows_presence(
    hass: HomeAssistant, mock_client: MagicMock
) -> None:
    """Chosen here, confirmed by the server; then changed on the phone, then reset elsewhere."""
    emit = capture_subscribers(mock_client)
    entry = await async_setup_mock_entry(hass)

    await choose(hass, "do_not_disturb")
    emit(PresenceUpdated(Presence("DoNotDisturb", None)))  # the server's confirmation
    await hass.async_block_till_done()
    assert hass.states.get(SELECT).state == "do_not_disturb"  # type: ignore[union-attr]
    emit(PresenceUpdated(Presence("Busy", None)))  # chosen on the phone
    await hass.async_block_till_done()
    assert hass.states.get(SELECT).state == "busy"  # type: ignore[union-attr]
    emit(PresenceUpdated(Presence("Online", None)))  # reset on the desktop
    emit(PresenceUpdated(Presence("IdleOnline", None)))  # and then nobody at the desk
    await hass.async_block_till_done()
    assert hass.states.get(SELECT).state == "automatic"  # type: ignore[union-attr]
    assert writes(mock_client) == [("set_availability", ("DoNotDisturb",))]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_an_invalid_option_sends_nothing(
    hass: HomeAssistant,
    mock_client: MagicMock,
    mock_loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """An option the select does not offer is refused by Home Assistant before anything is sent."""
    result = await ws_call(
        hass,
        hass_ws_client,
        "select_option",
        {"entity_id": SELECT, "option": "idle_online"},
        domain="select",
    )
    assert result["success"] is False
    assert result["error"]["code"] == "service_validation_error"
    assert writes(mock_client) == []
    assert hass.states.get(SELECT).state == "automatic"  # type: ignore[union-attr]


FAILURES = [
    (
        UcwaApiError(409, "Conflict", "AlreadyExists"),
        "set_availability_failed",
        "The Skype for Business server refused the availability: HTTP 409 Conflict/AlreadyExists",
        "set_note_failed",
        "The Skype for Business server refused the note: HTTP 409 Conflict/AlreadyExists",
    ),
    (
        UcwaTimeoutError("Timeout talking to pool"),
        "request_timeout",
        "The Skype for Business server did not answer in time; try again",
        "request_timeout",
        "The Skype for Business server did not answer in time; try again",
    ),
    (
        UcwaConnectionError("Error talking to pool.contoso.com (POST): ClientOSError"),
        "cannot_connect",
        (
            "Could not reach the Skype for Business server: Error talking to pool.contoso.com "
            "(POST): ClientOSError"
        ),
        "cannot_connect",
        (
            "Could not reach the Skype for Business server: Error talking to pool.contoso.com "
            "(POST): ClientOSError"
        ),
    ),
    (
        UcwaLinkNotOfferedError("presence", "me"),
        "link_not_offered",
        "The server does not offer presence for this account",
        "link_not_offered",
        "The server does not offer presence for this account",
    ),
]


@pytest.mark.parametrize(
    ("exception", "select_key", "select_message", "note_key", "note_message"), FAILURES
)
async def test_refused_choices_and_notes(
    hass: HomeAssistant,
    *,
    mock_client: MagicMock,
    mock_loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    exception: Exception,
    select_key: str,
    select_message: str,
    note_key: str,
    note_message: str,
) -> None:
    """A refusal reads as the server's answer, logs one warning, and leaves the option alone."""
    caplog.set_level(logging.WARNING, logger="custom_components.ucwa")
    mock_client.set_availability.side_effect = exception
    with pytest.raises(HomeAssistantError) as err:
        await choose(hass, "busy")
    assert err.value.translation_key == select_key
    assert str(err.value) == select_message
    assert hass.states.get(SELECT).state == "automatic"  # type: ignore[union-attr]

    mock_client.set_note.side_effect = exception
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "set_note", {"message": "In the garden"}, blocking=True
        )
    assert err.value.translation_key == note_key
    assert str(err.value) == note_message
    assert writes(mock_client) == [
        ("set_availability", ("Busy",)),
        ("set_note", ("In the garden",)),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"Setting the availability to busy failed: {select_message}",
        f"Setting the note failed: {note_message}",
    ]
    assert "In the garden" not in caplog.text


async def test_the_note_text_is_one_request(
    hass: HomeAssistant,
    mock_client: MagicMock,
    mock_loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Setting the text sends the note once; Home Assistant refuses a note over 255 characters."""
    await hass.services.async_call(
        "text", "set_value", {"entity_id": NOTE, "value": "Back at 3"}, blocking=True
    )
    await hass.services.async_call(
        "text", "set_value", {"entity_id": NOTE, "value": ""}, blocking=True
    )
    result = await ws_call(
        hass, hass_ws_client, "set_value", {"entity_id": NOTE, "value": "x" * 256}, domain="text"
    )
    assert result["success"] is False
    assert writes(mock_client) == [("set_note", ("Back at 3",)), ("set_note", ("",))]


async def test_action_exists_before_any_entry(hass: HomeAssistant) -> None:
    """ucwa.set_note is registered by async_setup, like the other actions."""
    assert await async_setup_component(hass, DOMAIN, {})
    assert hass.services.has_service(DOMAIN, "set_note")


async def test_set_note_action(
    hass: HomeAssistant, mock_client: MagicMock, mock_loaded_entry: MockConfigEntry
) -> None:
    """One request with the message as given; an empty one clears the note."""
    await hass.services.async_call(
        DOMAIN,
        "set_note",
        {"config_entry_id": mock_loaded_entry.entry_id, "message": "Working from home 🏡"},
        blocking=True,
    )
    await hass.services.async_call(DOMAIN, "set_note", {"message": ""}, blocking=True)
    await hass.services.async_call(DOMAIN, "set_note", {"message": "x" * 255}, blocking=True)
    assert writes(mock_client) == [
        ("set_note", ("Working from home 🏡",)),
        ("set_note", ("",)),
        ("set_note", ("x" * 255,)),
    ]


@pytest.mark.parametrize(
    ("data", "code", "key", "message"),
    [
        (
            {"message": "x" * 256},
            "service_validation_error",
            "note_too_long",
            "Validation error: The note is too long: at most 255 characters",
        ),
        (
            {"message": "Hi", "config_entry_id": "no-such-entry"},
            "service_validation_error",
            "config_entry_not_found",
            (
                "Validation error: There is no Skype for Business account with the config entry ID "
                "no-such-entry"
            ),
        ),
        ({}, "invalid_format", None, None),
        ({"message": ["a", "b"]}, "invalid_format", None, None),
    ],
)
async def test_set_note_bad_input_over_websocket(
    hass: HomeAssistant,
    *,
    mock_client: MagicMock,
    mock_loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    data: dict[str, Any],
    code: str,
    key: str | None,
    message: str | None,
) -> None:
    """Bad input is refused as the UI shows it, and nothing is sent."""
    result = await ws_call(hass, hass_ws_client, "set_note", data)
    assert result["success"] is False
    assert result["error"]["code"] == code
    if key is not None:
        assert result["error"]["translation_key"] == key
        assert result["error"]["message"] == message
    assert writes(mock_client) == []


async def test_set_note_on_an_unloaded_account(
    hass: HomeAssistant, mock_client: MagicMock, mock_loaded_entry: MockConfigEntry
) -> None:
    """An account that is not loaded is named, and nothing is sent."""
    await hass.config_entries.async_unload(mock_loaded_entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_note",
            {"config_entry_id": mock_loaded_entry.entry_id, "message": "Hi"},
            blocking=True,
        )
    assert str(err.value) == "The Skype for Business account alice@contoso.com is not loaded"
    assert writes(mock_client) == []


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (UcwaLinkNotOfferedError("note", "me"), "The server does not offer note for this account"),
        (
            UcwaApiError(500, "ServiceFailure", "InvalidExchangeServerVersion"),
            (
                "The Skype for Business server gives this account no note right now "
                "(HTTP 500 ServiceFailure/InvalidExchangeServerVersion)"
            ),
        ),
    ],
)
async def test_set_note_when_the_server_withholds_it(
    hass: HomeAssistant, mock_client: MagicMock, error: Exception, message: str
) -> None:
    """A note the server withholds cannot be set: said at once, nothing sent."""
    mock_client.get_note.side_effect = error
    entry = await async_setup_mock_entry(hass)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "set_note", {"message": "Hi"}, blocking=True)
    assert str(err.value) == message
    assert writes(mock_client) == []
    await hass.config_entries.async_unload(entry.entry_id)
