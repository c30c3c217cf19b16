"""`UcwaClient.session_info()`: the session's state and cost, with nothing that leads to the pool."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, asdict
import json

import pytest

from custom_components.ucwa.api import SessionInfo, UcwaClient
from custom_components.ucwa.api.session_info import redact
from simulator import Simulator


async def test_before_and_after_the_session(client: UcwaClient, sim: Simulator) -> None:
    """Nothing before start(); after close() the channel is stopped and the counts remain."""
    info = client.session_info()
    assert (info.signed_in, info.application, info.event_channel) == (False, False, "stopped")
    assert info.links == {}
    assert asdict(info.counts) == dict.fromkeys(asdict(info.counts), 0)

    await client.start()
    await sim.wait_for_parked_pget()
    info = client.session_info()
    assert (info.signed_in, info.application, info.event_channel) == (True, True, "connected")
    assert info.counts.requests == len([r for r in sim.requests if not r.in_batch])
    assert info.counts.pgets == sim.route_counts["GET events"]
    assert info.counts.applications_created == sim.route_counts["POST applications"] == 1

    await client.close()
    closed = client.session_info()
    assert (closed.application, closed.event_channel) == (False, "stopped")
    assert closed.counts.requests == info.counts.requests + 1  # the DELETE of the application
    with pytest.raises(FrozenInstanceError):
        closed.signed_in = False  # type: ignore[misc]


async def test_links_are_rel_names(started: UcwaClient, sim: Simulator) -> None:
    """The links are what the owners offer now, by rel, without an href or a host."""
    info: SessionInfo = started.session_info()
    assert set(info.links) == {"application", "me", "communication"}
    assert "conversationLogs" in info.links["communication"]
    text = json.dumps(asdict(info), default=str)
    assert "href" not in text
    assert "127.0.0.1" not in text
    assert "/ucwa/" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Timeout talking to pool.contoso.com (GET)", "Timeout talking to <host> (GET)"),
        ("Error talking to 127.0.0.1 (GET): X", "Error talking to <host> (GET): X"),
        ("Error talking to ::1 (GET)", "Error talking to <host> (GET)"),
        ("at [fe80::1]:4443 and 2001:db8::5", "at <host> and <host>"),
        ("see https://pool.contoso.com/ucwa/v1/applications/123/events?ack=2", "see <host>"),
        ("sip:bob@contoso.com called", "<redacted> called"),
        ("ring tel:+14255550100 now", "ring <redacted> now"),
        ("for alice@contoso.com", "for <redacted>"),
        ("call +1 (425) 555-0100", "call <redacted>"),
        ("ticket cwt=AAEBHAAAAAA", "ticket <redacted>"),
        ("503 ServiceFailure: the pool is busy", "503 ServiceFailure: the pool is busy"),
        ("at 10:05:00 after 3 tries", "at 10:05:00 after 3 tries"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    """Hosts, addresses, URIs and numbers go; UCWA's codes and plain words stay."""
    assert redact(text) == expected
