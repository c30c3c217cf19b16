"""The request budget of every loop, against servers that answer uselessly forever (issue 9, point 1-2).

Scaling: every delay of `UcwaTimings` is divided by SCALE (10) and counts are taken over a 1 s
WINDOW after setup, which stands for the issue's 10 s window with real timings; the limits are
the issue's counts, unchanged. Round trips on 127.0.0.1 do not shrink, so a scaled run can only
count fewer requests than a real one would, never more than the budget allows.
benchmarks/hostile_loops.py measures the same behaviours with real timings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
import logging
from typing import Any

import pytest
from yarl import URL

from custom_components.ucwa.api import (
    ApplicationLost,
    ApplicationRestored,
    AuthenticationFailed,
    UcwaClient,
    UcwaConfig,
    UcwaTimings,
    events as events_module,
    models,
)
from custom_components.ucwa.api.hosts import HostPolicy
from custom_components.ucwa.api.tokens import GRANT_BURST, TokenStore
from tests.api.helpers import Recorder, TaskRecorder

from .loops_pool import LoopPool, loop_client, running, scaled, window

SCALE = 10.0
TIMINGS = scaled(UcwaTimings(), SCALE)
WINDOW = 10.0 / SCALE
"""The issue's 10 s window, scaled like the timings."""


@pytest.fixture
async def pool(socket_enabled: None) -> AsyncIterator[LoopPool]:
    """Serve a pool on 127.0.0.1 that holds P-GETs like a normal one until a test says otherwise."""
    async with running(LoopPool(hold=30.0 / SCALE)) as served:
        yield served


@pytest.fixture
async def client(pool: LoopPool) -> AsyncIterator[UcwaClient]:
    """Build a client of the pool with the scaled timings (not started); closed after the test."""
    ucwa = loop_client(pool, TIMINGS, task_factory=TaskRecorder(), request_timeout=5.0)
    try:
        yield ucwa
    finally:
        await ucwa.close()


async def _start(client: UcwaClient, pool: LoopPool, behaviour: str) -> Recorder:
    pool.behaviour = behaviour
    recorder = Recorder()
    client.subscribe(recorder)
    await client.start()
    return recorder


@pytest.mark.parametrize("behaviour", ["empty", "redirect"])
async def test_useless_pgets_are_paced(client: UcwaClient, pool: LoopPool, behaviour: str) -> None:
    """P-GET answered at once with an empty 200, or with a 302, forever.

    Limit: at most 15 P-GETs per 10 s. Before: ~113,000 / ~126,000 a minute (issue 9). Now an
    empty answer makes the next P-GET wait `pget_empty_interval` (1 s): about 10 per window; a
    redirect is a failure with backoff (1-2 s, 2-4 s, ...): about 4.
    """
    await _start(client, pool, behaviour)
    assert await window(pool, WINDOW, "pget", cap=200) <= 15
    assert pool.count("application") == 1  # nothing else is spent on it


@pytest.mark.parametrize("behaviour", ["not_found", "expired"])
async def test_application_lost_forever_backs_off(
    client: UcwaClient, pool: LoopPool, behaviour: str
) -> None:
    """P-GET answered 404 ApplicationNotFound / 410 InactiveApplicationExpired, forever.

    Limit: at most 4 new applications per 10 s. Before: ~21,800 / ~20,150 a minute (issue 9).
    Now the first recreation is immediate, then 1-2 s, 2-4 s, 4-8 s (jittered): 3 or 4.
    """
    await _start(client, pool, behaviour)
    created = await window(pool, WINDOW, "application", cap=100)
    assert 1 <= created <= 4


async def test_forbidden_forever_spares_the_password(client: UcwaClient, pool: LoopPool) -> None:
    """P-GET answered 403, forever (each one makes the pool suspect: rediscovery, new application).

    Limit: at most 2 password grants per 10 s. Before: ~14,200 grants and rediscoveries a minute
    (issue 9). Now a 403 does not renew a token younger than `token_grant_window` (60 s), and
    rediscovery backs off like recreation: 0 grants, at most 4 rediscoveries.
    """
    await _start(client, pool, "forbidden")
    grants_before = pool.count("grant")
    rediscoveries = await window(pool, WINDOW, "application", cap=100)
    assert pool.count("grant") - grants_before <= 2
    assert rediscoveries <= 4


