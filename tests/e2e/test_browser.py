"""A person's first use, in a real browser: the development stack driven through Chromium.

Onboarding, "Add integration" with the demo account (after a mistake the form keeps what was
typed), the device page with presence, then presence on the demo dashboard (changed on another
device it shows at once; the availability select and the note are one POST each; an automation
from the busy-light blueprint switches configuration.yaml's stand-in light), a press of "Call
back last missed conversation", and the call-back status changing on the page, against the
simulator that `scripts/develop` runs (the reference-trace profile). The simulator must receive
exactly one continuePhoneAudio POST. Then the other doors:
the five blueprints listed under Settings → Automations → Blueprints, an automation from the
voice blueprint, and "call Bob back" typed into the Assist dialog, which must ring once more; last,
a press the server refuses shows the translated error and leaves one warning line in Home
Assistant's log. Debian's Chromium is driven by Playwright (`.ci/run` installs it); without a
browser the test skips and says why.

The same steps run on both stacks (`scripts/test`: Home Assistant 2025.4, `scripts/test
--newest`: 2026.10). Their frontends differ, so the selectors are those both understand: fields
by their role and accessible name (2026.10's have no label matches, and a required field's
name ends in "*"), the flow's last button "Finish" or "Skip and finish", the home page
/lovelace/0 or /home/overview, the activity card's entry by its state ("changed to" is gone),
a select's options as options (2025.4) or menu items (2026.10).

Screenshots go to the test's temporary folder, or to `docs/screenshots/` with
`UCWA_SCREENSHOTS=docs/screenshots scripts/test tests/e2e/test_browser.py` (how the README's
pictures are made).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import importlib.util
import json
import os
from pathlib import Path
import re
import shutil
from typing import TYPE_CHECKING, Any

from homeassistant.util.yaml import load_yaml_dict
import pytest

from simulator import default_seed

from .conftest import REPO, START_TIMEOUT, Stack, until

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The flags a root sandbox without a network needs (no sandbox, no background connections).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OWNER, OWNER_PASSWORD = "owner", "owner-secret-1"
STEP_TIMEOUT_MS = 30_000
FINISH = re.compile(r"^(Finish|Skip and finish)$")
"""The last button of onboarding and of a config flow (2025.4 / 2026.10)."""
BLUEPRINTS = sorted((REPO / "blueprints" / "automation" / "ucwa").glob("*.yaml"))

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM}: install Debian's chromium (.ci/run does) to run it",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="Playwright for Python is not installed (scripts/setup installs it)",
    ),
]


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Return where screenshots go: docs/screenshots when asked for, else the test's folder."""
    folder = Path(os.environ.get("UCWA_SCREENSHOTS") or tmp_path / "screenshots")
    folder = folder if folder.is_absolute() else REPO / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def page(stack: Stack, shots: Path) -> AsyncIterator[Page]:
    """Open a desktop-sized page in headless Chromium."""
    from playwright.async_api import async_playwright  # optional at import

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(STEP_TIMEOUT_MS)
            yield await context.new_page()
        finally:
            await browser.close()


async def snap(page: Page, path: Path) -> None:
    """Save a picture of the page as it rests (no half-finished transition of a field label)."""
    await page.screenshot(path=path, full_page=True, animations="disabled")


async def simulator_json(stack: Stack, path: str) -> Any:
    """GET one of the simulator's control routes."""
    async with stack.session.get(f"{stack.sim_url}{path}") as resp:
        assert resp.status == 200, path
        return await resp.json()


async def call_back_posts(stack: Stack) -> list[dict[str, Any]]:
    """Return the continuePhoneAudio requests the simulator received."""
    requests = await simulator_json(stack, "/_sim/requests")
    return [
        r for r in requests if r["method"] == "POST" and r["path"].endswith("/continuePhoneAudio")
    ]


