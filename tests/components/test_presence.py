"""Presence as the entities show it: the sensor, on a call, the availability select, the note.

The rules of presence.py as tables, then the entities over pushed presence with the client
mocked (the events a server's `presence` and `note` updates cause).
"""

from __future__ import annotations

from collections.abc import Callable
from unittest.mock import MagicMock

from homeassistant.components.sensor import ATTR_OPTIONS, SensorDeviceClass
from homeassistant.const import ATTR_DEVICE_CLASS, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import mock_restore_cache  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.api import (
    AVAILABILITY,
    PREFERRED_AVAILABILITY,
    Note,
    NoteUpdated,
    PhoneAudioInvitationEvent,
    Presence,
    PresenceUpdated,
    UcwaApiError,
    UcwaEvent,
    UcwaLinkNotOfferedError,
)
from custom_components.ucwa.const import DOMAIN
from custom_components.ucwa.coordinator import UcwaCoordinator
from custom_components.ucwa.presence import (
    AUTOMATIC,
    AVAILABILITY_OPTIONS,
    PREFERRED_AVAILABILITY_OF,
    PRESENCE_STATES,
    activity_token,
    availability_option,
    is_in_a_call,
    presence_state,
)

from .conftest import async_setup_mock_entry, capture_subscribers

PRESENCE = "sensor.alice_contoso_com_presence"
ON_A_CALL = "binary_sensor.alice_contoso_com_on_a_call"
AVAILABILITY_SELECT = "select.alice_contoso_com_availability"
NOTE = "text.alice_contoso_com_note"
PRESENCE_ENTITIES = (PRESENCE, ON_A_CALL, AVAILABILITY_SELECT)

type Emit = Callable[[UcwaEvent], None]


# The rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("availability", "activity", "state"),
    [
        ("Online", None, "online"),
        ("IdleOnline", None, "idle_online"),
        ("Busy", "on-the-phone", "busy"),
        ("IdleBusy", None, "idle_busy"),
        ("DoNotDisturb", "presenting", "do_not_disturb"),
        ("BeRightBack", None, "be_right_back"),
        ("Away", None, "away"),
        ("Offline", None, "offline"),
        # Off work: Away with the well-known token, as sent or localized, or the preferred value.
        ("Away", "off-work", "off_work"),
        ("Away", "Off Work", "off_work"),
        ("Offwork", None, "off_work"),
        # presence_ref.md's own sample: the availability decides, the activity is an attribute.
        ("Online", "Off Work", "online"),
        # What the reference does not list is unknown, not an error.
        ("Invisible", None, None),
        (None, "in-a-call", None),
    ],
)
def test_presence_state(availability: str | None, activity: str | None, state: str | None) -> None:
    """Each Availability_ref.md value has its snake_case state, and off work its own."""
    assert presence_state(Presence(availability, activity)) == state
    assert state is None or state in PRESENCE_STATES


def test_every_reference_value_has_a_state() -> None:
    """The eight Availability values and the six PreferredAvailability ones map to options."""
    assert {presence_state(Presence(value, None)) for value in AVAILABILITY} == set(
        PRESENCE_STATES
    ) - {"off_work"}
    assert sorted(PREFERRED_AVAILABILITY_OF.values()) == sorted(PREFERRED_AVAILABILITY)
    assert [option for option in AVAILABILITY_OPTIONS if option != AUTOMATIC] == list(
        PREFERRED_AVAILABILITY_OF
    )


@pytest.mark.parametrize(
    ("activity", "token"),
    [
        ("on-the-phone", "on-the-phone"),
        ("In a call", "in-a-call"),
        ("In a Conference Call", "in-a-conference-call"),
        ("InAConferenceCall", "in-a-conference-call"),
        ("  Presenting ", "presenting"),
        ("in_a_meeting", "in-a-meeting"),
        ("", None),
        ("--", None),
        (None, None),
    ],
)
def test_activity_token(activity: str | None, token: str | None) -> None:
    """Tokens, localized text, camelCase and stray separators spell one token."""
    assert activity_token(activity) == token


