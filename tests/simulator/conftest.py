"""A started simulator per test and a small link-following helper (never builds UCWA URLs)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
import json
from typing import Any
from urllib.parse import urljoin

import aiohttp
import pytest

from simulator import CallbackOutcome, Simulator
from tests.conftest import MakeSimulator

FAST = {
    "pget_timeout_override": 1.0,
    "callback_outcome": CallbackOutcome(step_delay=0.01),
    "call_duration": 0.05,
}


@pytest.fixture
def make_sim(make_simulator: MakeSimulator) -> MakeSimulator:
    """Start simulators with the short timings these tests use (a profile name, then knobs)."""

    async def factory(profile: str = "trace", **overrides: Any) -> Simulator:
        return await make_simulator(profile, **{**FAST, **overrides})

    return factory


@pytest.fixture
async def sim(make_sim: Callable[..., Awaitable[Simulator]]) -> Simulator:
    """Start the pool these tests were written for: every capability link at creation."""
    return await make_sim(profile="lenient")


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@dataclass
class Response:
    status: int
    headers: Any
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text.lstrip("\ufeff"))


@dataclass
class Walker:
    """Follows links from the discovery root the way a client must."""

    sim: Simulator
    session: aiohttp.ClientSession
    token: str | None = None
    user: dict[str, Any] = field(default_factory=dict)
    app: dict[str, Any] = field(default_factory=dict)
    app_url: str = ""

    def url(self, href: str) -> str:
        return urljoin(self.app_url or self.sim.base_url, href)

    async def request(
        self,
        method: str,
        href: str,
        *,
        body: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Response:
        sent = {"Accept": "application/json"}
        if auth and self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        sent.update(headers or {})
        async with self.session.request(
            method, self.url(href), json=body, data=data, headers=sent, allow_redirects=False
        ) as resp:
            return Response(resp.status, resp.headers, await resp.text(errors="replace"))

    async def get(self, href: str, **kwargs: Any) -> Response:
        return await self.request("GET", href, **kwargs)

    async def post(self, href: str, body: Any = None, **kwargs: Any) -> Response:
        return await self.request("POST", href, body=body, **kwargs)

    async def sign_in(self) -> dict[str, Any]:
        root = (await self.get(self.sim.discovery_url, auth=False)).json
        user_href = root["_links"]["user"]["href"]
        challenge = await self.get(user_href, auth=False)
        assert challenge.status == 401
        header = next(
            value
            for value in challenge.headers.getall("WWW-Authenticate")
            if value.startswith("MsRtcOAuth")
        )
        token_href = header.split('href="', 1)[1].split('"', 1)[0]
        token = await self.request(
            "POST",
            token_href,
            data={
                "grant_type": "password",
                "username": self.sim.user.sign_in_address,
                "password": self.sim.user.password,
            },
            auth=False,
        )
        assert token.status == 200, token.text
        self.token = token.json["access_token"]
        self.user = (await self.get(user_href)).json
        return self.user

    async def create_app(self, **extra: Any) -> Response:
        if not self.token:
            await self.sign_in()
        body = {"userAgent": "tests/1.0", "endpointId": "ep-1", "culture": "en-US", **extra}
        resp = await self.post(self.user["_links"]["applications"]["href"], body)
        if resp.status in (200, 201):
            self.app = resp.json
            self.app_url = self.url(self.app["_links"]["self"]["href"])
        return resp

    def link(self, *path: str) -> str:
        """Return a link of the application, e.g. ("me", "makeMeAvailable") or ("events",)."""
        node: dict[str, Any] = self.app
        for name in path[:-1]:
            node = node["_embedded"][name]
        return str(node["_links"][path[-1]]["href"])

    async def make_me_available(self, **body: Any) -> Response:
        """Leave lurker mode as the integration does: no signInAs unless a test passes one."""
        payload = {
            "supportedModalities": ["PhoneAudio", "Messaging"],
            "supportedMessageFormats": ["Plain"],
            "phoneNumber": "+14255550100",
            "audioPreference": "PhoneAudio",
            **body,
        }
        resp = await self.post(self.link("me", "makeMeAvailable"), payload)
        if resp.status == 204:
            self.app = (await self.get(self.app_url)).json
        return resp

    async def events_until(
        self, href: str, done: Callable[[dict[str, Any]], bool]
    ) -> tuple[list[dict[str, Any]], str]:
        """Follow `next` until an event satisfies `done`; return all events and the next href."""
        seen: list[dict[str, Any]] = []
        while True:
            resp = await self.get(href)
            assert resp.status == 200, resp.text
            body = resp.json
            seen.extend(
                {**event, "sender": sender["rel"]}
                for sender in body.get("sender", [])
                for event in sender["events"]
            )
            href = body["_links"].get("next", body["_links"].get("resume", {})).get("href")
            if any(done(event) for event in seen):
                return seen, href


@pytest.fixture
def walker(sim: Simulator, session: aiohttp.ClientSession) -> Walker:
    return Walker(sim, session)