async def onboard(page: Page, stack: Stack) -> None:
    """Create the owner account and click through the onboarding screens."""

    async def onboarding_served() -> bool | None:
        async with stack.session.get(f"{stack.ha_url}/api/onboarding") as resp:
            return True if resp.status == 200 else None

    await until(onboarding_served, "Home Assistant to serve onboarding", START_TIMEOUT)
    await page.goto(stack.ha_url)
    await page.get_by_role("button", name="Create my smart home").click()
    await field(page, "Name").fill("Alice Owner")
    await field(page, "Username").fill(OWNER)
    await field(page, "Password").fill(OWNER_PASSWORD)
    await field(page, "Confirm password").fill(OWNER_PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    # Location, country, analytics: each a "Next" (their number differs between versions).
    finish = page.get_by_role("button", name=FINISH)
    following = page.get_by_role("button", name="Next")
    for _ in range(6):
        await page.wait_for_function("() => true")  # let the step render
        if await finish.is_visible():
            break
        await following.click()
        await page.wait_for_timeout(300)  # a step transition has no event a page can await
    await finish.click()
    await page.wait_for_url(re.compile(r"/(lovelace|home)"))  # 2025.4 / 2026.10
    # The frontend stores its tokens once the first page has loaded; leaving before then means
    # the next page asks to log in.
    await page.get_by_text("Overview").first.wait_for()
    await page.wait_for_function("() => window.localStorage.getItem('hassTokens') !== null")


def field(page: Page, name: str) -> Locator:
    """Return the text field a person finds by its label (a required one's ends in "*")."""
    return page.get_by_role("textbox", name=re.compile(rf"^{re.escape(name)}\b"))


async def visit(page: Page, url: str) -> None:
    """Open a page of Home Assistant, logging in first if the frontend asks for it."""
    await page.goto(url)
    username = field(page, "Username")
    sidebar = page.get_by_text("Overview").first
    await username.or_(sidebar).first.wait_for()
    if await username.is_visible():
        await username.fill(OWNER)
        await page.locator("input[type=password]").fill(OWNER_PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await sidebar.wait_for()


async def add_integration(page: Page, stack: Stack, shots: Path) -> None:
    """Add the account through the "Add integration" dialog, as the README says."""
    demo = default_seed().user
    await visit(page, f"{stack.ha_url}/config/integrations/dashboard")
    await page.get_by_role("button", name="Add integration").click()
    search = "Search for a brand name"
    await page.get_by_label(search).or_(page.get_by_placeholder(search)).first.fill("Skype")
    await page.get_by_text("Skype for Business (UCWA)").click()
    await field(page, "Sign-in address").fill(demo.sign_in_address)
    await field(page, "Password").fill(demo.password)
    await field(page, "Call-back phone number").fill(demo.phone_number)
    await field(page, "Discovery URL").fill(
        f"{stack.sim_url}/autodiscover/autodiscoverservice.svc/root"
    )
    await snap(page, shots / "config-flow.png")
    # A mistake in the phone number: the form says so and keeps what was typed, password too.
    phone = field(page, "Call-back phone number")
    await phone.fill("425 555 1234")
    await page.get_by_role("button", name="Submit").click()
    await page.get_by_text("Enter the phone number as + followed by digits").wait_for()
    assert await field(page, "Password").input_value() == demo.password
    await phone.fill(demo.phone_number)
    await page.get_by_role("button", name="Submit").click()
    # 2025.4 says "Created configuration for …"; 2026.10 offers to name the device and assign
    # an area. Either ends with one button once the entry exists, and closes the dialog.
    finish = page.get_by_role("button", name=FINISH)
    await finish.click()
    await finish.wait_for(state="hidden")


async def open_device_page(page: Page, stack: Stack) -> None:
    """Open the account's device (a service) from the integration's page."""
    await visit(page, f"{stack.ha_url}/config/integrations/integration/ucwa")
    await page.get_by_text(default_seed().user.sign_in_address).first.wait_for()
    # Both links (2025.4 shows two, 2026.10 one) lead to the same device.
    await page.get_by_role("link", name="1 service", exact=True).first.click()
    await page.wait_for_url(re.compile(r"/config/devices/device/"))
    await page.get_by_text("Missed conversations").first.wait_for()


async def test_call_back_from_the_device_page(page: Page, stack: Stack, shots: Path) -> None:
    """Press "Call back last missed conversation" and watch the call-back status move."""
    try:
        await call_back_from_the_device_page(page, stack, shots)
    except BaseException:
        await snap(page, shots / "failure.png")
        raise


async def call_back_from_the_device_page(page: Page, stack: Stack, shots: Path) -> None:
    """Run the steps of the test above."""
    # Slow the simulated call down so that each state stays on screen for a moment.
    async with stack.session.post(
        f"{stack.sim_url}/_sim/callback-outcome", json={"status": "Success", "step_delay": 1.5}
    ) as resp:
        assert resp.status == 204
    await onboard(page, stack)
    await add_integration(page, stack, shots)
    await open_device_page(page, stack)

    # The device page: the two buttons under Controls, the call-back status under Sensors.
    press = (
        page.locator("hui-button-entity-row")
        .filter(has_text="Call back last missed conversation")
        .get_by_role("button", name="Press")
    )
    status = page.locator("hui-sensor-entity-row, hui-simple-entity-row").filter(
        has_text="Call-back"
    )
    await status.get_by_text("Idle").wait_for()
    await shows(entity_row(page, "Presence"), "Available")
    await shows(entity_row(page, "On a call"), "Off")
    await snap(page, shots / "device-page.png")
    assert await call_back_posts(stack) == []

    await presence_on_the_dashboard(page, stack)
    await open_device_page(page, stack)

    await press.click()
    await status.get_by_text(re.compile("Connecting|Ringing|Connected")).wait_for()
    await snap(page, shots / "call-back-status.png")
    await status.get_by_text("Connected").wait_for()

    state = await simulator_json(stack, "/_sim/state")
    newest_missed = max(
        (log for log in state["logs"] if log["status"] == "Missed"),
        key=lambda log: log["creation_time"],
    )
    posts = await call_back_posts(stack)
    assert len(posts) == 1
    assert posts[0]["path"].endswith(f"/conversationLogs/{newest_missed['id']}/continuePhoneAudio")
    assert json.loads(posts[0]["body"])["phoneNumber"] == "tel:" + default_seed().user.phone_number

    await visit(page, f"{stack.ha_url}/ucwa-demo/0")
    await page.get_by_text("Missed items").wait_for()
    # The activity card lists the call-back's states ("Call-back changed to Connected" on
    # 2025.4, "Call-back … Connected" on 2026.10).
    await page.locator("hui-logbook-card").get_by_text("Connected").first.wait_for()
    # The call-back connected: on a call, and the busy light on, before any presence says so.
    await shows(entity_row(page, "On a call"), "On")
    assert (await light_state(page, stack))["state"] == "on"
    # For the picture: the desk phone is in a call too.
    await set_device_presence(stack, "Busy", "on-the-phone")
    await shows(entity_row(page, "Activity"), "On the phone")
    await snap(page, shots / "dashboard.png")

    await call_back_by_voice(page, stack, newest_missed["id"])

    # A press the server refuses: the translated error on the page, one warning in the log.
    refusal = {"method": "POST", "path": "continuePhoneAudio", "status": 409}
    refusal |= {"code": "Conflict", "subcode": "AlreadyExists"}
    async with stack.session.post(f"{stack.sim_url}/_sim/faults", json=refusal) as resp:
        assert resp.status == 201
    await open_device_page(page, stack)
    await press.click()
    message = "The Skype for Business server refused the call-back: HTTP 409 Conflict/AlreadyExists"
    await page.get_by_text(message).first.wait_for()
    await status.get_by_text("Failed").wait_for()
    log = stack.ha_log.read_text(encoding="utf-8")
    [warning] = [line for line in log.splitlines() if "Call-back about conversation log" in line]
    assert " WARNING " in warning
    assert message in warning
    assert "Unexpected exception" not in log


def entity_row(page: Page, name: str) -> Locator:
    """Return the row of an entities card (or the device page) that shows `name`."""
    rows = "hui-sensor-entity-row, hui-simple-entity-row, hui-attribute-row"
    return page.locator(rows).filter(has_text=name)


# A row's texts through its shadow roots: its name, then its state (Playwright's text matching
# sees more than these two, so "On" would also match "On a call").
ROW_TEXTS = """row => {
    const texts = [];
    const walk = node => {
        if (node.nodeType === Node.TEXT_NODE) {
            if (node.textContent.trim()) texts.push(node.textContent.trim());
            return;
        }
        if (node.shadowRoot) walk(node.shadowRoot);
        for (const child of node.childNodes) walk(child);
    };
    walk(row);
    return texts;
}"""


async def shows(row: Locator, state: str) -> None:
    """Wait until the row shows `state` as its state."""

    async def showing() -> bool | None:
        texts: list[str] = await row.first.evaluate(ROW_TEXTS)
        return True if texts and texts[-1] == state else None

    await until(showing, f"the row to show {state}", STEP_TIMEOUT_MS / 1000)


async def presence_writes(stack: Stack) -> list[tuple[str, Any]]:
    """Return the POSTs on presence and note the simulator received: (rel, body or None)."""
    requests = await simulator_json(stack, "/_sim/requests")
    return [
        (r["path"].rsplit("/", 1)[-1], json.loads(r["body"]) if r["body"] else None)
        for r in requests
        if r["method"] == "POST" and r["path"].endswith(("/me/presence", "/me/note"))
    ]


async def set_device_presence(stack: Stack, availability: str, activity: str | None) -> None:
    """Change the user's presence on another device (the simulator's control endpoint)."""
    body = {"availability": availability, "activity": activity}
    async with stack.session.post(f"{stack.sim_url}/_sim/presence", json=body) as resp:
        assert resp.status == 204


async def api_headers(page: Page) -> dict[str, str]:
    """Return the logged-in frontend's authorization, for the REST calls the editor would make."""
    token = await page.evaluate("() => JSON.parse(localStorage.getItem('hassTokens')).access_token")
    return {"Authorization": f"Bearer {token}"}


async def light_state(page: Page, stack: Stack) -> dict[str, Any]:
    """Return the state of configuration.yaml's stand-in busy light."""
    async with stack.session.get(
        f"{stack.ha_url}/api/states/light.demo_busy_light", headers=await api_headers(page)
    ) as resp:
        state: dict[str, Any] = await resp.json()
        return state


async def choose_availability(page: Page, option: str) -> None:
    """Pick an option in the availability select (a listbox on 2025.4, a menu on 2026.10)."""
    await page.locator("hui-select-entity-row").click()
    await (
        page.get_by_role("option", name=option)
        .or_(page.get_by_role("menuitem", name=option))
        .first.click()
    )


async def presence_on_the_dashboard(page: Page, stack: Stack) -> None:
    """Watch presence change on the demo dashboard, set it and the note, and a busy light.

    An automation from the busy-light blueprint (used where scripts/develop put it, without an
    import) drives configuration.yaml's stand-in light. Presence changed on another device shows
    at once; the select and the note are one POST each on the simulator.
    """
    automation = {
        "alias": "Busy light",
        "description": "",
        "use_blueprint": {
            "path": "ucwa/busy_light.yaml",
            "input": {
                "on_a_call": "binary_sensor.alice_contoso_com_on_a_call",
                "presence": "sensor.alice_contoso_com_presence",
                "light": "light.demo_busy_light",
                "color": [255, 0, 0],
            },
        },
    }
    async with stack.session.post(
        f"{stack.ha_url}/api/config/automation/config/ucwa_busy_light",
        json=automation,
        headers=await api_headers(page),
    ) as resp:
        assert resp.status == 200, await resp.text()
    await visit(page, f"{stack.ha_url}/ucwa-demo/0")
    presence, on_a_call = entity_row(page, "Presence"), entity_row(page, "On a call")
    await shows(presence, "Available")
    await shows(on_a_call, "Off")

    # A call on the desk phone: the sensor, on a call and the light follow.
    await set_device_presence(stack, "Busy", "on-the-phone")
    await shows(presence, "Busy")
    await shows(entity_row(page, "Activity"), "On the phone")
    await shows(on_a_call, "On")
    light = await light_state(page, stack)
    assert (light["state"], light["attributes"]["rgb_color"]) == ("on", [255, 0, 0])

    # Do not disturb, chosen here: one POST; the light stays on (do not disturb is busy too).
    await choose_availability(page, "Do not disturb")
    await shows(presence, "Do not disturb")
    assert await presence_writes(stack) == [("presence", {"availability": "DoNotDisturb"})]
    assert (await light_state(page, stack))["state"] == "on"

    note = field(page, "Note")
    await note.fill("Back at 3")
    await note.press("Enter")
    writes = [("presence", {"availability": "DoNotDisturb"}), ("note", {"message": "Back at 3"})]
    assert await until_writes(stack, len(writes)) == writes

    # Automatic again (one empty POST): the server's own presence, the call, shows again; the
    # call ends, and the light goes off.
    await choose_availability(page, "Automatic")
    await shows(presence, "Busy")
    assert await until_writes(stack, 3) == [*writes, ("presence", None)]
    await set_device_presence(stack, "Online", None)
    await shows(presence, "Available")
    await shows(on_a_call, "Off")
    assert (await light_state(page, stack))["state"] == "off"
    assert await field(page, "Note").input_value() == "Back at 3"


async def until_writes(stack: Stack, count: int) -> list[tuple[str, Any]]:
    """Wait for the simulator to have received `count` presence and note POSTs; return them."""

    async def enough() -> list[tuple[str, Any]] | None:
        writes = await presence_writes(stack)
        return writes if len(writes) >= count else None

    return await until(enough, f"{count} presence and note POSTs", 10)


async def call_back_by_voice(page: Page, stack: Stack, bob_log_id: str) -> None:
    """List the blueprints, use the voice one, and say "call Bob back" in Assist's dialog."""
    await visit(page, f"{stack.ha_url}/config/blueprint/dashboard")
    assert len(BLUEPRINTS) == 5
    for path in BLUEPRINTS:
        name = load_yaml_dict(str(path))["blueprint"]["name"]
        await page.get_by_text(name, exact=True).wait_for()

    # What the automation editor saves for "Create automation" from the voice blueprint with
    # the account chosen (its pickers differ between the two frontends).
    headers = await api_headers(page)
    async with stack.session.get(
        f"{stack.ha_url}/api/config/config_entries/entry?domain=ucwa", headers=headers
    ) as resp:
        [entry] = await resp.json()
    automation = {
        "alias": "Call me back by voice",
        "description": "",
        "use_blueprint": {
            "path": "ucwa/voice_call_back.yaml",
            "input": {"account": entry["entry_id"]},
        },
    }
    async with stack.session.post(
        f"{stack.ha_url}/api/config/automation/config/ucwa_voice", json=automation, headers=headers
    ) as resp:
        assert resp.status == 200, await resp.text()

    await visit(page, f"{stack.ha_url}/ucwa-demo/0")
    await page.get_by_role("button", name=re.compile("^Assist")).click()  # "Assist (A)" on 2026.10
    request = page.get_by_role("textbox", name="Enter a request")
    await request.fill("call Bob back")
    await request.press("Enter")
    await page.get_by_text("Calling you back about your conversation with Bob Kelly.").wait_for()

    posts = await call_back_posts(stack)
    assert len(posts) == 2
    assert posts[1]["path"].endswith(f"/conversationLogs/{bob_log_id}/continuePhoneAudio")
