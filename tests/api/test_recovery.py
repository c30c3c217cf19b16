"""The client against the simulator when things go wrong.

Lost applications, refused requests, missing capability links, slow event channels and the
activity loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
import logging
from typing import Any

import aiohttp
import pytest

from custom_components.ucwa.api import (
    ApplicationLost,
    AuthenticationFailed,
    ConversationLogsAdded,
    MissedItems,
    MissedItemsUpdated,
    UcwaApiError,
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaConversationLogNotFoundError,
    UcwaError,
    UcwaLinkNotOfferedError,
    UcwaTimeoutError,
)
from custom_components.ucwa.api.client import UcwaClient, UcwaConfig
from simulator import Simulator, SimulatorConfig

from .conftest import FAST
from .helpers import (
    Recorder,
    TaskRecorder,
    add_missed_call,
    count,
    http_requests,
    new_application,
    non_event_requests,
)

LOST = {"status": 404, "code": "NotFound", "subcode": "ApplicationNotFound"}


def _app_ids(sim: Simulator, route: str) -> list[str]:
    """Return the application id in the path of each `route` request, in order."""
    return [r.path.split("/applications/")[1].split("/")[0] for r in http_requests(sim)
            if r.route == route]  # fmt: skip


# --- the application ---------------------------------------------------------------------------


async def test_start_twice_sends_nothing_new(
    started: UcwaClient, sim: Simulator, tasks: TaskRecorder
) -> None:
    await started.start()
    assert non_event_requests(sim) == []
    assert tasks.names() == ["ucwa event channel"]  # the running channel is kept
    assert started.events_flowing


async def test_application_without_events_link_is_refused(
    client: UcwaClient, sim: Simulator
) -> None:
    sim.config.hidden_links = frozenset({"events"})
    with pytest.raises(UcwaError, match="no self or events link"):
        await client.start()
    assert not client.events_flowing
    assert count(sim, "POST", "makeMeAvailable") == 0


async def test_without_any_phone_number_the_server_decides(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    """No number configured or given: none is sent, and the server's 400 reaches the caller."""
    client = UcwaClient(make_config(phone_number=None), session=session, timings=FAST)
    try:
        await client.start()
        available = next(r for r in sim.requests if r.route == "makeMeAvailable")
        assert "phoneNumber" not in available.body
        logs = await client.get_conversation_logs(limit=1)
        sim.reset_requests()
        with pytest.raises(UcwaApiError) as err:
            await client.continue_phone_audio(logs[0], operation_id="op-none")
        assert (err.value.status, err.value.subcode) == (400, "ParameterValidationFailure")
        assert non_event_requests(sim) == ["POST continuePhoneAudio"]
        post = http_requests(sim)[-1]
        assert post.body == '{"operationId": "op-none"}'
        assert sim.callbacks == []
    finally:
        await client.close()


async def test_close_survives_a_refused_delete(client: UcwaClient, sim: Simulator) -> None:
    await client.start()
    sim.fail_next("DELETE", "applications", status=500, code="ServiceFailure")
    await client.close()
    assert count(sim, "DELETE", "application") == 1
    assert "application=None" in repr(client)
    assert not client.events_flowing


