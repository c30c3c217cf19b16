"""Every abort and error the config and options flows can reach has an English text.

A custom integration has no strings.json: Home Assistant loads translations/en.json, and a reason
without a text there shows as its raw key ("already_in_progress"). The test reads config_flow.py
itself, so a new `async_abort`, error or flow helper cannot be added without its translation.
"""

from __future__ import annotations

import ast
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
import pytest

from custom_components.ucwa import config_flow
from custom_components.ucwa.const import DOMAIN

# Home Assistant's flow helpers and the reason each aborts with unless told another.
_HELPER_ABORTS = {
    "_abort_if_unique_id_configured": ("error", "already_configured"),
    "_async_abort_entries_match": (None, "already_configured"),
    "_abort_if_unique_id_mismatch": ("reason", "unique_id_mismatch"),
}
# async_update_reload_and_abort's reason follows the flow's source.
_SOURCE_REASONS = {"reauth": "reauth_successful", "reconfigure": "reconfigure_successful"}
# What Home Assistant itself aborts a config flow with, whatever its steps do: a flow that sets a
# unique id another flow holds (2025.4 sends the bare key; 2026 translates it itself).
_HOME_ASSISTANT_ABORTS = {"already_in_progress"}


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _constant(node: ast.expr | None, default: str) -> str:
    if node is None:
        return default
    assert isinstance(node, ast.Constant), ast.dump(node)
    assert isinstance(node.value, str)
    return node.value


def _form_errors(node: ast.AST) -> set[str]:
    """Return the errors of a form: `{"base": "x"}`, `{CONF_X: "y"}` and `errors[...] = "z"`."""
    if isinstance(node, ast.Dict) and node.keys:
        keys_ok = all(
            (isinstance(k, ast.Constant) and k.value == "base")
            or (isinstance(k, ast.Name) and k.id.startswith("CONF_"))
            for k in node.keys
        )
        values = [v.value for v in node.values if isinstance(v, ast.Constant)]
        if keys_ok and len(values) == len(node.values):
            return {str(value) for value in values}
    if (
        isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Subscript)
        and isinstance(node.targets[0].value, ast.Name)
        and node.targets[0].value.id == "errors"
        and isinstance(node.value, ast.Constant)
    ):
        return {str(node.value.value)}
    return set()


def _aborts(call: ast.Call, method: str) -> set[str]:
    """Return the reasons one call in a flow's method can abort with."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name == "async_abort":
        return {_constant(_keyword(call, "reason"), "")}
    if name in _HELPER_ABORTS:
        keyword, default = _HELPER_ABORTS[name]
        return {_constant(_keyword(call, keyword) if keyword else None, default)}
    if name == "async_set_unique_id":
        progress = _keyword(call, "raise_on_progress")
        if isinstance(progress, ast.Constant) and progress.value is False:
            return set()
        return {"already_in_progress"}
    if name == "async_update_reload_and_abort":
        sources = [reason for source, reason in _SOURCE_REASONS.items() if source in method]
        assert len(sources) == 1, f"{method}: cannot tell the reason of its reload-and-abort"
        return {_constant(_keyword(call, "reason"), sources[0])}
    return set()


def reachable_reasons() -> dict[str, dict[str, set[str]]]:
    """Return {"config"|"options": {"abort"|"error": reasons}} found in config_flow.py."""
    tree = ast.parse(Path(config_flow.__file__).read_text(encoding="utf-8"))
    found: dict[str, dict[str, set[str]]] = {}
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        bases = {base.id for base in cls.bases if isinstance(base, ast.Name)}
        section = "config" if "ConfigFlow" in bases else "options" if "OptionsFlow" in bases else ""
        assert section, f"{cls.name}: neither a config nor an options flow"
        reasons = found.setdefault(section, {"abort": set(), "error": set()})
        if section == "config":
            reasons["abort"] |= _HOME_ASSISTANT_ABORTS
        for method in (node for node in cls.body if isinstance(node, ast.AsyncFunctionDef)):
            for node in ast.walk(method):
                reasons["error"] |= _form_errors(node)
                if isinstance(node, ast.Call):
                    reasons["abort"] |= _aborts(node, method.name)
    return found


def test_the_walker_finds_what_the_flows_use() -> None:
    """The walk sees the reasons known to be there, so the check below cannot pass empty."""
    found = reachable_reasons()
    assert found["config"]["error"] >= {
        "invalid_auth",
        "cannot_connect",
        "invalid_phone_number",
        "unknown",
    }
    assert found["config"]["abort"] >= {
        "already_configured",
        "reauth_successful",
        "reconfigure_successful",
        "unique_id_mismatch",
    }
    assert found["options"]["error"] == {"invalid_phone_number"}


@pytest.mark.parametrize("section", ["config", "options"])
async def test_every_reachable_reason_is_translated(hass: HomeAssistant, section: str) -> None:
    """Every abort and error the flows can reach has a text in what Home Assistant loads."""
    translations = await async_get_translations(hass, "en", section, {DOMAIN})
    for kind, reasons in reachable_reasons()[section].items():
        for reason in sorted(reasons):
            key = f"component.{DOMAIN}.{section}.{kind}.{reason}"
            assert translations.get(key), f"{key} has no English text"
