"""Handlers of resources advertised only so that every link resolves: minimal bodies, photos, contacts and refused actions."""

from __future__ import annotations

from urllib.parse import urlsplit

from simulator.peripheral import (
    PHOTO,
    RESOURCES,
    contact_body,
    contact_presence_body,
    not_supported,
    resource_body,
)
from simulator.pool import Pool
from simulator.state import Application
from simulator.wire import Call, Reply, UcwaReplyError, json_reply


class AdvertisedHandlers:
    """The resources this project never uses; their bodies live in `peripheral.py`."""

    def __init__(self, pool: Pool) -> None:
        """Share the pool with the other families."""
        self.pool = pool

    async def get_resource(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Return a resource this project never uses: its minimal body, found by its path."""
        assert app is not None
        h = self.pool.hrefs(app)
        for rel, path in RESOURCES.items():
            if call.path.rstrip("/").lower() == urlsplit(h.under(path)).path.lower():
                return json_reply(200, resource_body(h, rel, self.pool.user))
        raise UcwaReplyError(404, "NotFound")  # pragma: no cover  # routes come from RESOURCES

    async def post_not_supported(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Refuse an advertised action the simulator does not act on (`not_supported`)."""
        raise not_supported()

    async def get_photo(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Return the user's or a contact's photo: an image."""
        return Reply(200, PHOTO, "image/png")

    async def get_contact(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return a contact, or its presence, named by address."""
        assert app is not None
        h = self.pool.hrefs(app)
        if call.path.rstrip("/").endswith("/contactPresence"):
            return json_reply(200, contact_presence_body(h, params["address"]))
        return json_reply(200, contact_body(h, params["address"]))
