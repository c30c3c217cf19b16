"""Config flow: sign in for real before an account is added, re-authenticated or reconfigured."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import uuid4

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .api import (
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaError,
    UcwaSecurityError,
    is_phone_number,
)
from .const import (
    CONF_DISCOVERY_URL,
    CONF_ENDPOINT_ID,
    CONF_PHONE_NUMBER,
    CONF_SIGN_IN_ADDRESS,
    DOMAIN,
    LOGGER,
)
from .coordinator import build_client, default_phone_number

if TYPE_CHECKING:
    from collections.abc import Mapping

_EMAIL = TextSelector(TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username"))
_PASSWORD = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
)
_TEXT = TextSelector()
_TEL = TextSelector(TextSelectorConfig(type=TextSelectorType.TEL))
_URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))

ACCOUNT_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_SIGN_IN_ADDRESS): _EMAIL,
        vol.Required(CONF_PASSWORD): _PASSWORD,
        vol.Optional(CONF_USERNAME): _TEXT,
        vol.Required(CONF_PHONE_NUMBER): _TEL,
        vol.Optional(CONF_DISCOVERY_URL): _URL,
        vol.Required(CONF_VERIFY_SSL, default=True): BooleanSelector(),
    }
)
# Reconfigure: the stored password is kept when the field is left empty.
RECONFIGURE_SCHEMA = ACCOUNT_SCHEMA.extend({vol.Optional(CONF_PASSWORD): _PASSWORD})
REAUTH_SCHEMA = vol.Schema({vol.Required(CONF_PASSWORD): _PASSWORD})
OPTIONS_SCHEMA = vol.Schema({vol.Required(CONF_PHONE_NUMBER): _TEL})


def _clean(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Trim the text fields and leave out the optional ones left empty."""
    cleaned = {
        key: value.strip() if isinstance(value, str) and key != CONF_PASSWORD else value
        for key, value in user_input.items()
    }
    return {key: value for key, value in cleaned.items() if value != ""}


class UcwaConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a Skype for Business account."""

    VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> UcwaOptionsFlow:
        """Let the user change the default call-back number."""
        return UcwaOptionsFlow()

    async def _async_sign_in(self, data: Mapping[str, Any]) -> dict[str, str]:
        """Sign in with these settings (discovery, token, user resource); return form errors."""
        client = build_client(
            self.hass, data, phone_number=data[CONF_PHONE_NUMBER], endpoint_id=str(uuid4())
        )
        try:
            await client.sign_in()
        except UcwaAuthenticationError:
            return {"base": "invalid_auth"}
        except (UcwaConnectionError, UcwaSecurityError) as err:
            LOGGER.debug("Cannot reach the UCWA server: %s", err)
            return {"base": "cannot_connect"}
        except UcwaError:
            LOGGER.exception("Unexpected answer while signing in")
            return {"base": "unknown"}
        finally:
            await client.close()
        return {}

    async def _async_validate(self, user_input: Mapping[str, Any]) -> dict[str, str]:
        """Check the phone number first (nothing is sent then), then sign in."""
        if not is_phone_number(user_input[CONF_PHONE_NUMBER]):
            return {CONF_PHONE_NUMBER: "invalid_phone_number"}
        return await self._async_sign_in(user_input)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the account and sign in with it.

        An account already configured is refused before its password is sent anywhere. Another
        flow for the same address does not block this one (`raise_on_progress=False`): it is
        usually a form left open after an error in a closed tab, and Home Assistant closes it
        once this one creates the entry.

        After an error the form shows what was typed, password included, as Home Assistant's own
        user steps do: this person typed it in this browser a moment ago.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            user_input = _clean(user_input)
            await self.async_set_unique_id(
                user_input[CONF_SIGN_IN_ADDRESS].lower(), raise_on_progress=False
            )
            self._abort_if_unique_id_configured()
            if not (errors := await self._async_validate(user_input)):
                # Another window may have added it while this one was signing in.
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=user_input[CONF_SIGN_IN_ADDRESS], data=user_input
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(ACCOUNT_SCHEMA, user_input or {}),
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start re-authentication when the server refuses the stored password."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new password and sign in with it."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_PASSWORD: user_input[CONF_PASSWORD]}
            if not (errors := await self._async_sign_in(data)):
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_PASSWORD: user_input[CONF_PASSWORD]}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=REAUTH_SCHEMA,
            description_placeholders={CONF_SIGN_IN_ADDRESS: entry.data[CONF_SIGN_IN_ADDRESS]},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the connection settings of the same account.

        The form never shows the stored password; after an error it shows what was typed,
        including a new password if one was. Another reconfigure form of the account left open
        does not block this one.
        """
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        typed: dict[str, Any] | None = None
        if user_input is not None:
            typed = _clean(user_input)
            user_input = {CONF_PASSWORD: entry.data[CONF_PASSWORD], **typed}
            await self.async_set_unique_id(
                user_input[CONF_SIGN_IN_ADDRESS].lower(), raise_on_progress=False
            )
            self._abort_if_unique_id_mismatch()
            if not (errors := await self._async_validate(user_input)):
                # Keep the application's endpoint id, which the form does not show.
                kept = (
                    {CONF_ENDPOINT_ID: entry.data[CONF_ENDPOINT_ID]}
                    if CONF_ENDPOINT_ID in entry.data
                    else {}
                )
                # The options flow may have overridden the phone number: the one typed here wins.
                options = {**entry.options}
                if CONF_PHONE_NUMBER in options:
                    options[CONF_PHONE_NUMBER] = user_input[CONF_PHONE_NUMBER]
                return self.async_update_reload_and_abort(
                    entry,
                    title=user_input[CONF_SIGN_IN_ADDRESS],
                    data={**user_input, **kept},
                    options=options,
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                RECONFIGURE_SCHEMA,
                typed if typed is not None else _without_password({**entry.data, **entry.options}),
            ),
            errors=errors,
        )


def _without_password(data: Mapping[str, Any]) -> dict[str, Any]:
    """Suggested values from stored settings: the stored password never goes to the browser."""
    return {key: value for key, value in data.items() if key != CONF_PASSWORD}


class UcwaOptionsFlow(OptionsFlow):
    """Change the default call-back number; it is read each time the action runs."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the default phone number."""
        errors: dict[str, str] = {}
        if user_input is not None:
            number = user_input[CONF_PHONE_NUMBER].strip()
            if is_phone_number(number):
                return self.async_create_entry(data={CONF_PHONE_NUMBER: number})
            errors[CONF_PHONE_NUMBER] = "invalid_phone_number"
        entry = self.config_entry
        current = default_phone_number(entry)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, user_input or {CONF_PHONE_NUMBER: current}
            ),
            errors=errors,
        )
