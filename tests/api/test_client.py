"""The client against the in-process simulator: sign-in, application, logs and call-back."""

from __future__ import annotations

from collections.abc import Callable
import logging
import math

import aiohttp
import pytest
from yarl import URL

from custom_components.ucwa.api import (
    ConversationLogsAdded,
    MissedItemsUpdated,
    PhoneAudioInvitationEvent,
    UcwaApiError,
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaError,
    UcwaLinkNotOfferedError,
    UcwaTimeoutError,
)
from custom_components.ucwa.api.client import UcwaClient, UcwaConfig
from custom_components.ucwa.api.discovery import discover
from custom_components.ucwa.api.hosts import HostPolicy
from custom_components.ucwa.api.session import SessionState
from custom_components.ucwa.api.transport import Transport
from simulator import CallbackOutcome, Simulator, SimulatorConfig

from .helpers import (
    Recorder,
    TaskRecorder,
    add_missed_call,
    count,
    http_requests,
    non_event_requests,
)

# --- sign-in ----------------------------------------------------------------------------------


async def test_sign_in_follows_links_and_sends_no_credentials_to_root(
    client: UcwaClient, sim: Simulator
) -> None:
    await client.sign_in()
    assert non_event_requests(sim) == ["GET root", "GET user", "POST oauthtoken", "GET user"]
    root, first_user, token, user = http_requests(sim)
    assert "Authorization" not in root.headers
    assert "Authorization" not in first_user.headers
    assert "Authorization" not in token.headers
    assert user.headers["Authorization"].startswith("Bearer ")
    assert "grant_type=password" in token.body
    assert "username=alice%40contoso.com" in token.body
    assert token.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert sim.user.password not in repr(client)
    assert user.headers["Authorization"].split()[1] not in repr(client)


