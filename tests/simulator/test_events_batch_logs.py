"""The event channel, batching and the conversation logs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import re
from typing import Any

from simulator import Simulator
from tests.simulator.conftest import Walker

MakeSim = Callable[..., Awaitable[Simulator]]


async def test_empty_release_then_redelivery_and_resync(sim: Simulator, walker: Walker) -> None:
    await walker.create_app()
    first = await walker.get(walker.link("events"))  # times out after 1 s (override)
    assert set(first.json) == {"_links"}
    assert first.json["_links"]["next"]["href"].endswith("ack=2")
    sim.add_conversation_log(direction="Incoming", status="Missed", unread=True)
    second = await walker.get(first.json["_links"]["next"]["href"])
    event = second.json["sender"][0]
    assert event["rel"] == "communication"
    assert event["events"] == [
        {"link": {"rel": "missedItems", "href": walker.link("communication", "missedItems")},
         "type": "updated"}
    ]  # fmt: skip
    again = await walker.get(first.json["_links"]["next"]["href"])
    assert again.json == second.json
    stale = await walker.get(walker.link("events"))  # ack=1, already acknowledged
    assert stale.json == {"_links": {"resync": {"href": first.json["_links"]["next"]["href"]}}}
    ahead = await walker.get(walker.link("events").replace("ack=1", "ack=9"))
    assert "resync" in ahead.json["_links"]


async def test_second_pget_replaces_the_first(sim: Simulator, walker: Walker) -> None:
    await walker.create_app()
    first = asyncio.create_task(walker.get(walker.link("events")))
    await sim.wait_for_parked_pget()
    second = asyncio.create_task(walker.get(walker.link("events")))
    replaced = await first
    assert (replaced.status, replaced.json["code"], replaced.json["subcode"]) == (
        409, "Conflict", "PGetReplaced"
    )  # fmt: skip
    sim.add_conversation_log(status="Missed")
    assert (await second).json["sender"][0]["events"][0]["link"]["rel"] == "missedItems"


async def test_resume_after_silence(make_sim: MakeSim, session: Any) -> None:
    sim = await make_sim(resume_after=0.1, pget_timeout_override=0.05)
    walker = Walker(sim, session)
    await walker.create_app()
    first = await walker.get(walker.link("events"))
    await asyncio.sleep(0.15)
    later = await walker.get(first.json["_links"]["next"]["href"])
    assert set(later.json["_links"]) == {"self", "resume"}


async def test_conversation_logs_limit_and_log_shape(sim: Simulator, walker: Walker) -> None:
    await walker.create_app()
    logs_href = walker.link("communication", "conversationLogs")
    everything = (await walker.get(logs_href)).json
    assert everything["rel"] == "conversationLogs"
    assert len(everything["_links"]["conversationLog"]) == len(sim.logs)
    one = (await walker.get(f"{logs_href}?limit=1")).json["_links"]["conversationLog"]
    assert isinstance(one, list)
    assert len(one) == 1
    newest = max(sim.logs, key=lambda log: log.creation_time)
    assert one[0]["href"].endswith(f"/{newest.log_id}")
    assert (await walker.get(f"{logs_href}?limit=x")).status == 400
    resp = await walker.get(one[0]["href"])
    assert re.search(r'"creationTime":"\\/Date\(\d+\)\\/"', resp.text)
    log = resp.json
    assert log["creationTime"] == f"/Date({round(newest.creation_time.timestamp() * 1000)})/"
    assert set(log["_links"]) == {
        "self", "continueAudio", "continueAudioVideo", "continueMessaging", "continuePhoneAudio",
        "continueVideo", "conversationLogTranscripts", "markAsRead",
    }  # fmt: skip
    recipient = log["_embedded"]["conversationLogRecipient"][0]
    assert set(recipient) == {"rel", "displayName", "sipUri", "_links"}
    assert set(recipient["_links"]) == {"self", "contact", "contactPhoto", "contactPresence"}
    assert (await walker.get(recipient["_links"]["self"]["href"])).json == recipient
    transcripts = await walker.get(log["_links"]["conversationLogTranscripts"]["href"])
    assert transcripts.json["rel"] == "conversationLogTranscripts"


async def test_mark_as_read_and_delete_update_missed_items(sim: Simulator, walker: Walker) -> None:
    await walker.create_app()
    missed_href = walker.link("communication", "missedItems")
    before = (await walker.get(missed_href)).json
    assert before["unreadMissedConversationsCount"] <= before["missedConversationsCount"]
    unread = next(log for log in sim.logs if log.unread and log.status == "Missed")
    log_href = walker.link("communication", "conversationLogs") + f"/{unread.log_id}"
    log = (await walker.get(log_href)).json
    assert (await walker.post(log["_links"]["markAsRead"]["href"])).status == 204
    after = (await walker.get(missed_href)).json
    assert after["unreadMissedConversationsCount"] == before["unreadMissedConversationsCount"] - 1
    assert (await walker.request("DELETE", log_href)).status == 204
    assert (await walker.get(log_href)).status == 404
    final = (await walker.get(missed_href)).json
    assert final["conversationLogsCount"] == before["conversationLogsCount"] - 1
    events = (await walker.get(walker.link("events"))).json["sender"]
    assert [e["link"]["rel"] for s in events for e in s["events"]] == ["missedItems"] * 2


def _batch(boundary: str, requests: list[str]) -> bytes:
    parts = "".join(
        f"--{boundary}\r\nContent-Type: application/http; msgtype=request\r\n\r\n"
        f"{line} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"
        for line in requests
    )
    return f"{parts}--{boundary}--\r\n".encode()


async def _post_batch(walker: Walker, requests: list[str]) -> Any:
    return await walker.request(
        "POST",
        walker.link("batch"),
        data=_batch("b1", requests),
        headers={"Content-Type": 'multipart/batching; boundary="b1"'},
    )


async def test_batch_order_bom_refusals_and_recording(sim: Simulator, walker: Walker) -> None:
    await walker.create_app()
    resp = await _post_batch(
        walker,
        [
            f"GET {walker.link('me', 'self')}",
            f"GET {walker.link('events')}",
            f"GET {walker.link('communication', 'missedItems')}",
            "GET /ucwa/oauth/v1/applications/1/me",
        ],
    )
    assert resp.status == 200
    statuses = re.findall(r"HTTP/1\.1 (\d+)", resp.text)
    assert statuses == ["200", "400", "200", "404"]
    assert resp.text.count("msgtype=response") == 4
    assert "\r\n\r\n\ufeff{" in resp.text
    assert sim.route_counts["GET me"] == 2  # the unknown application's `me` counts too
    assert sim.route_counts["POST batch"] == 1
    assert [r.status for r in sim.requests if r.route == "me"] == [200, 404]
    assert all(r.in_batch for r in sim.requests if r.route in {"me", "events", "missedItems"})


async def test_batch_too_many_parts_runs_none(make_sim: MakeSim, session: Any) -> None:
    sim = await make_sim(batch_limit=2)
    walker = Walker(sim, session)
    await walker.create_app()
    resp = await _post_batch(walker, [f"GET {walker.link('me', 'self')}"] * 3)
    assert (resp.status, resp.json["code"]) == (429, "TooManyRequests")
    assert sim.route_counts["GET me"] == 0


async def test_batch_needs_multipart(walker: Walker) -> None:
    await walker.create_app()
    resp = await walker.post(walker.link("batch"), {"not": "multipart"})
    assert resp.status == 415
