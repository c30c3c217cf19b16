"""Diagnostics: useful counters and logs, with secrets and personal data redacted everywhere."""

from __future__ import annotations

from dataclasses import replace
import json

from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.components.diagnostics import (  # type: ignore[import-untyped,unused-ignore]
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.api import Note, Presence
from simulator import Simulator

from .conftest import wait_for_state


async def test_diagnostics_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
) -> None:
    """No password, token, address, user name, SIP URI or phone number survives."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)
    text = json.dumps(diagnostics)

    assert diagnostics["last_update_success"] is True
    assert diagnostics["entry"]["title"] == REDACTED
    assert diagnostics["entry"]["unique_id"] == REDACTED
    data = diagnostics["entry"]["data"]
    for key in ("password", "sign_in_address", "phone_number", "discovery_url"):
        assert data[key] == REDACTED
    assert data["endpoint_id"] == setup_integration.data["endpoint_id"]
    assert diagnostics["data"]["missed_items"]["missed_conversations_count"] == 3
    logs = diagnostics["data"]["conversation_logs"]
    assert len(logs) == len(simulator.logs)
    assert {log["status"] for log in logs} == {"Missed", "Archived"}
    assert all(r["sip_uri"] == REDACTED for log in logs for r in log["recipients"])
    # Server host names: every link of a log, and any URL left in text.
    for log in logs:
        for key in ("href", "continue_phone_audio_href", "mark_as_read_href"):
            assert log[key] == REDACTED, key

    secrets = [
        simulator.user.password,
        simulator.user.sign_in_address,
        "alice",
        "contoso.com",
        "cwt=",
        "sip:",
        "tel:",
        "+1425",
        "+1 425",
        "+1206",
        "Bob Kelly",
        "127.0.0.1",
        simulator.base_url,
        *simulator.issued_tokens,
    ]
    for secret in secrets:
        assert secret not in text, secret


async def test_diagnostics_scrub_text_and_options(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
) -> None:
    """Options and free text (a meeting URI, a number in a preview) are scrubbed too."""
    hass.config_entries.async_update_entry(
        setup_integration, options={"phone_number": "+14255550111"}
    )
    simulator.add_conversation_log(
        status="Archived",
        preview_message="Call me on +1 (425) 555-0177 or mail zoe@contoso.com",
        recipients=[{"display_name": "Zoe", "sip_uri": "sip:zoe@contoso.com"}],
    )
    await setup_integration.runtime_data.async_refresh()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)
    text = json.dumps(diagnostics)
    assert diagnostics["entry"]["options"]["phone_number"] == REDACTED
    for secret in ("555-0177", "zoe@", "+14255550111", "sip:", "127.0.0.1"):
        assert secret not in text, secret


async def test_diagnostics_session(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
) -> None:
    """The session: the event channel, the links the pool offers by name, the request budget."""
    await simulator.wait_for_parked_pget()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)
    session = diagnostics["session"]
    assert session["signed_in"] is True
    assert session["application"] is True
    assert session["event_channel"] == "connected"
    assert session["event_channel_failures"] == 0
    assert session["last_error"] is None
    # Rel names only, as the trace profile's pool offers them after makeMeAvailable.
    assert {"conversationLogs", "missedItems", "startPhoneAudio"} <= set(
        session["links"]["communication"]
    )
    # me after makeMeAvailable (re-read for its presence and note links): those instead of
    # makeMeAvailable, as MeDashboard.md has it.
    assert {"presence", "note", "location"} <= set(session["links"]["me"])
    assert "makeMeAvailable" not in session["links"]["me"]
    assert {"events", "batch"} <= set(session["links"]["application"])
    # What the client counts is what the pool received.
    counts = simulator.route_counts
    assert counts["GET presence"] == counts["GET note"] == 1
    assert session["counts"] == {
        "requests": len([r for r in simulator.requests if not r.in_batch]),
        "pgets": counts["GET events"],
        "discoveries": 1,
        "token_grants": counts["POST oauthtoken"],
        "applications_created": counts["POST applications"],
        "missed_items_reads": counts["GET missedItems"],
        "log_list_reads": counts["GET conversationLogs"],
        "re_reads": 0,
        # One read each at setup (the first refresh); events push the rest.
        "presence_reads": counts["GET presence"],
        "note_reads": counts["GET note"],
    }

    # A missed call: one re-read of counters and list, pushed by the event channel.
    simulator.add_conversation_log(status="Missed")
    await wait_for_state(
        hass, "sensor.alice_contoso_com_missed_conversations", lambda s: s.state == "4"
    )
    await simulator.wait_for_parked_pget()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)
    assert diagnostics["session"]["counts"]["re_reads"] == 1
    assert diagnostics["session"]["counts"]["pgets"] == simulator.route_counts["GET events"]


async def next_pgets(simulator: Simulator, count: int) -> None:
    """Answer the parked P-GET with a missed call, then wait until `count` more P-GETs came.

    The client records what went wrong with a P-GET before it sends the next one.
    """
    await simulator.wait_for_parked_pget()
    sent = simulator.route_counts["GET events"]
    simulator.add_conversation_log(status="Missed")
    await simulator.wait_for_request("GET", "events", count=sent + count, seconds=10)


async def test_diagnostics_last_error_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
) -> None:
    """The session's last error says what failed, without host, token, password, SIP or phone."""
    token = next(iter(simulator.issued_tokens))
    simulator.fail_next(
        "GET",
        "events",
        status=503,
        code="ServiceFailure",
        message=(
            f"{simulator.user.password} {token} cwt=AAAA sip:bob@contoso.com +1 425 555 0100 "
            f"{simulator.base_url}/ucwa/oauth/v1/applications pool.contoso.com [::1]:443"
        ),
    )
    await next_pgets(simulator, 2)  # the failed one, then the one after the back-off
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)
    error = diagnostics["session"]["last_error"]
    assert (error["kind"], error["status"], error["code"], error["subcode"]) == (
        "UcwaApiError",
        503,
        "ServiceFailure",
        None,
    )
    assert error["at"]
    assert "<host>" in error["message"]
    assert diagnostics["session"]["event_channel_failures"] == 1  # until the next one answers

    # aiohttp sends a GET once more on a new connection when a reused one is closed on it.
    simulator.drop_next("GET", "events", count=2)
    await next_pgets(simulator, 3)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)
    error = diagnostics["session"]["last_error"]
    assert error["kind"] == "UcwaConnectionError"
    assert error["message"] == "Error talking to <host> (GET): ServerDisconnectedError"

    text = json.dumps(diagnostics["session"]) + json.dumps(
        setup_integration.runtime_data.client.session_info().last_error.message
    )
    for secret in (
        simulator.user.password,
        token,
        "cwt=AAAA",
        "sip:",
        "contoso.com",
        "425 555",
        "127.0.0.1",
        "::1",
        simulator.base_url,
    ):
        assert secret not in text, secret


@pytest.mark.parametrize("simulator_options", [{"conversation_history": "absent"}])
async def test_diagnostics_name_what_the_server_withholds(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
) -> None:
    """A withheld capability is listed by rel with the reason, as the repair issue says it."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)
    assert diagnostics["data"]["conversation_logs"] is None
    assert diagnostics["data"]["unavailable"]["conversationLogs"] == (
        "The server does not offer conversationLogs for this account"
    )


async def test_diagnostics_redact_the_note(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    setup_integration: MockConfigEntry,
) -> None:
    """Presence shows (what on_a_call went by); the note's text is the user's own words."""
    coordinator = setup_integration.runtime_data
    coordinator.async_set_updated_data(
        replace(
            coordinator.data,
            presence=Presence("Busy", "on-the-phone"),
            note=Note("Heads down today", "Personal"),
        )
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)
    assert diagnostics["data"]["presence"] == {"availability": "Busy", "activity": "on-the-phone"}
    assert diagnostics["data"]["note"] == {"message": REDACTED, "type": "Personal"}
    assert "Heads down" not in json.dumps(diagnostics)