async def test_missed_items_flood_is_coalesced(client: UcwaClient, pool: LoopPool) -> None:
    """Every P-GET answered at once with a missedItems `updated` event.

    Limit: at most 10 missedItems reads and 10 list reads per 10 s. Before: ~60,000 of each a
    minute (issue 9). Now `refresh_burst` (3) re-reads run at once, then one per
    `refresh_interval` (1.5 s) shared by the events in between: at most 3 + 10 / 1.5, 9 of each
    (measured 9), while the P-GETs with events keep their burst-then-1/s pacing.
    """
    recorder = await _start(client, pool, "missed_items")
    reads = pool.count("missed_items")
    lists = pool.count("logs")
    await window(pool, WINDOW, "pget", cap=200)
    assert 1 <= pool.count("missed_items") - reads <= 10
    assert pool.count("logs") - lists <= 10
    assert recorder.events  # the changes are still reported


@pytest.mark.parametrize("kind", ["presence", "note"])
async def test_presence_flood_is_coalesced(client: UcwaClient, pool: LoopPool, kind: str) -> None:
    """Every P-GET answered at once with a `presence` (or `note`) `updated` event from me.

    Limit: about one GET per `refresh_interval`: `refresh_burst` (3) at once, then one per 1.5 s
    shared by the events in between, at most 3 + 10 / 1.5 (9) in 10 s, on a budget of its own
    (a presence flood does not slow missed-items re-reads, nor the other way round). Without
    it, one GET per P-GET (~60,000 a minute against a pool that answers at once).
    """
    recorder = await _start(client, pool, "normal")
    await (client.get_presence() if kind == "presence" else client.get_note())
    reads = pool.count(kind)
    pool.behaviour = kind
    pgets = await window(pool, WINDOW, "pget", cap=200)
    assert pgets >= 5  # the flood did flow
    assert 1 <= pool.count(kind) - reads <= 10
    assert pool.count("me") == 1  # me's links were read once, at the first read
    assert recorder.events  # the first read is reported; the flood's reads find nothing new


@pytest.mark.parametrize(
    "behaviour", ["expires_zero", "expires_negative", "expires_nan", "expires_text"]
)
async def test_token_lifetime_nonsense_spares_the_password(
    client: UcwaClient, pool: LoopPool, behaviour: str
) -> None:
    """The token endpoint says `expires_in` 0, -5, NaN or "abc"; requests keep coming.

    Limit: at most 2 password grants per 10 s. Before: a grant before every request (1,126 a
    minute, issue 9). Now such a token lives `token_min_lifetime` (60 s): none in the window,
    while 20 forced reads and the P-GETs go out.
    """
    pool.hold = 0.05
    await _start(client, pool, behaviour)
    grants = pool.count("grant")
    for _ in range(20):
        await client.get_missed_items(force=True)
    await window(pool, WINDOW / 2, "pget")
    assert pool.count("grant") - grants <= 2
    assert pool.count("missed_items") >= 20


async def test_crashing_body_is_survived(client: UcwaClient, pool: LoopPool) -> None:
    """A P-GET body whose `next` link (`http://[::1`) made the loop raise ValueError, forever.

    Limit: the loop never dies; P-GETs stay within 15 per 10 s. Before: the task ended with a
    raw ValueError, nothing logged, no event (issue 9). Now the link is refused before a byte is
    sent (the origin check, UcwaSecurityError); the loop reports ApplicationLost once, starts
    again from the events link with backoff (about 4 P-GETs), and reports ApplicationRestored
    at the first good answer once the server is fixed.
    """
    recorder = await _start(client, pool, "crash")
    assert await window(pool, WINDOW, "pget", cap=200) <= 15
    lost = await recorder.wait_for(ApplicationLost)
    assert lost.error == "Event channel failed: UcwaSecurityError"
    assert len(recorder.of(ApplicationLost)) == 1
    assert not client.events_flowing
    pool.behaviour, pool.hold = "normal", 0.05
    await recorder.wait_for(ApplicationRestored, within=5.0)
    assert client.events_flowing


