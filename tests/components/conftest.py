"""Fixtures of the integration tests: a simulated Skype for Business pool and an entry for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator
import json
import os
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    CONF_PASSWORD,
    CONF_VERIFY_SSL,
    MAJOR_VERSION as HA_MAJOR,
    MINOR_VERSION as HA_MINOR,
)
from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    SupportsResponse,
    callback,
)
from homeassistant.helpers.event import async_track_state_change_event
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.typing import WebSocketGenerator  # type: ignore[import-untyped,unused-ignore]
from syrupy.assertion import SnapshotAssertion

from custom_components.ucwa.api import ConversationLog, MissedItems, Note, Presence, UcwaEvent
from custom_components.ucwa.const import (
    CONF_DISCOVERY_URL,
    CONF_ENDPOINT_ID,
    CONF_PHONE_NUMBER,
    CONF_SIGN_IN_ADDRESS,
    DOMAIN,
)
from simulator import CallbackOutcome, Simulator, SimulatorConfig

ENDPOINT_ID = "4c8d7a3e-2b1f-4e4a-9a7c-0f6b2d1e5a90"
ENTRY_ID = "01JUCWA0000000000000000000"


class ReleaseSnapshotExtension(HomeAssistantSnapshotExtension):  # type: ignore[misc,unused-ignore]
    """Home Assistant's snapshot format, one set per release series (snapshots/2025.4, /2026.10).

    The registry and state shapes differ between releases (2026.10's entity entries carry
    `aliases` as a list, with the entity's name as None in it), so each stack compares with what
    it showed when the set was made; the functional tests assert the values on both.
    Regenerate: `scripts/test tests/components/test_snapshots.py --snapshot-update` (2025.4)
    and `scripts/test --newest tests/components/test_snapshots.py --snapshot-update` (2026.10).
    """

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        """Return snapshots/<release series> beside the test file."""
        folder: str = super().dirname(test_location=test_location)
        return str(Path(folder) / f"{HA_MAJOR}.{HA_MINOR}")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshot entities and states the way Home Assistant's own tests do, per release."""
    return snapshot.use_extension(ReleaseSnapshotExtension)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/ucwa."""


@pytest.fixture
def simulator_options() -> dict[str, Any]:
    """Return SimulatorConfig overrides (and `seed`, `profile_name`); parametrize to change them.

    The pool is the reference trace's (`simulator.PROFILES["trace"]`) unless `profile_name` says
    otherwise.
    """
    return {}


@pytest.fixture
async def simulator(
    socket_enabled: None, simulator_options: dict[str, Any]
) -> AsyncGenerator[Simulator]:
    """Start a simulated pool on 127.0.0.1 with the demo user and logs; P-GETs held 2 s at most.

    Sockets stay limited to 127.0.0.1 (the test plugin allows no other host).
    """
    options = dict(simulator_options)
    seed = options.pop("seed", None)
    # UCWA_SIM_PROFILE runs the whole suite against another pool shape (simulator.PROFILES).
    profile = options.pop("profile_name", os.environ.get("UCWA_SIM_PROFILE", "trace"))
    config = {
        "pget_timeout_override": 2.0,
        "callback_outcome": CallbackOutcome(step_delay=0.01),
        "call_duration": 0.05,
        **options,
    }
    sim = Simulator(SimulatorConfig.from_profile(profile, **config), seed=seed)
    await sim.start()
    yield sim
    await sim.stop()


def entry_data(sim: Simulator, **changes: Any) -> dict[str, Any]:
    """Return the data of a config entry that signs in to `sim` as its demo user."""
    return {
        CONF_SIGN_IN_ADDRESS: sim.user.sign_in_address,
        CONF_PASSWORD: sim.user.password,
        CONF_PHONE_NUMBER: sim.user.phone_number,
        CONF_DISCOVERY_URL: sim.discovery_url,
        CONF_VERIFY_SSL: True,
        CONF_ENDPOINT_ID: ENDPOINT_ID,
        **changes,
    }


@pytest.fixture
def mock_config_entry(simulator: Simulator) -> MockConfigEntry:
    """Return an entry for the simulator's demo user."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=simulator.user.sign_in_address,
        unique_id=simulator.user.sign_in_address.lower(),
        data=entry_data(simulator),
        entry_id=ENTRY_ID,
    )


@pytest.fixture
async def setup_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncGenerator[MockConfigEntry]:
    """Set the entry up against the simulator, and unload it (deleting the application) after."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield mock_config_entry
    if mock_config_entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_RETRY):
        await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep config-flow tests from setting the created entry up."""
    with patch("custom_components.ucwa.async_setup_entry", return_value=True) as mock:
        yield mock


