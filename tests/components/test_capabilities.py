"""A pool whose policy gives no conversation history: the account loads with what the server offers.

The missed-items counters keep working, the sensors fed by conversation logs are unavailable (the
event entity keeps its last event, see test_event_trigger), a repair issue names the missing
capability, and the action says which link is missing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import MagicMock

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.api import ConversationLogsAdded, UcwaLinkNotOfferedError
from custom_components.ucwa.const import DOMAIN, SAFETY_POLL_INTERVAL
from custom_components.ucwa.issues import history_issue_id
from simulator import Simulator

from .conftest import MOCK_DATA, capture_subscribers, wait_for_state

PREFIX = "sensor.alice_contoso_com"
EVENT = "event.alice_contoso_com_conversation"
HISTORY_ENTITIES = (f"{PREFIX}_last_conversation", f"{PREFIX}_last_missed_conversation")
COUNTERS = (
    f"{PREFIX}_missed_conversations",
    f"{PREFIX}_unread_missed_conversations",
    f"{PREFIX}_voicemails",
    f"{PREFIX}_unread_voicemails",
    f"{PREFIX}_conversation_logs",
)

NOT_OFFERED = "The server does not offer conversationLogs for this account"


def exchange_refusal(error: str) -> str:
    """Return the action's message when Exchange refuses the history with `error`."""
    return (
        "The Skype for Business server gives this account no conversation history right now "
        f"({error}); ask its administrator to check conversation history and the Exchange "
        "integration"
    )


# Per pool shape: what the repair issue says and what the action answers.
WITHHELD = {
    "absent": (NOT_OFFERED, NOT_OFFERED),
    "invalid_exchange_version": (
        "HTTP 500 ServiceFailure/InvalidExchangeServerVersion",
        exchange_refusal("HTTP 500 ServiceFailure/InvalidExchangeServerVersion"),
    ),
    "exchange_timeout": (
        "HTTP 500 ServiceFailure/ExchangeTimeout",
        exchange_refusal("HTTP 500 ServiceFailure/ExchangeTimeout"),
    ),
}


@pytest.fixture(params=sorted(WITHHELD))
def history(request: pytest.FixtureRequest) -> str:
    """Return how the pool withholds conversation history."""
    value: str = request.param
    return value


@pytest.fixture
def simulator_options(history: str) -> dict[str, Any]:
    """Run the pool with that policy."""
    return {"conversation_history": history}


async def test_loads_with_what_the_server_offers(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    history: str,
) -> None:
    """Counters live, history entities unavailable, a repair issue, a precise action error."""
    assert setup_integration.state is ConfigEntryState.LOADED
    for entity_id in COUNTERS:
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state != STATE_UNAVAILABLE, entity_id
    assert hass.states.get(f"{PREFIX}_missed_conversations").state == "3"  # type: ignore[union-attr]
    for entity_id in HISTORY_ENTITIES:
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE, entity_id  # type: ignore[union-attr]
    # No event yet, and none is invented; an outage of the history is no conversation either.
    assert hass.states.get(EVENT).state == STATE_UNKNOWN  # type: ignore[union-attr]

    issue = issue_registry.async_get_issue(DOMAIN, history_issue_id(setup_integration.entry_id))
    assert issue is not None
    assert issue.translation_key == "conversation_history_unavailable"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders == {
        "entry_title": "alice@contoso.com",
        "capability": "conversationLogs",
        "error": WITHHELD[history][0],
    }

    before = len(simulator.requests)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "continue_phone_audio", {}, blocking=True)
    assert str(err.value) == WITHHELD[history][1]
    assert [r for r in simulator.requests[before:] if r.route == "continuePhoneAudio"] == []

    # A missed call still reaches the counters by push.
    simulator.add_conversation_log(status="Missed")
    await wait_for_state(hass, f"{PREFIX}_missed_conversations", lambda s: s.state == "4")


@pytest.mark.parametrize("history", ["absent"])
async def test_history_comes_back(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Once the policy is fixed, the next application offers the link and the entities return.

    A policy applies when the user signs in again: the server replaces the application (here it
    forgets it), and the following sync finds the link and withdraws the repair issue.
    """
    issue_id = history_issue_id(setup_integration.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    simulator.config.conversation_history = "available"
    simulator.drop_application("not_found")

    async_fire_time_changed(hass, dt_util.utcnow() + SAFETY_POLL_INTERVAL + timedelta(seconds=1))
    for entity_id in HISTORY_ENTITIES:
        await wait_for_state(hass, entity_id, lambda state: state.state != STATE_UNAVAILABLE)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize("history", ["absent"])
async def test_issue_removed_with_the_entry(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Nobody can act on the issue once the account is gone."""
    issue_id = history_issue_id(setup_integration.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    await hass.config_entries.async_remove(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize("simulator_options", [{"hidden_links": frozenset({"missedItems"})}])
async def test_pool_without_missed_items(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """No missedItems link: the counters are unavailable, the conversations still show."""
    assert setup_integration.state is ConfigEntryState.LOADED
    for entity_id in COUNTERS:
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE, entity_id  # type: ignore[union-attr]
    for entity_id in HISTORY_ENTITIES:
        assert hass.states.get(entity_id).state != STATE_UNAVAILABLE, entity_id  # type: ignore[union-attr]
    issue = issue_registry.async_get_issue(DOMAIN, history_issue_id(setup_integration.entry_id))
    assert issue is not None
    assert issue.translation_placeholders == {
        "entry_title": "alice@contoso.com",
        "capability": "missedItems",
        "error": "The server does not offer missedItems for this account",
    }


async def test_history_returning_by_push_is_read_again(
    hass: HomeAssistant, mock_client: MagicMock, issue_registry: ir.IssueRegistry
) -> None:
    """New logs pushed while the history was unavailable make the integration read it all again."""
    emit = capture_subscribers(mock_client)
    logs = mock_client.get_conversation_logs.return_value
    mock_client.get_conversation_logs.side_effect = UcwaLinkNotOfferedError(
        "conversationLogs", "communication"
    )
    entry = MockConfigEntry(
        domain=DOMAIN, title="alice@contoso.com", unique_id="alice@contoso.com", data=MOCK_DATA
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(HISTORY_ENTITIES[0]).state == STATE_UNAVAILABLE  # type: ignore[union-attr]

    mock_client.get_conversation_logs.side_effect = None
    emit(ConversationLogsAdded(logs=tuple(logs)))
    await hass.async_block_till_done()
    assert hass.states.get(HISTORY_ENTITIES[0]).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert issue_registry.async_get_issue(DOMAIN, history_issue_id(entry.entry_id)) is None
    await hass.config_entries.async_unload(entry.entry_id)
