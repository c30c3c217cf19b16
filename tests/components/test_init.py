"""Setup, unload and the session's life against the simulator."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_PASSWORD, EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.api import UcwaSecurityError
from custom_components.ucwa.const import CONF_DISCOVERY_URL, CONF_ENDPOINT_ID, DOMAIN
from simulator import Simulator

from .conftest import ENDPOINT_ID


def state_of(entry: MockConfigEntry) -> ConfigEntryState:
    """Read the entry's state afresh (a call keeps mypy from narrowing it across steps)."""
    state: ConfigEntryState = entry.state
    return state


async def test_setup_and_unload(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Setup creates the application with the stored endpoint id; unload deletes it."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED

    creates = [
        r for r in simulator.requests if r.method == "POST" and r.path.endswith("/applications")
    ]
    assert len(creates) == 1
    assert ENDPOINT_ID in creates[0].body

    # The entry's devices, a lookup both stacks have (2026.10 deprecates async_get_device:
    # identifiers are unique only within a config entry there).
    [device] = dr.async_entries_for_config_entry(device_registry, mock_config_entry.entry_id)
    assert device.identifiers == {(DOMAIN, "alice@contoso.com")}
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert device.name == simulator.user.sign_in_address
    assert device.manufacturer == "Microsoft"

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(mock_config_entry) is ConfigEntryState.NOT_LOADED
    deletes = [r for r in simulator.requests if r.method == "DELETE"]
    assert len(deletes) == 1
    assert deletes[0].status == 204
    state = hass.states.get("sensor.alice_contoso_com_missed_conversations")
    assert state is not None
    assert state.state == STATE_UNAVAILABLE


async def test_endpoint_id_generated_once(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """An entry without an endpoint id gets one, stored, and reused after a reload."""
    data = dict(mock_config_entry.data)
    del data[CONF_ENDPOINT_ID]
    entry = MockConfigEntry(
        domain=DOMAIN, title=mock_config_entry.title, unique_id="alice@contoso.com", data=data
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    endpoint_id = entry.data[CONF_ENDPOINT_ID]
    assert len(endpoint_id) == 36

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.data[CONF_ENDPOINT_ID] == endpoint_id
    creates = [
        r.body
        for r in simulator.requests
        if r.method == "POST" and r.path.endswith("/applications")
    ]
    assert len(creates) == 2
    assert all(endpoint_id in body for body in creates)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_setup_server_unreachable(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """An unreachable server means retry later."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_DISCOVERY_URL: "http://127.0.0.1:9/autodiscover"},
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_setup_bad_password_starts_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Refused credentials fail the setup and start the reauth flow."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_PASSWORD: "wrong"}
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert len(flows) == 1
    assert flows[0]["context"]["source"] == SOURCE_REAUTH
    assert flows[0]["context"]["entry_id"] == mock_config_entry.entry_id


async def test_setup_security_check_failed(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A discovery redirect that fails the security check is a permanent setup error."""
    mock_config_entry.add_to_hass(hass)
    with patch(
        "custom_components.ucwa.api.UcwaClient.start",
        side_effect=UcwaSecurityError("redirected to another domain"),
    ):
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.reason is not None


@pytest.mark.parametrize("subcode", ["TooManyApplications", "UserAgentNotAllowed"])
async def test_application_refused_raises_repair_issue(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    subcode: str,
) -> None:
    """A 410 refusing the application raises a repair issue and retries; fixed, it goes away."""
    issue_id = f"application_refused_{mock_config_entry.entry_id}"
    simulator.fail_next("POST", r"/applications$", status=410, code="Gone", subcode=subcode)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "application_refused"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {
        "error": f"HTTP 410 Gone/{subcode}",
        "entry_title": "alice@contoso.com",
    }

    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(mock_config_entry) is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_stop_deletes_the_application(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Home Assistant stopping closes the event channel and deletes the application.

    An unload after the stop (as a test's teardown does) then removes the stop listener without
    an error in the log.
    """
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    deletes = [r for r in simulator.requests if r.method == "DELETE"]
    assert len(deletes) == 1
    assert simulator.applications == {}

    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    assert len([r for r in simulator.requests if r.method == "DELETE"]) == 1


async def test_event_channel_is_an_entry_background_task(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """Home Assistant runs the event channel's loop, so it knows the task and cancels it."""
    mock_config_entry.add_to_hass(hass)
    with patch.object(
        MockConfigEntry,
        "async_create_background_task",
        autospec=True,
        side_effect=ConfigEntry.async_create_background_task,
    ) as create:
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    [(entry, _hass, _coro, name)] = [call.args for call in create.call_args_list]
    assert entry is mock_config_entry
    assert name == "ucwa event channel"
    await simulator.wait_for_parked_pget()
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert simulator.applications == {}


async def test_removing_the_entry_removes_its_repair_issue(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Nobody can act on an issue of an account that is gone."""
    issue_id = f"application_refused_{mock_config_entry.entry_id}"
    simulator.fail_next(
        "POST", r"/applications$", status=410, code="Gone", subcode="TooManyApplications"
    )
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
