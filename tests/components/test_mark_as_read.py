"""ucwa.mark_as_read and ucwa.get_conversation_logs end to end against the simulator."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.typing import WebSocketGenerator  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.api import (
    ConversationLog,
    MissedItems,
    UcwaApiError,
    UcwaConnectionError,
)
from custom_components.ucwa.const import DOMAIN
from custom_components.ucwa.coordinator import UcwaData
from custom_components.ucwa.services import unread_missed_logs
from simulator import Simulator

from .conftest import POOL, reference_sample, wait_for_state, ws_call

UNREAD = "sensor.alice_contoso_com_unread_missed_conversations"
LAST_MISSED = "sensor.alice_contoso_com_last_missed_conversation"


def marks_sent(sim: Simulator) -> list[str]:
    """Return the log ids of the markAsRead POSTs the simulator received, in order."""
    return [
        r.path.rsplit("/", 2)[-2]
        for r in sim.requests
        if r.route == "markAsRead" and r.method == "POST"
    ]


def missed_ids(sim: Simulator) -> list[str]:
    """Return the simulator's missed logs, newest first."""
    logs = sorted(sim.logs, key=lambda log: log.creation_time, reverse=True)
    return [log.log_id for log in logs if log.status == "Missed"]


async def test_mark_one_as_read(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """`last_missed`: one POST for Bob's call, and the unread counter drops by one."""
    assert hass.states.get(UNREAD).state == "2"  # type: ignore[union-attr]
    await hass.services.async_call(
        DOMAIN, "mark_as_read", {"conversation_log": "last_missed"}, blocking=True
    )
    assert marks_sent(simulator) == missed_ids(simulator)[:1]
    await wait_for_state(hass, UNREAD, lambda s: s.state == "1")


async def test_mark_all_missed_as_read(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Without a log: only the unread missed logs are marked, the N newest for a counter of N.

    The demo mailbox has three missed conversations, the oldest one already read; a new missed
    call makes three unread of four. Exactly those three are posted, newest first, and the
    counter reaches 0; a second call sends nothing.
    """
    new = simulator.add_conversation_log(
        direction="Incoming",
        status="Missed",
        type="AudioLog",
        recipients=[{"display_name": "Zoe Ortiz", "sip_uri": "sip:zoe@contoso.com"}],
    )
    await wait_for_state(hass, UNREAD, lambda s: s.state == "3")
    await wait_for_state(
        hass, LAST_MISSED, lambda s: s.attributes.get("conversation_log_id") == new.log_id
    )
    unread = [log.log_id for log in simulator.logs if log.status == "Missed" and log.unread]
    assert len(missed_ids(simulator)) == 4
    assert missed_ids(simulator)[0] == new.log_id

    await hass.services.async_call(DOMAIN, "mark_as_read", {}, blocking=True)

    assert marks_sent(simulator) == missed_ids(simulator)[:3]
    assert sorted(marks_sent(simulator)) == sorted(unread)
    await wait_for_state(hass, UNREAD, lambda s: s.state == "0")
    await hass.services.async_call(DOMAIN, "mark_as_read", {}, blocking=True)
    assert len(marks_sent(simulator)) == 3


def _missed(log_id: str) -> ConversationLog:
    log = ConversationLog.from_json(
        reference_sample("conversationLog_ref__get-json-response"), POOL
    )
    return replace(log, log_id=log_id, status="Missed")


@pytest.mark.parametrize(
    ("unread", "expected"),
    [(2, ["new", "older"]), (0, []), (None, ["new", "older", "oldest"]), (-1, [])],
)
def test_unread_missed_logs_follow_the_counter(unread: int | None, expected: list[str]) -> None:
    """The N newest missed logs for a counter of N; all of them when the server gives none."""
    logs = tuple(_missed(log_id) for log_id in ("new", "older", "oldest"))
    counters = replace(
        MissedItems.from_json(reference_sample("missedItems_ref__get-json-response")),
        unread_missed_conversations_count=unread,
    )
    assert [log.log_id for log in unread_missed_logs(UcwaData(counters, logs))] == expected
    assert [log.log_id for log in unread_missed_logs(UcwaData(None, logs))] == [
        "new",
        "older",
        "oldest",
    ]


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        (
            {"conversation_log": "no-such-log"},
            "conversation_log_not_found",
            "There is no recent conversation log with the ID no-such-log",
        ),
        (
            {"config_entry_id": "no-such-entry"},
            "config_entry_not_found",
            "There is no Skype for Business account with the config entry ID no-such-entry",
        ),
    ],
)
async def test_mark_bad_input_over_websocket(
    hass: HomeAssistant,
    *,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    data: dict[str, Any],
    key: str,
    message: str,
) -> None:
    """Bad input is a translated validation error and nothing is sent."""
    result = await ws_call(hass, hass_ws_client, "mark_as_read", data)
    assert result["success"] is False
    assert result["error"]["code"] == "service_validation_error"
    assert result["error"]["translation_key"] == key
    assert result["error"]["message"] == f"Validation error: {message}"
    assert marks_sent(simulator) == []


@pytest.mark.parametrize("simulator_options", [{"hidden_links": frozenset({"markAsRead"})}])
async def test_mark_without_link(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A log the server offers no markAsRead for: refused by name, or skipped in the sweep."""
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "mark_as_read", {"conversation_log": "last"}, blocking=True
        )
    assert str(err.value) == (
        f"The server does not offer markAsRead for the conversation log {missed_ids(simulator)[0]}"
    )
    await hass.services.async_call(DOMAIN, "mark_as_read", {}, blocking=True)
    assert marks_sent(simulator) == []


@pytest.mark.parametrize(
    ("status", "code", "subcode", "named"),
    [
        (409, "Conflict", "AlreadyExists", "HTTP 409 Conflict/AlreadyExists"),
        (503, "ServiceFailure", None, "HTTP 503 ServiceFailure"),
    ],
)
async def test_mark_refused_by_the_server(
    hass: HomeAssistant,
    *,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    status: int,
    code: str,
    subcode: str | None,
    named: str,
) -> None:
    """A markAsRead error is a translated HomeAssistantError naming what the server sent."""
    simulator.fail_next("POST", "markAsRead", status=status, code=code, subcode=subcode)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "mark_as_read", {"conversation_log": "last_missed"}, blocking=True
        )
    assert err.value.translation_key == "mark_as_read_failed"
    assert str(err.value) == (
        f"The Skype for Business server refused to mark the conversation as read: {named}"
    )