async def test_close_is_bounded_when_the_delete_hangs(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    """A DELETE the server never answers holds close() at most min(request_timeout, 5 s).

    Home Assistant's unload waits on close(); the application is left to expire on the server.
    """
    client = UcwaClient(make_config(), session=session, request_timeout=0.2)
    await client.start()
    sim.delay_next("DELETE", "applications", 5.0)
    started = asyncio.get_running_loop().time()
    await client.close()
    assert asyncio.get_running_loop().time() - started < 1.0
    assert count(sim, "DELETE", "application") == 1


async def test_request_after_silent_application_loss_recreates_it(
    client: UcwaClient, sim: Simulator
) -> None:
    """Without an event channel the loss shows on the next request: recreate, then repeat it."""
    await client.get_missed_items()
    [old_id] = sim.drop_application("not_found")
    sim.reset_requests()
    items = await client.get_missed_items()
    assert items.missed_conversations_count is not None
    assert non_event_requests(sim) == [
        "GET missedItems",
        *new_application(sim),
        "GET missedItems",
    ]
    first, second = _app_ids(sim, "missedItems")
    assert first == old_id
    assert second != old_id


async def test_request_lost_twice_raises(client: UcwaClient, sim: Simulator) -> None:
    await client.get_missed_items()
    sim.reset_requests()
    sim.fail_next("GET", "missedItems", **LOST, count=2)  # type: ignore[arg-type]
    with pytest.raises(UcwaApiError) as err:
        await client.get_missed_items()
    assert (err.value.status, err.value.subcode) == (404, "ApplicationNotFound")
    assert count(sim, "GET", "missedItems") == 2
    assert count(sim, "POST", "applications") == 1


# --- tokens ------------------------------------------------------------------------------------


async def test_refused_post_renews_the_token_but_is_not_repeated(
    started: UcwaClient, sim: Simulator
) -> None:
    """A 403 may be a stale token: renew it, yet never send a POST twice."""
    logs = await started.get_conversation_logs(limit=50)
    unread = next(log for log in logs if any(r.log_id == log.log_id and r.unread for r in sim.logs))
    sim.reset_requests()
    sim.fail_next("POST", "markAsRead", status=403, code="Forbidden")
    with pytest.raises(UcwaApiError) as err:
        await started.mark_as_read(unread)
    assert (err.value.status, err.value.code) == (403, "Forbidden")
    assert non_event_requests(sim) == ["POST markAsRead", "POST oauthtoken"]
    assert next(r for r in sim.logs if r.log_id == unread.log_id).unread


async def test_token_endpoint_failure_is_not_a_credentials_error(
    client: UcwaClient, sim: Simulator
) -> None:
    sim.fail_next("POST", "oauthtoken", status=500, code="ServiceFailure")
    with pytest.raises(UcwaApiError) as err:
        await client.sign_in()
    assert not isinstance(err.value, UcwaAuthenticationError)
    assert (err.value.status, err.value.code) == (500, "ServiceFailure")
    await client.sign_in()  # a passing server failure, not a bad password
    assert count(sim, "POST", "oauthtoken") == 2


async def test_concurrent_requests_share_one_token_renewal(
    started: UcwaClient, sim: Simulator
) -> None:
    """Both requests meet a 401 with the expired token; one grant serves both repeats."""
    sim.expire_tokens()
    items, logs = await asyncio.gather(
        started.get_missed_items(force=True), started.get_conversation_logs(limit=5)
    )
    assert items.missed_conversations_count is not None
    assert len(logs) == 5
    assert count(sim, "POST", "oauthtoken") == 1
    grant = next(i for i, r in enumerate(http_requests(sim)) if r.route == "oauthtoken")
    after = http_requests(sim)[grant + 1 :]
    assert len({r.headers["Authorization"] for r in after if r.route != "events"}) == 1


# --- reportMyActivity --------------------------------------------------------------------------


async def test_activity_is_reported_periodically_despite_failures(
    sim: Simulator, session: aiohttp.ClientSession, make_config: Callable[..., UcwaConfig]
) -> None:
    tasks = TaskRecorder()
    client = UcwaClient(
        make_config(report_activity=True),
        session=session,
        timings=replace(FAST, activity_interval=0.01),
        task_factory=tasks,
    )
    sim.fail_next("POST", "reportMyActivity", status=500, code="ServiceFailure")
    try:
        await client.start()
        await sim.wait_for_request("POST", "reportMyActivity", count=3)
        reports = [r for r in sim.requests if r.route == "reportMyActivity"]
        assert reports[0].status == 500
        assert reports[1].status == 204
        assert count(sim, "GET", "me") == 1  # the link is found once, then remembered
    finally:
        await client.close()
    assert all(task.done() for task in tasks.tasks)


async def test_report_activity_raises_other_errors(started: UcwaClient, sim: Simulator) -> None:
    sim.fail_next("POST", "reportMyActivity", status=503, code="ServiceUnavailable")
    with pytest.raises(UcwaApiError) as err:
        await started.report_activity()
    assert (err.value.status, err.value.code) == (503, "ServiceUnavailable")
    assert count(sim, "POST", "makeMeAvailable") == 0


async def test_report_activity_makes_me_available_when_the_server_forgot(
    started: UcwaClient, sim: Simulator
) -> None:
    await started.report_activity()
    app = next(iter(sim.applications.values()))
    app.available = False  # the pool put the user back in lurker mode
    sim.reset_requests()
    await started.report_activity()
    assert non_event_requests(sim) == ["POST reportMyActivity", "GET me", "POST makeMeAvailable"]
    assert app.available
    available = next(r for r in sim.requests if r.route == "makeMeAvailable")
    assert '"phoneNumber": "tel:+14255551234"' in available.body


# --- conversation logs -------------------------------------------------------------------------


async def test_application_lost_between_list_and_batch(client: UcwaClient, sim: Simulator) -> None:
    await client.get_missed_items()  # the application exists; no event channel watches it
    sim.reset_requests()
    sim.delay_next("POST", "batch", 0.2)
    task = asyncio.create_task(client.get_conversation_logs(limit=50))
    await sim.wait_for_request("POST", "batch")
    [old_id] = sim.drop_application("not_found")
    logs = await task
    assert len(logs) == len(sim.logs)
    assert non_event_requests(sim) == [
        "GET conversationLogs",
        "POST batch",
        *new_application(sim),
        "GET conversationLogs",
        "POST batch",
    ]
    assert _app_ids(sim, "batch")[0] == old_id
    assert all(f"/applications/{old_id}/" not in log.href for log in logs)


async def test_log_deleted_between_list_and_batch_is_left_out(
    started: UcwaClient, sim: Simulator
) -> None:
    sim.delay_next("POST", "batch", 0.2)
    task = asyncio.create_task(started.get_conversation_logs(limit=50))
    await sim.wait_for_request("POST", "batch")
    victim = sim.logs.pop(0)
    logs = await task
    assert len(logs) == len(sim.logs)
    assert victim.log_id not in [log.log_id for log in logs]
    assert non_event_requests(sim) == ["GET conversationLogs", "POST batch"]


async def test_failed_batch_part_raises_its_error(started: UcwaClient, sim: Simulator) -> None:
    sim.fail_next("GET", f"conversationLogs/{sim.logs[1].log_id}", status=500,
                  code="ServiceFailure", subcode="InvalidExchangeServerVersion")  # fmt: skip
    with pytest.raises(UcwaApiError) as err:
        await started.get_conversation_logs(limit=50)
    assert (err.value.status, err.value.code, err.value.subcode) == (
        500,
        "ServiceFailure",
        "InvalidExchangeServerVersion",
    )


async def test_without_batch_link_logs_are_fetched_one_by_one(
    client: UcwaClient, sim: Simulator
) -> None:
    sim.config.hidden_links = frozenset({"batch"})
    await client.start()
    await sim.wait_for_parked_pget()
    sim.reset_requests()
    gone = sim.logs[2].log_id
    sim.fail_next("GET", f"conversationLogs/{gone}", status=404, code="NotFound")
    logs = await client.get_conversation_logs(limit=50)
    assert non_event_requests(sim) == ["GET conversationLogs"] + ["GET conversationLog"] * len(
        sim.logs
    )
    assert sorted(log.log_id for log in logs) == sorted(
        r.log_id for r in sim.logs if r.log_id != gone
    )


async def test_without_batch_link_a_failed_get_raises(client: UcwaClient, sim: Simulator) -> None:
    sim.config.hidden_links = frozenset({"batch"})
    sim.fail_next("GET", f"conversationLogs/{sim.logs[0].log_id}", status=503,
                  code="ServiceUnavailable")  # fmt: skip
    with pytest.raises(UcwaApiError) as err:
        await client.get_conversation_logs(limit=50)
    assert (err.value.status, err.value.code) == (503, "ServiceUnavailable")
    assert count(sim, "POST", "batch") == 0


async def test_without_conversation_logs_link(client: UcwaClient, sim: Simulator) -> None:
    sim.config.hidden_links = frozenset({"conversationLogs"})
    with pytest.raises(UcwaLinkNotOfferedError) as err:
        await client.get_conversation_logs(limit=5)
    assert (err.value.rel, err.value.owner) == ("conversationLogs", "communication")
    assert str(err.value) == "The server does not offer conversationLogs for this account"
    assert count(sim, "GET", "conversationLogs") == 0
    assert count(sim, "GET", "communication") == 1  # re-read once after makeMeAvailable
    with pytest.raises(UcwaLinkNotOfferedError):
        await client.get_conversation_logs(limit=5)
    assert count(sim, "GET", "communication") == 1  # and not again: nothing could have changed
    missed = await client.get_missed_items()  # missed items do not need conversation logs
    assert missed.missed_conversations_count is not None
    # The administrator grants history; no event says so, but a caller's explicit refresh (the
    # integration's safety poll) may re-read communication once more.
    sim.config.hidden_links = frozenset()
    assert await client.refresh_conversation_logs() == []  # the first list only sets a baseline
    assert count(sim, "GET", "communication") == 2
    assert len(await client.get_conversation_logs(limit=5)) == 5


async def test_refresh_without_changes_reports_nothing(started: UcwaClient, sim: Simulator) -> None:
    recorder = Recorder()
    started.subscribe(recorder)
    assert await started.refresh_conversation_logs() == []
    assert await started.refresh_conversation_logs() == []
    assert recorder.of(ConversationLogsAdded) == []
    assert non_event_requests(sim) == ["GET conversationLogs", "POST batch", "GET conversationLogs"]


async def test_mark_as_read_after_silent_application_loss(
    client: UcwaClient, sim: Simulator
) -> None:
    """The POST finds the application gone: recreate it, re-find the log, send it once more."""
    logs = await client.get_conversation_logs(limit=50)
    unread = next(log for log in logs if any(r.log_id == log.log_id and r.unread for r in sim.logs))
    [old_id] = sim.drop_application("not_found")
    sim.reset_requests()
    await client.mark_as_read(unread)
    assert non_event_requests(sim) == [
        "POST markAsRead",
        *new_application(sim),
        "GET conversationLogs",
        "POST batch",
        "POST markAsRead",
    ]
    first, second = _app_ids(sim, "markAsRead")
    assert first == old_id
    assert second != old_id
    assert not next(r for r in sim.logs if r.log_id == unread.log_id).unread


async def test_log_gone_after_application_loss_is_not_found(
    started: UcwaClient, sim: Simulator
) -> None:
    """A log deleted while the application was replaced is reported, and nothing is POSTed."""
    logs = await started.get_conversation_logs(limit=50)
    victim = next(r for r in sim.logs if r.log_id == logs[0].log_id)
    sim.logs.remove(victim)
    sim.drop_application("not_found")
    await sim.wait_for_request("POST", "applications")
    await sim.wait_for_parked_pget()
    sim.reset_requests()
    with pytest.raises(UcwaConversationLogNotFoundError) as err:
        await started.mark_as_read(logs[0])
    assert err.value.log_id == logs[0].log_id
    assert str(err.value) == f"Conversation log {logs[0].log_id} not found"
    assert "POST markAsRead" not in non_event_requests(sim)


async def test_mark_as_read_without_link(started: UcwaClient, sim: Simulator) -> None:
    sim.config.hidden_links = frozenset({"markAsRead"})
    logs = await started.get_conversation_logs(limit=1)
    sim.reset_requests()
    with pytest.raises(UcwaLinkNotOfferedError) as err:
        await started.mark_as_read(logs[0])
    assert (err.value.rel, err.value.owner) == ("markAsRead", "conversationLog")
    assert non_event_requests(sim) == ["GET conversationLog"]  # the one re-read of the log


async def test_delete_a_log_outside_the_listed_window(client: UcwaClient, sim: Simulator) -> None:
    everything = await client.get_conversation_logs(limit=50)
    # Not started: no event channel to trust, so the next call re-lists (2 of them).
    assert len(await client.get_conversation_logs(limit=2)) == 2
    oldest = everything[-1]
    await client.delete_conversation_log(oldest)
    assert oldest.log_id not in [r.log_id for r in sim.logs]
    assert oldest.log_id not in [log.log_id for log in await client.get_conversation_logs(50)]


# --- the event channel -------------------------------------------------------------------------


async def test_missed_items_reread_failure_is_logged_and_caught_up(
    started: UcwaClient, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    started.subscribe(recorder)
    await started.get_conversation_logs(limit=50)
    sim.fail_next("GET", "missedItems", status=500, code="ServiceFailure")
    first = add_missed_call(sim)
    await sim.wait_for_request("GET", "missedItems")
    second = add_missed_call(sim)
    added = await recorder.wait_for(ConversationLogsAdded)
    assert {log.log_id for log in added.logs} == {first, second}
    assert len(recorder.of(MissedItemsUpdated)) == 1
    assert "Could not re-read missed items" in caplog.text
    assert count(sim, "GET", "missedItems") == 2


async def test_application_recreated_while_processing_events(
    started: UcwaClient, sim: Simulator
) -> None:
    """A lost answer while handling a batch recreates the application; the channel follows it."""
    recorder = Recorder()
    started.subscribe(recorder)
    await started.get_conversation_logs(limit=50)
    sim.reset_requests()
    sim.fail_next("GET", "missedItems", **LOST)  # type: ignore[arg-type]
    log_id = add_missed_call(sim)
    added = await recorder.wait_for(ConversationLogsAdded)
    assert [log.log_id for log in added.logs] == [log_id]
    assert count(sim, "POST", "applications") == 1  # one new application, no more
    sim.reset_requests()
    await sim.wait_for_parked_pget()
    assert started.events_flowing
    assert recorder.of(ApplicationLost) == []
    second = add_missed_call(sim)
    again = await recorder.wait_for_nth(ConversationLogsAdded, 2)
    assert [log.log_id for log in again.logs] == [second]
    assert count(sim, "POST", "applications") == 0


@pytest.mark.parametrize("sim_config", [SimulatorConfig(pget_timeout_override=0.3)])
async def test_event_failure_while_the_pool_is_suspect_rediscovers(
    started: UcwaClient, sim: Simulator
) -> None:
    """After a 502 said the pool may be wrong, a failing P-GET leads back to discovery."""
    recorder = Recorder()
    started.subscribe(recorder)
    sim.delay_next("GET", "events", 1.0)
    sim.fail_next("GET", "events", status=500, code="ServiceFailure")
    await sim.wait_for_request("GET", "events")  # the next P-GET: held, then refused
    sim.fail_next("GET", "missedItems", status=502, code="BadGateway")
    with pytest.raises(UcwaApiError) as err:
        await started.get_missed_items()
    assert err.value.status == 502
    await sim.wait_for_request("GET", "root")
    await sim.wait_for_request("POST", "applications")
    await sim.wait_for_parked_pget()
    routes = non_event_requests(sim)
    assert routes[routes.index("GET root") :][:3] == [
        "GET root",
        "GET user",
        "POST applications",  # the pool still knows the endpoint: no makeMeAvailable
    ]
    assert recorder.of(ApplicationLost) == []
    sim.reset_requests()
    await started.get_missed_items(force=True)
    assert non_event_requests(sim) == ["GET missedItems"]  # the pool is trusted again


async def test_callback_channel_error_when_the_channel_cannot_repark_in_time(
    started: UcwaClient, sim: Simulator
) -> None:
    """The channel is busy handling a batch: the CallbackChannelError is raised, not repeated."""
    recorder = Recorder()
    started.subscribe(recorder)
    logs = await started.get_conversation_logs(limit=50)
    # Handling the batch takes three requests of 0.55 s; the re-park is awaited for 1 s only.
    started.request_timeout = 1.0
    sim.delay_next("GET", "missedItems", 0.55)
    sim.delay_next("GET", "conversationLogs", 0.55)
    sim.delay_next("POST", "batch", 0.55)
    sim.fail_next("POST", "continuePhoneAudio", status=500, code="ServiceFailure",
                  subcode="CallbackChannelError")  # fmt: skip
    add_missed_call(sim)
    await sim.wait_for_request("GET", "missedItems")
    with pytest.raises(UcwaApiError) as err:
        await started.continue_phone_audio(logs[0])
    assert (err.value.status, err.value.subcode) == (500, "CallbackChannelError")
    assert count(sim, "POST", "continuePhoneAudio") == 1
    assert sim.callbacks == []
    await recorder.wait_for(ConversationLogsAdded)  # the channel carries on


async def test_wait_for_invitation_again_after_a_timeout(
    started: UcwaClient, sim: Simulator
) -> None:
    logs = await started.get_conversation_logs(limit=1)
    with pytest.raises(UcwaTimeoutError):
        await started.wait_for_invitation("op-late", timeout=0.01)
    call = await started.continue_phone_audio(logs[0], operation_id="op-late")
    result = await started.wait_for_invitation("op-late", timeout=5)
    assert (result.type, result.status, result.href) == (
        "completed",
        "Success",
        call.invitation_href,
    )


async def test_logging_of_failures_stays_quiet(
    client: UcwaClient, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.ucwa.api")
    await client.start()
    sim.fail_next("DELETE", "applications", status=500, code="ServiceFailure")
    await client.close()
    assert "Deleting the application failed" in caplog.text
    assert sim.user.password not in caplog.text


async def test_simultaneous_losses_recreate_the_application_once(
    client: UcwaClient, sim: Simulator
) -> None:
    await client.get_missed_items()
    [old_id] = sim.drop_application("not_found")
    sim.reset_requests()
    sim.delay_next("GET", "conversationLogs", 0.3)  # its 404 comes after the recreation
    items, logs = await asyncio.gather(
        client.get_missed_items(), client.get_conversation_logs(limit=50)
    )
    assert items.missed_conversations_count is not None
    assert len(logs) == len(sim.logs)
    assert count(sim, "POST", "applications") == 1
    assert _app_ids(sim, "conversationLogs")[0] == old_id
    assert _app_ids(sim, "conversationLogs")[1] != old_id


async def test_log_added_while_the_application_was_gone_is_reported(
    started: UcwaClient, sim: Simulator
) -> None:
    """Events of a dead application are lost: the replacement catches up without waiting for one."""
    recorder = Recorder()
    started.subscribe(recorder)
    await started.get_conversation_logs(limit=50)
    await sim.wait_for_parked_pget()
    sim.drop_application(kind="not_found")
    log_id = add_missed_call(sim)  # its missedItems event went to the dropped application
    added = await recorder.wait_for(ConversationLogsAdded)
    assert [log.log_id for log in added.logs] == [log_id]
    updated = await recorder.wait_for(MissedItemsUpdated)
    assert updated.missed_items.missed_conversations_count == sum(
        1 for log in sim.logs if log.status == "Missed"
    )
    assert recorder.of(ApplicationLost) == []
    assert count(sim, "POST", "applications") == 1  # the replacement (start() was before)


async def test_forced_missed_items_read_goes_to_the_server(
    started: UcwaClient, sim: Simulator
) -> None:
    """While events flow the counters come from the cache, unless the caller forces a read."""
    await started.get_missed_items()
    before = count(sim, "GET", "missedItems")
    await started.get_missed_items()
    assert count(sim, "GET", "missedItems") == before
    await started.get_missed_items(force=True)
    assert count(sim, "GET", "missedItems") == before + 1


async def test_request_on_a_closed_session_is_a_connection_error(
    make_config: Callable[..., UcwaConfig], sim: Simulator, socket_enabled: None
) -> None:
    """The RuntimeError of a closed aiohttp session reaches callers as the library's own error."""
    session = aiohttp.ClientSession()
    await session.close()
    client = UcwaClient(make_config(), session=session)
    with pytest.raises(UcwaConnectionError, match="session is closed"):
        await client.sign_in()
    assert sim.requests == []


async def test_refused_credentials_stop_the_event_channel(
    started: UcwaClient, sim: Simulator, tasks: TaskRecorder
) -> None:
    """A changed password ends the channel after one refused grant, instead of a lockout loop."""
    recorder = Recorder()
    started.subscribe(recorder)
    await sim.wait_for_parked_pget()
    sim.user.password = "changed-elsewhere-1"
    sim.expire_tokens()
    sim.reset_requests()
    add_missed_call(sim)  # releases the parked P-GET; what follows needs a new token
    failed = await recorder.wait_for(AuthenticationFailed)
    assert "refused the credentials" in failed.error
    await asyncio.wait_for(asyncio.shield(tasks.named("ucwa event channel")), 5)
    assert not started.events_flowing
    grants = count(sim, "POST", "oauthtoken")
    assert 1 <= grants <= 2  # the missedItems re-read and the next P-GET, never a loop
    assert all(r.status == 400 for r in sim.requests if r.route == "oauthtoken")
    # The password is right again (the user fixed it): start() runs the ended channel again.
    sim.user.password = started.config.password
    await started.start()
    assert tasks.names() == ["ucwa event channel", "ucwa event channel"]
    await sim.wait_for_parked_pget()
    assert started.events_flowing


async def test_unexpected_error_while_catching_up_does_not_stop_push(
    started: UcwaClient,
    sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A malformed answer that breaks parsing is logged; the next change is pushed as usual."""
    recorder = Recorder()
    started.subscribe(recorder)
    await started.get_conversation_logs(limit=50)
    original = MissedItems.from_json
    calls = 0

    def broken_once(data: Any) -> MissedItems:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise AttributeError("'list' object has no attribute 'get'")
        return original(data)

    monkeypatch.setattr(MissedItems, "from_json", staticmethod(broken_once))
    add_missed_call(sim)
    await sim.wait_for_request("GET", "missedItems")
    second = add_missed_call(sim)
    added = await recorder.wait_for(ConversationLogsAdded)
    assert second in [log.log_id for log in added.logs]
    assert "Unexpected error while re-reading missed items and logs" in caplog.text
    assert started.events_flowing


async def test_nothing_is_recreated_after_close(started: UcwaClient, sim: Simulator) -> None:
    """A request racing with close() must not create an application nobody will delete."""
    logs = await started.get_conversation_logs(limit=1)
    await started.close()
    sim.reset_requests()
    with pytest.raises(UcwaConnectionError, match="closed"):
        await started.continue_phone_audio(logs[0])
    assert non_event_requests(sim) == []