async def wait_for_state(
    hass: HomeAssistant, entity_id: str, predicate: Callable[[State], bool], seconds: float = 10
) -> State:
    """Wait (without sleeping) until the entity's state satisfies `predicate`."""
    if (state := hass.states.get(entity_id)) is not None and predicate(state):
        return state
    future: asyncio.Future[State] = hass.loop.create_future()

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None and predicate(new) and not future.done():
            future.set_result(new)

    unsub = async_track_state_change_event(hass, [entity_id], _changed)
    try:
        return await asyncio.wait_for(future, seconds)
    finally:
        unsub()


REFERENCE = Path(__file__).parent.parent / "fixtures" / "reference"
POOL = "https://pool.contoso.com"
"""Where the reference samples' relative hrefs resolve for the mocked client."""


def reference_sample(name: str) -> dict[str, Any]:
    """Load one of the reference's JSON samples (tests/fixtures/reference, CC BY 4.0 Microsoft)."""
    sample = json.loads((REFERENCE / f"{name}.json").read_text(encoding="utf-8"))
    body: dict[str, Any] = sample["body"]
    return body


MOCK_DATA = {
    CONF_SIGN_IN_ADDRESS: "alice@contoso.com",
    CONF_PASSWORD: "secret",
    CONF_PHONE_NUMBER: "+14255551234",
    CONF_VERIFY_SSL: True,
    CONF_ENDPOINT_ID: ENDPOINT_ID,
}
"""An entry's data for the mocked client (it reaches no server)."""


@pytest.fixture
def mock_client() -> Generator[MagicMock]:
    """Replace the client with an autospec mock serving the reference's own samples.

    For the fast error tables of the flows and the action: the mock raises what a test sets as
    `side_effect` and knows nothing of the network. Everything else runs against the simulator.
    """
    log = ConversationLog.from_json(
        reference_sample("conversationLog_ref__get-json-response"), POOL
    )
    missed = MissedItems.from_json(reference_sample("missedItems_ref__get-json-response"))
    with patch("custom_components.ucwa.coordinator.UcwaClient", autospec=True) as client_class:
        client = client_class.return_value
        client.get_conversation_logs.return_value = [log]
        client.refresh_conversation_logs.return_value = []
        client.get_missed_items.return_value = missed
        client.get_presence.return_value = Presence.from_json(
            reference_sample("presence_ref__get-json-response")
        )
        client.get_note.return_value = Note.from_json(
            reference_sample("note_ref__get-json-response")
        )
        client.subscribe.return_value = lambda: None
        yield client


async def async_setup_mock_entry(hass: HomeAssistant, *, loads: bool = True) -> MockConfigEntry:
    """Set an entry up with the mocked client (the test patches what it serves first)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="alice@contoso.com",
        unique_id="alice@contoso.com",
        data=MOCK_DATA,
        entry_id=ENTRY_ID,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id) is loads
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def mock_loaded_entry(
    hass: HomeAssistant, mock_client: MagicMock
) -> AsyncGenerator[MockConfigEntry]:
    """Return an entry set up with the mocked client (no simulator)."""
    entry = await async_setup_mock_entry(hass)
    assert entry.state is ConfigEntryState.LOADED
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


async def ws_call(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    service: str,
    data: dict[str, Any],
    *,
    domain: str = DOMAIN,
) -> dict[str, Any]:
    """Call an action as the frontend does and return the websocket result message.

    The websocket API reports validation errors as the UI shows them (service_validation_error,
    invalid_format), which the REST API of 2025.4 does not. The response is asked for when the
    action gives one; entity actions (`domain="select"`) take `entity_id` in `data`.
    """
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "call_service",
            "domain": domain,
            "service": service,
            "service_data": data,
            "return_response": hass.services.supports_response(domain, service)
            is not SupportsResponse.NONE,
        }
    )
    result: dict[str, Any] = await client.receive_json()
    return result


def capture_subscribers(client: MagicMock) -> Callable[[UcwaEvent], None]:
    """Make the mocked client keep its subscribers; return a function that emits to them.

    Stands in for the event channel: a test hands the coordinator the events a server would cause.
    """
    subscribers: list[Callable[[UcwaEvent], None]] = []

    def subscribe(listener: Callable[[UcwaEvent], None]) -> Callable[[], None]:
        subscribers.append(listener)
        return lambda: None

    def emit(event: UcwaEvent) -> None:
        for listener in subscribers:
            listener(event)

    client.subscribe.side_effect = subscribe
    return emit
