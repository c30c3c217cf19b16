"""The coordinator's safety poll: errors make entities unavailable, recovery brings them back."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging
from unittest.mock import MagicMock

from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.api import (
    ApplicationLost,
    ApplicationRestored,
    AuthenticationFailed,
    MissedItems,
    MissedItemsUpdated,
    UcwaApplicationError,
)
from custom_components.ucwa.const import DOMAIN
from custom_components.ucwa.coordinator import UcwaCoordinator
from simulator import Simulator

from .conftest import MOCK_DATA, capture_subscribers, wait_for_state

MISSED = "sensor.alice_contoso_com_missed_conversations"


async def test_safety_poll_every_15_minutes(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
) -> None:
    """Only a slow poll runs behind the event channel, and it re-reads the log list."""
    coordinator: UcwaCoordinator = setup_integration.runtime_data
    assert coordinator.update_interval == timedelta(minutes=15)
    lists = simulator.route_counts["GET conversationLogs"]
    counters = simulator.route_counts["GET missedItems"]
    # A change the server sent no event for (a voicemail) shows up at the poll.
    simulator.user.voicemails += 3
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=15, seconds=1))
    # The poll runs as a background task beside the event channel (which never ends): await
    # what it shows rather than every background task.
    await wait_for_state(
        hass,
        "sensor.alice_contoso_com_voicemails",
        lambda state: state.state == str(simulator.user.voicemails),
    )
    assert simulator.route_counts["GET conversationLogs"] == lists + 1
    assert simulator.route_counts["GET missedItems"] == counters + 1
    assert coordinator.last_update_success


async def test_poll_failure_then_recovery(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failed re-sync makes the entities unavailable; the next good one brings them back."""
    coordinator: UcwaCoordinator = setup_integration.runtime_data
    caplog.set_level(logging.INFO, logger="custom_components.ucwa")
    # Twice: aiohttp repeats an idempotent GET once when a kept-alive connection drops.
    simulator.drop_next("GET", "conversationLogs", count=2)
    await coordinator.async_refresh()
    assert hass.states.get(MISSED).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert "Could not reach the Skype for Business server" in caplog.text

    await coordinator.async_refresh()
    assert hass.states.get(MISSED).state == "3"  # type: ignore[union-attr]
    assert "Fetching ucwa data recovered" in caplog.text


@pytest.mark.parametrize(
    ("status", "subcode", "named"),
    [(500, "Unknown", "HTTP 500 ServiceFailure/Unknown"), (503, None, "HTTP 503 ServiceFailure")],
)
async def test_poll_server_error(
    hass: HomeAssistant,
    *,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    status: int,
    subcode: str | None,
    named: str,
) -> None:
    """A UCWA error during the re-sync names status, code and subcode, leaving out what is absent."""
    coordinator: UcwaCoordinator = setup_integration.runtime_data
    simulator.fail_next(
        "GET", "conversationLogs", status=status, code="ServiceFailure", subcode=subcode
    )
    await coordinator.async_refresh()
    assert not coordinator.last_update_success
    assert str(coordinator.last_exception) == (
        f"The Skype for Business server answered with an error: {named}"
    )


async def test_poll_refused_credentials_start_reauth(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Tokens expired and the password refused during a re-sync: reauth starts."""
    coordinator: UcwaCoordinator = setup_integration.runtime_data
    simulator.expire_tokens()
    simulator.fail_next("POST", "oauthtoken", status=400, code="invalid_grant", count=10)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert not coordinator.last_update_success
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    simulator.clear_faults()


async def test_events_before_the_first_refresh_are_ignored(
    hass: HomeAssistant, mock_client: MagicMock
) -> None:
    """An event that arrives while the first refresh runs is left to that refresh to read."""
    emit = capture_subscribers(mock_client)
    served: MissedItems = mock_client.get_missed_items.return_value

    async def missed_items_during_an_event(*, force: bool) -> MissedItems:
        # The channel reports a change before the read answers.
        emit(MissedItemsUpdated(MissedItems(99, None, 99, 99, 0, 0)))
        return served

    mock_client.get_missed_items.side_effect = missed_items_during_an_event
    entry = MockConfigEntry(
        domain=DOMAIN, title="alice@contoso.com", unique_id="alice@contoso.com", data=MOCK_DATA
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    mock_client.get_missed_items.assert_awaited()
    assert hass.states.get(MISSED).state == str(served.missed_conversations_count)  # type: ignore[union-attr]
    await hass.config_entries.async_unload(entry.entry_id)


async def _next_event[T](coordinator: UcwaCoordinator, kind: type[T]) -> T:
    """Await the client's next event of this type (the channel runs on its own)."""
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    def on_event(event: object) -> None:
        if isinstance(event, kind) and not future.done():
            future.set_result(event)

    unsubscribe = coordinator.client.subscribe(on_event)
    try:
        return await asyncio.wait_for(future, 10)
    finally:
        unsubscribe()


async def test_password_changed_mid_session_starts_reauth_without_retrying(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A refused password stops the channel (no lockout loop), marks entities and asks the user."""
    coordinator: UcwaCoordinator = setup_integration.runtime_data
    await simulator.wait_for_parked_pget()
    simulator.user.password = "changed-elsewhere-1"
    simulator.expire_tokens()
    simulator.add_conversation_log(direction="Incoming", status="Missed", type="AudioLog")
    await _next_event(coordinator, AuthenticationFailed)
    await hass.async_block_till_done()
    state = hass.states.get(MISSED)
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert simulator.route_counts["POST oauthtoken"] <= 3  # sign-in, then at most two refusals


async def test_application_refused_mid_session_raises_the_repair_issue_at_once(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A 410 TooManyApplications while recreating the application does not wait for the poll."""
    coordinator: UcwaCoordinator = setup_integration.runtime_data
    await simulator.wait_for_parked_pget()
    simulator.fail_next(
        "POST", r"/applications$", status=410, code="Gone", subcode="TooManyApplications", count=50
    )
    simulator.drop_application(kind="not_found")
    lost = await _next_event(coordinator, ApplicationLost)
    assert isinstance(lost.cause, UcwaApplicationError)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(
        DOMAIN, f"application_refused_{setup_integration.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["error"] == "HTTP 410 Gone/TooManyApplications"
    state = hass.states.get(MISSED)
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
    simulator.clear_faults()


async def test_session_down_for_long_raises_a_repair_issue(
    hass: HomeAssistant, mock_client: MagicMock, issue_registry: ir.IssueRegistry
) -> None:
    """Whatever broke the event channel, an outage that lasts gets a repair issue.

    The end of the outage (ApplicationRestored) withdraws the issue and brings the entities back.
    """
    emit = capture_subscribers(mock_client)
    entry = MockConfigEntry(
        domain=DOMAIN, title="alice@contoso.com", unique_id="alice@contoso.com", data=MOCK_DATA
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issue_id = f"session_down_{entry.entry_id}"

    emit(ApplicationLost("Event channel failed: RecursionError"))
    assert hass.states.get(MISSED).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=29))
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None  # a short outage: no issue

    emit(ApplicationLost("Event channel failed: RecursionError"))  # the same outage goes on
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=31))
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "session_down"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {
        "entry_title": "alice@contoso.com",
        "minutes": "30",
        "error": "Event channel failed: RecursionError",
    }

    emit(ApplicationRestored())
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get(MISSED).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    await hass.config_entries.async_unload(entry.entry_id)
