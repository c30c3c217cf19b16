"""The user's own presence and note: one read, then events; one POST per change; errors as elsewhere.

Every test runs on the lenient and the trace pool (`sim_config`); those whose events carry the
resource switch the running simulator to `embedded_events`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
import json

import aiohttp
import pytest

from custom_components.ucwa.api import (
    PREFERRED_AVAILABILITY,
    Note,
    NoteUpdated,
    Presence,
    PresenceUpdated,
    UcwaApiError,
    UcwaLinkNotOfferedError,
    UcwaTimings,
)
from custom_components.ucwa.api.client import UcwaClient, UcwaConfig
from custom_components.ucwa.api.me import MyPresence
from simulator import Simulator

from .conftest import FAST
from .helpers import Recorder, non_event_requests

ONLINE = Presence(availability="Online", activity="Available")
"""The demo user's presence: their desktop client (another device) is active."""


@pytest.fixture
async def reading(started: UcwaClient, sim: Simulator) -> tuple[UcwaClient, Recorder]:
    """Return a started client that read presence and note once (the first refresh)."""
    recorder = Recorder()
    started.subscribe(recorder)
    assert await started.get_presence() == ONLINE
    assert await started.get_note() == Note(message="", type="Personal")
    await sim.wait_for_parked_pget()
    sim.reset_requests()
    return started, recorder


def _posted(sim: Simulator, route: str) -> list[str]:
    return [r.body for r in sim.requests if (r.method, r.route) == ("POST", route)]


async def test_first_read_follows_me_then_the_cache_answers(
    started: UcwaClient, sim: Simulator
) -> None:
    """The me resource links presence after makeMeAvailable: re-read once, then presence is GET."""
    assert await started.get_presence() == ONLINE
    assert non_event_requests(sim) == ["GET me", "GET presence"]
    assert await started.get_presence() == ONLINE
    assert await started.get_note() == Note(message="", type="Personal")
    assert await started.get_note() == Note(message="", type="Personal")
    assert non_event_requests(sim) == ["GET me", "GET presence", "GET note"]
    counts = started.session_info().counts
    assert (counts.presence_reads, counts.note_reads) == (1, 1)
    assert "presence" in started.session_info().links["me"]
    assert "makeMeAvailable" not in started.session_info().links["me"]  # me as it is now


async def test_without_the_event_channel_every_read_asks_the_server(
    client: UcwaClient, sim: Simulator
) -> None:
    """Events keep the cache right; with no channel running, nothing does."""
    assert await client.get_presence() == ONLINE
    sim.set_device_presence("Away")
    assert await client.get_presence() == Presence("Away", "Away")
    assert [r for r in non_event_requests(sim) if "presence" in r] == ["GET presence"] * 2