@pytest.mark.parametrize(
    ("activity", "in_a_call"),
    [
        ("on-the-phone", True),
        ("in-a-call", True),
        ("in-a-conference", True),
        ("presenting", True),
        ("In a call", True),
        ("In a conference call", True),
        ("On the phone", True),
        ("in-a-meeting", False),  # a meeting in the calendar is not a call
        ("urgent-interruptions-only", False),
        ("Off Work", False),
        (None, False),
    ],
)
def test_is_in_a_call(activity: str | None, in_a_call: bool) -> None:
    """Calls and conferences on any device, by the activity the server publishes."""
    assert is_in_a_call(Presence("Busy", activity)) is in_a_call


@pytest.mark.parametrize(
    ("availability", "activity", "shown", "option"),
    [
        # What this select chose stays while the server agrees.
        ("Busy", None, "busy", "busy"),
        ("Away", None, "away", "away"),
        ("Online", None, "online", "online"),
        # The server's own logic: automatic.
        ("Online", None, "busy", AUTOMATIC),
        ("IdleOnline", None, AUTOMATIC, AUTOMATIC),
        ("IdleBusy", None, "busy", AUTOMATIC),
        ("Away", None, AUTOMATIC, AUTOMATIC),
        ("Offline", None, None, AUTOMATIC),
        ("Busy", "on-the-phone", AUTOMATIC, AUTOMATIC),
        ("Busy", "In a meeting", None, AUTOMATIC),
        ("DoNotDisturb", "presenting", AUTOMATIC, AUTOMATIC),
        # Chosen on another device: shown.
        ("Busy", None, AUTOMATIC, "busy"),
        ("Busy", "Busy", "do_not_disturb", "busy"),
        ("DoNotDisturb", "urgent-interruptions-only", AUTOMATIC, "do_not_disturb"),
        ("BeRightBack", None, AUTOMATIC, "be_right_back"),
        ("Away", "off-work", AUTOMATIC, "off_work"),
        # Nothing to go by: the option stays.
        (None, None, "busy", "busy"),
        ("Invisible", None, AUTOMATIC, AUTOMATIC),
    ],
)
def test_availability_option(
    availability: str | None, activity: str | None, shown: str | None, option: str
) -> None:
    """The select says what was chosen; the server's idle and busy logic leaves it automatic."""
    presence = Presence(availability, activity)
    assert availability_option(presence, shown) == option
    # Asked again with its own answer, it answers the same: an update changes nothing more.
    assert availability_option(presence, option) == option


# The entities ------------------------------------------------------------------------------------


@pytest.fixture
def emit(mock_client: MagicMock) -> Emit:
    """Hand the coordinator the events a server's presence and note updates cause."""
    return capture_subscribers(mock_client)


def state_of(hass: HomeAssistant, entity_id: str) -> State:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state


async def test_entities_after_the_first_read(
    hass: HomeAssistant, mock_client: MagicMock, entity_registry: er.EntityRegistry
) -> None:
    """One read of presence and note at setup: the four entities, their ids and their states."""
    mock_client.get_presence.return_value = Presence("Busy", "on-the-phone")
    await async_setup_mock_entry(hass)

    sensor = state_of(hass, PRESENCE)
    assert sensor.state == "busy"
    assert sensor.attributes["activity"] == "on-the-phone"
    assert sensor.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENUM
    assert sensor.attributes[ATTR_OPTIONS] == PRESENCE_STATES
    assert state_of(hass, ON_A_CALL).state == STATE_ON
    select = state_of(hass, AVAILABILITY_SELECT)
    assert select.state == AUTOMATIC  # busy because of the call: the server's own
    assert select.attributes["options"] == AVAILABILITY_OPTIONS
    note = state_of(hass, NOTE)
    assert note.state == "Heads down today"
    assert note.attributes["type"] == "personal"
    assert note.attributes["max"] == 255
    for entity_id, key in (
        (PRESENCE, "presence"),
        (ON_A_CALL, "on_a_call"),
        (AVAILABILITY_SELECT, "availability"),
        (NOTE, "note"),
    ):
        registered = entity_registry.async_get(entity_id)
        assert registered is not None
        assert registered.unique_id == f"alice@contoso.com_{key}"
        assert registered.translation_key == key
        assert registered.entity_category is None
    mock_client.get_presence.assert_awaited_once()
    mock_client.get_note.assert_awaited_once()


