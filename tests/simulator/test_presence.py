"""me's presence, note and location, the presence rule, and the control endpoints that drive them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
import re
from typing import Any

import aiohttp
import pytest

from simulator import Simulator
from tests.simulator.conftest import Walker

MakeSim = Callable[..., Awaitable[Simulator]]
REFERENCE = Path(__file__).parent.parent / "fixtures" / "reference"


async def available(
    make_sim: MakeSim, session: aiohttp.ClientSession, endpoint: str = "ep-1", **knobs: Any
) -> Walker:
    """Return an available application of a fresh pool (trace profile unless knobs say otherwise)."""
    sim = await make_sim(**knobs)
    return await join(sim, session, endpoint)


async def join(sim: Simulator, session: aiohttp.ClientSession, endpoint: str, **mma: Any) -> Walker:
    """Another application of the same user (another endpoint), made available."""
    walker = Walker(sim, session)
    assert (await walker.create_app(endpointId=endpoint)).status == 201
    assert (await walker.make_me_available(**mma)).status == 204
    return walker


async def events_of(walker: Walker, href: str, rel: str, kind: str) -> tuple[dict[str, Any], str]:
    """Follow the channel from `href` until an event about `rel` of type `kind`; return it."""
    seen, following = await walker.events_until(
        href, lambda e: e["link"]["rel"] == rel and e["type"] == kind
    )
    event = next(e for e in seen if e["link"]["rel"] == rel and e["type"] == kind)
    return event, following


async def first_batch(walker: Walker) -> str:
    """Take the makeMeAvailable batch off the channel; return the next P-GET's href."""
    _seen, following = await walker.events_until(walker.link("events"), lambda e: True)
    return following


def app_id(walker: Walker) -> str:
    return walker.app_url.rsplit("/", 1)[1]


def published(sim: Simulator) -> tuple[str, str]:
    presence = sim.state()["presence"]
    return presence["availability"], presence["activity"]


@pytest.mark.parametrize("rel", ["presence", "note", "location"])
async def test_lurking_applications_get_make_me_available_required(
    make_sim: MakeSim, session: aiohttp.ClientSession, rel: str
) -> None:
    """presence_ref.md, note_ref.md, location_ref.md: 409 MakeMeAvailableRequired before it."""
    sim = await make_sim()
    walker = Walker(sim, session)
    await walker.create_app()
    assert rel not in walker.app["_embedded"]["me"]["_links"]
    href = f"{walker.link('me', 'self')}/{rel}"  # a client would never build it; the server refuses
    for answer in (await walker.get(href), await walker.post(href, {})):
        assert answer.status == 409
        assert (answer.json["code"], answer.json["subcode"]) == (
            "Conflict",
            "MakeMeAvailableRequired",
        )