@pytest.mark.parametrize("error", [RecursionError, KeyError, ValueError, TypeError])
async def test_any_failure_in_the_loop_is_survived(
    client: UcwaClient,
    pool: LoopPool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: type[Exception],
) -> None:
    """A failure of any type inside the loop (here while reading a batch), twice in a row.

    Before: the task ended with it, nothing logged, no event. Now: logged once at ERROR,
    reported once as ApplicationLost (cause None), then the loop starts again from the events
    link after a backoff and reports ApplicationRestored at the next good answer.
    """
    failures = [error("boom"), error("boom")]
    # The loop's reading of a batch (the models' public link_href), made to fail.

    def failing(data: Any, rel: str, base: str) -> str | None:
        if failures:
            raise failures.pop()
        return models.link_href(data, rel, base)

    monkeypatch.setattr(events_module, "link_href", failing)
    pool.hold = 0.05
    recorder = await _start(client, pool, "normal")
    await recorder.wait_for(ApplicationRestored, within=5.0)
    assert [type(e) for e in recorder.events[:2]] == [ApplicationLost, ApplicationRestored]
    lost = await recorder.wait_for(ApplicationLost)
    assert lost.error == f"Event channel failed: {error.__name__}"
    assert lost.cause is None
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    assert client.events_flowing


async def test_start_revives_a_dead_channel(client: UcwaClient, pool: LoopPool) -> None:
    """The channel ended (credentials refused on a P-GET); `start()` runs it again.

    Limit: one password attempt for the refusal, then nothing until the user acts.
    """
    recorder = await _start(client, pool, "normal")
    pool.behaviour = "refused"
    grants = pool.count("grant")
    pool.hold = 0.01  # the parked P-GET comes back, the next one is refused
    await recorder.wait_for(AuthenticationFailed, within=5.0)
    assert not client.events_flowing
    await window(pool, WINDOW / 2, "pget")
    assert pool.count("grant") - grants == 1
    pool.behaviour, pool.hold = "normal", 30.0 / SCALE
    pget = pool.count("pget")
    await client.start()
    await window(pool, WINDOW / 4, "pget")
    assert pool.count("pget") > pget
    assert client.events_flowing


async def test_password_grants_beyond_the_burst_wait() -> None:
    """A server refusing every fresh token with 401 (each refusal asks for a new grant).

    Limit: at most GRANT_BURST (3) password grants per `token_grant_window` (60 s; 0.2 s here).
    The fourth grant waits for the window instead of going out at once.
    """
    config = UcwaConfig(sign_in_address="alice@contoso.com", password="pw")
    pool_url = URL("https://lyncweb.contoso.com/ucwa")
    hosts = HostPolicy(config)
    hosts.trust(pool_url)
    sent: list[float] = []
    loop = asyncio.get_running_loop()

    async def grant(url: str, form: Mapping[str, str]) -> Mapping[str, Any]:
        sent.append(loop.time())
        return {"access_token": f"cwt=t{len(sent)}", "expires_in": 3600}

    store = TokenStore(config, hosts, grant)
    store.timings = UcwaTimings(token_grant_window=0.2)
    challenge = ['MsRtcOAuth href="/token",grant_type="password"']
    stale = None
    for _ in range(GRANT_BURST + 1):
        await store.answer_challenge(pool_url, challenge, stale)
        stale = await store.token_for("https://lyncweb.contoso.com")
    assert len(sent) == GRANT_BURST + 1
    assert sent[-1] - sent[0] >= 0.19
    assert sent[GRANT_BURST - 1] - sent[0] < 0.1  # the burst went at once
