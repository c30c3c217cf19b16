"""Fault injection: misbehaviours armed for the next matching requests (fail, delay, drop)."""

from __future__ import annotations

import re

from simulator.state import Fault
from simulator.wire import Call, reference_message


class DropConnection(Exception):  # noqa: N818  # a control signal, not an error
    """Close the client's connection without an answer."""


class Faults:
    """Armed faults, first armed first used; each one counts down and disarms itself."""

    def __init__(self) -> None:
        """Start with nothing armed."""
        self.armed: list[Fault] = []

    def fail_next(
        self,
        method: str | None,
        path: str,
        *,
        status: int,
        code: str,
        subcode: str | None,
        message: str | None,
        count: int,
    ) -> Fault:
        """Arm an error answer; the message defaults to the reference's wording of the code."""
        fault = Fault(
            "fail", path, method, count, status, code, subcode,
            message if message is not None else reference_message(code, subcode),
        )  # fmt: skip
        self.armed.append(fault)
        return fault

    def delay_next(self, method: str | None, path: str, seconds: float, count: int) -> Fault:
        """Arm a delay before handling."""
        fault = Fault("delay", path, method, count, seconds=seconds)
        self.armed.append(fault)
        return fault

    def drop_next(self, method: str | None, path: str, *, after: bool, count: int) -> Fault:
        """Arm a dropped connection, before acting or (`after`) once the server has acted."""
        fault = Fault("drop_after" if after else "drop", path, method, count)
        self.armed.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every pending fault."""
        self.armed.clear()

    def take(self, call: Call, kinds: set[str]) -> Fault | None:
        """Use up one matching fault of these kinds; `path` is a substring or a regular expression."""
        for fault in self.armed:
            if fault.kind not in kinds or not _matches(fault, call):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.armed.remove(fault)
            return fault
        return None


def _matches(fault: Fault, call: Call) -> bool:
    if fault.method is not None and fault.method.upper() != call.method:
        return False
    if fault.path in call.path:
        return True
    try:
        return re.search(fault.path, call.path) is not None
    except re.error:
        return False
