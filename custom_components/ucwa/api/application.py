"""The application: creating it, makeMeAvailable, the links it offers now, and recovering it once when lost."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
import logging
import math
from typing import Any

from .config import UcwaConfig, UcwaTimings
from .discovery import discover
from .exceptions import UcwaApiError, UcwaConnectionError, UcwaError, UcwaMalformedResponseError
from .hosts import HostPolicy
from .links import COMMUNICATION, ME, ApplicationLinks
from .models import join_href, link_href, normalize_phone_number
from .session import SessionState
from .transport import Response, Transport, is_lost

_LOGGER = logging.getLogger(__package__)


def make_me_available_body(config: UcwaConfig) -> dict[str, Any]:
    """Return makeMeAvailable's input: phone audio and messaging, the call-back number, no signInAs.

    signInAs would set the user's availability (PreferredAvailability_ref.md) each time an
    application is created, turning an Away user Online in front of their colleagues. Without
    it, and without reportMyActivity, the server counts this endpoint as inactive
    (MeDashboard.md: activity counts only for the application that reports it).
    """
    body: dict[str, Any] = {
        "supportedModalities": ["PhoneAudio", "Messaging"],
        "supportedMessageFormats": ["Plain"],
        "audioPreference": "PhoneAudio",
    }
    if config.phone_number:
        body["phoneNumber"] = normalize_phone_number(config.phone_number)
    return body


@dataclass(slots=True)
class Application:
    """The live application (application_ref.md): where it is, its events, the links it offers now."""

    href: str
    events_url: str
    links: ApplicationLinks


class Applications:
    """Owns the one live application: creates it, replaces it when lost, deletes it on close.

    `with_application` is the one recover-once helper: every request that needs the application
    goes through it, and only a request the server did not act on (a lost application answers
    404/410 before doing anything) is sent a second time.

    Recreation is the one place every caller (the event channel, `with_application`) comes
    through, so its budget lives here: the first recreation after an application the event
    channel saw answer is immediate, the next ones back off with jitter until the channel says
    a new application works (`proven`). A pool that loses every new application at once
    (404 ApplicationNotFound or 410 InactiveApplicationExpired forever) gets at most a few a
    minute instead of one per round trip.
    """

    def __init__(
        self,
        config: UcwaConfig,
        transport: Transport,
        hosts: HostPolicy,
        state: SessionState,
        forget: Callable[[], None],
        *,
        timings: UcwaTimings | None = None,
    ) -> None:
        """`forget` runs when an application is lost or replaced: its hrefs die with it."""
        self._config = config
        self._timings = timings or UcwaTimings()
        self._unproven = 0
        self._created_at = -math.inf
        self._transport = transport
        self._hosts = hosts
        self._state = state
        self._forget = forget
        self._lock = asyncio.Lock()
        self.current: Application | None = None
        self.discoveries = self.created = 0
        """Sign-ins and POSTs that create an application, for the session's diagnostics."""

    async def sign_in(self) -> None:
        """Discover the pool and check the credentials (a token for the user resource)."""
        self.discoveries += 1
        self._state.applications_url = await discover(self._transport, self._hosts)
        self._state.discovery_stale = False

    async def ensure(self) -> Application:
        """Return the live application, creating it (again) first when it is missing.

        After close() nothing creates one: it would outlive the DELETE and never be deleted.
        """
        if self._state.closed:
            raise UcwaConnectionError("The UCWA client is closed")
        app = self.current
        if app is not None and not self._state.discovery_stale:
            return app
        return await self.recover(self._state.generation)

    async def recover(self, failed_generation: int) -> Application:
        """Replace a lost application, unless another caller already replaced it."""
        async with self._lock:
            app = self.current
            if (
                app is not None
                and self._state.generation != failed_generation
                and not self._state.discovery_stale
            ):
                return app
            self.current = None
            await self._pace()
            return await self._create()

    def proven(self) -> None:
        """Note that the event channel got a good answer: the application works, losses start afresh."""
        self._unproven = 0

    async def _pace(self) -> None:
        """Wait before a new application when the last ones were lost before proving to work.

        The first creation and the first recreation go at once (the recovery figures); then
        1-2 s, 2-4 s, 4-8 s... (`UcwaTimings.backoff`) up to the cap.
        """
        loop = asyncio.get_running_loop()
        if loop.time() - self._created_at > self._timings.application_reset:
            self._unproven = 0
        if self._unproven >= 2:
            await asyncio.sleep(self._timings.backoff(self._unproven - 1))
        self._unproven += 1
        self._created_at = loop.time()

    def mark_lost(self, generation: int) -> None:
        """Forget the application of `generation` (if still current): the server lost it."""
        if generation == self._state.generation:
            self.current = None
            self._forget()

    async def with_application[T](self, action: Callable[[Application], Awaitable[T]]) -> T:
        """Run `action` on the live application, and once more on a new one if it was lost."""
        for attempt in range(2):
            app = await self.ensure()
            generation = self._state.generation
            try:
                return await action(app)
            except UcwaApiError as err:
                if not is_lost(err) or attempt:
                    raise
                self.mark_lost(generation)
        raise AssertionError("unreachable")  # pragma: no cover

    async def request(
        self,
        method: str,
        owner: str,
        rel: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> Response:
        """Send a request to a link of the application's resources (found again if it is new)."""

        async def send(app: Application) -> Response:
            href = await self.link(app, owner, rel)
            return await self._transport.request(
                method, href, json_body=json_body, data=data, content_type=content_type
            )

        return await self.with_application(send)

    async def link(self, app: Application, owner: str, rel: str) -> str:
        """Return a link of the application's resources, re-reading its owner once if needed."""
        return await app.links.require(owner, rel, self._read_resource)

    async def _read_resource(self, href: str) -> tuple[Mapping[str, Any], str]:
        """GET a resource to learn its current links (the reader the links room is given)."""
        response = await self._transport.request("GET", href)
        return response.json(), str(response.url)

    async def _create(self) -> Application:
        """POST applications (same endpointId every time), then makeMeAvailable.

        Called with the lock held. Re-discovers first when the pool is unknown or a 403/502 said
        the cached one may be wrong.
        """
        if self._state.applications_url is None or self._state.discovery_stale:
            await self.sign_in()
        base = self._state.applications_url
        assert base is not None
        self.created += 1
        response = await self._transport.request(
            "POST",
            base,
            json_body={
                "userAgent": self._config.user_agent,
                "endpointId": self._config.endpoint_id,
                "culture": self._config.culture,
            },
        )
        resource = response.json()
        href = link_href(resource, "self", base) or response.headers.get("Location")
        events = link_href(resource, "events", base)
        if not href or not events:
            raise UcwaMalformedResponseError("The application resource has no self or events link")
        href = join_href(base, href)
        app = Application(
            href=href, events_url=events, links=ApplicationLinks(resource, base, href)
        )
        if make_me_available := app.links.get(ME, "makeMeAvailable"):
            await self._make_me_available(make_me_available, app.links)
        self.current = app
        self._state.generation += 1
        self._forget()
        return app

    async def _make_me_available(self, href: str, links: ApplicationLinks) -> None:
        """Leave lurker mode with the modalities phone audio needs (makeMeAvailable_ref.md).

        The phone number given here becomes the server's default for continuePhoneAudio. A 409
        AlreadyExists means an earlier call already did it. Either way me and communication may
        now offer capability links they did not (ReceiveAnIM.md), so they may be re-read once.
        """
        try:
            await self._transport.request(
                "POST", href, json_body=make_me_available_body(self._config)
            )
        except UcwaApiError as err:
            if (err.status, err.subcode) != (409, "AlreadyExists"):
                raise
        links.changed(ME)
        links.changed(COMMUNICATION)

    async def report_activity(self) -> None:
        """POST reportMyActivity once (MeDashboard.md); its link appears on `me` with presence.

        A 409 MakeMeAvailableRequired means the server put the user back in lurker mode: me is
        re-read and makeMeAvailable sent again if me offers it.
        """
        try:
            await self.request("POST", ME, "reportMyActivity")
        except UcwaApiError as err:
            if (err.status, err.subcode) != (409, "MakeMeAvailableRequired"):
                raise
            await self.make_available_again()

    async def make_available_again(self) -> bool:
        """Send makeMeAvailable again after the server said 409 MakeMeAvailableRequired.

        The server put the application back in lurker mode: me is re-read, and makeMeAvailable
        sent if me offers it again. False when it does not (nothing was sent).
        """
        app = await self.ensure()
        app.links.changed(ME)
        href = await app.links.find(ME, "makeMeAvailable", self._read_resource)
        if href is None:
            return False
        await self._make_me_available(href, app.links)
        return True

    async def delete(self) -> None:
        """DELETE the application (close): the server frees it at once instead of timing out."""
        app, self.current = self.current, None
        if app is None:
            return
        # Bounded as a whole, token renewal and grant pacing included: closing must not keep Home
        # Assistant's unload waiting (the server frees the application after 15 minutes anyway).
        timeout = min(self._transport.request_timeout, 5.0)
        try:
            async with asyncio.timeout(timeout):
                await self._transport.request("DELETE", app.href, read_timeout=timeout + 1)
        except UcwaError as err:
            _LOGGER.debug("Deleting the application failed: %s", err)
        except TimeoutError:
            _LOGGER.debug("Deleting the application took more than %s s; left to expire", timeout)
