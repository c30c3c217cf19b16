"""Pool shapes: the reference's trace, the lenient pool, and the knobs the test matrix combines."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from simulator import PROFILES, Simulator, SimulatorConfig
from tests.simulator.conftest import Walker

MakeSim = Callable[..., Awaitable[Simulator]]

TRACE_AT_CREATION = {"self", "conversations", "startMessaging", "startOnlineMeeting",
                     "joinOnlineMeeting"}  # fmt: skip
CAPABILITIES = {"conversationLogs", "missedItems", "startPhoneAudio", "startAudio", "startAudioVideo",
                "startVideo", "mediaPolicies", "mediaRelayAccessToken", "replayMessage"}  # fmt: skip
"""What makeMeAvailable adds: communication_ref.md's sample, less delegation and emergency calls."""


def hrefs(node: Any) -> list[str]:
    """Every href in a representation, however deep."""
    if isinstance(node, dict):
        found = [node["href"]] if isinstance(node.get("href"), str) else []
        return found + [href for value in node.values() for href in hrefs(value)]
    if isinstance(node, list):
        return [href for item in node for href in hrefs(item)]
    return []


def events_about(batch: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(sender, link rel, type) of every event in a batch, in order."""
    return [
        (sender["rel"], event["link"]["rel"], event["type"])
        for sender in batch.get("sender", [])
        for event in sender["events"]
    ]


def find_event(batch: dict[str, Any], rel: str, kind: str) -> dict[str, Any]:
    return next(
        event
        for sender in batch["sender"]
        for event in sender["events"]
        if (event["link"]["rel"], event["type"]) == (rel, kind)
    )


async def signed_in(make_sim: MakeSim, session: aiohttp.ClientSession, **knobs: Any) -> Walker:
    walker = Walker(await make_sim(**knobs), session)
    assert (await walker.create_app()).status == 201
    return walker


async def first_batch(walker: Walker) -> dict[str, Any]:
    resp = await walker.get(walker.link("events"))
    assert resp.status == 200, resp.text
    return dict(resp.json)


async def test_trace_offers_capability_links_only_after_make_me_available(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    """CreateAnApplication.md's five links at creation; ReceiveAnIM.md's update afterwards."""
    walker = await signed_in(make_sim, session, profile="trace")
    assert set(walker.app["_embedded"]["communication"]["_links"]) == TRACE_AT_CREATION
    communication = (await walker.get(walker.link("communication", "self"))).json
    assert set(communication["_links"]) == TRACE_AT_CREATION
    me = walker.app["_embedded"]["me"]["_links"]
    assert "reportMyActivity" not in me
    assert "makeMeAvailable" in me
    events_href = walker.link("events")

    assert (await walker.make_me_available()).status == 204

    batch = (await walker.get(events_href)).json
    assert events_about(batch) == [  # the order of ReceiveAnIM.md step 7
        ("me", "me", "updated"),
        ("me", "presence", "added"),
        ("me", "note", "added"),
        ("me", "location", "added"),
        ("communication", "communication", "updated"),
    ]
    announced = find_event(batch, "communication", "updated")["_embedded"]["communication"]
    assert set(announced["_links"]) == TRACE_AT_CREATION | CAPABILITIES
    assert announced["supportedModalities"] == ["PhoneAudio", "Messaging"]
    assert "_embedded" not in find_event(batch, "me", "updated")  # link only, as me_ref.md
    now = (await walker.get(walker.link("communication", "self"))).json
    assert set(now["_links"]) == TRACE_AT_CREATION | CAPABILITIES
    assert now["_links"] == announced["_links"]
    assert set(walker.app["_embedded"]["communication"]["_links"]) == set(now["_links"])
    me = walker.app["_embedded"]["me"]["_links"]
    assert "reportMyActivity" in me
    assert "makeMeAvailable" not in me
    assert (await walker.post(me["reportMyActivity"]["href"])).status == 204


async def test_lenient_offers_every_link_at_creation(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    walker = await signed_in(make_sim, session, profile="lenient")
    links = set(walker.app["_embedded"]["communication"]["_links"])
    assert links > TRACE_AT_CREATION | CAPABILITIES
    assert {"mediaPolicies", "startAudio", "startEmergencyCall"} <= links


@pytest.mark.parametrize("profile", ["trace", "lenient"])
async def test_absolute_hrefs(
    make_sim: MakeSim, session: aiohttp.ClientSession, profile: str
) -> None:
    """Every UCWA href, in resources and events, names the pool's origin."""
    walker = await signed_in(make_sim, session, profile=profile, absolute_hrefs=True)
    base = walker.sim.base_url
    await walker.make_me_available()
    batch = await first_batch(walker)
    logs = (await walker.get(walker.link("communication", "conversationLogs"))).json
    found = hrefs(walker.app) + hrefs(batch) + hrefs(logs)
    assert len(found) > 40
    assert [href for href in found if not href.startswith(base)] == []


@pytest.mark.parametrize(("count", "single", "shape"), [
    (1, True, dict), (2, True, list), (1, False, list),
])  # fmt: skip
async def test_single_link_objects(
    make_sim: MakeSim, session: aiohttp.ClientSession, count: int, single: bool, shape: type
) -> None:
    """One conversationLog is an object with the knob (CommunicationDashboard.md), else arrays."""
    walker = await signed_in(make_sim, session, profile="trace", single_link_objects=single)
    await walker.make_me_available()
    href = walker.link("communication", "conversationLogs")
    logs = (await walker.get(f"{href}?limit={count}")).json["_links"]["conversationLog"]
    assert type(logs) is shape
    assert len(hrefs(logs)) == count


@pytest.mark.parametrize("embedded", [True, False])
async def test_embedded_events(
    make_sim: MakeSim, session: aiohttp.ClientSession, embedded: bool
) -> None:
    """With the knob, events carry the resource they are about; without, only the reference's."""
    walker = await signed_in(make_sim, session, profile="trace", embedded_events=embedded)
    await walker.make_me_available()
    batch = await first_batch(walker)
    walker.sim.add_conversation_log(direction="Incoming", status="Missed", unread=True)
    events, _ = await walker.events_until(
        batch["_links"]["next"]["href"], lambda e: e["link"]["rel"] == "missedItems"
    )
    missed = next(e for e in events if e["link"]["rel"] == "missedItems")
    me_updated = find_event(batch, "me", "updated")
    assert "communication" in find_event(batch, "communication", "updated")["_embedded"]
    if not embedded:
        assert "_embedded" not in missed
        assert "_embedded" not in me_updated
        return
    counters = (await walker.get(walker.link("communication", "missedItems"))).json
    assert missed["_embedded"] == {"missedItems": counters}
    me = (await walker.get(walker.link("me", "self"))).json
    assert me_updated["_embedded"] == {"me": me}
    presence = find_event(batch, "presence", "added")["_embedded"]["presence"]
    assert presence["availability"] == "Online"


async def test_no_conversation_history(make_sim: MakeSim, session: aiohttp.ClientSession) -> None:
    """A policy without conversation history never links conversationLogs; missedItems comes."""
    walker = await signed_in(make_sim, session, profile="trace", conversation_history="absent")
    await walker.make_me_available()
    communication = (await walker.get(walker.link("communication", "self"))).json
    assert set(communication["_links"]) == TRACE_AT_CREATION | CAPABILITIES - {"conversationLogs"}
    assert communication["conversationHistory"] == "Disabled"
    counters = await walker.get(walker.link("communication", "missedItems"))
    assert counters.status == 200


@pytest.mark.parametrize(("history", "subcode", "message"), [
    ("invalid_exchange_version", "InvalidExchangeServerVersion",
     ("Invalid exchange server version.The exchange mailbox of the server might have moved to an "
     "unsupported version for the required feature.")),
    ("exchange_timeout", "ExchangeTimeout", "The Exchange request timed out"),
])  # fmt: skip
async def test_exchange_failures(
    make_sim: MakeSim, session: aiohttp.ClientSession, history: str, subcode: str, message: str
) -> None:
    """The link is offered, but Exchange fails behind it (conversationLogs_ref.md errors)."""
    walker = await signed_in(make_sim, session, profile="trace", conversation_history=history)
    await walker.make_me_available()
    resp = await walker.get(walker.link("communication", "conversationLogs"))
    assert resp.status == 500
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.json == {"code": "ServiceFailure", "subcode": subcode, "message": message}
    assert (await walker.get(walker.link("communication", "missedItems"))).status == 200


def test_named_profiles_are_trace_plus_one_knob() -> None:
    base = SimulatorConfig.from_profile("trace").knobs()
    assert base["profile"] == "trace"
    assert set(PROFILES) == {"trace", "lenient", "absolute_hrefs", "single_link_objects",
                             "embedded_events", "no_history", "exchange_error",
                             "exchange_timeout"}  # fmt: skip
    for name in set(PROFILES) - {"trace", "lenient"}:
        knobs = SimulatorConfig.from_profile(name).knobs()
        changed = {key for key in knobs if knobs[key] != base[key]}
        assert len(changed) == 1, (name, changed)
    assert SimulatorConfig.from_profile("lenient").profile == "lenient"
    config = SimulatorConfig.from_profile("no_history", port=1234, absolute_hrefs=True)
    assert (config.port, config.absolute_hrefs, config.conversation_history) == (
        1234, True, "absent"
    )  # fmt: skip
    with pytest.raises(ValueError, match="unknown profile"):
        SimulatorConfig.from_profile("strict")
    with pytest.raises(ValueError, match="conversation_history"):
        SimulatorConfig(conversation_history="gone")  # type: ignore[arg-type]


async def test_control_api_switches_the_shape(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    """A simulator in another process is switched over HTTP; a bad knob changes nothing."""
    sim = await make_sim(profile="lenient")
    url = f"{sim.base_url}/_sim/config"
    async with session.get(url) as resp:
        assert resp.status == 200
        assert await resp.json() == {
            "profile": "lenient", "absolute_hrefs": False, "single_link_objects": False,
            "embedded_events": False, "conversation_history": "available", "hidden_links": [],
        }  # fmt: skip
    async with session.post(url, json=PROFILES["exchange_timeout"]) as resp:
        assert resp.status == 200
        knobs = await resp.json()
    assert (knobs["profile"], knobs["conversation_history"]) == ("trace", "exchange_timeout")
    for bad in ({"strict": True}, {"profile": "strict"}, {"absolute_hrefs": "yes"},
                {"profile": "lenient", "hidden_links": "missedItems"}, ["trace"]):  # fmt: skip
        async with session.post(url, json=bad) as resp:
            assert resp.status == 400, bad
            assert "error" in await resp.json()
    assert sim.config.knobs() == knobs
    async with session.post(url, json={"hidden_links": ["missedItems"]}) as resp:
        assert (await resp.json())["hidden_links"] == ["missedItems"]
    walker = Walker(sim, session)
    await walker.create_app()
    assert set(walker.app["_embedded"]["communication"]["_links"]) == TRACE_AT_CREATION
    await walker.make_me_available()
    assert "missedItems" not in walker.app["_embedded"]["communication"]["_links"]


async def test_switch_applies_to_the_next_answer(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    walker = await signed_in(make_sim, session, profile="trace")
    walker.sim.config.apply_knobs({"profile": "lenient"})
    communication = (await walker.get(walker.link("communication", "self"))).json
    assert set(communication["_links"]) >= CAPABILITIES
