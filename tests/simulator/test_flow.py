"""The whole flow, using only links the simulator hands out."""

from __future__ import annotations

import asyncio
import re

from simulator import Simulator
from tests.simulator.conftest import Walker


async def test_full_walk_from_discovery_to_call_back(sim: Simulator, walker: Walker) -> None:
    root = await walker.get(sim.discovery_url, auth=False)
    assert root.status == 200
    assert set(root.json["_links"]) == {"self", "user", "xframe"}

    user = await walker.sign_in()
    assert set(user["_links"]) == {"self", "applications", "xframe"}

    created = await walker.create_app()
    assert created.status == 201
    assert created.headers["Etag"]
    me_links = walker.app["_embedded"]["me"]["_links"]
    assert "makeMeAvailable" in me_links
    assert "reportMyActivity" not in me_links

    assert (await walker.make_me_available()).status == 204
    me_links = walker.app["_embedded"]["me"]["_links"]
    assert {"presence", "note", "location", "reportMyActivity"} <= set(me_links)
    assert "makeMeAvailable" not in me_links
    assert (await walker.post(walker.link("me", "reportMyActivity"))).status == 204

    # The first P-GET carries the makeMeAvailable events, in the order of ReceiveAnIM.md step 7.
    first = await walker.get(walker.link("events"))
    assert first.status == 200
    senders = [(s["rel"], [e["type"] for e in s["events"]]) for s in first.json["sender"]]
    assert senders == [
        ("me", ["updated", "added", "added", "added"]),
        ("communication", ["updated"]),
    ]
    next_events = first.json["_links"]["next"]["href"]

    logs_href = walker.link("communication", "conversationLogs")
    logs = await walker.get(f"{logs_href}?limit=3")
    hrefs = [item["href"] for item in logs.json["_links"]["conversationLog"]]
    assert len(hrefs) == 3

    boundary = "77f2569d"
    parts = "".join(
        f"--{boundary}\r\nContent-Type: application/http; msgtype=request\r\n\r\n"
        f"GET {href} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"
        for href in hrefs
    )
    batch = await walker.request(
        "POST",
        walker.link("batch"),
        data=f"{parts}--{boundary}--\r\n".encode(),
        headers={
            "Content-Type": f"multipart/batching;boundary={boundary}",
            "Accept": "multipart/batching",
        },
    )
    assert batch.status == 200
    assert batch.headers["Content-Type"].startswith("multipart/batching")
    bodies = re.findall(r"\r\n\r\n\ufeff(\{.*?\})\r\n--", batch.text, re.DOTALL)
    assert len(bodies) == 3
    assert '"rel":"conversationLog"' in bodies[0]
    log = next(b for b in bodies if '"status":"Missed"' in b)
    continue_href = re.search(r'"continuePhoneAudio":\{"href":"([^"]+)"', log)
    assert continue_href is not None

    pget = asyncio.create_task(
        walker.events_until(next_events, lambda e: e.get("type") == "completed")
    )
    await sim.wait_for_parked_pget()
    call = await walker.post(
        continue_href.group(1), {"operationId": "op-1", "phoneNumber": "tel:+14255550100"}
    )
    assert call.status == 201
    assert call.text == ""
    location = call.headers["Location"]
    assert location.startswith("/ucwa/oauth/v1/applications/")
    assert "/communication/invitations/" in location

    events, _ = await asyncio.wait_for(pget, 5)
    invitation_events = [e for e in events if e["link"]["rel"] == "phoneAudioInvitation"]
    assert [e["type"] for e in invitation_events] == ["started", "updated", "completed"]
    started = invitation_events[0]["_embedded"]["phoneAudioInvitation"]
    assert started["operationId"] == "op-1"
    assert started["direction"] == "Outgoing"
    assert started["state"] == "Connecting"
    assert started["phoneNumber"] == "tel:+14255550100"
    assert invitation_events[-1]["status"] == "Success"
    assert invitation_events[0]["link"]["href"] == location

    invitation = await walker.get(location)
    assert invitation.json["state"] == "Connected"
    assert sim.state()["callbacks"][0]["phone_number"] == "tel:+14255550100"

    assert (await walker.request("DELETE", walker.app_url)).status == 204
    assert (await walker.get(walker.app_url)).json["subcode"] == "ApplicationNotFound"
