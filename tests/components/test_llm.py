"""LLM tools on Home Assistant 2025.4 (this test stack) and the guarded 2026.8+ platform.

What runs here: the Assist API of 2025.4 offering the `UcwaCallBack` intent as a tool, and that
tool run end to end; `llm.py` importing on 2025.4, its tool built on 2025.4's `llm.Tool` and run
end to end. `async_get_tools` and `ToolResult` are exercised with stand-ins for the 2026.8
`LLMTools` and 2026.10 `ToolResult` classes, since those versions need Python 3.14.
"""

from __future__ import annotations

from dataclasses import dataclass
import importlib
import json
import sys
from types import ModuleType
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]
from voluptuous_openapi import convert  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa import llm as ucwa_llm
from simulator import Simulator


def callbacks_sent(sim: Simulator) -> list[Any]:
    """Return the continuePhoneAudio requests the simulator received."""
    return [r for r in sim.requests if r.route == "continuePhoneAudio"]


def bob_log_id(sim: Simulator) -> str:
    """Return the id of Bob Kelly's missed call (the seed's newest log)."""
    return next(log.log_id for log in sim.logs if log.recipients[0].display_name == "Bob Kelly")


def llm_context() -> llm.LLMContext:
    """Return the context a conversation agent passes (2025.4 field set)."""
    return llm.LLMContext(
        platform="test_agent",
        context=Context(),
        user_prompt="call Bob back",
        language="en",
        assistant=None,
        device_id=None,
    )


def test_module_imports_on_this_version() -> None:
    """The platform module imports on 2025.4, which has no `llm` integration."""
    module = importlib.reload(ucwa_llm)
    assert module.TOOL_CALL_BACK == "ucwa__call_back"
    assert importlib.util.find_spec("homeassistant.components.llm") is None


async def test_assist_api_offers_the_intent(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """2025.4's Assist API wraps the registered intent as a tool, which rings the phone."""
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, llm_context())
    [tool] = [tool for tool in api.tools if tool.name == "UcwaCallBack"]
    assert tool.description is not None
    assert tool.description.startswith("Calls the user back on their own phone")
    # What an agent sends the model: the parameters through the API's serializer.
    schema = convert(tool.parameters, custom_serializer=api.custom_serializer)
    assert set(schema["properties"]) == {"name", "account"}
    assert schema["required"] == []

    result: dict[str, Any] = dict(
        await api.async_call_tool(
            llm.ToolInput(tool_name="UcwaCallBack", tool_args={"name": "bob"})
        )
    )

    assert result["response_type"] == "action_done"
    assert result["speech"]["plain"]["speech"] == (
        "Calling you back about your conversation with Bob Kelly"
    )
    [request] = callbacks_sent(simulator)
    assert f"/conversationLogs/{bob_log_id(simulator)}/continuePhoneAudio" in request.path
    assert json.loads(request.body)["phoneNumber"] == "tel:+14255551234"


async def test_tool_calls_the_action(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """The platform's tool, built on 2025.4's `llm.Tool`, returns the action's answer."""
    tool = ucwa_llm.CallBackTool()
    assert isinstance(tool, llm.Tool)
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, llm_context())
    schema = convert(tool.parameters, custom_serializer=api.custom_serializer)
    assert set(schema["properties"]) == {"name", "account"}
    assert schema["required"] == []

    result = await tool.async_call(
        hass, llm.ToolInput(tool_name=tool.name, tool_args={}), llm_context()
    )

    [request] = callbacks_sent(simulator)
    log_id = bob_log_id(simulator)
    assert f"/conversationLogs/{log_id}/continuePhoneAudio" in request.path
    assert json.loads(request.body)["phoneNumber"] == "tel:+14255551234"
    assert result == {
        "success": True,
        "speech": "Calling you back about your conversation with Bob Kelly",
        "display_name": "Bob Kelly",
        "conversation_log": log_id,
        "account": setup_integration.title,
        "call_back": {
            "invitation": result["call_back"]["invitation"],
            "operation_id": result["call_back"]["operation_id"],
            "conversation_log": log_id,
            "phone_number": "tel:+14255551234",
            "display_name": "Bob Kelly",
            "sip_uri": "sip:bob@contoso.com",
        },
    }


async def test_tool_reports_why_not(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """A failure is data for the model, not an exception."""
    result = await ucwa_llm.CallBackTool().async_call(
        hass, llm.ToolInput(tool_name="ucwa__call_back", tool_args={"name": "Zed"}), llm_context()
    )

    assert result == {
        "success": False,
        "speech": "I found no recent Skype for Business conversation with Zed",
        "error_code": "no_valid_targets",
        "account": setup_integration.title,
    }
    assert callbacks_sent(simulator) == []


@dataclass
class FakeToolResult:
    """Stand-in for 2026.10's `llm.ToolResult(data=..., error=...)`."""

    data: dict[str, Any]
    error: bool = False


async def test_tool_result_from_2026_10(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where `llm.ToolResult` exists, the tool returns one (error set on failure)."""
    monkeypatch.setattr(llm, "ToolResult", FakeToolResult, raising=False)
    tool = ucwa_llm.CallBackTool()

    failed = await tool.async_call(
        hass, llm.ToolInput(tool_name=tool.name, tool_args={"name": "Zed"}), llm_context()
    )
    done = await tool.async_call(
        hass, llm.ToolInput(tool_name=tool.name, tool_args={"name": "carol"}), llm_context()
    )

    assert isinstance(failed, FakeToolResult)
    assert failed.error is True
    assert isinstance(done, FakeToolResult)
    assert done.error is False
    assert done.data["display_name"] == "Carol Ruiz"
    assert len(callbacks_sent(simulator)) == 1


@dataclass
class FakeLLMTools:
    """Stand-in for 2026.8's `homeassistant.components.llm.LLMTools`."""

    tools: list[llm.Tool]
    prompt: str | None = None


@pytest.fixture
def llm_component(monkeypatch: pytest.MonkeyPatch) -> None:
    """Provide a `homeassistant.components.llm` module with `LLMTools`, as 2026.8 has."""
    module = ModuleType("homeassistant.components.llm")
    module.LLMTools = FakeLLMTools  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "homeassistant.components.llm", module)


@pytest.mark.usefixtures("llm_component")
async def test_async_get_tools(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """The platform hook offers the tool to the Assist API while an account is loaded."""
    context = llm_context()
    mock_config_entry.add_to_hass(hass)
    assert ucwa_llm.async_get_tools(hass, context, llm.LLM_API_ASSIST) is None

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    tools = ucwa_llm.async_get_tools(hass, context, llm.LLM_API_ASSIST)
    assert isinstance(tools, FakeLLMTools)
    assert [tool.name for tool in tools.tools] == ["ucwa__call_back"]
    assert ucwa_llm.async_get_tools(hass, context, "other_api") is None

    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
