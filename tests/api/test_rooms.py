"""The client's rooms on their own, without a server: tokens, host policy, log cache, invitations."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from yarl import URL

from custom_components.ucwa.api import (
    ConversationLog,
    PhoneAudioInvitationEvent,
    UcwaAuthenticationError,
    UcwaConfig,
    UcwaEvent,
    UcwaSecurityError,
    UcwaTimeoutError,
    UcwaTimings,
    is_phone_number,
)
from custom_components.ucwa.api.callbacks import KEPT_OPERATIONS, Invitations
from custom_components.ucwa.api.hosts import HostPolicy, same_domain
from custom_components.ucwa.api.logs import LogCache
from custom_components.ucwa.api.tokens import TokenStore

CONFIG = UcwaConfig(
    sign_in_address="alice@contoso.com",
    password="secret-password",
    trusted_hosts=("fabrikam.com",),
    discovery_url="http://typed.example.net/root",
)
POOL = URL("https://lyncweb.contoso.com/ucwa/oauth/v1/applications")
CHALLENGE = (
    'MsRtcOAuth href="/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows,password"'
)


# --- tokens --------------------------------------------------------------------------------------


class Grants:
    """A token endpoint: answers each grant with a new token of the given lifetime."""

    def __init__(self, expires_in: float = 3600.0) -> None:
        self.expires_in = expires_in
        self.forms: list[tuple[str, Mapping[str, str]]] = []

    async def __call__(self, url: str, form: Mapping[str, str]) -> Mapping[str, Any]:
        self.forms.append((url, form))
        await asyncio.sleep(0)  # let concurrent callers meet at the lock
        return {"access_token": f"cwt=token-{len(self.forms)}", "expires_in": self.expires_in}


SHORT_TOKENS = UcwaTimings(token_min_lifetime=0.0)
"""Tokens as short-lived as the server says, so a lifetime of 0 forces a renewal (the real
minimum is checked in tests/api/hostile/test_loops_tokens.py)."""


async def _store(grants: Grants, timings: UcwaTimings = SHORT_TOKENS) -> TokenStore:
    hosts = HostPolicy(CONFIG)
    hosts.trust(POOL)
    store = TokenStore(CONFIG, hosts, grants)
    store.timings = timings
    await store.answer_challenge(POOL, [CHALLENGE], stale=None)
    return store


async def test_token_renewed_before_it_expires() -> None:
    grants = Grants(expires_in=0.0)  # already inside the renewal margin
    store = await _store(grants)
    origin = "https://lyncweb.contoso.com"
    token = await store.token_for(origin)
    assert token is not None
    assert token.value == "cwt=token-2"  # the expired first one was renewed before use
    assert grants.forms[0] == (
        "https://lyncweb.contoso.com/WebTicket/oauthtoken",
        {"grant_type": "password", "username": "alice@contoso.com", "password": "secret-password"},
    )


async def test_concurrent_renewals_share_one_grant() -> None:
    grants = Grants(expires_in=0.0)
    store = await _store(grants)
    tokens = await asyncio.gather(
        *(store.token_for("https://lyncweb.contoso.com") for _ in range(5))
    )
    assert len(grants.forms) == 2  # the first grant, then one renewal for all five
    assert {token.value for token in tokens if token} == {"cwt=token-2"}
    assert "secret-password" not in repr(tokens)


async def test_challenge_from_an_untrusted_host_sends_nothing() -> None:
    grants = Grants()
    store = TokenStore(CONFIG, HostPolicy(CONFIG), grants)
    with pytest.raises(UcwaSecurityError):
        await store.answer_challenge(URL("https://evil.example.org/x"), [CHALLENGE], None)
    hosts = HostPolicy(CONFIG)
    hosts.trust(POOL)
    store = TokenStore(CONFIG, hosts, grants)
    with pytest.raises(UcwaAuthenticationError, match="password grant"):
        await store.answer_challenge(POOL, ['MsRtcOAuth href="/t",grant_type="windows"'], None)
    assert grants.forms == []


# --- host policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("contoso.com", True),
        ("lyncweb.contoso.com", True),
        ("LYNCWEB.Contoso.com.", True),
        ("typed.example.net", True),  # the discovery URL the user typed
        ("fabrikam.com", True),
        ("pool.fabrikam.com", True),
        ("notcontoso.com", False),
        ("contoso.com.evil.org", False),
        ("example.net", False),
    ],
)
def test_host_allowed(host: str, allowed: bool) -> None:
    assert HostPolicy(CONFIG).allowed(host) is allowed


@pytest.mark.parametrize(
    ("source", "target", "same"),
    [
        ("https://lyncdiscover.contoso.com/", "https://lyncweb.contoso.com/", True),
        ("https://lyncdiscover.contoso.com/", "https://contoso.com/", True),
        ("https://lyncdiscover.contoso.com/", "https://lyncweb.fabrikam.com/", False),
        ("https://contoso.com/", "https://other.com/", False),
        ("http://10.0.0.1/", "http://10.0.0.2/", False),
        ("http://10.0.0.1/", "http://10.0.0.1:8080/", True),
    ],
)
def test_same_domain(source: str, target: str, same: bool) -> None:
    assert same_domain(URL(source), URL(target)) is same


def test_check_redirect_trusts_what_passes() -> None:
    hosts = HostPolicy(CONFIG)
    hosts.check_redirect(URL("http://lyncdiscover.contoso.com/"), URL("http://pool.contoso.com/"))
    assert hosts.is_trusted("http://pool.contoso.com/user")
    with pytest.raises(UcwaSecurityError):
        hosts.check_redirect(URL("http://lyncdiscover.contoso.com/"), URL("http://evil.org/"))
    with pytest.raises(UcwaSecurityError, match="ftp"):
        hosts.check_redirect(URL("https://lyncdiscover.contoso.com/"), URL("ftp://x.contoso.com/"))
    hosts.check_redirect(URL("https://lyncdiscover.contoso.com/"), URL("https://any.example.org/"))
    assert hosts.is_trusted("https://any.example.org")  # verified HTTPS vouches for its links
    assert not hosts.is_trusted("http://evil.org")


# --- the log cache -------------------------------------------------------------------------------


def _log(log_id: str, minutes_ago: int) -> ConversationLog:
    data = {
        "creationTime": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
        "_links": {"self": {"href": f"/logs/{log_id}"}},
    }
    return ConversationLog.from_json(data, "https://pool.contoso.com/")


def test_log_cache_decides_what_is_new() -> None:
    cache = LogCache()
    cache.store([_log("a", 5), _log("b", 10)])
    assert cache.set_list(["b", "a", "unknown"], 50, complete=True) == ["a", "b"]
    assert cache.take_new(["a", "b"]) == []  # the first read only sets the baseline
    cache.store([_log("c", 1)])
    new = cache.take_new(cache.set_list(["a", "b", "c"], 50, complete=True))
    assert [log.log_id for log in new] == ["c"]
    assert cache.take_new(["a", "b", "c"]) == []  # reported once


def test_log_cache_covers_only_while_trusted() -> None:
    cache = LogCache()
    assert not cache.covers(5, trusted=True)
    cache.store([_log(str(n), n) for n in range(10)])
    cache.set_list([str(n) for n in range(10)], 10, complete=False)
    assert cache.covers(5, trusted=True)
    assert not cache.covers(5, trusted=False)
    assert not cache.covers(20, trusted=True)  # more than was listed, and there may be more
    assert [log.log_id for log in cache.newest(2)] == ["0", "1"]
    assert cache.take_new(["0", "1", "2"]) == [cache.get("2")]  # newest() set the baseline
    cache.remove("0")
    assert [log.log_id for log in cache.newest(2)] == ["1", "2"]
    cache.forget(logs=True)
    assert cache.get("1") is None
    assert not cache.covers(1, trusted=True)


# --- invitations ---------------------------------------------------------------------------------


def _completed(href: str, operation_id: str | None) -> dict[str, Any]:
    invitation: dict[str, Any] = {"status": "Success", "_links": {"self": {"href": href}}}
    if operation_id:
        invitation["operationId"] = operation_id
    return {
        "link": {"rel": "phoneAudioInvitation", "href": href},
        "_embedded": {"phoneAudioInvitation": invitation},
        "type": "completed",
    }


async def test_invitations_correlate_and_forget_timed_out_waits() -> None:
    events: list[UcwaEvent] = []
    invitations = Invitations(events.append)
    with pytest.raises(UcwaTimeoutError):
        await invitations.wait_for("op-late", timeout=0.01)
    assert invitations.waiting == 0  # a waiter that timed out is not kept
    invitations.remember("https://pool/inv/1", "op-1")
    waiting = asyncio.ensure_future(invitations.wait_for("op-1", timeout=5))
    await asyncio.sleep(0)
    assert invitations.waiting == 1
    invitations.on_event(_completed("/inv/1", None), "https://pool/")
    result = await waiting
    assert isinstance(result, PhoneAudioInvitationEvent)
    assert result.operation_id == "op-1"  # filled in from the href
    assert events == [result]
    assert await invitations.wait_for("op-1", timeout=0) is result  # kept for late callers


async def test_invitations_keep_a_bounded_history() -> None:
    invitations = Invitations(lambda _event: None)
    for n in range(KEPT_OPERATIONS + 5):
        invitations.on_event(_completed(f"/inv/{n}", f"op-{n}"), "https://pool/")
    with pytest.raises(UcwaTimeoutError):
        await invitations.wait_for("op-0", timeout=0)
    assert (await invitations.wait_for(f"op-{KEPT_OPERATIONS + 4}", timeout=0)).type == "completed"
    invitations.on_event({"link": {"rel": "phoneAudioInvitation"}}, "https://pool/")  # no href
    waiting = asyncio.ensure_future(invitations.wait_for("never", timeout=5))
    await asyncio.sleep(0)
    invitations.cancel_waiters()
    with pytest.raises(asyncio.CancelledError):
        await waiting


# --- the one phone-number rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("+14255551234", True),
        ("tel:+14255551234", True),
        ("+1 (425) 555-1234", True),
        ("425.555.1234", False),
        ("+12", False),
        ("sip:alice@contoso.com", False),
        ("call me", False),
        ("", False),
    ],
)
def test_is_phone_number_agrees_with_normalize(value: str, valid: bool) -> None:
    assert is_phone_number(value) is valid
