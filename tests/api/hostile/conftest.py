"""Fixtures of the hostile-server suites: a scripted pool, a fenced session and clients bound to them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from custom_components.ucwa.api import UcwaClient, UcwaConfig
from tests.api.conftest import FAST

from .pool import PASSWORD, SIGN_IN, HostilePool, RequestGuard, guarded_session


@pytest.fixture
async def hostile_pool(socket_enabled: None) -> AsyncIterator[HostilePool]:
    """Run a scripted pool on 127.0.0.1 answering the real flow until a test replaces a route."""
    pool = HostilePool()
    await pool.start()
    yield pool
    await pool.stop()


@pytest.fixture
async def guarded(
    socket_enabled: None,
) -> AsyncIterator[tuple[aiohttp.ClientSession, RequestGuard]]:
    """Yield a session resolving every name to 127.0.0.1 and recording every request it starts."""
    async with guarded_session() as pair:
        yield pair


@pytest.fixture
async def make_client(
    guarded: tuple[aiohttp.ClientSession, RequestGuard],
) -> AsyncIterator[Callable[..., UcwaClient]]:
    """Build clients on the guarded session (`discovery_url` required); close them after."""
    session, _guard = guarded
    clients: list[UcwaClient] = []

    def factory(discovery_url: str, **overrides: Any) -> UcwaClient:
        values: dict[str, Any] = {"sign_in_address": SIGN_IN, "password": PASSWORD}
        values.update(overrides)
        config = UcwaConfig(discovery_url=discovery_url, **values)
        client = UcwaClient(config, session=session, request_timeout=5.0, timings=FAST)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()