async def test_sign_in_uses_username_when_given(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    client = UcwaClient(make_config(username=sim.user.username), session=session)
    await client.sign_in()
    token = next(r for r in sim.requests if r.route == "oauthtoken")
    assert "username=CONTOSO%5Calice" in token.body
    await client.close()


async def test_bad_password(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    client = UcwaClient(make_config(password="wrong"), session=session)
    with pytest.raises(UcwaAuthenticationError, match="invalid_grant"):
        await client.sign_in()
    await client.close()


@pytest.mark.parametrize(
    "sim_config",
    [SimulatorConfig(pget_timeout_override=1.0, grant_types=("urn:microsoft.rtc:windows",))],
)
async def test_no_password_grant(client: UcwaClient) -> None:
    with pytest.raises(UcwaAuthenticationError, match="password grant"):
        await client.sign_in()


@pytest.mark.parametrize(
    "sim_config", [SimulatorConfig(pget_timeout_override=1.0, quote_challenge_href=False)]
)
async def test_unquoted_challenge(client: UcwaClient, sim: Simulator) -> None:
    await client.sign_in()
    assert count(sim, "POST", "oauthtoken") == 1


class _Roots(HostPolicy):
    """A host policy whose discovery roots a test chooses (the real ones need DNS)."""

    def __init__(self, config: UcwaConfig, roots: list[URL]) -> None:
        super().__init__(config)
        self.roots = roots

    def discovery_roots(self) -> list[URL]:
        return self.roots


async def _discover_with_roots(
    config: UcwaConfig, session: aiohttp.ClientSession, roots: list[URL]
) -> str:
    """Run the discovery room alone over the given roots."""
    hosts = _Roots(config, roots)
    transport = Transport(config, hosts, SessionState(), session, request_timeout=5.0)
    return await discover(transport, hosts)


async def test_discovery_falls_back_to_the_next_root(
    sim: Simulator,
    session: aiohttp.ClientSession,
    make_config: Callable[..., UcwaConfig],
    unused_tcp_port: int,
) -> None:
    dead = URL(f"http://127.0.0.1:{unused_tcp_port}/")
    applications = await _discover_with_roots(
        make_config(), session, [dead, URL(sim.discovery_url)]
    )
    assert applications.startswith(sim.base_url)
    assert count(sim, "GET", "user") == 2


async def test_discovery_fails_when_no_root_answers(
    sim: Simulator,
    session: aiohttp.ClientSession,
    make_config: Callable[..., UcwaConfig],
    unused_tcp_port: int,
) -> None:
    dead = URL(f"http://127.0.0.1:{unused_tcp_port}/")
    with pytest.raises(UcwaConnectionError):
        await _discover_with_roots(make_config(), session, [dead])


def test_default_discovery_roots() -> None:
    hosts = HostPolicy(UcwaConfig(sign_in_address="alice@Contoso.com", password="x"))
    assert [str(u) for u in hosts.discovery_roots()] == [
        "https://lyncdiscoverinternal.contoso.com/",
        "https://lyncdiscover.contoso.com/",
    ]
    no_domain = HostPolicy(UcwaConfig(sign_in_address="alice", password="x"))
    with pytest.raises(UcwaAuthenticationError, match="domain"):
        no_domain.discovery_roots()


# --- redirects and the security check ---------------------------------------------------------


async def test_root_redirect_inside_trust_is_followed(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    sim.config.root_redirect = "{origin}/autodiscover/autodiscoverservice.svc/root"
    client = UcwaClient(make_config(discovery_url=f"{sim.base_url}/"), session=session)
    await client.sign_in()
    assert non_event_requests(sim)[:2] == ["GET root", "GET root"]
    await client.close()


async def test_redirect_over_http_outside_domain_is_refused(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    """The reference's security check: plain HTTP, foreign host, not trusted → no credentials."""
    sim.config.root_redirect = (
        f"http://localhost:{sim.port}/autodiscover/autodiscoverservice.svc/root"
    )
    client = UcwaClient(make_config(discovery_url=f"{sim.base_url}/"), session=session)
    with pytest.raises(UcwaError, match=r"security check|not a trusted host") as err:
        await client.sign_in()
    assert type(err.value).__name__ == "UcwaSecurityError"
    assert [r.route for r in sim.requests] == ["root"]
    assert not any("Authorization" in r.headers for r in sim.requests)
    assert not any(r.route == "oauthtoken" for r in sim.requests)
    assert not any(r.headers.get("Host", "").startswith("localhost") for r in sim.requests)
    await client.close()


async def test_redirect_to_trusted_host_is_followed(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    sim.config.root_redirect = (
        f"http://localhost:{sim.port}/autodiscover/autodiscoverservice.svc/root"
    )
    client = UcwaClient(
        make_config(discovery_url=f"{sim.base_url}/", trusted_hosts=("localhost",)),
        session=session,
    )
    await client.sign_in()
    token = next(r for r in sim.requests if r.route == "oauthtoken")
    assert token.headers["Host"].startswith("localhost")
    await client.close()


async def test_redirect_loop_is_detected(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    sim.config.root_redirect = "{origin}/"
    client = UcwaClient(make_config(discovery_url=f"{sim.base_url}/"), session=session)
    with pytest.raises(UcwaConnectionError, match="loop"):
        await client.sign_in()
    assert count(sim, "GET", "root") == 1
    await client.close()


async def test_user_level_redirect_to_foreign_pool_is_refused(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    sim.config.user_redirect = (
        f"http://localhost:{sim.port}/autodiscover/autodiscoverservice.svc/root"
    )
    client = UcwaClient(make_config(), session=session)
    with pytest.raises(UcwaError, match="not a trusted host"):
        await client.sign_in()
    assert not any(r.headers.get("Host", "").startswith("localhost") for r in sim.requests)
    await client.close()


# --- application lifecycle --------------------------------------------------------------------


async def test_start_creates_application_and_makes_me_available(
    client: UcwaClient, sim: Simulator
) -> None:
    await client.start()
    await sim.wait_for_parked_pget()
    app = next(r for r in sim.requests if r.route == "applications")
    assert '"endpointId": "6b7a1e0c-53a4-4d1e-9b8c-7e9f0f2d1a11"' in app.body
    assert '"userAgent"' in app.body
    assert '"culture": "en-US"' in app.body
    available = next(r for r in sim.requests if r.route == "makeMeAvailable")
    assert '"supportedModalities": ["PhoneAudio", "Messaging"]' in available.body
    assert '"phoneNumber": "tel:+14255551234"' in available.body
    assert '"audioPreference": "PhoneAudio"' in available.body
    events = next(r for r in sim.requests if r.route == "events")
    assert events.query["ack"] == "1"
    assert events.query["timeout"] == "180"
    state = sim.state()["applications"][0]
    assert state["available"] is True
    assert state["callback_number"] == "tel:+14255551234"


async def test_make_me_available_conflict_is_tolerated(client: UcwaClient, sim: Simulator) -> None:
    sim.fail_next("POST", "makeMeAvailable", status=409, code="Conflict", subcode="AlreadyExists")
    await client.start()
    assert client.events_flowing


async def test_make_me_available_other_errors_raise(client: UcwaClient, sim: Simulator) -> None:
    sim.fail_next("POST", "makeMeAvailable", status=500, code="ServiceFailure")
    with pytest.raises(UcwaApiError):
        await client.start()


async def test_too_many_applications(client: UcwaClient, sim: Simulator) -> None:
    from custom_components.ucwa.api import UcwaApplicationError

    sim.fail_next("POST", "applications", status=410, code="Gone", subcode="TooManyApplications")
    with pytest.raises(UcwaApplicationError) as err:
        await client.start()
    assert err.value.subcode == "TooManyApplications"


async def test_close_deletes_application_and_keeps_given_session(
    client: UcwaClient, sim: Simulator, session: aiohttp.ClientSession
) -> None:
    await client.start()
    await client.close()
    assert count(sim, "DELETE", "application") == 1
    assert not session.closed
    assert sim.state()["applications"] == []


async def test_own_session_is_created_and_closed(
    sim: Simulator, make_config: Callable[..., UcwaConfig]
) -> None:
    async with UcwaClient(make_config()) as client:
        await client.sign_in()
        own = client.session
    assert own.closed


async def test_report_activity(client: UcwaClient, sim: Simulator) -> None:
    await client.start()
    await client.report_activity()
    await client.report_activity()
    assert count(sim, "POST", "reportMyActivity") == 2
    assert count(sim, "GET", "me") == 1


async def test_report_activity_loop_is_scheduled(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    tasks = TaskRecorder()
    client = UcwaClient(make_config(report_activity=True), session=session, task_factory=tasks)
    await client.start()
    assert tasks.names() == ["ucwa event channel", "ucwa reportMyActivity"]
    await client.start()  # running tasks are not started twice
    assert len(tasks.tasks) == 2
    await client.close()
    assert all(task.done() for task in tasks.tasks)


async def test_report_activity_redoes_make_me_available(client: UcwaClient, sim: Simulator) -> None:
    await client.start()
    sim.fail_next(
        "POST", "reportMyActivity", status=409, code="Conflict", subcode="MakeMeAvailableRequired"
    )
    await client.report_activity()
    assert count(sim, "POST", "makeMeAvailable") == 1  # the me resource no longer offers it


# --- tokens -----------------------------------------------------------------------------------


async def test_token_expiry_mid_session(started: UcwaClient, sim: Simulator) -> None:
    sim.expire_tokens()
    items = await started.get_missed_items(force=True)
    assert items.missed_conversations_count is not None
    assert count(sim, "POST", "oauthtoken") == 1
    assert count(sim, "GET", "missedItems") == 2  # 401, then the repeat


async def test_new_token_refused(started: UcwaClient, sim: Simulator) -> None:
    sim.expire_tokens()
    sim.fail_next("POST", "oauthtoken", status=400, code="invalid_grant")
    with pytest.raises(UcwaAuthenticationError):
        await started.get_missed_items(force=True)


async def test_second_401_is_an_authentication_error(started: UcwaClient, sim: Simulator) -> None:
    sim.fail_next("GET", "missedItems", status=401, count=2)
    with pytest.raises(UcwaAuthenticationError):
        await started.get_missed_items(force=True)
    assert count(sim, "POST", "oauthtoken") == 1


async def test_403_refetches_token_then_rediscovers(started: UcwaClient, sim: Simulator) -> None:
    sim.fail_next("GET", "missedItems", status=403, code="Forbidden", count=2)
    with pytest.raises(UcwaApiError) as err:
        await started.get_missed_items(force=True)
    assert err.value.status == 403
    assert non_event_requests(sim) == ["GET missedItems", "POST oauthtoken", "GET missedItems"]
    sim.reset_requests()
    await started.get_missed_items()
    routes = non_event_requests(sim)
    assert routes[0] == "GET root"
    assert "POST applications" in routes
    assert routes[-1] == "GET missedItems"


async def test_request_timeout_and_connection_errors(started: UcwaClient, sim: Simulator) -> None:
    started.request_timeout = 0.2
    sim.delay_next("GET", "missedItems", 1.0)
    with pytest.raises(UcwaTimeoutError):
        await started.get_missed_items(force=True)
    # aiohttp itself repeats an idempotent request once when a kept-alive connection closes
    sim.drop_next("GET", "missedItems", count=2)
    with pytest.raises(UcwaConnectionError):
        await started.get_missed_items(force=True)


async def test_html_error_body(started: UcwaClient, sim: Simulator) -> None:
    sim.fail_next("GET", "missedItems", status=502, code="BadGateway")
    with pytest.raises(UcwaApiError) as err:
        await started.get_missed_items(force=True)
    assert err.value.status == 502
    # RootURL.md: a 502 means the cached pool may be wrong, so the next request re-discovers.
    sim.reset_requests()
    await started.get_missed_items(force=True)
    assert non_event_requests(sim)[0] == "GET root"


async def test_logging_never_shows_secrets(
    client: UcwaClient, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.ucwa.api")
    await client.start()
    await client.get_conversation_logs(5)
    token = next(
        r.headers["Authorization"] for r in sim.requests if "Authorization" in r.headers
    ).removeprefix("Bearer ")
    assert "GET" in caplog.text
    assert sim.user.password not in caplog.text
    assert token not in caplog.text
    assert "Bearer" not in caplog.text


# --- conversation logs ------------------------------------------------------------------------


async def test_cold_load_then_cached(started: UcwaClient, sim: Simulator) -> None:
    logs = await started.get_conversation_logs(limit=50)
    assert len(logs) == len(sim.logs)
    assert non_event_requests(sim) == ["GET conversationLogs", "POST batch"]
    listing = next(r for r in sim.requests if r.route == "conversationLogs")
    assert listing.query["limit"] == "50"
    times = [log.creation_time for log in logs]
    assert times == sorted(times, reverse=True)  # type: ignore[type-var]
    assert all(log.continue_phone_audio_href for log in logs)
    sim.reset_requests()
    again = await started.get_conversation_logs(limit=50)
    assert again == logs
    assert await started.get_conversation_logs(limit=3) == logs[:3]
    assert await started.get_conversation_logs(limit=0) == []
    assert non_event_requests(sim) == []


async def test_limit_is_respected(started: UcwaClient, sim: Simulator) -> None:
    logs = await started.get_conversation_logs(limit=3)
    assert len(logs) == 3
    sim.reset_requests()
    more = await started.get_conversation_logs(limit=6)
    assert len(more) == 6
    assert more[:3] == logs
    assert non_event_requests(sim) == ["GET conversationLogs", "POST batch"]
    batch = next(r for r in sim.requests if r.route == "batch")
    assert batch.body.count("GET /ucwa/") == 3  # only the logs it had not seen


async def test_many_logs_are_batched_by_100(started: UcwaClient, sim: Simulator) -> None:
    for index in range(250):
        sim.logs.append(
            sim.logs[0].__class__(
                **{
                    **{f: getattr(sim.logs[0], f) for f in sim.logs[0].__slots__},
                    "log_id": f"bulk{index:04d}",
                }
            )
        )
    total = len(sim.logs)
    logs = await started.get_conversation_logs(limit=1000)
    assert len(logs) == total
    assert count(sim, "POST", "batch") == math.ceil(total / 100)
    assert count(sim, "GET", "conversationLogs") == 1


async def test_logs_without_events_are_reread(client: UcwaClient, sim: Simulator) -> None:
    await client.sign_in()
    first = await client.get_conversation_logs(limit=5)
    sim.reset_requests()
    assert await client.get_conversation_logs(limit=5) == first
    assert non_event_requests(sim) == ["GET conversationLogs"]  # no event channel: re-list
    assert await client.get_missed_items() == await client.get_missed_items()
    assert count(sim, "GET", "missedItems") == 2


async def test_missed_items_event_rereads_and_reports_new_logs(
    started: UcwaClient, sim: Simulator
) -> None:
    recorder = Recorder()
    unsubscribe = started.subscribe(recorder)
    await started.get_conversation_logs(limit=50)
    await started.get_missed_items()
    sim.reset_requests()
    log_id = add_missed_call(sim)
    updated = await recorder.wait_for(MissedItemsUpdated)
    added = await recorder.wait_for(ConversationLogsAdded)
    assert updated.missed_items.missed_conversations_count is not None
    assert [log.log_id for log in added.logs] == [log_id]
    assert non_event_requests(sim) == ["GET missedItems", "GET conversationLogs", "POST batch"]
    sim.reset_requests()
    logs = await started.get_conversation_logs(limit=50)
    assert logs[0].log_id == log_id
    await started.get_missed_items()
    assert non_event_requests(sim) == []
    unsubscribe()
    unsubscribe()


async def test_refresh_reports_answered_calls(started: UcwaClient, sim: Simulator) -> None:
    recorder = Recorder()
    started.subscribe(recorder)
    assert await started.refresh_conversation_logs() == []  # first read is the baseline
    assert recorder.of(ConversationLogsAdded) == []
    sim.logs.append(
        sim.logs[0].__class__(
            **{
                **{f: getattr(sim.logs[0], f) for f in sim.logs[0].__slots__},
                "log_id": "answered1",
                "status": "Archived",
            }
        )
    )
    new = await started.refresh_conversation_logs()
    assert [log.log_id for log in new] == ["answered1"]
    assert recorder.of(ConversationLogsAdded)


async def test_mark_as_read_and_delete(started: UcwaClient, sim: Simulator) -> None:
    logs = await started.get_conversation_logs(limit=50)
    unread = next(log for log in logs if any(r.log_id == log.log_id and r.unread for r in sim.logs))
    sim.reset_requests()
    await started.mark_as_read(unread)
    assert non_event_requests(sim)[0] == "POST markAsRead"
    assert not next(r for r in sim.logs if r.log_id == unread.log_id).unread
    await started.delete_conversation_log(logs[-1])
    assert all(r.log_id != logs[-1].log_id for r in sim.logs)
    remaining = await started.get_conversation_logs(limit=50)
    assert logs[-1].log_id not in [log.log_id for log in remaining]


async def test_batch_429_is_split(started: UcwaClient, sim: Simulator) -> None:
    sim.fail_next("POST", "batch", status=429, code="TooManyRequests")
    logs = await started.get_conversation_logs(limit=50)
    assert len(logs) == len(sim.logs)
    assert count(sim, "POST", "batch") == 3


async def test_batch_errors(started: UcwaClient, sim: Simulator) -> None:
    sim.fail_next("POST", "batch", status=500, code="ServiceFailure",
                  subcode="InvalidExchangeServerVersion")  # fmt: skip
    with pytest.raises(UcwaApiError) as err:
        await started.get_conversation_logs(limit=50)
    assert err.value.subcode == "InvalidExchangeServerVersion"


async def test_logs_after_application_loss_use_new_hrefs(
    started: UcwaClient, sim: Simulator
) -> None:
    old = await started.get_conversation_logs(limit=50)
    sim.drop_application("not_found")
    await sim.wait_for_request("POST", "applications")
    await sim.wait_for_parked_pget()
    new = await started.get_conversation_logs(limit=50)
    assert [log.log_id for log in new] == [log.log_id for log in old]
    assert new[0].href != old[0].href


# --- phone audio ------------------------------------------------------------------------------


async def test_continue_phone_audio_costs_one_request(started: UcwaClient, sim: Simulator) -> None:
    recorder = Recorder()
    started.subscribe(recorder)
    logs = await started.get_conversation_logs(limit=5)
    sim.reset_requests()
    call = await started.continue_phone_audio(logs[0], phone_number="+1 (425) 555-0100")
    assert non_event_requests(sim) == ["POST continuePhoneAudio"]
    post = next(r for r in sim.requests if r.route == "continuePhoneAudio")
    assert '"phoneNumber": "tel:+14255550100"' in post.body
    assert f'"operationId": "{call.operation_id}"' in post.body
    assert len(call.operation_id) == 32
    assert call.invitation_href.startswith(sim.base_url)
    assert call.conversation_log_id == logs[0].log_id
    assert call.phone_number == "tel:+14255550100"
    result = await started.wait_for_invitation(call.operation_id, timeout=5)
    assert result.type == "completed"
    assert result.status == "Success"
    assert result.href == call.invitation_href
    kinds = [e.type for e in recorder.events if isinstance(e, PhoneAudioInvitationEvent)]
    assert kinds[0] == "started"
    assert kinds[-1] == "completed"
    assert await started.wait_for_invitation(call.operation_id, timeout=0) == result


async def test_continue_phone_audio_failure_reason(started: UcwaClient, sim: Simulator) -> None:
    sim.set_callback_outcome(CallbackOutcome.failure(subcode="Busy", message="Busy."))
    logs = await started.get_conversation_logs(limit=1)
    call = await started.continue_phone_audio(logs[0], operation_id="op-1")
    assert call.operation_id == "op-1"
    assert call.phone_number == "tel:+14255551234"
    result = await started.wait_for_invitation("op-1", timeout=5)
    assert result.status == "Failure"
    assert result.reason is not None
    assert (result.reason.code, result.reason.subcode) == ("RemoteFailure", "Busy")


async def test_continue_phone_audio_validation(started: UcwaClient, sim: Simulator) -> None:
    logs = await started.get_conversation_logs(limit=1)
    sim.reset_requests()
    with pytest.raises(ValueError, match="phone number"):
        await started.continue_phone_audio(logs[0], phone_number="call me maybe")
    with pytest.raises(ValueError, match="operation_id"):
        await started.continue_phone_audio(logs[0], operation_id="x" * 51)
    assert non_event_requests(sim) == []


async def test_continue_phone_audio_retries_after_callback_channel_error(
    started: UcwaClient, sim: Simulator
) -> None:
    logs = await started.get_conversation_logs(limit=1)
    sim.reset_requests()
    sim.fail_next("POST", "continuePhoneAudio", status=500, code="ServiceFailure",
                  subcode="CallbackChannelError")  # fmt: skip
    call = await started.continue_phone_audio(logs[0])
    assert count(sim, "POST", "continuePhoneAudio") == 2
    assert len(sim.callbacks) == 1
    await started.wait_for_invitation(call.operation_id, timeout=5)


async def test_callback_channel_error_twice_raises(started: UcwaClient, sim: Simulator) -> None:
    logs = await started.get_conversation_logs(limit=1)
    sim.reset_requests()
    sim.fail_next("POST", "continuePhoneAudio", status=500, code="ServiceFailure",
                  subcode="CallbackChannelError", count=2)  # fmt: skip
    with pytest.raises(UcwaApiError) as err:
        await started.continue_phone_audio(logs[0])
    assert err.value.subcode == "CallbackChannelError"
    assert count(sim, "POST", "continuePhoneAudio") == 2
    assert sim.callbacks == []


async def test_continue_phone_audio_retries_once_after_401(
    started: UcwaClient, sim: Simulator
) -> None:
    logs = await started.get_conversation_logs(limit=1)
    sim.reset_requests()
    sim.expire_tokens()
    call = await started.continue_phone_audio(logs[0])
    assert count(sim, "POST", "continuePhoneAudio") == 2
    assert count(sim, "POST", "oauthtoken") == 1
    assert len(sim.callbacks) == 1
    assert call.operation_id == sim.callbacks[0].operation_id


@pytest.mark.parametrize("after", [False, True])
async def test_continue_phone_audio_never_repeats_after_sending(
    started: UcwaClient, sim: Simulator, after: bool
) -> None:
    logs = await started.get_conversation_logs(limit=1)
    sim.reset_requests()
    sim.drop_next("POST", "continuePhoneAudio", after=after)
    with pytest.raises(UcwaConnectionError):
        await started.continue_phone_audio(logs[0])
    assert count(sim, "POST", "continuePhoneAudio") == 1
    assert len(sim.callbacks) == (1 if after else 0)


async def test_continue_phone_audio_timeout_is_not_repeated(
    started: UcwaClient, sim: Simulator
) -> None:
    logs = await started.get_conversation_logs(limit=1)
    sim.reset_requests()
    started.request_timeout = 0.2
    sim.delay_next("POST", "continuePhoneAudio", 1.0)
    with pytest.raises(UcwaTimeoutError):
        await started.continue_phone_audio(logs[0])
    assert count(sim, "POST", "continuePhoneAudio") == 1


@pytest.mark.parametrize(
    ("status", "code", "subcode"),
    [
        (409, "Conflict", "AlreadyExists"),
        (409, "Conflict", "TooManyGroups"),
        (409, "Conflict", None),
        (410, "Gone", "CannotRedirect"),
        (400, "BadRequest", "ParameterValidationFailure"),
        (403, "Forbidden", None),
    ],
)
async def test_continue_phone_audio_reference_errors(
    started: UcwaClient, sim: Simulator, status: int, code: str, subcode: str | None
) -> None:
    logs = await started.get_conversation_logs(limit=1)
    sim.reset_requests()
    sim.fail_next("POST", "continuePhoneAudio", status=status, code=code, subcode=subcode)
    with pytest.raises(UcwaApiError) as err:
        await started.continue_phone_audio(logs[0])
    assert (err.value.status, err.value.code, err.value.subcode) == (status, code, subcode)
    assert type(err.value) is UcwaApiError
    assert count(sim, "POST", "continuePhoneAudio") == 1
    assert sim.callbacks == []


async def test_continue_phone_audio_after_silent_application_loss(
    started: UcwaClient, sim: Simulator
) -> None:
    logs = await started.get_conversation_logs(limit=1)
    sim.drop_application("not_found")
    sim.reset_requests()
    call = await started.continue_phone_audio(logs[0])
    routes = non_event_requests(sim)
    assert routes.count("POST applications") == 1
    # The dead application refused it, the new one acted on it (the channel's catch-up reads
    # may come before or after the second POST).
    posts = [r.status for r in http_requests(sim) if r.route == "continuePhoneAudio"]
    assert posts == [404, 201]
    assert len(sim.callbacks) == 1
    assert call.conversation_log_id == logs[0].log_id
    await started.wait_for_invitation(call.operation_id, timeout=5)


async def test_continue_phone_audio_when_post_finds_application_gone(
    started: UcwaClient, sim: Simulator
) -> None:
    """The POST itself answers 404 ApplicationNotFound: recreate, then send it once more."""
    logs = await started.get_conversation_logs(limit=1)
    sim.reset_requests()
    sim.fail_next("POST", "continuePhoneAudio", status=404, code="NotFound",
                  subcode="ApplicationNotFound")  # fmt: skip
    call = await started.continue_phone_audio(logs[0])
    routes = non_event_requests(sim)
    assert routes.count("POST continuePhoneAudio") == 2
    assert "POST applications" in routes
    assert len(sim.callbacks) == 1
    await started.wait_for_invitation(call.operation_id, timeout=5)


async def test_continue_phone_audio_without_link(started: UcwaClient, sim: Simulator) -> None:
    """A log without continuePhoneAudio is re-read once, then refused before anything rings."""
    sim.config.hidden_links = frozenset({"continuePhoneAudio"})
    logs = await started.get_conversation_logs(limit=1)
    sim.reset_requests()
    with pytest.raises(UcwaLinkNotOfferedError) as err:
        await started.continue_phone_audio(logs[0])
    assert (err.value.rel, err.value.owner) == ("continuePhoneAudio", "conversationLog")
    assert str(err.value) == "The server does not offer continuePhoneAudio for this account"
    assert non_event_requests(sim) == ["GET conversationLog"]
    assert sim.callbacks == []


async def test_continue_phone_audio_link_found_on_re_read(
    started: UcwaClient, sim: Simulator
) -> None:
    """A cached log without the link is re-read once; the fresh one offers it: one POST."""
    sim.config.hidden_links = frozenset({"continuePhoneAudio"})
    logs = await started.get_conversation_logs(limit=1)
    sim.config.hidden_links = frozenset()
    sim.reset_requests()
    call = await started.continue_phone_audio(logs[0])
    assert non_event_requests(sim) == ["GET conversationLog", "POST continuePhoneAudio"]
    await started.wait_for_invitation(call.operation_id, timeout=5)


async def test_wait_for_invitation_timeout(started: UcwaClient) -> None:
    with pytest.raises(UcwaTimeoutError):
        await started.wait_for_invitation("nothing", timeout=0.05)
