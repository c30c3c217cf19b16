"""The config flow signs in to the simulator for real: user, reauth, reconfigure and options."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import AsyncMock, MagicMock

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, UnknownFlow
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa.api import (
    UcwaApiError,
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaSecurityError,
)
from custom_components.ucwa.const import (
    CONF_DISCOVERY_URL,
    CONF_ENDPOINT_ID,
    CONF_PHONE_NUMBER,
    CONF_SIGN_IN_ADDRESS,
    DOMAIN,
)
from simulator import Simulator

from .conftest import ENDPOINT_ID, entry_data

pytestmark = pytest.mark.usefixtures("mock_setup_entry")


def user_input(sim: Simulator, **changes: Any) -> dict[str, Any]:
    """Return what a person types in the form to add the simulator's demo user.

    That is the entry's data without the endpoint id, which the integration adds itself.
    """
    data = entry_data(sim, **changes)
    del data[CONF_ENDPOINT_ID]
    return data


def suggested_values(result: Any) -> dict[str, Any]:
    """Return what a form shows filled in: its suggested values, and defaults otherwise."""
    assert result["data_schema"] is not None
    values = {}
    for key in result["data_schema"].schema:
        suggested = (key.description or {}).get("suggested_value")
        default = key.default() if callable(key.default) else None
        if (value := default if suggested is None else suggested) is not None:
            values[str(key)] = value
    return values


async def test_user_flow(
    hass: HomeAssistant, simulator: Simulator, mock_setup_entry: AsyncMock
) -> None:
    """The form signs in for real, then creates the entry keyed by the lower-case address."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        user_input(
            simulator,
            **{CONF_SIGN_IN_ADDRESS: " Alice@Contoso.com ", CONF_USERNAME: ""},
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Alice@Contoso.com"
    assert result["data"] == {
        CONF_SIGN_IN_ADDRESS: "Alice@Contoso.com",
        CONF_PASSWORD: simulator.user.password,
        CONF_PHONE_NUMBER: simulator.user.phone_number,
        CONF_DISCOVERY_URL: simulator.discovery_url,
        CONF_VERIFY_SSL: True,
    }
    assert result["result"].unique_id == "alice@contoso.com"
    assert len(mock_setup_entry.mock_calls) == 1
    # Signing in asked the simulator for a token, and created no application.
    assert simulator.route_counts
    assert not any(
        r.method == "POST" and r.path.endswith("/applications") for r in simulator.requests
    )


