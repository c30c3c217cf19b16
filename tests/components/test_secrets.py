"""With DEBUG logging on, no password, token or `cwt=` value reaches a log record or an error."""

from __future__ import annotations

import logging
from unittest.mock import patch

from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]
from pytest_homeassistant_custom_component.components.diagnostics import (  # type: ignore[import-untyped,unused-ignore]
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.api import UcwaAuthenticationError
from custom_components.ucwa.const import DOMAIN
from simulator import Simulator

from .conftest import wait_for_state

MISSED = "sensor.alice_contoso_com_missed_conversations"


async def test_no_secret_in_logs_diagnostics_or_errors(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Run a whole session at DEBUG (setup, push, call-back, errors, expiry, unload)."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    tokens = set(simulator.issued_tokens)

    simulator.add_conversation_log(status="Missed")
    await wait_for_state(hass, MISSED, lambda s: s.state == "4")
    await hass.services.async_call(DOMAIN, "continue_phone_audio", {}, blocking=True)
    for status, code, subcode in (
        (409, "Conflict", "AlreadyExists"),
        (500, "ServiceFailure", None),
    ):
        simulator.fail_next("POST", "continuePhoneAudio", status=status, code=code, subcode=subcode)
        with pytest.raises(HomeAssistantError) as err:
            await hass.services.async_call(DOMAIN, "continue_phone_audio", {}, blocking=True)
        texts.append(str(err.value))
    with (
        patch(
            "custom_components.ucwa.api.UcwaClient.continue_phone_audio",
            side_effect=UcwaAuthenticationError("invalid_grant"),
        ),
        pytest.raises(HomeAssistantError) as err,
    ):
        await hass.services.async_call(DOMAIN, "continue_phone_audio", {}, blocking=True)
    texts.append(str(err.value))

    simulator.expire_tokens()
    simulator.add_conversation_log(status="Missed")
    await wait_for_state(hass, MISSED, lambda s: s.state == "5")
    tokens |= set(simulator.issued_tokens)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)
    texts.append(repr(diagnostics))

    # A refused password during setup logs too.
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_PASSWORD: "Wr0ng-Secret!"}
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert tokens
    texts.extend(record.getMessage() for record in caplog.records)
    texts.extend(
        caplog_formatter.formatException(record.exc_info)
        for record in caplog.records
        if record.exc_info
    )
    assert any("continuePhoneAudio" in text for text in texts)  # DEBUG logging did run
    for text in texts:
        for secret in (simulator.user.password, "Wr0ng-Secret!", "cwt=", *tokens):
            assert secret not in text, (secret, text)


caplog_formatter = logging.Formatter()
