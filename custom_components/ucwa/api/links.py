"""The links the application's resources (application, me, communication) offer now, owner by owner.

UCWA is driven by hypermedia (Hypermedia.md): a link is there when the user may use it *now*.
`conversationLogs`, `missedItems` and `startPhoneAudio` on `communication`, or `reportMyActivity`
on `me`, are capability links that a real pool adds only after makeMeAvailable and announces with
an `updated` event (ReceiveAnIM.md, communication_ref.md, me_ref.md). So a link is never frozen
from one response: it is read from the current representation of the resource that owns it, which
events replace (embedded resource), mark as possibly changed (link only) or drop (`deleted`).

When a needed link is missing, the owner is re-read once; it is not re-read again until something
could have changed it (an event about it, makeMeAvailable, a new application). That keeps a pool
that never offers a link from costing a request per question. No HTTP here: the caller hands in the
function that reads a resource, so this room is tested without a server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .exceptions import UcwaLinkNotOfferedError
from .models import join_href

APPLICATION: Final = "application"
ME: Final = "me"
COMMUNICATION: Final = "communication"
_EVENT_OWNERS = (ME, COMMUNICATION)
"""Owners whose events the client applies; the application announces no change of its links."""

type ResourceReader = Callable[[str], Awaitable[tuple[Mapping[str, Any], str]]]
"""GET a resource by href; return its JSON body and the URL it came from (relative hrefs' base)."""


def links_of(resource: Mapping[str, Any], base_url: str) -> dict[str, str]:
    """Return rel → absolute href of every link of a representation.

    A rel may hold one link object or an array (Hypermedia.md, PayloadFormat.md); the first is
    kept, since the owners' rels used here are single-valued. Unknown attributes are ignored.
    """
    links = resource.get("_links")
    found: dict[str, str] = {}
    if not isinstance(links, Mapping):
        return found
    for rel, value in links.items():
        link = value[0] if isinstance(value, list) and value else value
        if isinstance(rel, str) and isinstance(link, Mapping) and isinstance(link.get("href"), str):
            found[rel] = join_href(base_url, link["href"])
    return found


def embedded(resource: Mapping[str, Any], rel: str) -> Mapping[str, Any] | None:
    """Return the resource embedded under `rel`, or None."""
    inner = resource.get("_embedded")
    value = inner.get(rel) if isinstance(inner, Mapping) else None
    return value if isinstance(value, Mapping) else None


@dataclass(slots=True)
class _Owner:
    """What is known of one owner: its self href, its current links, whether to re-read it."""

    href: str | None
    links: dict[str, str] | None
    may_reread: bool = False


class ApplicationLinks:
    """The current links of one application's application, me and communication resources."""

    def __init__(self, application: Mapping[str, Any], base_url: str, href: str) -> None:
        """Start from the POST applications answer, whose me and communication are embedded."""
        self._owners: dict[str, _Owner] = {
            APPLICATION: _Owner(href, links_of(application, base_url))
        }
        app_links = self._owners[APPLICATION].links or {}
        for owner in _EVENT_OWNERS:
            resource = embedded(application, owner)
            links = links_of(resource, base_url) if resource is not None else None
            self_href = (links or {}).get("self") or app_links.get(owner)
            self._owners[owner] = _Owner(self_href, links, may_reread=links is None)
        self._locks = {owner: asyncio.Lock() for owner in self._owners}

    def get(self, owner: str, rel: str) -> str | None:
        """Return the href of `rel` in the owner's current representation, or None."""
        links = self._owners[owner].links
        return links.get(rel) if links is not None else None

    def offered(self) -> dict[str, tuple[str, ...]]:
        """Return the rels each owner offers now, sorted (names only, for diagnostics)."""
        return {owner: tuple(sorted(state.links or ())) for owner, state in self._owners.items()}

    def update(self, owner: str, resource: Mapping[str, Any], base_url: str) -> None:
        """Take a fresh representation of the owner (read, or embedded in an event)."""
        state = self._owners[owner]
        state.links = links_of(resource, base_url)
        state.href = state.links.get("self") or state.href
        state.may_reread = False

    def changed(self, owner: str) -> None:
        """Note that the owner may have changed (makeMeAvailable, a link-only event)."""
        self._owners[owner].may_reread = True

    def drop(self, owner: str) -> None:
        """Forget the owner's representation (a `deleted` event); its href is kept to re-read it."""
        state = self._owners[owner]
        state.links = None
        state.may_reread = True

    def apply_event(self, sender_rel: object, event: Mapping[str, Any], base_url: str) -> None:
        """Apply one event of the channel to the links it may change.

        An event about `me` or `communication` itself replaces (embedded resource), stales
        (link only) or drops (`deleted`) it. A child `added` or `deleted` under one of them (me's
        presence, a conversation) may bring or take capability links, so the sender is staled;
        a deleted child's own link is gone with it (presence after lurker mode), so it is
        forgotten at once. A child's `updated` (missedItems, a conversation's state) changes
        the child, not the sender's links, and costs nothing here.
        """
        link = event.get("link")
        if not isinstance(link, Mapping):
            return
        rel, kind = link.get("rel"), event.get("type")
        if rel in _EVENT_OWNERS:
            assert isinstance(rel, str)
            if kind == "deleted":
                self.drop(rel)
            elif kind in ("updated", "added"):
                resource = embedded(event, rel)
                if resource is not None:
                    self.update(rel, resource, base_url)
                else:
                    self.changed(rel)
        elif sender_rel in _EVENT_OWNERS and kind in ("added", "deleted"):
            assert isinstance(sender_rel, str)
            self.changed(sender_rel)
            links = self._owners[sender_rel].links
            if kind == "deleted" and links is not None and isinstance(rel, str):
                links.pop(rel, None)

    async def find(self, owner: str, rel: str, read: ResourceReader) -> str | None:
        """Return the link, re-reading the owner once if it is missing and may have changed.

        One lock per owner: concurrent callers that miss the same link share one re-read.
        """
        if (href := self.get(owner, rel)) is not None:
            return href
        async with self._locks[owner]:
            state = self._owners[owner]
            if (href := self.get(owner, rel)) is not None or not state.may_reread:
                return href
            if state.href is None:
                return None
            resource, base_url = await read(state.href)
            self.update(owner, resource, base_url)  # a failed read may be tried again
            return self.get(owner, rel)

    async def require(self, owner: str, rel: str, read: ResourceReader) -> str:
        """Like `find`, but a link the server does not offer raises UcwaLinkNotOfferedError."""
        if (href := await self.find(owner, rel, read)) is None:
            raise UcwaLinkNotOfferedError(rel, owner)
        return href


def as_list(value: object) -> list[Any]:
    """Return an array as is, a single object as a one-item list (PayloadFormat.md), else []."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, Mapping) else []