async def test_user_flow_with_username(hass: HomeAssistant, simulator: Simulator) -> None:
    """A logon name different from the sign-in address is kept."""
    assert simulator.user.username is not None
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator, **{CONF_USERNAME: simulator.user.username})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_USERNAME] == simulator.user.username


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_PASSWORD: "wrong"}, {"base": "invalid_auth"}),
        ({CONF_DISCOVERY_URL: "http://127.0.0.1:9/autodiscover"}, {"base": "cannot_connect"}),
        ({CONF_PHONE_NUMBER: "4255551234"}, {CONF_PHONE_NUMBER: "invalid_phone_number"}),
        ({CONF_PHONE_NUMBER: "425 555 1234"}, {CONF_PHONE_NUMBER: "invalid_phone_number"}),
    ],
)
async def test_user_flow_errors_then_recovery(
    hass: HomeAssistant,
    simulator: Simulator,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Each error shows the form again with what was typed; the right values then succeed.

    The password comes back too, as in Home Assistant's own user steps: this person typed it in
    this browser a moment ago, and an error in another field must not make them type it again.
    """
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    typed = user_input(simulator, **changes)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    assert suggested_values(result) == typed

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("exception", "error"),
    [
        (UcwaAuthenticationError("invalid_grant"), "invalid_auth"),
        (UcwaConnectionError("refused"), "cannot_connect"),
        (UcwaSecurityError("redirect to another domain"), "cannot_connect"),
        (UcwaApiError(500, "ServiceFailure", "Unknown"), "unknown"),
    ],
)
async def test_user_flow_client_errors(
    hass: HomeAssistant,
    mock_client: MagicMock,
    mock_setup_entry: AsyncMock,
    exception: Exception,
    error: str,
) -> None:
    """Every client error maps to a form error, and the flow recovers."""
    data = {
        CONF_SIGN_IN_ADDRESS: "alice@contoso.com",
        CONF_PASSWORD: "secret",
        CONF_PHONE_NUMBER: "+14255551234",
        CONF_VERIFY_SSL: True,
    }
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    mock_client.sign_in.side_effect = exception
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    mock_client.close.assert_awaited_once()

    mock_client.sign_in.side_effect = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_client.sign_in.await_count == 2
    mock_setup_entry.assert_awaited_once()


async def test_user_flow_already_configured(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """The same account, in any case, cannot be added twice."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        user_input(simulator, **{CONF_SIGN_IN_ADDRESS: "ALICE@contoso.com"}),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_abandoned_form_does_not_block_the_account(
    hass: HomeAssistant, simulator: Simulator, mock_setup_entry: AsyncMock
) -> None:
    """A form left open after an error (the tab closed) does not block a new try.

    The new flow for the same address signs in and creates the entry; the abandoned one is
    closed by Home Assistant then, so it cannot add the account a second time.
    """
    flow = hass.config_entries.flow
    abandoned = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await flow.async_configure(
        abandoned["flow_id"], user_input(simulator, **{CONF_PASSWORD: "wrong"})
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    result = await flow.async_configure(result["flow_id"], user_input(simulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == simulator.user.sign_in_address.lower()
    assert flow.async_progress() == []
    mock_setup_entry.assert_awaited_once()


async def test_two_forms_submitted_at_once(
    hass: HomeAssistant, mock_client: MagicMock, mock_setup_entry: AsyncMock
) -> None:
    """Two windows submit the same account together: one entry; the slower one is refused."""
    data = {
        CONF_SIGN_IN_ADDRESS: "alice@contoso.com",
        CONF_PASSWORD: "secret",
        CONF_PHONE_NUMBER: "+14255551234",
        CONF_VERIFY_SSL: True,
    }
    signing_in, answer = asyncio.Event(), asyncio.Event()

    async def slow_then_fast() -> None:
        if not signing_in.is_set():
            signing_in.set()
            await answer.wait()

    mock_client.sign_in.side_effect = slow_then_fast
    flow = hass.config_entries.flow
    slow = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    fast = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    slow_result = hass.async_create_task(flow.async_configure(slow["flow_id"], data))
    await signing_in.wait()
    result = await flow.async_configure(fast["flow_id"], data)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    created = result["result"].entry_id
    answer.set()
    # Home Assistant closed the slower flow when the entry was created; it must not add a
    # second entry when its sign-in returns. The window then hears that its flow is gone
    # (2025.4) or that the account is already configured (later releases).
    try:
        result = await slow_result
    except UnknownFlow:
        pass
    else:
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"
    assert [entry.entry_id for entry in hass.config_entries.async_entries(DOMAIN)] == [created]
    mock_setup_entry.assert_awaited_once()


async def test_already_configured_before_signing_in(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """A second entry for a configured address is refused before the password is sent."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert [r for r in simulator.requests if r.route == "oauthtoken"] == []


async def test_reauth(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """Reauth asks for the password only, checks it, then stores it; a wrong one is refused."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_PASSWORD: "old"}
    )
    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert (
        result["description_placeholders"][CONF_SIGN_IN_ADDRESS] == simulator.user.sign_in_address
    )

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "still wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: simulator.user.password}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_PASSWORD] == simulator.user.password
    assert mock_config_entry.data[CONF_ENDPOINT_ID] == ENDPOINT_ID


async def test_reconfigure(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """Reconfigure shows the current settings (not the password) and replaces them."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["data_schema"] is not None
    suggested = {
        str(key): (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }
    assert suggested[CONF_SIGN_IN_ADDRESS] == simulator.user.sign_in_address
    assert suggested[CONF_PASSWORD] is None

    typed = user_input(simulator, **{CONF_PHONE_NUMBER: "12"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_PHONE_NUMBER: "invalid_phone_number"}
    # The password typed here comes back (not the stored one, which never leaves).
    assert suggested_values(result) == typed

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        user_input(
            simulator,
            **{CONF_PHONE_NUMBER: "+14255550100", CONF_USERNAME: simulator.user.username},
        ),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data == {
        **user_input(simulator),
        CONF_PHONE_NUMBER: "+14255550100",
        CONF_USERNAME: simulator.user.username,
        CONF_ENDPOINT_ID: ENDPOINT_ID,
    }
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_reconfigure_other_account(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """Reconfigure cannot turn the entry into another account."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator, **{CONF_SIGN_IN_ADDRESS: "bob@contoso.com"})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert mock_config_entry.data[CONF_SIGN_IN_ADDRESS] == simulator.user.sign_in_address


async def test_abandoned_reconfigure_does_not_block_the_next(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """A reconfigure form left open after an error does not block another reconfigure."""
    mock_config_entry.add_to_hass(hass)
    abandoned = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        abandoned["flow_id"], user_input(simulator, **{CONF_PASSWORD: "wrong"})
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator, **{CONF_PHONE_NUMBER: "+14255550100"})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_PHONE_NUMBER] == "+14255550100"


async def test_reconfigure_cannot_connect(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """A reconfigure that cannot reach the server keeps the form, then recovers."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        user_input(simulator, **{CONF_DISCOVERY_URL: "http://127.0.0.1:9/autodiscover"}),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


async def test_options_flow(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """The options flow changes the default call-back number, refusing a malformed one."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["data_schema"] is not None
    schema_key = next(iter(result["data_schema"].schema))
    assert schema_key.description["suggested_value"] == mock_config_entry.data[CONF_PHONE_NUMBER]

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PHONE_NUMBER: "tel:12"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_PHONE_NUMBER: "invalid_phone_number"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PHONE_NUMBER: " tel:+14255550100 "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {CONF_PHONE_NUMBER: "tel:+14255550100"}


async def test_reconfigure_replaces_the_phone_number_set_in_options(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """The form shows the number in effect (from options) and the one typed there wins."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={CONF_PHONE_NUMBER: "+14255550199"}
    )
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["data_schema"] is not None
    suggested = {
        str(key): (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }
    assert suggested[CONF_PHONE_NUMBER] == "+14255550199"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator, **{CONF_PHONE_NUMBER: "+14255550100"})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_PHONE_NUMBER] == "+14255550100"
    assert mock_config_entry.options == {CONF_PHONE_NUMBER: "+14255550100"}


async def test_reconfigure_keeps_the_stored_password_when_left_empty(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """Changing the discovery URL does not make the user type the password again.

    After an error the form comes back with the password still empty: the stored one is never
    sent to the browser.
    """
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    typed = user_input(simulator, **{CONF_PASSWORD: ""})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**typed, CONF_PHONE_NUMBER: "12"}
    )
    assert result["errors"] == {CONF_PHONE_NUMBER: "invalid_phone_number"}
    shown = suggested_values(result)
    assert CONF_PASSWORD not in shown
    assert simulator.user.password not in shown.values()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_PASSWORD] == simulator.user.password
    tokens = [r for r in simulator.requests if r.route == "oauthtoken"]
    assert [r.status for r in tokens] == [200]  # it signed in with the stored password