async def test_pushed_presence_and_note(
    hass: HomeAssistant, mock_client: MagicMock, emit: Emit
) -> None:
    """Presence and note events change the entities; the safety poll reads neither again."""
    entry = await async_setup_mock_entry(hass)
    assert state_of(hass, ON_A_CALL).state == STATE_OFF

    emit(PresenceUpdated(Presence("Busy", "In a conference call")))
    await hass.async_block_till_done()
    assert state_of(hass, PRESENCE).state == "busy"
    assert state_of(hass, PRESENCE).attributes["activity"] == "In a conference call"
    assert state_of(hass, ON_A_CALL).state == STATE_ON
    assert state_of(hass, AVAILABILITY_SELECT).state == AUTOMATIC

    emit(PresenceUpdated(Presence("DoNotDisturb", None)))  # chosen on the desktop client
    emit(NoteUpdated(Note("Out until Monday", "OutOfOffice")))
    await hass.async_block_till_done()
    assert state_of(hass, PRESENCE).state == "do_not_disturb"
    assert "activity" not in state_of(hass, PRESENCE).attributes
    assert state_of(hass, ON_A_CALL).state == STATE_OFF
    assert state_of(hass, AVAILABILITY_SELECT).state == "do_not_disturb"
    assert state_of(hass, NOTE).state == "Out until Monday"
    assert state_of(hass, NOTE).attributes["type"] == "out_of_office"

    coordinator: UcwaCoordinator = entry.runtime_data
    await coordinator.async_refresh()
    assert state_of(hass, PRESENCE).state == "do_not_disturb"
    mock_client.get_presence.assert_awaited_once()
    mock_client.get_note.assert_awaited_once()

    # A presence without values: unknown, the option left as it was.
    emit(PresenceUpdated(Presence(None, None)))
    emit(NoteUpdated(Note(None, None)))
    await hass.async_block_till_done()
    assert state_of(hass, PRESENCE).state == "unknown"
    assert state_of(hass, ON_A_CALL).state == STATE_OFF
    assert state_of(hass, AVAILABILITY_SELECT).state == "do_not_disturb"
    assert state_of(hass, NOTE).state == ""
    assert "type" not in state_of(hass, NOTE).attributes

    # The server's `deleted` (lurker mode again): withdrawn, unavailable as if withheld, until
    # the next presence it pushes.
    emit(PresenceUpdated(None))
    emit(NoteUpdated(None))
    await hass.async_block_till_done()
    for entity_id in (*PRESENCE_ENTITIES, NOTE):
        assert state_of(hass, entity_id).state == STATE_UNAVAILABLE, entity_id
    assert set(coordinator.data.unavailable) == {"presence", "note"}
    emit(PresenceUpdated(Presence("Busy", None)))
    await hass.async_block_till_done()
    assert state_of(hass, PRESENCE).state == "busy"
    assert state_of(hass, AVAILABILITY_SELECT).state == "busy"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_long_note_is_cut_to_what_a_state_holds(
    hass: HomeAssistant, mock_client: MagicMock
) -> None:
    """The reference sets no limit on a note; a state holds 255 characters."""
    mock_client.get_note.return_value = Note("x" * 300, "Personal")
    await async_setup_mock_entry(hass)
    assert state_of(hass, NOTE).state == "x" * 255


