"""Every link the simulator advertises resolves: no href it hands out answers 404.

A client that follows hypermedia (Hypermedia.md) may GET any link it is given. The walk starts at
the discovery root, signs in, leaves lurker mode, starts a call-back and then follows every href
of every JSON representation it meets (application, me, people, onlineMeetings, communication,
logs, recipients, transcripts, missedItems, events, the invitation, its conversation and
participants), in both profiles and with absolute hrefs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import json
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import pytest

from simulator import CallbackOutcome, Simulator
from tests.simulator.conftest import Walker

MakeSim = Callable[..., Awaitable[Simulator]]

ACTED_ON = {"applications", "makeMeAvailable", "reportMyActivity", "batch", "markAsRead",
            "continuePhoneAudio"}  # fmt: skip
"""POST-only links the simulator acts on: the walk only checks that GET answers 405."""


def links_of(node: Any) -> list[tuple[str, str]]:
    """(rel, href) of every link in a representation, embedded ones and events' included."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for rel, value in node.get("_links", {}).items():
            items = value if isinstance(value, list) else [value]
            found.extend((rel, item["href"]) for item in items)
        if isinstance(node.get("link"), dict):
            found.append((node["link"]["rel"], node["link"]["href"]))
        for key, value in node.items():
            if key != "_links":
                found.extend(links_of(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(links_of(item))
    return found


async def walk(walker: Walker, start: list[dict[str, Any]]) -> dict[str, tuple[str, int]]:
    """GET every href reachable from `start`; return href → (rel, status).

    Events are not followed beyond one `next`, since each P-GET hands out a new one.
    """
    seen: dict[str, tuple[str, int]] = {}
    queue = [link for body in start for link in links_of(body)]
    while queue:
        rel, href = queue.pop()
        url = walker.url(href)
        if url in seen or url.startswith("data:"):  # a message transcript's inline text
            continue
        resp = await walker.get(url)
        seen[url] = (rel, resp.status)
        if resp.status == 405:
            assert resp.json["code"] == "MethodNotAllowed", (rel, url, resp.text)
            if rel not in ACTED_ON:
                posted = await walker.post(url, {})
                assert posted.status == 409, (rel, url, posted.status)
                assert posted.json["code"] == "Conflict"
                assert "not simulated" in posted.json["message"]
            continue
        if not resp.headers.get("Content-Type", "").startswith("application/json"):
            continue
        body = resp.json
        if rel in {"events", "next"}:
            queue.extend(link for link in links_of(body.get("sender", [])) if link[0] != "next")
            continue
        queue.extend(links_of(body))
    return seen


@pytest.mark.parametrize("profile", ["trace", "lenient"])
@pytest.mark.parametrize("absolute", [False, True])
async def test_no_advertised_link_answers_404(
    make_sim: MakeSim, session: aiohttp.ClientSession, profile: str, absolute: bool
) -> None:
    sim = await make_sim(
        profile=profile,
        absolute_hrefs=absolute,
        embedded_events=True,
        pget_timeout_override=0.05,
        call_duration=None,
        callback_outcome=CallbackOutcome(step_delay=0.01),
    )
    walker = Walker(sim, session)
    root = (await walker.get(sim.discovery_url, auth=False)).json
    user = await walker.sign_in()
    created = (await walker.create_app()).json
    lurking_me = (await walker.get(walker.link("me", "self"))).json
    lurking = await walk(walker, [root, user, created, lurking_me])
    assert (await walker.make_me_available()).status == 204
    available = walker.app
    first, events_href = await walker.events_until(walker.link("events"), lambda e: True)
    log_href = (await walker.get(walker.link("communication", "conversationLogs"))).json
    log = (await walker.get(log_href["_links"]["conversationLog"][0]["href"])).json
    pget = asyncio.create_task(
        walker.events_until(events_href, lambda e: e.get("type") == "completed")
    )
    await sim.wait_for_parked_pget()
    started = await walker.post(log["_links"]["continuePhoneAudio"]["href"], {})
    assert started.status == 201, started.text
    events, _ = await asyncio.wait_for(pget, 5)
    invitation = (await walker.get(started.headers["Location"])).json
    seen = await walk(
        walker, [available, log, invitation, {"sender": [{"events": first + events}]}]
    )
    seen.update(lurking)

    missing = sorted((rel, url) for url, (rel, status) in seen.items() if status == 404)
    assert missing == []
    assert {status for _, status in seen.values()} <= {200, 405}, json.dumps(seen, indent=1)
    rels = {rel for rel, _ in seen.values()}
    expected = {"xframe", "policies", "myContacts", "phoneDialInInformation", "conversations",
                "joinOnlineMeeting", "conversationLogTranscripts", "contact", "contactPhoto",
                "participant", "phoneAudio", "presence", "phones", "cancel", "mediaPolicies",
                "mediaRelayAccessToken", "startAudio", "startAudioVideo", "startVideo",
                "replayMessage"}  # fmt: skip
    if profile == "lenient":
        expected |= {"startEmergencyCall", "startAudioOnBehalfOfDelegator"}
    assert expected <= rels
    assert len(seen) > 80
    base = sim.base_url
    hosts = {urlsplit(url).netloc for url in seen}
    assert hosts == {urlsplit(base).netloc}
    assert urljoin(base, "/") in {urljoin(url, "/") for url in seen}
