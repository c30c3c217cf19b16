"""The event channel: application loss, drops, delays, replaced P-GETs, resync and resume."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.ucwa.api import (
    ApplicationLost,
    ApplicationRestored,
    AuthenticationFailed,
    PhoneAudioInvitationEvent,
    UcwaEvent,
    UcwaTimeoutError,
    UcwaTimings,
)
from custom_components.ucwa.api.client import UcwaClient, UcwaConfig
from simulator import Simulator

from .conftest import FAST
from .helpers import Recorder, count


@pytest.mark.parametrize("kind", ["not_found", "expired"])
async def test_lost_application_is_recreated_silently(
    started: UcwaClient, sim: Simulator, kind: str
) -> None:
    recorder = Recorder()
    started.subscribe(recorder)
    [old_id] = sim.drop_application(kind)  # type: ignore[arg-type]
    await sim.wait_for_request("POST", "applications")
    await sim.wait_for_parked_pget()
    assert started.events_flowing
    assert f"/applications/{old_id}/" not in sim.requests[-1].path  # parked on the new one
    assert recorder.of(ApplicationLost) == []
    assert count(sim, "POST", "makeMeAvailable") == 1


async def test_lost_then_restored_when_recreation_fails(
    started: UcwaClient, sim: Simulator
) -> None:
    recorder = Recorder()
    started.subscribe(recorder)
    sim.fail_next("POST", "applications", status=503, code="ServiceUnavailable", count=2)
    sim.drop_application("not_found")
    lost = await recorder.wait_for(ApplicationLost)
    assert "503" in lost.error
    await recorder.wait_for(ApplicationRestored)
    assert count(sim, "POST", "applications") == 3
    kinds = [type(e).__name__ for e in recorder.events]
    assert kinds == ["ApplicationLost", "ApplicationRestored"]
    assert started.events_flowing


async def test_failing_pgets_report_the_channel_down_then_back(
    started: UcwaClient, sim: Simulator
) -> None:
    """Two failed P-GETs are routine and said nothing; the third reports the channel down, once.

    The next good answer reports it back: the integration shows the outage (entities unavailable)
    instead of stale data, however the P-GET fails (here 500s, as a pool being restarted).
    """
    recorder = Recorder()
    started.subscribe(recorder)
    sim.fail_next("GET", "events", status=500, code="ServiceFailure", count=2)
    await sim.wait_for_request("GET", "events", count=3)
    await sim.wait_for_parked_pget()
    assert recorder.events == []

    sim.fail_next("GET", "events", status=500, code="ServiceFailure", count=4)
    lost = await recorder.wait_for(ApplicationLost)
    assert lost.error.startswith("Event channel failed: 500 ServiceFailure")
    await recorder.wait_for(ApplicationRestored)
    kinds = [type(e).__name__ for e in recorder.events]
    assert kinds == ["ApplicationLost", "ApplicationRestored"]
    assert started.events_flowing


async def test_channel_survives_drops_and_delays(started: UcwaClient, sim: Simulator) -> None:
    sim.drop_next("GET", "events", count=3)
    await sim.wait_for_request("GET", "events", count=4)
    await sim.wait_for_parked_pget()
    sim.delay_next("GET", "events", 0.2)
    sim.fail_next("GET", "events", status=500, code="ServiceFailure")
    await sim.wait_for_request("GET", "events", count=6)
    await sim.wait_for_parked_pget()
    logs = await started.get_conversation_logs(limit=1)
    call = await started.continue_phone_audio(logs[0])
    result = await started.wait_for_invitation(call.operation_id, timeout=5)
    assert result.status == "Success"


async def test_pget_replaced_is_not_a_tight_loop(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    timings = UcwaTimings(reconnect_base=0.2, reconnect_cap=0.2, parked_grace=0.01)
    started = UcwaClient(make_config(), session=session, timings=timings)
    await started.start()
    await sim.wait_for_parked_pget()
    sim.reset_requests()
    sim.fail_next("GET", "events", status=409, code="Conflict", subcode="PGetReplaced", count=2)
    loop = asyncio.get_running_loop()
    begin = loop.time()
    await sim.wait_for_request("GET", "events", count=3)
    assert loop.time() - begin >= 0.19  # waited at least one backoff (≥ half of 0.2 s each)
    await sim.wait_for_parked_pget()
    await started.close()


async def test_many_connection_failures_trigger_rediscovery(
    started: UcwaClient, sim: Simulator
) -> None:
    sim.drop_next("GET", "events", count=12)
    await sim.wait_for_request("GET", "root")
    await sim.wait_for_request("POST", "applications")
    await sim.wait_for_parked_pget()


def _pool_client(origin: str, session: aiohttp.ClientSession) -> UcwaClient:
    """Return a client of the scripted pool, with P-GETs held 1 s and short backoffs."""
    config = UcwaConfig(
        sign_in_address="a@contoso.com",
        password="x",
        discovery_url=f"{origin}/root",
        event_timeout=1,
    )
    return UcwaClient(config, session=session, timings=FAST)


def test_backoff_is_capped_with_jitter() -> None:
    delays = [UcwaTimings().backoff(n) for n in range(40)]
    assert all(0 < d <= 30.0 for d in delays)
    assert max(delays[10:]) > 15.0
    assert delays[0] <= 1.0


# --- a hand-written server for what the simulator cannot be asked to do -------------------------


def _broken(event: UcwaEvent) -> None:
    raise RuntimeError("subscriber bug")


class FakePool:
    """A minimal pool whose event answers are scripted by the test."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any] | int | tuple[str, bytes]] = []
        self.event_queries: list[dict[str, str]] = []
        self.served = asyncio.Event()
        self.origin = ""

    def app(self) -> web.Application:
        routes = web.RouteTableDef()

        @routes.get("/root")
        async def root(request: web.Request) -> web.Response:
            return web.json_response({"_links": {"user": {"href": "/user"}}})

        @routes.get("/user")
        async def user(request: web.Request) -> web.Response:
            if "Authorization" not in request.headers:
                return web.Response(
                    status=401,
                    text="<html>401</html>",
                    content_type="text/html",
                    headers={"WWW-Authenticate": 'MsRtcOAuth href="/token",grant_type="password"'},
                )
            return web.json_response({"_links": {"applications": {"href": "/apps"}}})

        @routes.post("/token")
        async def token(request: web.Request) -> web.Response:
            return web.json_response(
                {"access_token": "cwt=abc", "token_type": "Bearer", "expires_in": 3600}
            )

        @routes.post("/apps")
        async def apps(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "_links": {"self": {"href": "/apps/1"}, "events": {"href": "/apps/1/ev?ack=1"}},
                    "_embedded": {"communication": {"_links": {}}, "me": {"_links": {}}},
                },
                status=201,
            )

        @routes.get("/apps/1/ev")
        async def events(request: web.Request) -> web.Response:
            self.event_queries.append(dict(request.query))
            self.served.set()
            if not self.answers:
                await asyncio.sleep(30)
            answer = self.answers.pop(0)
            if isinstance(answer, int):
                return web.Response(status=answer, text="<html>oops</html>",
                                    content_type="text/html")  # fmt: skip
            if isinstance(answer, tuple):
                content_type, body = answer
                return web.Response(body=body, headers={"Content-Type": content_type})
            return web.json_response(answer)

        @routes.delete("/apps/1")
        async def delete(request: web.Request) -> web.Response:
            return web.Response(status=204)

        application = web.Application()
        application.add_routes(routes)
        return application