async def test_me_links_what_the_reference_shows_after_make_me_available(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    """GetMyPresenceInformation.md step 4: me without makeMeAvailable, with presence and note."""
    text = (REFERENCE / "GetMyPresenceInformation__step-4.txt").read_text(encoding="utf-8")
    me_links = text.split('"me":{', 1)[1].split('"_links":{', 1)[1].split("}\n},", 1)[0]
    expected = set(re.findall(r'^"(\w+)":\{"href"', me_links, re.MULTILINE))
    assert "presence" in expected
    assert "makeMeAvailable" not in expected
    for profile in ("trace", "lenient"):
        walker = await available(make_sim, session, profile=profile)
        me = (await walker.get(walker.link("me", "self"))).json
        assert set(me["_links"]) == expected
        assert set(walker.app["_embedded"]["me"]["_links"]) == expected


async def test_post_presence_sets_and_an_empty_body_resets(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    walker = await available(make_sim, session)
    sim, href = walker.sim, walker.link("me", "presence")
    assert (await walker.get(href)).json["availability"] == "Online"  # the desktop client
    assert (await walker.post(href, {"availability": "BeRightBack"})).status == 204
    assert (await walker.get(href)).json["availability"] == "BeRightBack"
    sim.set_device_presence("Busy", "on-the-phone")
    assert published(sim) == ("BeRightBack", "Be Right Back")  # the choice wins
    assert (await walker.post(href)).status == 204
    assert published(sim) == ("Busy", "on-the-phone")
    assert (await walker.post(href, {"availability": "Offwork"})).status == 204
    assert published(sim) == ("Away", "Off Work")
    assert (await walker.post(href, {"availability": None})).status == 204  # Nullable: reset
    assert sim.state()["presence"]["manual"] is None
    for wrong in ("Offline", "IdleOnline", "online", 3):
        refused = await walker.post(href, {"availability": wrong})
        assert refused.status == 400
        assert refused.json["subcode"] == "ParameterValidationFailure"
        assert refused.json["parameters"] == [{"name": "availability", "reason": "Invalid"}]


async def test_every_available_application_hears_of_a_change(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    """`presence updated` (sender me) to every available application; none to a lurking one."""
    first = await available(make_sim, session)
    sim = first.sim
    second = await join(sim, session, "ep-2")
    lurking = Walker(sim, session)
    await lurking.create_app(endpointId="ep-3")
    following = [await first_batch(walker) for walker in (first, second)]
    assert (
        await second.post(second.link("me", "presence"), {"availability": "Busy"})
    ).status == 204
    for walker, href in zip((first, second), following, strict=True):
        event, _ = await events_of(walker, href, "presence", "updated")
        assert event["sender"] == "me"
        assert event["link"]["href"] == walker.link("me", "presence")
        assert "_embedded" not in event  # link only, as presence_ref.md's sample
    quiet = await lurking.get(lurking.link("events"))
    assert quiet.json.get("sender") is None


async def test_nothing_is_announced_when_nothing_changed(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    walker = await available(make_sim, session, pget_timeout_override=0.2)
    following = await first_batch(walker)
    walker.sim.set_device_presence("Online", "Available")  # what it published already
    walker.sim.set_device_note("")
    assert (await walker.get(following)).json.get("sender") is None


async def test_embedded_events_carry_what_a_get_answers(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    walker = await available(make_sim, session, embedded_events=True)
    following = await first_batch(walker)
    walker.sim.set_device_presence("DoNotDisturb", "presenting")
    event, following = await events_of(walker, following, "presence", "updated")
    presence = (await walker.get(walker.link("me", "presence"))).json
    assert event["_embedded"] == {"presence": presence}
    assert presence["activity"] == "presenting"
    note = walker.link("me", "note")
    assert (await walker.post(note, {"message": "  In a workshop  "})).status == 204
    event, _ = await events_of(walker, following, "note", "updated")
    assert event["_embedded"]["note"] == (await walker.get(note)).json
    assert event["_embedded"]["note"]["message"] == "  In a workshop  "  # as sent


async def test_note_personal_out_of_office_and_reset(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    walker = await available(make_sim, session)
    sim, href = walker.sim, walker.link("me", "note")
    assert (await walker.get(href)).json == {
        "rel": "note",
        "message": "",
        "type": "Personal",
        "_links": {"self": {"href": href}},
    }
    assert (await walker.post(f"{href}?message=Heads%20down")).status == 204  # query input
    assert (await walker.get(href)).json["message"] == "Heads down"
    sim.set_device_note("Away until Monday", "OutOfOffice")
    assert (await walker.get(href)).json["type"] == "OutOfOffice"
    sim.set_device_note("", "OutOfOffice")
    assert (await walker.get(href)).json["message"] == "Heads down"
    assert (await walker.post(href, {"message": "   "})).status == 204  # blank: reset
    assert (await walker.get(href)).json["message"] == ""
    assert (await walker.post(href, {"message": 7})).status == 400
    with pytest.raises(ValueError, match="Personal or OutOfOffice"):
        sim.set_device_note("x", "Public")


async def test_location_is_set_cleared_and_bounded(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    walker = await available(make_sim, session)
    href = walker.link("me", "location")
    following = await first_batch(walker)
    assert (await walker.post(href, {"location": "By the beach..."})).status == 204
    await events_of(walker, following, "location", "updated")
    assert (await walker.get(href)).json["location"] == "By the beach..."
    assert (await walker.post(href, {"location": "x" * 61})).status == 400
    assert (await walker.post(href)).status == 204
    assert (await walker.get(href)).json["location"] == ""


async def test_report_my_activity_counts_only_for_its_own_application(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    """MeDashboard.md: "only the availability of the user from the current application".

    B reports activity: B's endpoint is Online (and so is the user, active on B); A's endpoint
    stays Away. Then B goes idle: IdleOnline, Away; A hears each step without asking.
    """
    a = await available(make_sim, session, inactive_timeout=0.3, away_timeout=0.3)
    sim = a.sim
    sim.set_device_presence("Away")
    b = await join(sim, session, "ep-2")
    following = await first_batch(a)
    assert (await b.post(b.link("me", "reportMyActivity"))).status == 204
    endpoints = {app["app_id"]: app for app in sim.state()["applications"]}
    assert endpoints[app_id(b)]["endpoint_availability"] == "Online"
    assert endpoints[app_id(a)]["endpoint_availability"] == "Away"
    assert endpoints[app_id(a)]["activity_reported"] is False
    assert published(sim) == ("Online", "Available")
    steps = []
    for _ in range(3):
        _event, following = await events_of(a, following, "presence", "updated")
        steps.append((await a.get(a.link("me", "presence"))).json["availability"])
    assert steps == ["Online", "IdleOnline", "Away"]


async def test_sign_in_as_sets_the_manual_availability(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    """A client that sends signInAs claims the user's availability, whatever they do elsewhere."""
    first = await available(make_sim, session)
    sim = first.sim
    sim.set_device_presence("Away")
    following = await first_batch(first)
    await join(sim, session, "ep-2", signInAs="Online")
    assert sim.state()["presence"]["manual"] == "Online"
    await events_of(first, following, "presence", "updated")
    assert published(sim) == ("Online", "Available")


async def test_an_ending_application_takes_its_endpoint_with_it(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    a = await available(make_sim, session)
    sim = a.sim
    sim.set_device_presence(None)  # no other device
    b = await join(sim, session, "ep-2")
    assert (await b.post(b.link("me", "reportMyActivity"))).status == 204
    assert published(sim) == ("Online", "Available")
    assert (await b.request("DELETE", b.app_url)).status == 204
    assert published(sim) == ("Away", "Away")  # only A, which never reported activity
    assert (await a.request("DELETE", a.app_url)).status == 204
    assert published(sim) == ("Offline", "Offline")


async def test_return_to_lurker(make_sim: MakeSim, session: aiohttp.ClientSession) -> None:
    """Announced: presence, note and location deleted, me updated; unannounced: only 409s."""
    walker = await available(make_sim, session)
    sim = walker.sim
    following = await first_batch(walker)
    href = walker.link("me", "presence")
    sim.return_to_lurker()
    seen, _ = await walker.events_until(following, lambda e: e["link"]["rel"] == "me")
    assert [(e["link"]["rel"], e["type"]) for e in seen] == [
        ("presence", "deleted"),
        ("note", "deleted"),
        ("location", "deleted"),
        ("me", "updated"),
    ]
    assert (await walker.get(href)).status == 409
    me = (await walker.get(walker.link("me", "self"))).json
    assert "makeMeAvailable" in me["_links"]
    assert "presence" not in me["_links"]
    assert (await walker.post(me["_links"]["makeMeAvailable"]["href"], {})).status == 204
    assert (await walker.get(href)).status == 200
    queued = len(sim.applications[app_id(walker)].channel.pending)
    assert sim.return_to_lurker(announce=False) == [app_id(walker)]
    assert (await walker.get(href)).status == 409
    assert len(sim.applications[app_id(walker)].channel.pending) == queued  # not a word


async def test_control_endpoints_over_http(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    walker = await available(make_sim, session)
    sim = walker.sim

    async def post(path: str, body: Any) -> aiohttp.ClientResponse:
        async with session.post(f"{sim.base_url}{path}", json=body) as resp:
            await resp.read()
            return resp

    assert (
        await post("/_sim/presence", {"availability": "Busy", "activity": "on-the-phone"})
    ).status == 204
    assert (await post("/_sim/note", {"message": "Back at 3", "type": "OutOfOffice"})).status == 204
    async with session.get(f"{sim.base_url}/_sim/state") as resp:
        state = await resp.json()
    assert state["presence"] == {
        "availability": "Busy",
        "activity": "on-the-phone",
        "manual": None,
        "other_devices": {"availability": "Busy", "activity": "on-the-phone"},
        "note": {"message": "Back at 3", "type": "OutOfOffice"},
        "location": "",
    }
    assert (await post("/_sim/presence", {"availability": "Away"})).status == 204
    assert published(sim) == ("Away", "Away")  # the availability's own activity
    assert (await post("/_sim/presence", {"availability": None})).status == 204
    assert sim.state()["presence"]["other_devices"] is None
    bad: Any
    for bad in ({"availability": "Offwork"}, {"availability": "Away", "activity": 3}, [1]):
        assert (await post("/_sim/presence", bad)).status == 400
    for bad in ({"message": 3}, {"message": "x", "type": "Public"}, [1]):
        assert (await post("/_sim/note", bad)).status == 400
    assert sim.requests == [r for r in sim.requests if not r.path.startswith("/_sim/")]


async def test_idle_endpoints_are_published_without_any_request(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    """The expiry tick publishes presence too: an endpoint that stops reporting goes idle."""
    walker = await available(
        make_sim, session, inactive_timeout=0.2, away_timeout=10.0, pget_timeout_override=5.0
    )
    sim = walker.sim
    sim.set_device_presence("Away")
    following = await first_batch(walker)
    assert (await walker.post(walker.link("me", "reportMyActivity"))).status == 204
    _event, following = await events_of(walker, following, "presence", "updated")
    pending = asyncio.create_task(events_of(walker, following, "presence", "updated"))
    await asyncio.wait_for(pending, 5)
    assert published(sim) == ("IdleOnline", "Inactive")
