"""Diagnostics: useful counters and logs, with secrets and personal data redacted everywhere."""

from __future__ import annotations

import json

from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.components.diagnostics import (  # type: ignore[import-untyped,unused-ignore]
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator  # type: ignore[import-untyped,unused-ignore]

from simulator import Simulator


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
