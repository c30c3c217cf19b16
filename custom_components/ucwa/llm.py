"""Tools for LLM agents: the `llm` platform of Home Assistant 2026.8 and later.

From 2026.8 Home Assistant offers an LLM agent only the tools that integrations return from
`async_get_tools(hass, llm_context, api_id)` here (registered intents are no longer wrapped by
themselves). Up to 2026.7 nothing loads this module: the Assist API wraps the registered
`UcwaCallBack` intent as a tool instead, and that runs the same logic.

Home Assistant 2025.4 must still import the integration, so only names 2025.4 has are imported at
module level (`helpers.llm.Tool`, `ToolInput`, `LLMContext`, `LLM_API_ASSIST`); `LLMTools`
(2026.8, `homeassistant.components.llm`) and `ToolResult` (2026.10, `helpers.llm`) are looked up
when used.
"""

from __future__ import annotations

import importlib
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, llm
import voluptuous as vol

from .const import DOMAIN
from .intent import (
    ACCOUNT_DESCRIPTION,
    DESCRIPTION,
    NAME_DESCRIPTION,
    SLOT_ACCOUNT,
    SLOT_NAME,
    async_call_back,
)

TOOL_CALL_BACK: Final = f"{DOMAIN}__call_back"
"""Tool names carry the integration's domain and two underscores (2026.8 convention)."""


def tool_result(data: dict[str, Any], *, error: bool) -> Any:
    """Wrap a tool's answer: `llm.ToolResult` from 2026.10, the JSON object before."""
    result_class = getattr(llm, "ToolResult", None)
    if result_class is None:
        return data
    return result_class(data=data, error=error)


class CallBackTool(llm.Tool):
    """Call the user back about a past Skype for Business conversation."""

    name = TOOL_CALL_BACK
    description = DESCRIPTION
    # Who provides the tool (2026.10 reports a tool without it, and will require it in 2027.10).
    integration = DOMAIN
    parameters = vol.Schema(
        {
            vol.Optional(SLOT_NAME, description=NAME_DESCRIPTION): cv.string,
            vol.Optional(SLOT_ACCOUNT, description=ACCOUNT_DESCRIPTION): cv.string,
        }
    )

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> Any:
        """Run `ucwa.continue_phone_audio` for the resolved conversation; say what happened."""
        args = self.parameters(tool_input.tool_args)
        result = await async_call_back(
            hass,
            name=args.get(SLOT_NAME),
            account=args.get(SLOT_ACCOUNT),
            context=llm_context.context,
        )
        return tool_result(result.as_dict(), error=not result.success)


@callback
def async_get_tools(hass: HomeAssistant, llm_context: llm.LLMContext, api_id: str) -> Any:
    """Return the call-back tool to the Assist API while an account is loaded (2026.8+)."""
    if api_id != llm.LLM_API_ASSIST or not hass.config_entries.async_loaded_entries(DOMAIN):
        return None
    # Already imported by the caller; absent before 2026.8, which never calls this.
    llm_component = importlib.import_module("homeassistant.components.llm")
    return llm_component.LLMTools(tools=[CallBackTool()])
