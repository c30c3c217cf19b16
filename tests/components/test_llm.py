"""LLM agents' door on both stacks: what each release's Assist API offers, and that tool run.

Home Assistant 2025.4 (`scripts/test`) has no `llm` component: its Assist API wraps the
registered `UcwaCallBack` intent as a tool, and `llm.py` only has to import; its `CallBackTool`
still runs, and `async_get_tools` is checked with a stand-in for 2026.8's `LLMTools`.

Home Assistant 2026.10 (`scripts/test --newest`) offers LLM agents only what integrations' `llm.py`
platforms return: the real `llm` component builds the Assist API instance, which must offer
`ucwa__call_back` (tagged with its integration) and no longer the intent; calling it through the
API rings the phone with exactly one continuePhoneAudio POST and answers a `ToolResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
import importlib
import json
import sys
from types import ModuleType
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import llm
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped,unused-ignore]

from custom_components.ucwa import llm as ucwa_llm
from custom_components.ucwa.const import DOMAIN
from simulator import Simulator

HAS_LLM_COMPONENT = importlib.util.find_spec("homeassistant.components.llm") is not None
"""Home Assistant 2026.8+: tools come from integrations' `llm.py`, intents are not wrapped."""

needs_llm_component = pytest.mark.skipif(
    not HAS_LLM_COMPONENT,
    reason="Home Assistant before 2026.8 has no llm component (its Assist API wraps the "
    "UcwaCallBack intent instead: test_assist_api_offers_the_intent); scripts/test --newest runs this",
)
wraps_intents = pytest.mark.skipif(
    HAS_LLM_COMPONENT,
    reason="Home Assistant 2026.8+ no longer offers intents to LLM agents (only llm.py tools: "
    "test_assist_api_offers_the_tool); scripts/test runs this on 2025.4",
)


def callbacks_sent(sim: Simulator) -> list[Any]:
    """Return the continuePhoneAudio requests the simulator received."""
    return [r for r in sim.requests if r.route == "continuePhoneAudio"]


def bob_log_id(sim: Simulator) -> str:
    """Return the id of Bob Kelly's missed call (the seed's newest log)."""
    return next(log.log_id for log in sim.logs if log.recipients[0].display_name == "Bob Kelly")


def llm_context() -> llm.LLMContext:
    """Return the context a conversation agent passes, as each release's own tests build it.

    2025.4's has `user_prompt`; 2026.10 dropped it (and types `assistant` as a plain str).
    """
    extra: dict[str, Any] = {}
    if "user_prompt" in {field.name for field in fields(llm.LLMContext)}:
        extra["user_prompt"] = "call Bob back"
    return llm.LLMContext(
        platform="test_agent",
        context=Context(),
        language="en",
        assistant="conversation",
        device_id=None,
        **extra,
    )


def openapi(schema: Any, api: llm.APIInstance) -> dict[str, Any]:
    """Return what an agent sends the model for a tool's parameters, with this release's codec.

    2026.10's agents use probatio's `to_openapi` (probatio replaced voluptuous there); 2025.4's
    use `voluptuous_openapi.convert`.
    """
    try:
        from probatio import to_openapi  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from voluptuous_openapi import convert  # type: ignore[import-untyped,unused-ignore]

        to_openapi = convert
    result: dict[str, Any] = to_openapi(schema, custom_serializer=api.custom_serializer)
    return result


def result_data(result: Any) -> dict[str, Any]:
    """Return a tool's answer as data: 2026.10's `ToolResult.data`, or 2025.4's JSON object."""
    data: dict[str, Any] = result.data if hasattr(llm, "ToolResult") else result
    return data


def test_module_imports_on_this_version() -> None:
    """The platform module imports on every stack; its tool says which integration it is from."""
    module = importlib.reload(ucwa_llm)
    assert module.TOOL_CALL_BACK == "ucwa__call_back"
    assert module.CallBackTool().integration == DOMAIN


@wraps_intents
async def test_assist_api_offers_the_intent(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """2025.4's Assist API wraps the registered intent as a tool, which rings the phone."""
    assert await async_setup_component(hass, "homeassistant", {})  # exposed entities
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, llm_context())
    [tool] = [tool for tool in api.tools if tool.name == "UcwaCallBack"]
    assert tool.description is not None
    assert tool.description.startswith("Calls the user back on their own phone")
    schema = openapi(tool.parameters, api)
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


