r"""The control API under `/_sim/`: the `Simulator` methods for a client in another process.

JSON in and out. These routes sit apart from the UCWA surface and are never recorded or counted.

| route | body | answer |
|---|---|---|
| `GET /_sim/requests` | | list of recorded requests |
| `DELETE /_sim/requests` | | 204; also clears the counts |
| `GET /_sim/counts` | | `{"METHOD route": n}` |
| `POST /_sim/logs` | a log or a list of logs (seed format) | 201, the created logs with ids |
| `POST /_sim/faults` | `{"kind": "fail" \| "delay" \| "drop" \| "drop_after", "method"?, "path",` `"status"?, "code"?, "subcode"?, "message"?, "seconds"?, "count"?}` | 201, the fault |
| `DELETE /_sim/faults` | | 204 |
| `POST /_sim/expire-tokens` | | 204 |
| `POST /_sim/drop-application` | `{"kind": "not_found" \| "expired", "app_id"?}` | `{"dropped": [ids]}` |
| `POST /_sim/callback-outcome` | `{"status": "Success" \| "Failure", "code"?, "subcode"?,` `"message"?, "step_delay"?}` | 204 |
| `POST /_sim/presence` | `{"availability": "Away" \| ... \| null, "activity"?}`: what the user's other devices publish (null: none signed in) | 204; 400 on a value not in Availability_ref.md |
| `POST /_sim/note` | `{"message": "...", "type"?: "Personal" \| "OutOfOffice"}`: the note set on another device, or in Exchange | 204 |
| `GET /_sim/state` | | user, presence (published, manual, other devices, note, location), applications (each endpoint's own availability), logs, call-backs, token count, faults |
| `GET /_sim/config` | | the shape knobs: `{"profile", "absolute_hrefs", "single_link_objects",` `"embedded_events", "conversation_history", "hidden_links"}` |
| `POST /_sim/config` | some of those knobs, e.g. `{"profile": "trace"}` or a `simulator.PROFILES` entry | 200, all knobs; 400 on an unknown knob or value (nothing changed) |

Switching the shape applies from the next request on; applications already created keep their
state (a lurking application stays lurking), only how it is written changes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
import json
from typing import Any, Literal, Protocol

from aiohttp import web

from simulator.config import CallbackOutcome, SimulatorConfig
from simulator.seed import log_state
from simulator.state import ConversationLogRecord, Fault, RecordedRequest


class Controlled(Protocol):
    """What the control API drives: the `Simulator`'s test methods, which server.py hands it.

    A protocol, so that the dependency runs one way (server.py builds these routes; this module
    never imports it). It names only what the routes pass; the methods are documented on
    `Simulator`, which mypy checks against it where server.py calls `control_routes`.
    """

    @property
    def config(self) -> SimulatorConfig: ...  # noqa: D102
    @property
    def requests(self) -> list[RecordedRequest]: ...  # noqa: D102
    @property
    def route_counts(self) -> Counter[str]: ...  # noqa: D102
    def reset_requests(self) -> None: ...  # noqa: D102
    def add_conversation_log(self, log: dict[str, Any]) -> ConversationLogRecord: ...  # noqa: D102
    def fail_next(  # noqa: D102
        self,
        method: str | None,
        path: str,
        *,
        status: int,
        code: str,
        subcode: str | None,
        message: str | None,
        count: int,
    ) -> Fault: ...
    def delay_next(self, method: str | None, path: str, seconds: float, *, count: int) -> Fault: ...  # noqa: D102
    def drop_next(self, method: str | None, path: str, *, after: bool, count: int) -> Fault: ...  # noqa: D102
    def clear_faults(self) -> None: ...  # noqa: D102
    def expire_tokens(self) -> None: ...  # noqa: D102
    def drop_application(  # noqa: D102
        self, kind: Literal["not_found", "expired"], app_id: str | None
    ) -> list[str]: ...
    def set_callback_outcome(self, outcome: CallbackOutcome) -> None: ...  # noqa: D102
    def set_device_presence(self, availability: str | None, activity: str | None) -> None: ...  # noqa: D102
    def set_device_note(self, message: str, kind: str) -> None: ...  # noqa: D102
    def state(self) -> dict[str, Any]: ...  # noqa: D102


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _read_json(request: web.Request) -> Any:
    text = await request.text()
    if not text.strip():
        return {}
    return json.loads(text)


SIMULATOR: web.AppKey[Controlled] = web.AppKey("simulator")


async def _get_requests(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    return web.json_response([asdict(item) for item in sim.requests])


async def _delete_requests(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    sim.reset_requests()
    return web.Response(status=204)


async def _get_counts(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    return web.json_response(dict(sim.route_counts))


async def _post_logs(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    try:
        payload = await _read_json(request)
        items = payload if isinstance(payload, list) else [payload]
        created = [sim.add_conversation_log(dict(item)) for item in items]
    except (ValueError, TypeError) as err:
        return _bad(str(err))
    return web.json_response([log_state(log) for log in created], status=201)


async def _post_faults(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    try:
        spec = await _read_json(request)
        kind = spec.get("kind", "fail")
        method = spec.get("method")
        path = str(spec.get("path", ""))
        count = int(spec.get("count", 1))
        if kind == "fail":
            fault = sim.fail_next(
                method,
                path,
                status=int(spec.get("status", 500)),
                code=str(spec.get("code", "ServiceFailure")),
                subcode=spec.get("subcode"),
                message=spec.get("message"),
                count=count,
            )
        elif kind == "delay":
            fault = sim.delay_next(method, path, float(spec["seconds"]), count=count)
        elif kind in ("drop", "drop_after"):
            fault = sim.drop_next(method, path, after=kind == "drop_after", count=count)
        else:
            return _bad(f"unknown fault kind {kind!r}")
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        return _bad(str(err))
    return web.json_response(asdict(fault), status=201)


async def _delete_faults(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    sim.clear_faults()
    return web.Response(status=204)


async def _post_expire_tokens(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    sim.expire_tokens()
    return web.Response(status=204)


async def _post_drop_application(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    try:
        spec = await _read_json(request)
        dropped = sim.drop_application(spec.get("kind", "not_found"), spec.get("app_id"))
    except (ValueError, KeyError, AttributeError) as err:
        return _bad(str(err))
    return web.json_response({"dropped": dropped})


async def _post_callback_outcome(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    try:
        spec = await _read_json(request)
        status = spec.get("status", "Success")
        if status not in ("Success", "Failure"):
            return _bad("status is Success or Failure")
        default = CallbackOutcome()
        sim.set_callback_outcome(
            CallbackOutcome(
                status,
                str(spec.get("code", default.code)),
                spec.get("subcode", default.subcode),
                str(spec.get("message", default.message)),
                float(spec.get("step_delay", default.step_delay)),
            )
        )
    except (ValueError, TypeError, AttributeError) as err:
        return _bad(str(err))
    return web.Response(status=204)


async def _post_presence(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    try:
        spec = await _read_json(request)
        activity = spec.get("activity")
        if activity is not None and not isinstance(activity, str):
            return _bad("activity is a string")
        sim.set_device_presence(spec.get("availability"), activity)
    except (ValueError, AttributeError) as err:
        return _bad(str(err))
    return web.Response(status=204)


async def _post_note(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    try:
        spec = await _read_json(request)
        message = spec.get("message", "")
        if not isinstance(message, str):
            return _bad("message is a string")
        sim.set_device_note(message, str(spec.get("type", "Personal")))
    except (ValueError, AttributeError) as err:
        return _bad(str(err))
    return web.Response(status=204)


async def _get_state(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    return web.json_response(sim.state())


async def _get_config(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    return web.json_response(sim.config.knobs())


async def _post_config(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    try:
        spec = await _read_json(request)
        if not isinstance(spec, dict):
            return _bad("the body is an object of knob values")
        sim.config.apply_knobs(spec)
    except ValueError as err:
        return _bad(str(err))
    return web.json_response(sim.config.knobs())


def control_routes(sim: Controlled, app: web.Application) -> None:
    """Add the `/_sim/` routes of one simulator to its aiohttp application."""
    app[SIMULATOR] = sim
    app.add_routes(
        [
            web.get("/_sim/requests", _get_requests),
            web.delete("/_sim/requests", _delete_requests),
            web.get("/_sim/counts", _get_counts),
            web.post("/_sim/logs", _post_logs),
            web.post("/_sim/faults", _post_faults),
            web.delete("/_sim/faults", _delete_faults),
            web.post("/_sim/expire-tokens", _post_expire_tokens),
            web.post("/_sim/drop-application", _post_drop_application),
            web.post("/_sim/callback-outcome", _post_callback_outcome),
            web.post("/_sim/presence", _post_presence),
            web.post("/_sim/note", _post_note),
            web.get("/_sim/state", _get_state),
            web.get("/_sim/config", _get_config),
            web.post("/_sim/config", _post_config),
        ]
    )