async def test_another_device_changes_presence(
    reading: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    """A link-only `presence updated` costs one GET; the cache then answers."""
    client, recorder = reading
    sim.set_device_presence("Busy", "on-the-phone")
    event = await recorder.wait_for_nth(PresenceUpdated, 2)
    assert event.presence == Presence("Busy", "on-the-phone")
    assert non_event_requests(sim) == ["GET presence"]
    assert await client.get_presence() == Presence("Busy", "on-the-phone")
    assert non_event_requests(sim) == ["GET presence"]


async def test_embedded_events_cost_nothing(
    reading: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    client, recorder = reading
    sim.config.embedded_events = True
    sim.set_device_presence("DoNotDisturb", "presenting")
    event = await recorder.wait_for_nth(PresenceUpdated, 2)
    assert event.presence == Presence("DoNotDisturb", "presenting")
    sim.set_device_note("Back on Monday", "OutOfOffice")
    note = await recorder.wait_for_nth(NoteUpdated, 2)
    assert note.note == Note("Back on Monday", "OutOfOffice")
    assert await client.get_presence() == Presence("DoNotDisturb", "presenting")
    assert await client.get_note() == Note("Back on Monday", "OutOfOffice")
    assert non_event_requests(sim) == []


async def test_events_before_anyone_asked_cost_nothing(started: UcwaClient, sim: Simulator) -> None:
    """A client that never shows presence never pays for its events."""
    recorder = Recorder()
    started.subscribe(recorder)
    sim.set_device_presence("Away")
    sim.set_device_note("Out to lunch")
    await sim.wait_for_request("GET", "events", count=3)
    await sim.wait_for_parked_pget()
    assert non_event_requests(sim) == []
    assert recorder.of(PresenceUpdated) == []


async def test_set_availability_is_one_post(
    reading: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    """One POST; the server's `updated` then says what it publishes (here: what was chosen)."""
    client, recorder = reading
    await client.set_availability("DoNotDisturb")
    assert non_event_requests(sim)[0] == "POST presence"
    assert [json.loads(body) for body in _posted(sim, "presence")] == [
        {"availability": "DoNotDisturb"}
    ]
    event = await recorder.wait_for_nth(PresenceUpdated, 2)
    assert event.presence == Presence("DoNotDisturb", "Do Not Disturb")
    assert await client.get_presence() == Presence("DoNotDisturb", "Do Not Disturb")
    assert non_event_requests(sim) == ["POST presence", "GET presence"]
    assert sim.state()["presence"]["manual"] == "DoNotDisturb"


async def test_a_chosen_availability_outlasts_other_devices_until_reset(
    reading: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    client, recorder = reading
    await client.set_availability("Offwork")
    off_work = await recorder.wait_for_nth(PresenceUpdated, 2)
    assert off_work.presence == Presence("Away", "Off Work")  # Availability has no Offwork
    sim.set_device_presence("Busy", "in-a-conference")  # another device: not published
    await client.reset_availability()
    back = await recorder.wait_for_nth(PresenceUpdated, 3)
    assert back.presence == Presence("Busy", "in-a-conference")
    [offwork, reset] = [r for r in sim.requests if (r.method, r.route) == ("POST", "presence")]
    assert (json.loads(offwork.body), reset.body) == ({"availability": "Offwork"}, "")
    assert reset.headers["Content-Type"] == "application/json"  # as the reference resets
    assert len(recorder.of(PresenceUpdated)) == 3


@pytest.mark.parametrize("value", ["Offline", "IdleOnline", "online", "", "Available"])
async def test_set_availability_refuses_what_a_user_cannot_choose(
    started: UcwaClient, sim: Simulator, value: str
) -> None:
    with pytest.raises(ValueError, match="Online, Busy, DoNotDisturb, BeRightBack, Away, Offwork"):
        await started.set_availability(value)
    assert non_event_requests(sim) == []
    assert value not in PREFERRED_AVAILABILITY


async def test_set_note_is_one_post(reading: tuple[UcwaClient, Recorder], sim: Simulator) -> None:
    client, recorder = reading
    await client.set_note("Heads down today")
    event = await recorder.wait_for_nth(NoteUpdated, 2)
    assert event.note == Note("Heads down today", "Personal")
    await client.set_note("")
    cleared = await recorder.wait_for_nth(NoteUpdated, 3)
    assert cleared.note == Note("", "Personal")
    assert [json.loads(body) for body in _posted(sim, "note")] == [
        {"message": "Heads down today"},
        {"message": ""},
    ]
    assert non_event_requests(sim) == ["POST note", "GET note", "POST note", "GET note"]


async def test_an_out_of_office_note_hides_the_personal_one(
    reading: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    client, recorder = reading
    await client.set_note("Heads down")
    await recorder.wait_for_nth(NoteUpdated, 2)
    sim.set_device_note("On holiday until 3 June", "OutOfOffice")
    event = await recorder.wait_for_nth(NoteUpdated, 3)
    assert event.note == Note("On holiday until 3 June", "OutOfOffice")
    assert await client.get_note() == Note("On holiday until 3 June", "OutOfOffice")


async def test_deleted_withdraws_both_until_added_again(
    reading: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    """Back in lurker mode: None is reported, and reads say the link is not offered."""
    client, recorder = reading
    sim.return_to_lurker()
    assert (await recorder.wait_for_nth(PresenceUpdated, 2)).presence is None
    assert (await recorder.wait_for_nth(NoteUpdated, 2)).note is None
    with pytest.raises(UcwaLinkNotOfferedError) as caught:
        await client.get_presence()
    assert (caught.value.rel, caught.value.owner) == ("presence", "me")
    with pytest.raises(UcwaLinkNotOfferedError):
        await client.get_presence()  # me is not re-read again until something changes
    assert non_event_requests(sim) == ["GET me"]


async def test_make_me_available_required_is_answered_once(
    reading: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    """The pool dropped the application to lurker mode without a word: 409 on the POST.

    The client makes the user available again (no signInAs) and repeats the refused POST once.
    """
    client, recorder = reading
    [app_id] = sim.return_to_lurker(announce=False)
    await client.set_availability("Busy")
    assert non_event_requests(sim)[:5] == [
        "POST presence",  # 409 MakeMeAvailableRequired
        "GET me",
        "POST makeMeAvailable",
        "GET me",
        "POST presence",
    ]
    assert [r.status for r in sim.requests if r.route == "presence"] == [409, 204]
    assert sim.applications[app_id].available
    assert "signInAs" not in next(r for r in sim.requests if r.route == "makeMeAvailable").body
    event = await recorder.wait_for_nth(PresenceUpdated, 2)
    assert event.presence == Presence("Busy", "Busy")


async def test_make_me_available_required_twice_is_raised(
    reading: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    client, _recorder = reading
    sim.return_to_lurker(announce=False)
    sim.fail_next("POST", "me/presence", status=409, code="Conflict",
                  subcode="MakeMeAvailableRequired", count=2)  # fmt: skip
    with pytest.raises(UcwaApiError) as caught:
        await client.set_availability("Busy")
    assert (caught.value.status, caught.value.subcode) == (409, "MakeMeAvailableRequired")
    assert [r for r in non_event_requests(sim) if r == "POST presence"] == ["POST presence"] * 2


async def test_other_errors_keep_their_code(
    reading: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    client, _recorder = reading
    sim.fail_next("POST", "me/note", status=410, code="Gone", subcode="CannotRedirect")
    with pytest.raises(UcwaApiError) as caught:
        await client.set_note("Hello")
    assert (caught.value.status, caught.value.code, caught.value.subcode) == (
        410,
        "Gone",
        "CannotRedirect",
    )
    assert non_event_requests(sim) == ["POST note"]


async def test_a_replaced_application_re_reads_once(
    reading: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    """Events of the lost application are lost with it: presence and note are read again."""
    _client, recorder = reading
    sim.drop_application("not_found")
    sim.set_device_presence("BeRightBack")  # while no application is there to be told
    event = await recorder.wait_for_nth(PresenceUpdated, 2, within=10)
    assert event.presence == Presence("BeRightBack", "Be Right Back")
    await sim.wait_for_parked_pget()
    requests = non_event_requests(sim)
    assert requests.count("GET presence") == 1
    assert requests.count("GET note") == 1


@pytest.fixture
async def paced(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> AsyncIterator[tuple[UcwaClient, Recorder]]:
    """Return a reading client whose re-reads, once the burst (3) is spent, come back after 60 s."""
    timings = replace(FAST, refresh_burst=UcwaTimings().refresh_burst, refresh_interval=60.0)
    client = UcwaClient(make_config(), session=session, request_timeout=5.0, timings=timings)
    recorder = Recorder()
    client.subscribe(recorder)
    try:
        await client.start()
        await client.get_presence()
        await sim.wait_for_parked_pget()
        sim.reset_requests()
        yield client, recorder
    finally:
        await client.close()


async def test_back_to_back_changes_cost_one_round_trip_each(
    paced: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    """Each change made the moment the one before arrived is read at once (no wait: 60 s)."""
    _client, recorder = paced
    states = ["Busy", "Away", "Online"]
    for nth, availability in enumerate(states, start=2):
        sim.set_device_presence(availability)
        event = await recorder.wait_for_nth(PresenceUpdated, nth)
        assert event.presence is not None
        assert event.presence.availability == availability
    assert non_event_requests(sim) == ["GET presence"] * 3


async def test_concurrent_first_reads_share_one_get(started: UcwaClient, sim: Simulator) -> None:
    first, second = await asyncio.gather(started.get_presence(), started.get_presence())
    assert first == second == ONLINE
    assert non_event_requests(sim) == ["GET me", "GET presence"]


class _Answer:
    def __init__(self, body: dict[str, str]) -> None:
        self.body = body

    def json(self) -> dict[str, str]:
        return self.body


class _HeldApplications:
    """Stands in for the application room: every request waits until the test lets it go."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.asked = asyncio.Event()
        self.sent: list[str] = []

    async def request(self, method: str, owner: str, rel: str, **_: object) -> _Answer:
        self.sent.append(f"{method} {rel}")
        self.asked.set()
        await self.go.wait()
        return _Answer({"availability": "Busy", "activity": "on-the-phone"})


async def test_an_event_newer_than_a_read_in_flight_wins() -> None:
    """The read was answered before the change; the event that embeds it is the newer word."""
    apps = _HeldApplications()
    events: list[object] = []
    me = MyPresence(apps, FAST, trusted=lambda: True, emit=events.append)  # type: ignore[arg-type]
    reads = [asyncio.create_task(me.get_presence()) for _ in range(2)]
    await apps.asked.wait()
    assert me.on_event("presence", "added", None) is False  # the read in flight covers it
    newer = {"availability": "DoNotDisturb", "activity": "presenting"}
    assert me.on_event("presence", "updated", newer) is False
    apps.go.set()
    assert await asyncio.gather(*reads) == [Presence("DoNotDisturb", "presenting")] * 2
    assert apps.sent == ["GET presence"]  # the second caller joined the first read
    assert events == [PresenceUpdated(Presence("DoNotDisturb", "presenting"))]
    assert await me.get_presence() == Presence("DoNotDisturb", "presenting")  # fresh: no GET
    assert apps.sent == ["GET presence"]


async def test_make_me_available_required_without_a_way_back_is_raised(
    reading: tuple[UcwaClient, Recorder], sim: Simulator
) -> None:
    """A 409 MakeMeAvailableRequired while me offers no makeMeAvailable: nothing to repeat."""
    client, _recorder = reading
    sim.fail_next("POST", "me/presence", status=409, code="Conflict",
                  subcode="MakeMeAvailableRequired")  # fmt: skip
    with pytest.raises(UcwaApiError) as caught:
        await client.set_availability("Away")
    assert caught.value.subcode == "MakeMeAvailableRequired"
    assert non_event_requests(sim) == ["POST presence", "GET me"]


async def test_deleted_before_anyone_read_reports_nothing(
    started: UcwaClient, sim: Simulator
) -> None:
    recorder = Recorder()
    started.subscribe(recorder)
    sim.return_to_lurker()
    await sim.wait_for_request("GET", "events", count=2)
    await sim.wait_for_parked_pget()
    assert recorder.of(PresenceUpdated) == []
    assert started._me.on_event("presence", "completed", None) is False  # not a resource event


async def test_a_failed_re_read_is_logged_and_the_next_change_read(
    reading: tuple[UcwaClient, Recorder], sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    client, recorder = reading
    sim.fail_next("GET", "me/presence", status=500, code="ServiceFailure")
    sim.set_device_presence("Busy")
    await sim.wait_for_request("GET", "presence")
    await sim.wait_for_parked_pget()
    assert "Could not re-read the user's presence: 500 ServiceFailure" in caplog.text
    sim.set_device_presence("Away")
    assert (await recorder.wait_for_nth(PresenceUpdated, 2)).presence == Presence("Away", "Away")
    assert await client.get_presence() == Presence("Away", "Away")


async def test_a_re_read_after_the_link_went_is_quiet(
    reading: tuple[UcwaClient, Recorder], sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    client, recorder = reading
    sim.return_to_lurker()
    await recorder.wait_for_nth(PresenceUpdated, 2)
    await client._me.changed("presence")  # the link went with `deleted`
    assert "Not re-reading: The server does not offer presence" in caplog.text
    assert "WARNING" not in caplog.text


async def test_a_re_read_never_raises(
    reading: tuple[UcwaClient, Recorder], sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A re-read runs inside the event dispatch: whatever fails is logged, never raised."""
    client, _recorder = reading
    client._me._resources["note"].parse = _broken
    await client._me.changed("note")
    assert "Unexpected error while re-reading the user's note" in caplog.text
    assert "a parser bug" in caplog.text


def _broken(_data: object) -> Note:
    raise RuntimeError("a parser bug")