@pytest.fixture
async def fake_pool(socket_enabled: None) -> Any:
    pool = FakePool()
    runner = web.AppRunner(pool.app(), handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    pool.origin = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield pool
    await runner.cleanup()


async def test_resync_resume_and_odd_answers(fake_pool: FakePool) -> None:
    o = fake_pool.origin
    invitation = f"{o}/apps/1/inv/7"
    fake_pool.answers = [
        {"_links": {"resync": {"href": "/apps/1/ev?ack=5"}, "next": {"href": "/x?ack=9"}}},
        {"_links": {"resume": {"href": "/apps/1/ev?ack=6"}}},
        {"_links": {"next": {"href": "/apps/1/ev?ack=7"}},
         "sender": [{"rel": "communication", "events": [
             {"link": {"rel": "phoneAudioInvitation", "href": invitation}, "type": "started",
              "_embedded": {"phoneAudioInvitation": {"operationId": "op7", "state": "Connecting"}}},
             "not an event",
             {"link": {"rel": "conversation", "href": "/c"}, "type": "added"},
         ]}, "junk"]},
        500,
        {"_links": {"next": {"href": "/apps/1/ev?ack=8"}},
         "sender": [{"events": [{"link": {"rel": "phoneAudioInvitation", "href": invitation},
                                 "type": "completed", "status": "Success"}]}]},
    ]  # fmt: skip
    seen: list[UcwaEvent] = []
    async with aiohttp.ClientSession() as session:
        client = _pool_client(o, session)
        client.subscribe(seen.append)
        client.subscribe(_broken)  # a broken subscriber must not stop the others
        await client.start()
        result = await client.wait_for_invitation("op7", timeout=5)
        assert result.status == "Success"
        assert result.operation_id == "op7"
        assert [q["ack"] for q in fake_pool.event_queries[:5]] == ["1", "5", "6", "7", "7"]
        assert all(q["timeout"] == "1" for q in fake_pool.event_queries)
        assert [e.type for e in seen if isinstance(e, PhoneAudioInvitationEvent)] == [
            "started",
            "completed",
        ]
        with pytest.raises(Exception, match="does not offer"):
            await client.get_missed_items()
        await client.close()


async def test_unreadable_batches_are_skipped_and_the_same_batch_asked_again(
    fake_pool: FakePool,
) -> None:
    """Proxies answer 200 with HTML, truncated JSON or a JSON array: ask for the batch again."""
    o = fake_pool.origin
    invitation = f"{o}/apps/1/inv/9"
    fake_pool.answers = [
        ("text/html", b"<html>Access gateway</html>"),
        ("application/json", b'{"_links": {"next"'),
        ("application/json", b'["not", "a", "batch"]'),
        {"_links": {"self": {"href": "/apps/1/ev?ack=1"}}},  # neither next nor resume
        {"_links": {"next": {"href": "/apps/1/ev?ack=2"}},
         "sender": [{"rel": "communication", "events": [
             {"link": {"rel": "phoneAudioInvitation", "href": invitation}, "type": "weird"},
             {"link": {"rel": "phoneAudioInvitation", "href": f"{o}/apps/1/inv/8"},
              "type": "completed", "status": "Success"},
             {"link": {"rel": "phoneAudioInvitation", "href": invitation}, "type": "completed",
              "status": "Failure", "reason": {"code": "RemoteFailure", "subcode": "Busy"},
              "_embedded": {"phoneAudioInvitation": {"operationId": "op9"}}},
         ]}]},
    ]  # fmt: skip
    seen: list[UcwaEvent] = []
    async with aiohttp.ClientSession() as session:
        client = _pool_client(o, session)
        client.subscribe(seen.append)
        await client.start()
        result = await client.wait_for_invitation("op9", timeout=5)
        assert (result.status, result.reason and result.reason.subcode) == ("Failure", "Busy")
        assert [q["ack"] for q in fake_pool.event_queries[:5]] == ["1"] * 5
        invitations = [e for e in seen if isinstance(e, PhoneAudioInvitationEvent)]
        # the unknown type is dropped; an unknown invitation is reported without operation id
        assert [(e.href.rsplit("/", 1)[-1], e.operation_id) for e in invitations] == [
            ("8", None),
            ("9", "op9"),
        ]
        assert client.events_flowing
        await client.close()


async def test_only_the_latest_hundred_results_are_kept(fake_pool: FakePool) -> None:
    o = fake_pool.origin
    events = [
        {"link": {"rel": "phoneAudioInvitation", "href": f"{o}/apps/1/inv/{n}"},
         "type": "completed", "status": "Success",
         "_embedded": {"phoneAudioInvitation": {"operationId": f"op{n}"}}}
        for n in range(101)
    ]  # fmt: skip
    fake_pool.answers = [
        {"_links": {"next": {"href": "/apps/1/ev?ack=2"}},
         "sender": [{"rel": "communication", "events": events}]},
    ]  # fmt: skip
    async with aiohttp.ClientSession() as session:
        client = _pool_client(o, session)
        await client.start()
        newest = await client.wait_for_invitation("op100", timeout=5)
        assert newest.href == f"{o}/apps/1/inv/100"
        assert (await client.wait_for_invitation("op1", timeout=0)).href.endswith("/inv/1")
        with pytest.raises(UcwaTimeoutError):
            await client.wait_for_invitation("op0", timeout=0.01)  # the oldest was let go
        await client.close()


async def test_application_lost_again_at_once_backs_off(
    started: UcwaClient, sim: Simulator
) -> None:
    """A pool that loses every new application at once is not asked for one in a tight loop."""
    recorder = Recorder()
    started.subscribe(recorder)
    sim.fail_next("GET", "events", status=404, code="NotFound", subcode="ApplicationNotFound",
                  count=3)  # fmt: skip
    sim.drop_application("not_found")
    await sim.wait_for_request("POST", "applications", count=3)
    await sim.wait_for_parked_pget()
    assert started.events_flowing
    assert recorder.of(ApplicationLost) == []  # each recreation worked at once


async def test_credentials_refused_while_recreating_stop_the_channel(
    started: UcwaClient, sim: Simulator
) -> None:
    recorder = Recorder()
    started.subscribe(recorder)
    sim.user.password = "changed-elsewhere-2"
    sim.expire_tokens()
    sim.drop_application("not_found")
    await recorder.wait_for(AuthenticationFailed)
    assert not started.events_flowing
    assert count(sim, "POST", "oauthtoken") == 1


async def test_error_in_a_batch_does_not_stop_the_channel(
    started: UcwaClient, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that breaks the parser is logged and skipped; the next one is handled."""
    original = PhoneAudioInvitationEvent.from_json
    broken = [True]

    def from_json(event: Any, base: str) -> PhoneAudioInvitationEvent | None:
        if broken:
            broken.pop()
            raise KeyError("surprise")
        return original(event, base)

    monkeypatch.setattr(PhoneAudioInvitationEvent, "from_json", staticmethod(from_json))
    logs = await started.get_conversation_logs(limit=1)
    call = await started.continue_phone_audio(logs[0])
    result = await started.wait_for_invitation(call.operation_id, timeout=5)
    assert result.status == "Success"  # a later batch carried the outcome
    assert not broken  # the first invitation event did break its batch
    assert started.events_flowing
    assert started.request_timeout == 5.0


async def test_a_server_answering_at_once_is_not_polled_in_a_tight_loop(
    fake_pool: FakePool,
) -> None:
    """Empty answers that come back at once: after a burst, one P-GET per interval, no more."""
    fake_pool.answers = [{"_links": {"next": {"href": f"/apps/1/ev?ack={n}"}}} for n in range(30)]
    timings = replace(FAST, pget_min_interval=0.1)
    async with aiohttp.ClientSession() as session:
        config = UcwaConfig(
            sign_in_address="a@contoso.com", password="x", discovery_url=f"{fake_pool.origin}/root"
        )
        client = UcwaClient(config, session=session, timings=timings)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await client.start()
        while len(fake_pool.event_queries) < 10:
            fake_pool.served.clear()
            await fake_pool.served.wait()
        elapsed = loop.time() - began
        await client.close()
    # 5 at once, then 5 more at 0.1 s each: at least 0.5 s for 10.
    assert elapsed >= 0.45