@needs_llm_component
async def test_assist_api_offers_the_tool(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The real `llm` component's Assist API offers `ucwa__call_back`; calling it rings once."""
    assert await async_setup_component(hass, "llm", {})
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, llm_context())
    names = [tool.name for tool in api.tools]
    assert "UcwaCallBack" not in names  # the intent route to LLM agents is gone
    [tool] = [tool for tool in api.tools if tool.name == "ucwa__call_back"]
    assert getattr(tool, "integration", None) == DOMAIN  # 2025.4's Tool has no such field
    assert tool.description is not None
    assert tool.description.startswith("Calls the user back on their own phone")
    schema = openapi(tool.parameters, api)
    assert set(schema["properties"]) == {"name", "account"}
    assert not schema.get("required")
    assert callbacks_sent(simulator) == []

    result = await api.async_call_tool(
        llm.ToolInput(tool_name="ucwa__call_back", tool_args={"name": "bob"})
    )

    assert isinstance(result, llm.ToolResult)  # type: ignore[attr-defined,unused-ignore]
    assert result.error is False
    assert result.data["speech"] == "Calling you back about your conversation with Bob Kelly"
    [request] = callbacks_sent(simulator)
    assert f"/conversationLogs/{bob_log_id(simulator)}/continuePhoneAudio" in request.path
    assert json.loads(request.body)["phoneNumber"] == "tel:+14255551234"
    # Neither an untagged tool nor a bare JSON answer was reported ("Detected that custom
    # integration 'ucwa' provides the LLM tool ... without an integration").
    assert [r.getMessage() for r in caplog.records if r.name == "homeassistant.helpers.frame"] == []


async def test_tool_calls_the_action(
    hass: HomeAssistant, simulator: Simulator, setup_integration: MockConfigEntry
) -> None:
    """The platform's tool, called directly, returns the action's answer."""
    tool = ucwa_llm.CallBackTool()
    assert isinstance(tool, llm.Tool)

    result = await tool.async_call(
        hass, llm.ToolInput(tool_name=tool.name, tool_args={}), llm_context()
    )

    [request] = callbacks_sent(simulator)
    log_id = bob_log_id(simulator)
    assert f"/conversationLogs/{log_id}/continuePhoneAudio" in request.path
    assert json.loads(request.body)["phoneNumber"] == "tel:+14255551234"
    data = result_data(result)
    assert data == {
        "success": True,
        "speech": "Calling you back about your conversation with Bob Kelly",
        "display_name": "Bob Kelly",
        "conversation_log": log_id,
        "account": setup_integration.title,
        "call_back": {
            "invitation": data["call_back"]["invitation"],
            "operation_id": data["call_back"]["operation_id"],
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

    assert result_data(result) == {
        "success": False,
        "speech": "I found no recent Skype for Business conversation with Zed",
        "error_code": "no_valid_targets",
        "account": setup_integration.title,
    }
    assert callbacks_sent(simulator) == []


@dataclass
class FakeToolResult:
    """Stand-in for 2026.10's `llm.ToolResult(data=..., error=...)` on releases without it."""

    data: dict[str, Any]
    error: bool = False


@pytest.fixture
def tool_result_class(monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    """Return this release's `llm.ToolResult`, or install the stand-in where there is none."""
    real: type[Any] | None = getattr(llm, "ToolResult", None)
    if real is not None:
        return real
    monkeypatch.setattr(llm, "ToolResult", FakeToolResult, raising=False)
    return FakeToolResult


async def test_tool_result(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    tool_result_class: type[Any],
) -> None:
    """Where `llm.ToolResult` exists, the tool returns one, with `error` set on a failure."""
    tool = ucwa_llm.CallBackTool()

    failed = await tool.async_call(
        hass, llm.ToolInput(tool_name=tool.name, tool_args={"name": "Zed"}), llm_context()
    )
    done = await tool.async_call(
        hass, llm.ToolInput(tool_name=tool.name, tool_args={"name": "carol"}), llm_context()
    )

    assert isinstance(failed, tool_result_class)
    assert failed.error is True
    assert isinstance(done, tool_result_class)
    assert done.error is False
    assert done.data["display_name"] == "Carol Ruiz"
    assert len(callbacks_sent(simulator)) == 1


@dataclass
class FakeLLMTools:
    """Stand-in for 2026.8's `homeassistant.components.llm.LLMTools` on releases without it."""

    tools: list[llm.Tool]
    prompt: str | None = None


@pytest.fixture
def llm_tools_class(monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    """Return the real `LLMTools` where the llm component exists, else install a stand-in."""
    if HAS_LLM_COMPONENT:
        real: type[Any] = importlib.import_module("homeassistant.components.llm").LLMTools
        return real
    module = ModuleType("homeassistant.components.llm")
    module.LLMTools = FakeLLMTools  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "homeassistant.components.llm", module)
    return FakeLLMTools


async def test_async_get_tools(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    llm_tools_class: type[Any],
) -> None:
    """The platform hook offers the tool to the Assist API only while an account is loaded."""
    context = llm_context()
    get_tools: Callable[..., Any] = ucwa_llm.async_get_tools
    mock_config_entry.add_to_hass(hass)
    assert get_tools(hass, context, llm.LLM_API_ASSIST) is None

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    tools = get_tools(hass, context, llm.LLM_API_ASSIST)
    assert isinstance(tools, llm_tools_class)
    assert [tool.name for tool in tools.tools] == ["ucwa__call_back"]
    assert get_tools(hass, context, "other_api") is None

    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert get_tools(hass, context, llm.LLM_API_ASSIST) is None
