"""The ucwa.continue_phone_audio action: responses, the exact request, bad input, server errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from unittest.mock import MagicMock, patch

from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.typing import WebSocketGenerator  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.api import (
    UcwaApiError,
    UcwaApplicationError,
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaConversationLogNotFoundError,
    UcwaLinkNotOfferedError,
    UcwaMalformedResponseError,
    UcwaTimeoutError,
)
from custom_components.ucwa.const import CONF_PHONE_NUMBER, DOMAIN
from simulator import CallbackOutcome, Seed, Simulator, default_seed

from .conftest import wait_for_state, ws_call

SERVICE = "continue_phone_audio"
CLIENT_CALL = "custom_components.ucwa.api.UcwaClient.continue_phone_audio"


def callbacks_sent(sim: Simulator) -> list[Any]:
    """Return the continuePhoneAudio requests the simulator received."""
    return [r for r in sim.requests if r.route == "continuePhoneAudio"]


def newest_log_id(sim: Simulator) -> str:
    """Return the stable id of the simulator's most recent log."""
    return max(sim.logs, key=lambda log: log.creation_time).log_id


async def call(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call the action and return its response."""
    response = await hass.services.async_call(
        DOMAIN, SERVICE, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def test_action_exists_before_any_entry(hass: HomeAssistant) -> None:
    """The action is registered by async_setup, whether or not an account is set up."""
    assert await async_setup_component(hass, DOMAIN, {})
    assert hass.services.has_service(DOMAIN, SERVICE)


async def test_defaults(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Without fields: the only loaded account, the most recent log, the entry's number."""
    response = await call(hass)

    [request] = callbacks_sent(simulator)
    log_id = newest_log_id(simulator)
    assert request.method == "POST"
    assert request.path.endswith(f"/communication/conversationLogs/{log_id}/continuePhoneAudio")
    assert json.loads(request.body) == {
        "operationId": response["operation_id"],
        "phoneNumber": "tel:+14255551234",
    }
    assert request.status == 201
    assert set(response) == {
        "invitation",
        "operation_id",
        "conversation_log",
        "phone_number",
        "display_name",
        "sip_uri",
    }
    assert response["conversation_log"] == log_id
    # Who the server connects you to: the other party of that conversation.
    assert response["display_name"] == "Bob Kelly"
    assert response["sip_uri"] == "sip:bob@contoso.com"
    assert response["phone_number"] == "tel:+14255551234"
    assert response["invitation"].startswith(simulator.base_url)
    assert "/communication/invitations/" in response["invitation"]
    assert 0 < len(response["operation_id"]) <= 50


async def test_all_fields(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """Every field is passed through: entry, log id, tel: number and operation id."""
    target = next(log for log in simulator.logs if log.recipients[0].display_name == "Carol Ruiz")
    response = await call(
        hass,
        config_entry_id=setup_integration.entry_id,
        conversation_log=target.log_id,
        phone_number="tel:+14255550100",
        operation_id="doorbell-callback_1",
    )
    [request] = callbacks_sent(simulator)
    assert request.path.endswith(f"/conversationLogs/{target.log_id}/continuePhoneAudio")
    assert json.loads(request.body) == {
        "operationId": "doorbell-callback_1",
        "phoneNumber": "tel:+14255550100",
    }
    assert response == {
        "invitation": response["invitation"],
        "operation_id": "doorbell-callback_1",
        "conversation_log": target.log_id,
        "phone_number": "tel:+14255550100",
        "display_name": "Carol Ruiz",
        "sip_uri": "sip:carol@contoso.com",
    }
    # What the simulator rang is what was asked.
    [callback_state] = simulator.state()["callbacks"]
    assert callback_state["operation_id"] == "doorbell-callback_1"
    assert callback_state["log_id"] == target.log_id


@pytest.mark.parametrize(("word", "name"), [("last", "Bob Kelly"), ("last_missed", "Bob Kelly")])
async def test_conversation_log_words(
    hass: HomeAssistant,
    *,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    word: str,
    name: str,
) -> None:
    """`last` and `last_missed` stand for the newest (missed) log, so nobody needs an id."""
    response = await call(hass, conversation_log=word)
    target = next(
        log
        for log in sorted(simulator.logs, key=lambda log: log.creation_time, reverse=True)
        if log.recipients[0].display_name == name
    )
    [request] = callbacks_sent(simulator)
    assert request.path.endswith(f"/conversationLogs/{target.log_id}/continuePhoneAudio")
    assert response["conversation_log"] == target.log_id


async def test_last_missed_skips_answered_logs(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """An answered call after the missed one: `last` is the answered, `last_missed` the missed."""
    answered = simulator.add_conversation_log(
        status="Archived",
        direction="Incoming",
        recipients=[{"display_name": "Carol Ruiz", "sip_uri": "sip:carol@contoso.com"}],
    )
    await wait_for_state(
        hass,
        "sensor.alice_contoso_com_last_conversation",
        lambda s: s.attributes.get("conversation_log_id") == answered.log_id,
    )
    assert (await call(hass, conversation_log="last"))["conversation_log"] == answered.log_id
    missed = (await call(hass, conversation_log="last_missed"))["conversation_log"]
    assert missed != answered.log_id
    assert [r.path.rsplit("/", 2)[-2] for r in callbacks_sent(simulator)] == [
        answered.log_id,
        missed,
    ]


ANSWERED_ONLY = Seed(
    default_seed().user, [log for log in default_seed().logs if log["status"] != "Missed"]
)


@pytest.mark.parametrize("simulator_options", [{"seed": ANSWERED_ONLY}])
async def test_no_missed_log_over_websocket(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """`last_missed` without a missed log is a translated validation error; nothing is sent."""
    result = await ws_call(hass, hass_ws_client, SERVICE, {"conversation_log": "last_missed"})
    assert result["success"] is False
    assert result["error"]["code"] == "service_validation_error"
    assert result["error"]["translation_key"] == "no_missed_conversation_logs"
    assert result["error"]["message"] == (
        "Validation error: The account has no recent missed conversation"
    )
    assert callbacks_sent(simulator) == []


async def test_option_number_read_at_use_time(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A new default number from the options flow applies at once, without a reload."""
    hass.config_entries.async_update_entry(
        setup_integration, options={CONF_PHONE_NUMBER: "+14255550111"}
    )
    response = await call(hass)
    [request] = callbacks_sent(simulator)
    assert json.loads(request.body)["phoneNumber"] == "tel:+14255550111"
    assert response["phone_number"] == "tel:+14255550111"


@pytest.mark.parametrize(
    ("outcome", "status", "reason"),
    [
        (CallbackOutcome(step_delay=0.01), "Success", None),
        (
            CallbackOutcome.failure(step_delay=0.01),
            "Failure",
            {"code": "RemoteFailure", "subcode": "Declined", "message": "The call was declined."},
        ),
    ],
)
async def test_invitation_events(
    hass: HomeAssistant,
    *,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    outcome: CallbackOutcome,
    status: str,
    reason: dict[str, str] | None,
) -> None:
    """ucwa_phone_audio_invitation fires started, updated and completed with status and reason."""
    simulator.set_callback_outcome(outcome)
    events: list[Event] = []
    completed: asyncio.Future[Event] = hass.loop.create_future()

    @callback
    def _listener(event: Event) -> None:
        events.append(event)
        if event.data["type"] == "completed" and not completed.done():
            completed.set_result(event)

    hass.bus.async_listen("ucwa_phone_audio_invitation", _listener)
    response = await call(hass, operation_id="op-events")
    done = await asyncio.wait_for(completed, 10)

    types = [event.data["type"] for event in events]
    assert types[0] == "started"
    assert "updated" in types
    assert types[-1] == "completed"
    for event in events:
        assert event.data["operation_id"] == "op-events"
        assert event.data["config_entry_id"] == setup_integration.entry_id
        assert event.data["invitation"] == response["invitation"]
    assert done.data["status"] == status
    assert done.data["reason"] == reason


async def test_account_required_when_none_loaded(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """With no loaded entry (or several), config_entry_id is required; nothing is sent."""
    await hass.config_entries.async_unload(setup_integration.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass)
    assert err.value.translation_key == "config_entry_required"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, config_entry_id=setup_integration.entry_id)
    assert err.value.translation_key == "config_entry_not_loaded"
    assert str(err.value) == "The Skype for Business account alice@contoso.com is not loaded"
    assert callbacks_sent(simulator) == []


BAD_INPUT = [
    (
        {"phone_number": "4255551234"},
        "invalid_phone_number",
        (
            "The phone number 4255551234 is not valid: use + and digits (E.164), such as "
            "+14255551234, or tel:+14255551234"
        ),
    ),
    (
        {"phone_number": "425 555 1234"},
        "invalid_phone_number",
        (
            "The phone number 425 555 1234 is not valid: use + and digits (E.164), such as "
            "+14255551234, or tel:+14255551234"
        ),
    ),
    (
        {"phone_number": "tel:+12"},
        "invalid_phone_number",
        (
            "The phone number tel:+12 is not valid: use + and digits (E.164), such as "
            "+14255551234, or tel:+14255551234"
        ),
    ),
    (
        {"phone_number": "sip:bob@contoso.com"},
        "invalid_phone_number",
        (
            "The phone number sip:bob@contoso.com is not valid: use + and digits (E.164), such as "
            "+14255551234, or tel:+14255551234"
        ),
    ),
    (
        {"operation_id": "x" * 51},
        "invalid_operation_id",
        "The operation ID must have 1 to 50 characters, each a letter, a digit or one of . _ ~ -",
    ),
    (
        {"operation_id": "has space"},
        "invalid_operation_id",
        "The operation ID must have 1 to 50 characters, each a letter, a digit or one of . _ ~ -",
    ),
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
]


@pytest.mark.parametrize(("data", "key", "message"), BAD_INPUT)
async def test_bad_input_over_websocket(
    hass: HomeAssistant,
    *,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    data: dict[str, Any],
    key: str,
    message: str,
) -> None:
    """Bad input is a translated service_validation_error, and nothing reaches the server."""
    result = await ws_call(hass, hass_ws_client, SERVICE, data)
    assert result["success"] is False
    assert result["error"]["code"] == "service_validation_error"
    assert result["error"]["translation_key"] == key
    assert result["error"]["translation_domain"] == DOMAIN
    assert result["error"]["message"] == f"Validation error: {message}"
    assert callbacks_sent(simulator) == []

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, **data)
    assert err.value.translation_key == key
    assert str(err.value) == message


@pytest.mark.parametrize(
    "data",
    [
        {"phone_number": ["+14255551234"]},
        {"operation_id": {"id": 1}},
        {"unknown_field": "x"},
    ],
)
async def test_malformed_data_over_websocket(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    data: dict[str, Any],
) -> None:
    """Data of the wrong shape fails the schema (invalid_format) before the handler runs."""
    result = await ws_call(hass, hass_ws_client, SERVICE, data)
    assert result["success"] is False
    assert result["error"]["code"] == "invalid_format"
    assert callbacks_sent(simulator) == []


@pytest.mark.parametrize("simulator_options", [{"seed": Seed(default_seed().user, [])}])
async def test_no_logs(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """An empty history: the sensors are unknown and the action explains why it cannot run."""
    assert hass.states.get("sensor.alice_contoso_com_last_conversation").state == "unknown"  # type: ignore[union-attr]
    assert hass.states.get("sensor.alice_contoso_com_missed_conversations").state == "0"  # type: ignore[union-attr]
    with pytest.raises(ServiceValidationError) as err:
        await call(hass)
    assert err.value.translation_key == "no_conversation_logs"
    assert str(err.value) == "The account has no conversation logs to continue"
    assert callbacks_sent(simulator) == []


@pytest.mark.parametrize("simulator_options", [{"hidden_links": frozenset({"continuePhoneAudio"})}])
async def test_log_without_call_back(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A log the server offers no continuePhoneAudio link for is refused before sending."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass)
    assert err.value.translation_key == "conversation_log_not_continuable"
    assert str(err.value) == (
        "The server does not offer continuePhoneAudio for the conversation log "
        f"{newest_log_id(simulator)}"
    )
    assert callbacks_sent(simulator) == []


SERVER_ERRORS = [
    (500, "ServiceFailure", "CallbackChannelError", 2),
    (409, "Conflict", "AlreadyExists", 1),
    (409, "Conflict", "TooManyGroups", 1),
    (409, "Conflict", None, 1),
    (410, "Gone", "CannotRedirect", 1),
]


@pytest.mark.parametrize(("status", "code", "subcode", "posts"), SERVER_ERRORS)
async def test_server_errors(
    hass: HomeAssistant,
    *,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    status: int,
    code: str,
    subcode: str | None,
    posts: int,
) -> None:
    """Each documented error is a translated HomeAssistantError naming code and subcode.

    A subcode the server did not send is left out. The client repeats a 500
    CallbackChannelError once after re-parking its event channel, so that one needs two
    failures in a row.
    """
    named = f"HTTP {status} {code}/{subcode}" if subcode else f"HTTP {status} {code}"
    expected = f"The Skype for Business server refused the call-back: {named}"
    simulator.fail_next(
        "POST", "continuePhoneAudio", status=status, code=code, subcode=subcode, count=posts
    )
    with pytest.raises(HomeAssistantError) as err:
        await call(hass)
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == "continue_phone_audio_failed"
    assert str(err.value) == expected
    assert len(callbacks_sent(simulator)) == posts

    # The same over the websocket API, as the frontend sees it.
    simulator.fail_next(
        "POST", "continuePhoneAudio", status=status, code=code, subcode=subcode, count=posts
    )
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": SERVICE,
            "service_data": {},
            "return_response": True,
        }
    )
    result = await client.receive_json()
    assert result["success"] is False
    assert result["error"]["code"] == "home_assistant_error"
    assert result["error"]["message"] == expected


async def test_dropped_connection(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A connection lost before the answer is reported, and the call is not repeated."""
    simulator.drop_next("POST", "continuePhoneAudio")
    with pytest.raises(HomeAssistantError) as err:
        await call(hass)
    assert err.value.translation_key == "cannot_connect"
    assert str(err.value).startswith("Could not reach the Skype for Business server: ")
    assert len(callbacks_sent(simulator)) == 1


@pytest.mark.parametrize(
    ("exception", "key", "message"),
    [
        (
            UcwaTimeoutError("Timeout talking to pool"),
            "timeout",
            (
                "The Skype for Business server did not answer in time. The call-back may still "
                "ring; check the ucwa_phone_audio_invitation events before trying again"
            ),
        ),
        (
            UcwaMalformedResponseError("continuePhoneAudio answered without a Location"),
            "request_failed",
            (
                "The Skype for Business request failed: continuePhoneAudio answered without a "
                "Location"
            ),
        ),
        (
            UcwaLinkNotOfferedError("continuePhoneAudio", "conversationLog"),
            "link_not_offered",
            "The server does not offer continuePhoneAudio for this account",
        ),
        (
            UcwaConversationLogNotFoundError("534e445ee854436a8abe02c24985f78a"),
            "conversation_log_not_found",
            "There is no recent conversation log with the ID 534e445ee854436a8abe02c24985f78a",
        ),
        (
            UcwaConnectionError("Error talking to pool.contoso.com (POST): ClientOSError"),
            "cannot_connect",
            (
                "Could not reach the Skype for Business server: Error talking to "
                "pool.contoso.com (POST): ClientOSError"
            ),
        ),
        (
            UcwaApiError(409, "Conflict", "AlreadyExists"),
            "continue_phone_audio_failed",
            (
                "The Skype for Business server refused the call-back: "
                "HTTP 409 Conflict/AlreadyExists"
            ),
        ),
        # What the server did not send is left out, never shown as "None".
        (
            UcwaApiError(503, "ServiceFailure"),
            "continue_phone_audio_failed",
            "The Skype for Business server refused the call-back: HTTP 503 ServiceFailure",
        ),
        (
            UcwaApiError(502, None),
            "continue_phone_audio_failed",
            "The Skype for Business server refused the call-back: HTTP 502",
        ),
    ],
)
async def test_client_failures(
    hass: HomeAssistant,
    *,
    mock_client: MagicMock,
    mock_loaded_entry: MockConfigEntry,
    exception: Exception,
    key: str,
    message: str,
) -> None:
    """Failures without a UCWA error body map to their own translated messages."""
    mock_client.continue_phone_audio.side_effect = exception
    with pytest.raises(HomeAssistantError) as err:
        await call(hass)
    assert err.value.translation_key == key
    assert str(err.value) == message
    mock_client.continue_phone_audio.assert_awaited_once()


async def test_refused_credentials_start_reauth(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Credentials refused during the action start the reauth flow."""
    with (
        patch(CLIENT_CALL, side_effect=UcwaAuthenticationError("invalid_grant")),
        pytest.raises(HomeAssistantError) as err,
    ):
        await call(hass)
    assert err.value.translation_key == "invalid_auth"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize(
    ("refusal", "named"),
    [
        (
            UcwaApplicationError(410, "Gone", "TooManyApplications"),
            "HTTP 410 Gone/TooManyApplications",
        ),
        (UcwaApplicationError(403, "Forbidden"), "HTTP 403 Forbidden"),
    ],
)
async def test_refused_application_raises_issue(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    refusal: UcwaApplicationError,
    named: str,
) -> None:
    """A refused application during the action raises the repair issue too, naming what came."""
    with (
        patch(CLIENT_CALL, side_effect=refusal),
        pytest.raises(HomeAssistantError) as err,
    ):
        await call(hass)
    assert str(err.value) == f"The Skype for Business server refused the call-back: {named}"
    issue = issue_registry.async_get_issue(
        DOMAIN, f"application_refused_{setup_integration.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders == {"error": named, "entry_title": "alice@contoso.com"}


async def test_log_id_survives_new_application_and_restart(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """The sensors' conversation_log_id still works after the application and HA restart."""
    state = hass.states.get("sensor.alice_contoso_com_last_missed_conversation")
    assert state is not None
    log_id = state.attributes["conversation_log_id"]

    old_apps = simulator.drop_application(kind="not_found")
    creates = simulator.route_counts["POST applications"]
    response = await call(hass, conversation_log=log_id)
    assert response["conversation_log"] == log_id
    assert simulator.route_counts["POST applications"] == creates + 1
    # At most one POST reached the dead application (404, not acted on) before the new one.
    *refused, request = callbacks_sent(simulator)
    assert [r.status for r in refused] in ([], [404])
    assert request.status == 201
    assert not any(f"/applications/{app}/" in request.path for app in old_apps)
    assert request.path.endswith(f"/conversationLogs/{log_id}/continuePhoneAudio")

    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    response = await call(hass, conversation_log=log_id)
    assert response["conversation_log"] == log_id
    assert callbacks_sent(simulator)[-1].status == 201
    assert callbacks_sent(simulator)[-1].path.endswith(f"/{log_id}/continuePhoneAudio")
