"""The missed-call automation of the README and of the blueprint, run for real against the pool.

A real new conversation notifies, the first one after setup included (the event entity is
`unknown` then); an outage, a reload, and a reload while the server withheld the history do not,
and afterwards the event entity still shows its last event.
"""

from __future__ import annotations

from pathlib import Path
import re
import shutil
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import parse_yaml
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
    async_mock_service,
)

from simulator import Simulator

from .conftest import wait_for_state

REPO = Path(__file__).parents[2]
EVENT = "event.alice_contoso_com_conversation"
LAST = "sensor.alice_contoso_com_last_conversation"
MISSED = "sensor.alice_contoso_com_missed_conversations"


def readme_automation() -> dict[str, Any]:
    """Return the README's "Missed Skype call" automation exactly as a user would copy it."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(automation:\n  - alias: Missed Skype call\n.*?)```", text, re.S)
    assert block is not None, "the README's missed-call example is gone"
    config = parse_yaml(block.group(1))
    assert isinstance(config, dict)
    return config


@pytest.fixture(params=["readme", "blueprint"])
async def notifications(
    request: pytest.FixtureRequest, hass: HomeAssistant, tmp_path: Path
) -> list[ServiceCall]:
    """Run the README's automation or the blueprint, and return the notifications it sends."""
    calls: list[ServiceCall] = async_mock_service(hass, "notify", "notify")
    if request.param == "readme":
        config = readme_automation()
    else:
        hass.config.config_dir = str(tmp_path)
        shutil.copytree(
            REPO / "blueprints" / "automation" / "ucwa",
            hass.config.path("blueprints/automation/ucwa"),
        )
        use = {
            "path": "ucwa/notify_missed_conversation.yaml",
            "input": {
                "conversation_event": EVENT,
                "notify": [{"action": "notify.notify", "data": {"message": "From {{ caller }}"}}],
            },
        }
        config = {"automation": [{"id": "missed", "alias": "Missed", "use_blueprint": use}]}
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()
    return calls


async def missed_call(hass: HomeAssistant, simulator: Simulator, name: str) -> None:
    """Let someone's call go unanswered and wait until the event entity has it."""
    record = simulator.add_conversation_log(
        direction="Incoming",
        status="Missed",
        type="AudioLog",
        modalities=["Audio"],
        recipients=[
            {
                "display_name": name,
                "sip_uri": f"sip:{name.split(maxsplit=1)[0].lower()}@contoso.com",
            }
        ],
    )
    await wait_for_state(
        hass, EVENT, lambda s: s.attributes.get("conversation_log_id") == record.log_id
    )
    await hass.async_block_till_done()


async def reload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Reload the entry as the UI's "Reload" does, and wait until the entities are back."""
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


async def test_first_conversation_after_setup_notifies(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    notifications: list[ServiceCall],
) -> None:
    """The event entity starts `unknown`; the first missed call must still notify."""
    assert hass.states.get(EVENT).state == STATE_UNKNOWN  # type: ignore[union-attr]
    await missed_call(hass, simulator, "Gina Ortiz")
    assert len(notifications) == 1
    assert "Gina Ortiz" in notifications[0].data["message"]


async def test_outage_and_reload_do_not_notify(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    notifications: list[ServiceCall],
) -> None:
    """An outage and a reload bring no notification; the next real missed call does."""
    await missed_call(hass, simulator, "Gina Ortiz")
    last_event = hass.states.get(EVENT)
    assert last_event is not None

    # The server forgets the application and refuses the first new one: the session is lost.
    simulator.fail_next("POST", "applications", status=500, code="ServiceFailure", count=1)
    simulator.drop_application("not_found")
    await wait_for_state(hass, MISSED, lambda s: s.state == STATE_UNAVAILABLE)
    await wait_for_state(hass, MISSED, lambda s: s.state != STATE_UNAVAILABLE)
    await hass.async_block_till_done()
    await reload(hass, setup_integration)
    await wait_for_state(hass, EVENT, lambda s: s.state == last_event.state)
    assert len(notifications) == 1
    assert hass.states.get(EVENT).attributes == last_event.attributes  # type: ignore[union-attr]

    await missed_call(hass, simulator, "Hugo Lee")
    assert len(notifications) == 2
    assert "Hugo Lee" in notifications[1].data["message"]


async def test_reload_while_history_is_withheld(
    hass: HomeAssistant,
    simulator: Simulator,
    setup_integration: MockConfigEntry,
    notifications: list[ServiceCall],
) -> None:
    """Reloads while the server gives no history keep the last event, and notify nothing.

    Home Assistant stores an entity's state when it is removed and the event entity restores
    its time from it: a stored `unavailable` used to come back as `unknown` with the old event
    type, and the next real missed call was then filtered out by `not_from: unknown`.
    """
    await missed_call(hass, simulator, "Gina Ortiz")
    last_event = hass.states.get(EVENT)
    assert last_event is not None

    simulator.config.conversation_history = "absent"
    await reload(hass, setup_integration)
    await wait_for_state(hass, LAST, lambda s: s.state == STATE_UNAVAILABLE)
    await reload(hass, setup_integration)  # removed while history is still withheld
    await wait_for_state(hass, LAST, lambda s: s.state == STATE_UNAVAILABLE)
    simulator.config.conversation_history = "available"
    await reload(hass, setup_integration)
    await wait_for_state(hass, LAST, lambda s: s.state != STATE_UNAVAILABLE)

    state = hass.states.get(EVENT)
    assert state is not None
    assert (state.state, state.attributes) == (last_event.state, last_event.attributes)
    assert len(notifications) == 1

    await missed_call(hass, simulator, "Hugo Lee")
    assert len(notifications) == 2
