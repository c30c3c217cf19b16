"""The simulator's parts on their own: tokens, fault matching, the recorder and the shared input rules."""

from __future__ import annotations

import asyncio

from multidict import CIMultiDict
import pytest

from simulator import Simulator
from simulator.application import normalise_phone
from simulator.callback import operation_id
from simulator.faults import Faults
from simulator.recorder import Recorder
from simulator.wire import Call, UcwaReplyError
from tests.simulator.conftest import Walker


def _call(method: str, path: str) -> Call:
    return Call(method, path, {}, CIMultiDict(), b"", "http://127.0.0.1")


async def test_issued_tokens_is_a_read_only_view(sim: Simulator, walker: Walker) -> None:
    assert sim.issued_tokens == frozenset()
    await walker.sign_in()
    assert sim.issued_tokens == {walker.token}
    assert isinstance(sim.issued_tokens, frozenset)
    sim.expire_tokens()
    assert sim.issued_tokens == frozenset()
    assert sim.state()["tokens"] == 0


def test_fault_matching_by_method_substring_and_regex() -> None:
    faults = Faults()
    by_regex = faults.fail_next(
        "GET", r"/events$", status=500, code="ServiceFailure", subcode=None, message=None, count=2
    )
    assert by_regex.message == "Internal Server Error."
    assert faults.take(_call("POST", "/x/events"), {"fail"}) is None
    assert faults.take(_call("GET", "/x/events"), {"delay"}) is None
    assert faults.take(_call("GET", "/x/events"), {"fail"}) is by_regex
    assert faults.take(_call("GET", "/x/events"), {"fail"}) is by_regex
    assert faults.armed == []
    faults.drop_next(None, "([", after=False, count=1)  # not a regex: substring only
    assert faults.take(_call("GET", "/other"), {"drop"}) is None
    assert faults.take(_call("GET", "/a(["), {"drop"}) is not None
    faults.delay_next(None, "", 0.1, 1)
    faults.clear()
    assert faults.armed == []


async def test_recorder_waits_for_a_condition() -> None:
    recorder = Recorder()
    waiter = asyncio.create_task(recorder.wait_for_request("GET", "me", 2, 1.0))
    record = recorder.record(_call("GET", "/me"), "me")
    recorder.finish(record, 200)
    await asyncio.sleep(0)
    assert not waiter.done()
    recorder.record(_call("GET", "/me"), "me")
    latest = await waiter
    assert latest is recorder.requests[-1]
    assert latest.status is None
    assert recorder.route_counts == {"GET me": 2}
    recorder.reset()
    assert recorder.requests == []
    assert not recorder.route_counts
    with pytest.raises(TimeoutError):
        await recorder.wait_until(lambda: None, 0.01)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+14255550100", "tel:+14255550100"),
        ("tel:+14255550100", "tel:+14255550100"),
        ("4255550100", "tel:+14255550100"),
        ("442071234567", "tel:+442071234567"),
    ],
)
def test_one_phone_rule(value: str, expected: str) -> None:
    assert normalise_phone("phoneNumber", value, "1") == expected


@pytest.mark.parametrize("value", ["tel:4255550100", "12", "call me", 42])
def test_one_phone_rule_refuses(value: object) -> None:
    with pytest.raises(UcwaReplyError) as err:
        normalise_phone("phoneNumber", value, "1")
    assert err.value.parameters == [{"name": "phoneNumber", "reason": "Invalid"}]


def test_operation_id_rule() -> None:
    assert operation_id({"operationid": "op-1"}) == "op-1"
    assert len(operation_id({})) == 32
    for bad in ("", "x" * 51, 7):
        with pytest.raises(UcwaReplyError):
            operation_id({"operationid": bad})
