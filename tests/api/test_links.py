"""The links room without HTTP: which link is current, when an owner is re-read, and how often."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from custom_components.ucwa.api import UcwaLinkNotOfferedError
from custom_components.ucwa.api.links import ApplicationLinks, links_of

BASE = "https://pool.contoso.com/ucwa/oauth/v1/applications"
APP = "/ucwa/oauth/v1/applications/104"


def _links(**rels: str) -> dict[str, Any]:
    return {"_links": {rel: {"href": href} for rel, href in rels.items()}}


def _application(communication: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return a POST applications answer shaped like CreateAnApplication.md step 10."""
    body = _links(self=APP, events=f"{APP}/events?ack=1", batch=f"{APP}/batch")
    body["_embedded"] = {
        "me": _links(self=f"{APP}/me", makeMeAvailable=f"{APP}/me/makeMeAvailable"),
        "communication": communication
        if communication is not None
        else _links(self=f"{APP}/communication", startMessaging=f"{APP}/communication/m"),
    }
    return body


class Reader:
    """A fake GET: answers each href with the next body queued for it, counting the reads."""

    def __init__(self, **bodies: dict[str, Any]) -> None:
        self.bodies = {
            f"https://pool.contoso.com{APP}/{name}": body for name, body in bodies.items()
        }
        self.reads: list[str] = []

    async def __call__(self, href: str) -> tuple[Mapping[str, Any], str]:
        self.reads.append(href)
        return self.bodies[href], href


def _after_make_me_available() -> dict[str, Any]:
    return _links(
        self=f"{APP}/communication",
        conversationLogs=f"{APP}/communication/conversationLogs",
        missedItems=f"{APP}/communication/missedItems",
    )


def test_links_of_accepts_objects_arrays_and_absolute_hrefs() -> None:
    resource = {
        "_links": {
            "self": {"href": "/a"},
            "many": [{"href": "/b"}, {"href": "/c"}],
            "absolute": {"href": "https://other.contoso.com/d", "title": "ignored"},
            "empty": [],
            "broken": {"rel": "no href"},
        }
    }
    assert links_of(resource, BASE) == {
        "self": "https://pool.contoso.com/a",
        "many": "https://pool.contoso.com/b",
        "absolute": "https://other.contoso.com/d",
    }
    assert links_of({"_links": []}, BASE) == {}


async def test_missing_link_re_reads_the_owner_once() -> None:
    links = ApplicationLinks(_application(), BASE, f"https://pool.contoso.com{APP}")
    read = Reader(communication=_after_make_me_available())
    links.changed("communication")  # makeMeAvailable
    href = await links.require("communication", "conversationLogs", read)
    assert href == f"https://pool.contoso.com{APP}/communication/conversationLogs"
    assert await links.require("communication", "missedItems", read)
    assert read.reads == [f"https://pool.contoso.com{APP}/communication"]


async def test_never_offered_link_costs_one_read_until_something_changes() -> None:
    links = ApplicationLinks(_application(), BASE, f"https://pool.contoso.com{APP}")
    read = Reader(communication=_links(self=f"{APP}/communication"))
    assert await links.find("communication", "conversationLogs", read) is None  # not stale yet
    assert read.reads == []
    links.changed("communication")
    for _ in range(3):
        with pytest.raises(UcwaLinkNotOfferedError) as err:
            await links.require("communication", "conversationLogs", read)
    assert (err.value.rel, err.value.owner) == ("conversationLogs", "communication")
    assert str(err.value) == "The server does not offer conversationLogs for this account"
    assert len(read.reads) == 1
    # A link-only updated event: it may have changed, so one more read is allowed.
    links.apply_event(
        "communication",
        {"link": {"rel": "communication", "href": f"{APP}/communication"}, "type": "updated"},
        BASE,
    )
    assert await links.find("communication", "conversationLogs", read) is None
    assert len(read.reads) == 2


async def test_embedded_updated_event_replaces_the_representation() -> None:
    links = ApplicationLinks(_application(), BASE, f"https://pool.contoso.com{APP}")
    read = Reader()
    links.apply_event(
        "communication",
        {
            "link": {"rel": "communication", "href": f"{APP}/communication"},
            "_embedded": {"communication": _after_make_me_available()},
            "type": "updated",
        },
        BASE,
    )
    assert await links.require("communication", "missedItems", read)
    assert read.reads == []  # taken from the event, no request


async def test_deleted_event_drops_the_owner_and_a_child_added_stales_it() -> None:
    links = ApplicationLinks(_application(_after_make_me_available()), BASE, APP)
    assert links.get("communication", "missedItems") is not None
    links.apply_event(
        "communication", {"link": {"rel": "communication", "href": "x"}, "type": "deleted"}, BASE
    )
    assert links.get("communication", "missedItems") is None
    read = Reader(communication=_after_make_me_available())
    assert await links.require("communication", "missedItems", read)
    assert len(read.reads) == 1  # the href survived the drop

    me_read = Reader(me=_links(self=f"{APP}/me", reportMyActivity=f"{APP}/reportMyActivity"))
    assert await links.find("me", "reportMyActivity", me_read) is None  # fresh from creation
    links.apply_event("me", {"link": {"rel": "presence", "href": "p"}, "type": "added"}, BASE)
    assert await links.require("me", "reportMyActivity", me_read)
    assert len(me_read.reads) == 1


async def test_child_updates_and_other_senders_change_nothing() -> None:
    links = ApplicationLinks(_application(), BASE, APP)
    read = Reader()
    for sender, rel, kind in [
        ("communication", "missedItems", "updated"),  # the child changed, not communication
        ("conversation", "participant", "added"),
        ("communication", "phoneAudioInvitation", "started"),
        ("me", "me", "completed"),
    ]:
        links.apply_event(sender, {"link": {"rel": rel, "href": "h"}, "type": kind}, BASE)
    links.apply_event("communication", {"link": "not a link", "type": "added"}, BASE)
    assert await links.find("communication", "conversationLogs", read) is None
    assert read.reads == []


async def test_owner_without_href_is_not_read() -> None:
    body = _links(self=APP, events=f"{APP}/events")  # no embedded me or communication
    links = ApplicationLinks(body, BASE, APP)
    read = Reader()
    assert await links.find("me", "reportMyActivity", read) is None
    assert links.get("application", "events") == f"https://pool.contoso.com{APP}/events"
    assert read.reads == []