@pytest.mark.parametrize("simulator_options", [{"conversation_history": "absent"}])
async def test_without_history(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Without conversation history both actions say what the server withholds."""
    for service in ("mark_as_read", "get_conversation_logs"):
        with pytest.raises(HomeAssistantError) as err:
            await hass.services.async_call(
                DOMAIN, service, {}, blocking=True, return_response=service != "mark_as_read"
            )
        assert err.value.translation_key in ("link_not_offered", "conversation_history_unavailable")
    assert marks_sent(simulator) == []


async def get_logs(hass: HomeAssistant, **data: Any) -> list[dict[str, Any]]:
    """Call ucwa.get_conversation_logs and return its list."""
    response = await hass.services.async_call(
        DOMAIN, "get_conversation_logs", data, blocking=True, return_response=True
    )
    assert response is not None
    assert set(response) == {"conversation_logs"}
    logs: list[dict[str, Any]] = response["conversation_logs"]  # type: ignore[assignment]
    return logs


async def test_get_conversation_logs(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Newest first, each with its id and the sensors' attributes; limit and missed_only apply."""
    ordered = sorted(simulator.logs, key=lambda log: log.creation_time, reverse=True)
    logs = await get_logs(hass)
    assert [log["conversation_log_id"] for log in logs] == [log.log_id for log in ordered]
    sensor = hass.states.get("sensor.alice_contoso_com_last_conversation")
    assert sensor is not None
    first = dict(logs[0])
    assert first.pop("creation_time").startswith(ordered[0].creation_time.date().isoformat())
    assert first == {
        key: value
        for key, value in sensor.attributes.items()
        if key not in ("recent_conversations", "device_class", "friendly_name", "icon")
    }
    assert first["status"] == "missed"

    assert len(await get_logs(hass, limit=2)) == 2
    missed = await get_logs(hass, missed_only=True, limit=2)
    assert [log["conversation_log_id"] for log in missed] == missed_ids(simulator)[:2]
    assert {log["status"] for log in await get_logs(hass, missed_only=True)} == {"missed"}


@pytest.mark.parametrize(
    "data", [{"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"missed_only": "maybe"}]
)
async def test_get_conversation_logs_schema(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    data: dict[str, Any],
) -> None:
    """The schema refuses a limit outside 1-100 before the handler runs."""
    result = await ws_call(hass, hass_ws_client, "get_conversation_logs", data)
    assert result["success"] is False
    assert result["error"]["code"] == "invalid_format"


async def test_get_conversation_logs_requires_response(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A response-only action called without asking for the response is refused."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "get_conversation_logs", {}, blocking=True)
    assert err.value.translation_key == "service_lacks_response_request"


@pytest.mark.parametrize(
    ("exception", "message"),
    [
        (
            UcwaConnectionError("Error talking to pool.contoso.com (GET): ClientOSError"),
            (
                "Could not reach the Skype for Business server: Error talking to "
                "pool.contoso.com (GET): ClientOSError"
            ),
        ),
        (
            UcwaApiError(500, "ServiceFailure", "ExchangeTimeout"),
            (
                "The Skype for Business server answered with an error: "
                "HTTP 500 ServiceFailure/ExchangeTimeout"
            ),
        ),
    ],
)
async def test_get_conversation_logs_failures(
    hass: HomeAssistant,
    mock_client: MagicMock,
    mock_loaded_entry: MockConfigEntry,
    exception: Exception,
    message: str,
) -> None:
    """A failed read is a translated HomeAssistantError."""
    mock_client.get_conversation_logs.side_effect = exception
    with pytest.raises(HomeAssistantError) as err:
        await get_logs(hass)
    assert str(err.value) == message