async def test_on_a_call_during_this_integrations_call_back(
    hass: HomeAssistant, mock_client: MagicMock, emit: Emit
) -> None:
    """A call-back that connected is a call, before any presence event says so."""
    entry = await async_setup_mock_entry(hass)
    coordinator: UcwaCoordinator = entry.runtime_data
    coordinator.async_call_back_started("log1", "+14255551234", "op-1")
    await hass.async_block_till_done()
    assert state_of(hass, ON_A_CALL).state == STATE_OFF  # ringing your phone is no call yet
    emit(
        PhoneAudioInvitationEvent(
            type="completed",
            href="https://pool.contoso.com/ucwa/oauth/v1/applications/1/communication/invitations/1",
            operation_id="op-1",
            state=None,
            direction="Outgoing",
            status="Success",
            reason=None,
        )
    )
    await hass.async_block_till_done()
    assert coordinator.call_back.state == "connected"
    assert state_of(hass, ON_A_CALL).state == STATE_ON
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    "error",
    [
        UcwaLinkNotOfferedError("presence", "me"),
        UcwaApiError(500, "ServiceFailure", "InvalidExchangeServerVersion"),
    ],
)
async def test_withheld_presence(
    hass: HomeAssistant,
    mock_client: MagicMock,
    emit: Emit,
    issue_registry: ir.IssueRegistry,
    error: Exception,
) -> None:
    """A server that withholds presence: its entities unavailable, the rest works, no issue.

    The first presence the server pushes (its `added` event) brings them back.
    """
    mock_client.get_presence.side_effect = error
    mock_client.get_note.side_effect = error
    entry = await async_setup_mock_entry(hass)
    for entity_id in (*PRESENCE_ENTITIES, NOTE):
        assert state_of(hass, entity_id).state == STATE_UNAVAILABLE, entity_id
    assert (
        state_of(hass, "sensor.alice_contoso_com_missed_conversations").state != STATE_UNAVAILABLE
    )
    assert [issue for issue in issue_registry.issues if issue[0] == DOMAIN] == []

    coordinator: UcwaCoordinator = entry.runtime_data
    await coordinator.async_refresh()  # the poll does not retry them either
    assert mock_client.get_presence.await_count == 1
    assert set(coordinator.data.unavailable) == {"presence", "note"}

    emit(PresenceUpdated(Presence("Away", None)))
    await hass.async_block_till_done()
    assert state_of(hass, PRESENCE).state == "away"
    assert state_of(hass, ON_A_CALL).state == STATE_OFF
    assert state_of(hass, AVAILABILITY_SELECT).state == AUTOMATIC
    assert state_of(hass, NOTE).state == STATE_UNAVAILABLE
    assert set(coordinator.data.unavailable) == {"note"}
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_failing_first_read_fails_setup(
    hass: HomeAssistant, mock_client: MagicMock
) -> None:
    """A server error other than a withheld capability is an outage: setup retries."""
    mock_client.get_presence.side_effect = UcwaApiError(503, "ServiceFailure")
    entry = await async_setup_mock_entry(hass, loads=False)
    assert entry.state.name == "SETUP_RETRY"


@pytest.mark.parametrize(
    ("restored", "presence", "option"),
    [
        ("away", Presence("Away", None), "away"),  # chosen here before the restart
        ("away", Presence("Online", None), AUTOMATIC),  # reset elsewhere meanwhile
        ("unavailable", Presence("Away", None), AUTOMATIC),
    ],
)
async def test_the_option_survives_a_restart(
    hass: HomeAssistant,
    mock_client: MagicMock,
    restored: str,
    presence: Presence,
    option: str,
) -> None:
    """A state chosen here stays set on the server, so the select restores it if it still holds."""
    mock_restore_cache(hass, [State(AVAILABILITY_SELECT, restored)])
    mock_client.get_presence.return_value = presence
    await async_setup_mock_entry(hass)
    assert state_of(hass, AVAILABILITY_SELECT).state == option


@pytest.mark.parametrize("language", ["en", "de"])
async def test_states_and_options_are_translated(hass: HomeAssistant, language: str) -> None:
    """Every state, option and well-known activity has its words in both languages."""
    translations = await async_get_translations(hass, language, "entity", {DOMAIN})
    prefix = f"component.{DOMAIN}.entity"
    for state in PRESENCE_STATES:
        assert translations[f"{prefix}.sensor.presence.state.{state}"]
    for option in AVAILABILITY_OPTIONS:
        assert translations[f"{prefix}.select.availability.state.{option}"]
    for token in ("on-the-phone", "in-a-call", "in-a-conference", "presenting", "off-work"):
        assert translations[f"{prefix}.sensor.presence.state_attributes.activity.state.{token}"]
    words = {
        "en": ("Presence", "On a call", "Do not disturb", "Appear away", "Automatic"),
        "de": (
            "Präsenzstatus",
            "Im Gespräch",
            "Nicht stören",
            "Als abwesend anzeigen",
            "Automatisch",
        ),
    }[language]
    assert (
        translations[f"{prefix}.sensor.presence.name"],
        translations[f"{prefix}.binary_sensor.on_a_call.name"],
        translations[f"{prefix}.sensor.presence.state.do_not_disturb"],
        translations[f"{prefix}.select.availability.state.away"],
        translations[f"{prefix}.select.availability.state.automatic"],
    ) == words
