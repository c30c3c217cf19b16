"""The simulated pool: an aiohttp server that speaks UCWA 2.0 like an on-premises front end.

Routes are listed in the order a client meets them: discovery, authentication, the application,
its event channel, communication, conversation logs, and the call-back. The control API that tests
and `scripts/develop` use lives apart, in `control.py`, and is never recorded as UCWA traffic.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
import math
import re
import secrets
import time
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, urlsplit
import uuid

from aiohttp import web
from multidict import CIMultiDict

from simulator.batch import BatchFormatError, boundary_of, format_batch, parse_batch
import simulator.callback_bodies as calls
from simulator.config import CallbackOutcome, SimulatorConfig
from simulator.control import control_routes
from simulator.peripheral import (
    ACTIONS,
    LOG_ACTIONS,
    PHOTO,
    RESOURCES,
    contact_body,
    contact_presence_body,
    not_supported,
    phone_body,
    phone_numbers,
    phones_body,
    resource_body,
)
import simulator.representations as rep
from simulator.seed import Seed, default_seed, log_state, parse_log
from simulator.state import (
    Application,
    ConversationLogRecord,
    Event,
    EventChannel,
    Fault,
    ParkedPGet,
    PhoneAudioInvitation,
    RecordedRequest,
)
from simulator.wire import (
    Call,
    Reply,
    UcwaReplyError,
    empty_reply,
    encode_json,
    invalid_parameter,
    json_reply,
    reference_message,
)

Handler = Callable[[Call, Application | None, dict[str, str]], Awaitable[Reply]]

UNAUTHORIZED_PAGE = (
    "<!DOCTYPE html><html><head><title>401 - Unauthorized: Access is denied due to invalid "
    "credentials.</title></head><body><h2>401 - Unauthorized: Access is denied due to invalid "
    "credentials.</h2><h3>You do not have permission to view this directory or page using the "
    "credentials that you supplied.</h3></body></html>"
)

XFRAME_PAGE = "<!DOCTYPE html><html><head><title>XFrame</title></head><body></body></html>"

SIGN_IN_MODALITIES = {"messaging": "Messaging", "phoneaudio": "PhoneAudio"}
OTHER_MODALITIES = frozenset(
    {"audio", "video", "applicationsharing", "datacollaboration", "panoramicvideo"}
)
PREFERRED_AVAILABILITY = frozenset(
    {"Online", "Busy", "DoNotDisturb", "BeRightBack", "Away", "Offwork"}
)
MESSAGE_FORMATS = frozenset({"Plain", "Html"})
AUDIO_PREFERENCES = frozenset({"PhoneAudio", "VoipAudio"})
PHONE_NUMBER = re.compile(r"(?:tel:\+|\+)?(\d{4,15})")
EVENT_TIMEOUT_RANGE = (180.0, 1800.0)
AGGREGATION_RANGE = (5.0, 1800.0)


class DropConnection(Exception):  # noqa: N818  # a control signal, not an error
    """Close the client's connection without an answer."""


@dataclass(frozen=True, slots=True)
class Route:
    """One UCWA resource: a path pattern and a handler per method."""

    name: str
    pattern: re.Pattern[str]
    handlers: dict[str, Handler]
    open: bool = False
    """Open routes (discovery, token, user) do their own authentication or none."""


def _route(name: str, path: str, *, open_: bool = False, **handlers: Handler) -> Route:
    pattern = re.compile(f"{path}/?" if path != "/" else "/", re.IGNORECASE)
    return Route(name, pattern, {method.upper(): fn for method, fn in handlers.items()}, open_)


class Simulator:
    """A UCWA 2.0 pool with one user and their Exchange conversation logs.

    Start it, point the client at `discovery_url`, and steer it through the methods below (or
    the same operations under `/_sim/`).
    """

    def __init__(self, config: SimulatorConfig | None = None, seed: Seed | None = None) -> None:
        """Load the seed (the demo mailbox by default); nothing listens until `start()`."""
        self.config = config or SimulatorConfig()
        seed = seed or default_seed()
        self.user = seed.user
        now = datetime.now(UTC)
        self.logs: list[ConversationLogRecord] = [parse_log(item, now) for item in seed.logs]
        self.applications: dict[str, Application] = {}
        self.callbacks: list[PhoneAudioInvitation] = []
        self.requests: list[RecordedRequest] = []
        self.route_counts: Counter[str] = Counter()
        self.faults: list[Fault] = []
        self._tokens: dict[str, float] = {}
        self._counter = 100
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._routes = self._build_routes()

    # Lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on the configured loopback host and port (0 = any free port)."""
        web_app = web.Application(client_max_size=4 * 1024 * 1024)
        control_routes(self, web_app)
        web_app.router.add_route("*", "/{tail:.*}", self._entry)
        self._runner = web.AppRunner(web_app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self._spawn(self._expiry_loop())

    async def stop(self) -> None:
        """Release held P-GETs, stop call-backs and close the listener."""
        for app in self.applications.values():
            if app.channel.parked is not None:
                app.channel.parked.wake("shutdown")
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Start on entry."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on exit."""
        await self.stop()

    @property
    def port(self) -> int:
        """The port actually bound."""
        return self._port

    @property
    def base_url(self) -> str:
        """http://host:port of the running simulator."""
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"http://{host}:{self._port}"

    @property
    def discovery_url(self) -> str:
        """The autodiscovery root a client starts from."""
        return f"{self.base_url}{rep.ROOT_PATH}"

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Dispatch: every UCWA request, alone or in a batch, passes here -----------------------------

    def _build_routes(self) -> list[Route]:
        app = r"/ucwa/oauth/v1/applications/(?P<app>\d+)"
        log = rf"{app}/communication/conversationLogs/(?P<log>[0-9A-Za-z_-]+)"
        return [
            _route("root", "/", open_=True, get=self._get_root),
            _route("root", r"/autodiscover/autodiscoverservice\.svc/root", open_=True,
                   get=self._get_root),
            _route("user", r"/autodiscover/autodiscoverservice\.svc/root/oauth/user", open_=True,
                   get=self._get_user),
            _route("oauthtoken", "/WebTicket/oauthtoken", open_=True, post=self._post_token),
            _route("applications", "/ucwa/oauth/v1/applications", post=self._post_applications),
            _route("application", app, get=self._get_application,
                   delete=self._delete_application),
            _route("me", f"{app}/me", get=self._get_me),
            _route("makeMeAvailable", f"{app}/communication/makeMeAvailable",
                   post=self._post_make_me_available),
            _route("reportMyActivity", f"{app}/reportMyActivity",
                   post=self._post_report_my_activity),
            _route("events", f"{app}/events", get=self._get_events),
            _route("batch", f"{app}/batch", post=self._post_batch),
            _route("communication", f"{app}/communication", get=self._get_communication),
            _route("missedItems", f"{app}/communication/missedItems", get=self._get_missed_items),
            _route("conversationLogs", f"{app}/communication/conversationLogs",
                   get=self._get_conversation_logs),
            _route("conversationLog", log, get=self._get_conversation_log,
                   delete=self._delete_conversation_log),
            _route("conversationLogRecipient", rf"{log}/conversationLogRecipient/(?P<index>\d+)",
                   get=self._get_recipient),
            _route("conversationLogTranscripts", f"{log}/conversationLogTranscripts",
                   get=self._get_transcripts),
            _route("markAsRead", f"{log}/markAsRead", post=self._post_mark_as_read),
            _route("continuePhoneAudio", f"{log}/continuePhoneAudio",
                   post=self._post_continue_phone_audio),
            _route("phoneAudioInvitation", rf"{app}/communication/invitations/(?P<invitation>\d+)",
                   get=self._get_invitation),
            _route("conversation", rf"{app}/communication/conversations/(?P<conversation>\d+)",
                   get=self._get_conversation),
            _route("phoneAudio",
                   rf"{app}/communication/conversations/(?P<conversation>\d+)/phoneAudio",
                   get=self._get_phone_audio),
            *self._peripheral_routes(app, log),
        ]  # fmt: skip

    def _peripheral_routes(self, app: str, log: str) -> list[Route]:
        """Routes of the resources and actions advertised only so that every link resolves."""
        conversation = rf"{app}/communication/conversations/(?P<conversation>\d+)"
        person = rf"{app}/people/(?P<address>[^/]+)"
        refuse = self._post_not_supported
        return [
            _route("xframe", r"/autodiscover/XFrame/XFrame\.html", open_=True,
                   get=self._get_xframe),
            *(_route(rel, f"{app}/{path}", get=self._get_resource)
              for rel, path in RESOURCES.items()),
            *(_route(rel, f"{app}/{path}", post=refuse)
              for rel, path in ACTIONS.items()),
            _route("photo", f"{app}/photo", get=self._get_photo),
            _route("phones", f"{app}/me/phones", get=self._get_phones),
            _route("phone", rf"{app}/me/phones/(?P<kind>work|mobile|home|other)",
                   get=self._get_phones),
            _route("mePart", rf"{app}/me/(?P<part>presence|note|location)", get=self._get_me_part),
            _route("contactPhoto", f"{person}/contactPhoto", get=self._get_photo),
            _route("contactPresence", f"{person}/contactPresence", get=self._get_contact),
            _route("contact", person, get=self._get_contact),
            _route("conversations", f"{app}/communication/conversations",
                   get=self._get_conversations),
            _route("participants", f"{conversation}/participants", get=self._get_participant),
            _route("participant", f"{conversation}/participants/(?P<address>[^/]+)",
                   get=self._get_participant),
            _route("logAction", rf"{log}/(?:{'|'.join(LOG_ACTIONS)})",
                   post=refuse),
            _route("conversationLogTranscript", rf"{log}/conversationLogTranscripts/0",
                   get=self._get_transcript),
            _route("cancel", rf"{app}/communication/invitations/\d+/cancel", post=refuse),
            _route("phoneAudioAction", f"{conversation}/phoneAudio/(?:stopPhoneAudio|holdPhoneAudio)",
                   post=refuse),
        ]  # fmt: skip

    def _resolve(self, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match:
                return route, match.groupdict()
        return None, {}

    async def _entry(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        call = Call(
            method=request.method.upper(),
            path=request.path,
            query=dict(request.query),
            headers=CIMultiDict(request.headers),
            body=body,
            origin=f"{request.scheme}://{request.host}",
        )
        try:
            reply = await self._dispatch(call)
        except DropConnection:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        headers: CIMultiDict[str] = CIMultiDict(reply.headers)
        if reply.content_type is not None:
            headers["Content-Type"] = reply.content_type
        headers["X-MS-Server-Fqdn"] = self.config.server_fqdn
        headers["X-MS-UcwaVersion"] = self.config.ucwa_version
        headers["X-Content-Type-Options"] = "nosniff"
        if call.path.lower().startswith(rep.TOKEN_PATH.lower()):
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        else:
            headers["Cache-Control"] = "no-cache"
            headers["Pragma"] = "no-cache"
            headers["Expires"] = "-1"
        return web.Response(status=reply.status, body=reply.body or None, headers=headers)

    async def _dispatch(self, call: Call) -> Reply:
        route, params = self._resolve(call.path)
        name = route.name if route is not None else "unknown"
        record = RecordedRequest(
            method=call.method,
            path=call.path,
            query=dict(call.query),
            headers=dict(call.headers),
            body=call.body.decode("utf-8", errors="replace"),
            route=name,
            in_batch=call.in_batch,
        )
        self.requests.append(record)
        self.route_counts[f"{call.method} {name}"] += 1
        self._notify()
        delay = self._take_fault(call, {"delay"})
        if delay is not None:
            await asyncio.sleep(delay.seconds)
        fault = self._take_fault(call, {"fail", "drop", "drop_after"})
        if fault is not None and fault.kind == "drop":
            raise DropConnection
        if fault is not None and fault.kind == "fail":
            reply = self._fault_reply(fault, call, name)
        else:
            try:
                reply = await self._handle(route, params, call)
            except UcwaReplyError as err:
                reply = err.reply()
        if fault is not None and fault.kind == "drop_after":
            raise DropConnection
        record.status = reply.status
        self._notify()
        return reply

    async def _handle(self, route: Route | None, params: dict[str, str], call: Call) -> Reply:
        if route is None:
            raise UcwaReplyError(404, "NotFound")
        if not route.open and (challenge := self._authenticate(call)) is not None:
            return challenge
        handler = route.handlers.get(call.method)
        if handler is None:
            raise UcwaReplyError(405, "MethodNotAllowed")
        if call.in_batch and route.name in {"events", "batch"}:
            raise UcwaReplyError(
                400, "BadRequest", message=f"{route.name} is not allowed in a batch."
            )
        app = self._live_app(params["app"]) if "app" in params else None
        return await handler(call, app, params)

    def _take_fault(self, call: Call, kinds: set[str]) -> Fault | None:
        for fault in self.faults:
            if fault.kind not in kinds:
                continue
            if fault.method is not None and fault.method.upper() != call.method:
                continue
            if fault.path not in call.path:
                try:
                    if not re.search(fault.path, call.path):
                        continue
                except re.error:
                    continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.faults.remove(fault)
            return fault
        return None

    def _fault_reply(self, fault: Fault, call: Call, route: str) -> Reply:
        if fault.status == 401:
            return self._challenge(call)
        if route == "oauthtoken":
            return json_reply(fault.status, {"error": fault.code})
        return UcwaReplyError(fault.status, fault.code, fault.subcode, fault.message).reply()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # Discovery --------------------------------------------------------------------------------

    async def _get_root(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Anonymous entry point; `GET /` may instead point elsewhere (hybrid topologies)."""
        if self.config.root_redirect is not None and call.path == "/":
            href = self.config.root_redirect.replace("{origin}", call.origin)
            return json_reply(200, rep.redirect_body(href))
        return json_reply(200, rep.root_body(call.origin, self.user))

    # Authentication ---------------------------------------------------------------------------

    def _challenge(self, call: Call) -> Reply:
        """401 as IIS sends it: an HTML page and two WWW-Authenticate headers."""
        href = f"{call.origin}{rep.TOKEN_PATH}"
        href = f'"{href}"' if self.config.quote_challenge_href else href
        grants = ",".join(self.config.grant_types)
        return Reply(
            401,
            UNAUTHORIZED_PAGE.encode(),
            "text/html",
            [
                (
                    "WWW-Authenticate",
                    (
                        'Bearer trusted_issuers="00000002-0000-0ff1-ce00-000000000000@'
                        f'{self.user.domain}", client_id="00000004-0000-0ff1-ce00-000000000000"'
                    ),
                ),
                ("WWW-Authenticate", f'MsRtcOAuth href={href},grant_type="{grants}"'),
            ],
        )

    def _authenticate(self, call: Call) -> Reply | None:
        token = call.bearer()
        expiry = self._tokens.get(token) if token is not None else None
        if expiry is not None and expiry > time.monotonic():
            return None
        if token is not None:
            self._tokens.pop(token, None)
        return self._challenge(call)

    async def _get_user(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Return the protected entry point: the challenge first, then the applications link."""
        if (challenge := self._authenticate(call)) is not None:
            return challenge
        redirect = self.config.user_redirect
        if redirect is not None:
            redirect = redirect.replace("{origin}", call.origin)
        return json_reply(200, rep.user_body(call.origin, self.user, redirect))

    def _oauth_error(self, error: str, diagnostic: tuple[int, str] | None = None) -> Reply:
        headers = []
        if diagnostic is not None:
            code, reason = diagnostic
            source = self.config.server_fqdn
            headers.append(("X-Ms-diagnostics", f'{code};source="{source}";reason="{reason}"'))
        return json_reply(400, {"error": error}, headers)

    async def _post_token(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """WebTicket's password grant; the token is opaque and starts with `cwt=`."""
        form = dict(parse_qsl(call.body.decode("utf-8", errors="replace"), keep_blank_values=True))
        grant = form.get("grant_type", "")
        if not grant:
            return self._oauth_error("invalid_request")
        if grant != "password" or "password" not in self.config.grant_types:
            return self._oauth_error(
                "unsupported_grant_type", (28029, "Authentication type not allowed.")
            )
        username, password = form.get("username", ""), form.get("password", "")
        if not username or not password:
            return self._oauth_error("invalid_request")
        accepted = {self.user.sign_in_address.lower(), self.user.sip_uri.lower()}
        if self.user.username:
            accepted.add(self.user.username.lower())
        if username.lower() not in accepted or password != self.user.password:
            return self._oauth_error("invalid_grant", (28020, "No valid security token."))
        token = f"cwt={secrets.token_urlsafe(48)}"
        self._tokens[token] = time.monotonic() + self.config.token_lifetime
        return json_reply(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": max(1, math.ceil(self.config.token_lifetime)),
                "ms_rtc_identityscope": "local",
            },
        )

    # Application ------------------------------------------------------------------------------

    def _hrefs(self, app: Application) -> rep.Hrefs:
        return rep.Hrefs(app.origin, app.app_id, self.config)

    def _next_id(self) -> str:
        self._counter += 1
        return str(self._counter)

    def _check_expiry(self, app: Application) -> None:
        """Apply the two documented ways an idle application dies (MeDashboard.md)."""
        if app.state != "active":
            return
        now = time.monotonic()
        channel = app.channel
        idle = channel.parked is None and now - channel.last_release > self.config.pget_idle_expiry
        inactive = (
            app.available
            and not self._in_call(app)
            and now - app.last_activity > self.config.activity_expiry
        )
        if idle or inactive:
            app.state = "expired"

    def _in_call(self, app: Application) -> bool:
        return any(
            inv.app_id == app.app_id and not inv.conversation_ended for inv in self.callbacks
        )

    def _live_app(self, app_id: str) -> Application:
        """Return the application, or the error its state calls for: 410 once, then 404."""
        app = self.applications.get(app_id)
        if app is None:
            raise UcwaReplyError(404, "NotFound", "ApplicationNotFound")
        self._check_expiry(app)
        if app.state == "expired":
            self._remove_app(app)
            raise UcwaReplyError(410, "Gone", "InactiveApplicationExpired")
        return app

    def _remove_app(self, app: Application) -> None:
        self.applications.pop(app.app_id, None)
        if app.channel.parked is not None:
            app.channel.parked.wake("gone")

    async def _expiry_loop(self) -> None:
        """Expire applications whose P-GET is parked; the others are judged on their next request."""
        interval = self.config.expiry_check_interval or min(
            5.0, max(0.05, min(self.config.pget_idle_expiry, self.config.activity_expiry) / 4)
        )
        while True:
            await asyncio.sleep(interval)
            for app in list(self.applications.values()):
                self._check_expiry(app)
                if app.state == "expired" and app.channel.parked is not None:
                    app.channel.parked.wake("expired")

    async def _post_applications(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Register an application; the same endpointId+instanceId gets the existing one back."""
        values = call.input()
        fields: dict[str, str] = {}
        for name in ("userAgent", "endpointId", "culture"):
            value = values.get(name.lower())
            if not isinstance(value, str) or not value.strip():
                raise invalid_parameter(name, "Missing")
            if len(value) > 100:
                raise invalid_parameter(name)
            fields[name] = value
        instance = values.get("instanceid")
        if instance is not None and (not isinstance(instance, str) or len(instance) > 100):
            raise invalid_parameter("instanceId")
        for existing in list(self.applications.values()):
            self._check_expiry(existing)
            if existing.state == "expired":
                self._remove_app(existing)
            elif existing.endpoint_id == fields["endpointId"] and existing.instance_id == instance:
                body = rep.application_body(self._hrefs(existing), existing, self.user)
                return json_reply(200, body, [("Etag", existing.etag)])
        if len(self.applications) >= self.config.max_applications:
            raise UcwaReplyError(410, "Gone", "TooManyApplications")
        now = time.monotonic()
        new = Application(
            app_id=self._next_id(),
            registration_id=uuid.uuid4().hex,
            endpoint_id=fields["endpointId"],
            instance_id=instance,
            user_agent=fields["userAgent"],
            culture=fields["culture"],
            etag=str(uuid.uuid4()),
            origin=call.origin,
            channel=EventChannel(last_release=now),
            last_activity=now,
            communication_etag=str(secrets.randbelow(9_000_000_000) + 1_000_000_000),
            put_guard=str(uuid.uuid4()),
        )
        self.applications[new.app_id] = new
        body = rep.application_body(self._hrefs(new), new, self.user)
        return json_reply(201, body, [("Etag", new.etag)])

    async def _get_application(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Return the application as it is now (me's links depend on makeMeAvailable)."""
        assert app is not None
        body = rep.application_body(self._hrefs(app), app, self.user)
        return json_reply(200, body, [("Etag", app.etag)])

    async def _delete_application(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Sign the application out; a held P-GET is released with 404 ApplicationNotFound."""
        assert app is not None
        self._remove_app(app)
        return empty_reply()

    async def _get_me(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Return the user resource of this application."""
        assert app is not None
        return json_reply(200, rep.me_body(self._hrefs(app), app, self.user))

    def _normalise_phone(self, name: str, value: Any) -> str:
        """Return the server's normalisation: `tel:+<E.164>`; a bare 10-digit number gets the country code."""
        if not isinstance(value, str):
            raise invalid_parameter(name)
        match = PHONE_NUMBER.fullmatch(value.strip())
        if match is None or (value.startswith("tel:") and not value.startswith("tel:+")):
            raise invalid_parameter(name)
        digits = match.group(1)
        if "+" not in value and len(digits) == 10:
            digits = f"{self.config.country_code}{digits}"
        return f"tel:+{digits}"

    async def _post_make_me_available(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Leave lurker mode: me gains presence/note/location, communication gets the modalities."""
        assert app is not None
        if app.available:
            raise UcwaReplyError(
                409,
                "Conflict",
                "AlreadyExists",
                "Multiple invocations of this operation is not valid.",
            )
        values = call.input()
        raw_modalities = values.get("supportedmodalities", ["Messaging"])
        if not isinstance(raw_modalities, list) or not all(
            isinstance(item, str) for item in raw_modalities
        ):
            raise invalid_parameter("supportedModalities")
        modalities: list[str] = []
        for item in raw_modalities:
            if item.lower() in OTHER_MODALITIES:
                raise UcwaReplyError(
                    403,
                    "Forbidden",
                    message=(
                        "The application is attempting to use modalities other than Messaging "
                        "and Phone Audio."
                    ),
                )
            if item.lower() not in SIGN_IN_MODALITIES:
                raise invalid_parameter("supportedModalities")
            modalities.append(SIGN_IN_MODALITIES[item.lower()])
        formats = values.get("supportedmessageformats", ["Plain"])
        if not isinstance(formats, list) or not set(formats) <= MESSAGE_FORMATS:
            raise invalid_parameter("supportedMessageFormats")
        sign_in_as = values.get("signinas", "Online")
        if sign_in_as not in PREFERRED_AVAILABILITY:
            raise invalid_parameter("signInAs")
        audio = values.get("audiopreference", "VoipAudio")
        if audio not in AUDIO_PREFERENCES:
            raise invalid_parameter("audioPreference")
        phone = values.get("phonenumber")
        number = self._normalise_phone("phoneNumber", phone) if phone not in (None, "") else None
        app.available = True
        app.callback_number = number
        app.supported_modalities = modalities
        app.supported_message_formats = [str(item) for item in formats]
        app.sign_in_as = str(sign_in_as)
        app.audio_preference = str(audio)
        app.last_activity = time.monotonic()
        app.communication_etag = str(secrets.randbelow(9_000_000_000) + 1_000_000_000)
        h = self._hrefs(app)
        communication, me = h.under("communication"), h.under("me")
        self._emit(
            app,
            "communication",
            communication,
            {
                "link": {"rel": "communication", "href": communication},
                "_embedded": {"communication": rep.communication_body(h, app)},
                "type": "updated",
            },
        )
        self._emit(app, "me", me, rep.event(h, "me", me, "updated", rep.me_body(h, app, self.user)))
        for rel in ("presence", "note", "location"):
            body = rep.ME_PARTS[rel](h, app)
            self._emit(app, "me", me, rep.event(h, rel, h.under(f"me/{rel}"), "added", body))
        return empty_reply()

    async def _post_report_my_activity(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Keep an available application (and its user's presence) alive."""
        assert app is not None
        if not app.available:
            raise UcwaReplyError(409, "Conflict", "MakeMeAvailableRequired")
        app.last_activity = time.monotonic()
        return empty_reply()

    # Event channel ----------------------------------------------------------------------------

    def _emit(
        self, app: Application, sender_rel: str, sender_href: str, body: dict[str, Any]
    ) -> None:
        app.channel.pending.append(Event(sender_rel, sender_href, body))
        if app.channel.parked is not None:
            app.channel.parked.wake("events")

    def _events_reply(self, app: Application, ack: int) -> Reply:
        h = self._hrefs(app)
        onward = "resume" if ack in app.channel.resumed else "next"
        body: dict[str, Any] = {
            "_links": {"self": {"href": h.events(ack)}, onward: {"href": h.events(ack + 1)}}
        }
        senders: list[dict[str, Any]] = []
        for event in app.channel.batches.get(ack, []):
            last = senders[-1] if senders else None
            if last is not None and (last["rel"], last["href"]) == (
                event.sender_rel,
                event.sender_href,
            ):
                last["events"].append(event.body)
            else:
                senders.append(
                    {"rel": event.sender_rel, "href": event.sender_href, "events": [event.body]}
                )
        if senders:
            body["sender"] = senders
        return json_reply(200, body)

    @staticmethod
    def _bounded(call: Call, name: str, bounds: tuple[float, float], current: float) -> float:
        raw = call.query.get(name)
        if raw is None:
            return current
        try:
            value = float(raw)
        except ValueError:
            raise invalid_parameter(name) from None
        return min(max(value, bounds[0]), bounds[1])

    async def _get_events(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Answer the P-GET with batch `ack`, or hold it until events or the timeout."""
        assert app is not None
        channel = app.channel
        channel.timeout = self._bounded(call, "timeout", EVENT_TIMEOUT_RANGE, channel.timeout)
        channel.low = self._bounded(call, "low", AGGREGATION_RANGE, channel.low)
        channel.medium = self._bounded(call, "medium", AGGREGATION_RANGE, channel.medium)
        try:
            ack = int(call.query.get("ack", ""))
            priority = int(call.query.get("priority", "0"))
        except ValueError:
            ack, priority = -1, 0
        if ack < channel.acked or ack > channel.sealed + 1:
            h = self._hrefs(app)
            return json_reply(200, {"_links": {"resync": {"href": h.events(channel.acked)}}})
        for number in range(channel.acked, ack):
            channel.batches.pop(number, None)
            channel.resumed.discard(number)
        channel.acked = ack
        if ack <= channel.sealed:
            return self._events_reply(app, ack)
        now = time.monotonic()
        resume = (
            self.config.resume_after is not None
            and channel.parked is None
            and channel.ever_parked
            and now - channel.last_release > self.config.resume_after
        )
        previous = channel.parked
        if previous is not None:
            if priority < previous.priority:
                raise UcwaReplyError(409, "Conflict", "PGetReplaced")
            previous.wake("replaced")
        parked = ParkedPGet(ack, priority)
        channel.parked = parked
        channel.ever_parked = True
        self._notify()
        try:
            if not channel.pending:
                timeout = self.config.pget_timeout_override or channel.timeout
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(parked.wakeup.wait(), timeout)
        finally:
            if channel.parked is parked:
                channel.parked = None
                channel.last_release = time.monotonic()
        if parked.outcome == "replaced":
            raise UcwaReplyError(409, "Conflict", "PGetReplaced")
        if parked.outcome == "gone":
            raise UcwaReplyError(404, "NotFound", "ApplicationNotFound")
        if parked.outcome == "expired":
            self._remove_app(app)
            raise UcwaReplyError(410, "Gone", "InactiveApplicationExpired")
        channel.sealed = ack
        channel.batches[ack] = channel.pending
        channel.pending = []
        if resume:
            channel.resumed.add(ack)
        return self._events_reply(app, ack)

    # Batch ------------------------------------------------------------------------------------

    async def _post_batch(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Run each part through the ordinary dispatch; answer the parts in request order."""
        assert app is not None
        try:
            boundary = boundary_of(call.headers.get("Content-Type", ""))
        except BatchFormatError as err:
            raise UcwaReplyError(415, "UnsupportedMediaType", message=str(err)) from None
        try:
            parts = parse_batch(call.body, boundary)
        except (BatchFormatError, UnicodeDecodeError) as err:
            raise UcwaReplyError(400, "BadRequest", "DeserializationFailure", str(err)) from None
        if len(parts) > self.config.batch_limit:
            raise UcwaReplyError(429, "TooManyRequests")
        replies: list[Reply] = []
        for part in parts:
            target = urlsplit(part.target)
            headers = CIMultiDict(part.headers)
            if "Authorization" not in headers and "Authorization" in call.headers:
                headers["Authorization"] = call.headers["Authorization"]
            inner = Call(
                method=part.method,
                path=target.path,
                query=dict(parse_qsl(target.query, keep_blank_values=True)),
                headers=headers,
                body=part.body,
                origin=call.origin,
                in_batch=True,
            )
            replies.append(await self._dispatch(inner))
        body, content_type = format_batch(replies)
        return Reply(200, body, content_type)

    # Communication ----------------------------------------------------------------------------

    async def _get_communication(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Return the communication dashboard with its capability links."""
        assert app is not None
        body = rep.communication_body(self._hrefs(app), app)
        return json_reply(200, body, [("Etag", app.communication_etag)])

    async def _get_missed_items(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Counters of missed and unread items, derived from the mailbox."""
        assert app is not None
        return json_reply(200, rep.missed_items_body(self._hrefs(app), self.logs, self.user))

    def _broadcast_missed_items(self) -> None:
        """`missedItems updated` (sender communication, link only) to every application."""
        for app in self.applications.values():
            h = self._hrefs(app)
            href = h.under("communication/missedItems")
            body = rep.missed_items_body(h, self.logs, self.user)
            event = rep.event(h, "missedItems", href, "updated", body)
            self._emit(app, "communication", h.under("communication"), event)

    # Conversation logs ------------------------------------------------------------------------

    def _find_log(self, params: dict[str, str]) -> ConversationLogRecord:
        for log in self.logs:
            if log.log_id == params["log"]:
                return log
        raise UcwaReplyError(404, "NotFound")

    async def _get_conversation_logs(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Hrefs of the newest logs first; `limit` keeps the N most recent.

        The logs live in Exchange: a pool whose Exchange integration is broken answers 500
        ServiceFailure (conversationLogs_ref.md; ExchangeTimeout from ErrorSubcode_ref.md), and
        an account without conversation history has no such resource.
        """
        assert app is not None
        history = self.config.conversation_history
        if history == "absent":
            raise UcwaReplyError(404, "NotFound")
        if history == "invalid_exchange_version":
            raise UcwaReplyError(500, "ServiceFailure", "InvalidExchangeServerVersion")
        if history == "exchange_timeout":
            raise UcwaReplyError(500, "ServiceFailure", "ExchangeTimeout")
        logs = sorted(self.logs, key=lambda log: log.creation_time, reverse=True)
        if "limit" in call.query:
            try:
                limit = int(call.query["limit"])
            except ValueError:
                raise invalid_parameter("limit") from None
            if limit < 0:
                raise invalid_parameter("limit")
            logs = logs[:limit]
        return json_reply(200, rep.conversation_logs_body(self._hrefs(app), logs))

    async def _get_conversation_log(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """One log with its recipients embedded."""
        assert app is not None
        log = self._find_log(params)
        return json_reply(200, rep.conversation_log_body(self._hrefs(app), log))

    async def _delete_conversation_log(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Remove the log from the mailbox; the counters change, so missedItems is updated."""
        assert app is not None
        self.logs.remove(self._find_log(params))
        self._broadcast_missed_items()
        return empty_reply()

    async def _get_recipient(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """One conversationLogRecipient on its own."""
        assert app is not None
        log = self._find_log(params)
        index = int(params["index"])
        if index >= len(log.recipients):
            raise UcwaReplyError(404, "NotFound")
        body = rep.recipient_body(self._hrefs(app), log, index, log.recipients[index])
        return json_reply(200, body)

    async def _get_transcripts(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the log's archived transcript, a single page."""
        assert app is not None
        log = self._find_log(params)
        return json_reply(200, rep.transcripts_body(self._hrefs(app), log, self.user))

    async def _post_mark_as_read(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Mark read in Exchange; when that changes the counters, missedItems is updated."""
        assert app is not None
        log = self._find_log(params)
        if log.unread:
            log.unread = False
            self._broadcast_missed_items()
        return empty_reply()

    # Call-back --------------------------------------------------------------------------------

    def _channel_reachable(self, app: Application) -> bool:
        channel = app.channel
        if channel.parked is not None:
            return True
        recent = time.monotonic() - channel.last_release <= self.config.callback_channel_grace
        return channel.ever_parked and recent

    async def _post_continue_phone_audio(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Ring the user's own phone, then the log's counterpart; the progress comes as events."""
        assert app is not None
        log = self._find_log(params)
        values = call.input()
        operation_id = values.get("operationid")
        if operation_id is None:
            operation_id = uuid.uuid4().hex
        if not isinstance(operation_id, str) or not operation_id or len(operation_id) > 50:
            raise invalid_parameter("operationId")
        raw_phone = values.get("phonenumber")
        if raw_phone in (None, ""):
            if app.callback_number is None:
                raise invalid_parameter("phoneNumber", "Missing")
            phone = app.callback_number
        else:
            phone = self._normalise_phone("phoneNumber", raw_phone)
        if not self._channel_reachable(app):
            raise UcwaReplyError(500, "ServiceFailure", "CallbackChannelError")
        if not log.recipients:
            raise UcwaReplyError(409, "Conflict")
        target = log.recipients[0]
        invitation = PhoneAudioInvitation(
            invitation_id=self._next_id(),
            conversation_id=self._next_id(),
            app_id=app.app_id,
            log_id=log.log_id,
            operation_id=operation_id,
            phone_number=phone,
            to=target.sip_uri,
            to_name=target.display_name,
            subject=log.subject,
            thread_id=log.thread_id,
            importance=log.importance,
            created=datetime.now(UTC),
        )
        self.callbacks.append(invitation)
        h = self._hrefs(app)
        conversation = h.conversation(invitation.conversation_id)
        body = calls.conversation_body(h, invitation, self.user)
        event = rep.event(h, "conversation", conversation, "added", body)
        self._emit(app, "communication", h.under("communication"), event)
        self._emit_invitation(app, invitation, "started")
        self._spawn(self._run_callback(app, invitation, self.config.callback_outcome))
        return empty_reply(201, [("Location", h.invitation(invitation.invitation_id))])

    def _emit_invitation(self, app: Application, inv: PhoneAudioInvitation, kind: str) -> None:
        h = self._hrefs(app)
        body: dict[str, Any] = {
            "link": {"rel": "phoneAudioInvitation", "href": h.invitation(inv.invitation_id)},
            "_embedded": {"phoneAudioInvitation": calls.invitation_body(h, inv, self.user)},
            "type": kind,
        }
        if kind == "completed" and inv.status is not None:
            body["status"] = inv.status
            if inv.reason is not None:
                body["reason"] = dict(inv.reason)
        self._emit(app, "communication", h.under("communication"), body)

    def _emit_phone_audio(self, app: Application, inv: PhoneAudioInvitation) -> None:
        h = self._hrefs(app)
        conversation = h.conversation(inv.conversation_id)
        body = calls.phone_audio_body(h, inv)
        event = rep.event(h, "phoneAudio", f"{conversation}/phoneAudio", "updated", body)
        self._emit(app, "conversation", conversation, event)

    def _end_call(self, app: Application, inv: PhoneAudioInvitation) -> None:
        if inv.phone_audio_state != "Disconnected":
            inv.phone_audio_state = "Disconnected"
            self._emit_phone_audio(app, inv)
        inv.conversation_ended = True
        h = self._hrefs(app)
        link = {"rel": "conversation", "href": h.conversation(inv.conversation_id)}
        self._emit(
            app, "communication", h.under("communication"), {"link": link, "type": "deleted"}
        )
        if self.config.log_completed_calls:
            self.add_conversation_log(
                direction="Outgoing",
                status="Archived" if inv.status == "Success" else "Missed",
                type="AudioLog",
                modalities=["Audio"],
                subject=inv.subject,
                thread_id=inv.thread_id,
                unread=False,
                recipients=[{"display_name": inv.to_name, "sip_uri": inv.to}],
            )

    async def _run_callback(
        self, app: Application, inv: PhoneAudioInvitation, outcome: CallbackOutcome
    ) -> None:
        """Play started → updated (Alerting) → completed, with phoneAudio and conversation."""
        await asyncio.sleep(outcome.step_delay)
        if app.app_id not in self.applications:
            inv.conversation_ended = True
            return
        inv.state = "Alerting"
        self._emit_phone_audio(app, inv)
        self._emit_invitation(app, inv, "updated")
        await asyncio.sleep(outcome.step_delay)
        if app.app_id not in self.applications:
            inv.conversation_ended = True
            return
        if outcome.status == "Success":
            inv.state, inv.status, inv.phone_audio_state = "Connected", "Success", "Connected"
            self._emit_phone_audio(app, inv)
            self._emit_invitation(app, inv, "completed")
            if self.config.call_duration is None:
                return
            await asyncio.sleep(self.config.call_duration)
            if app.app_id in self.applications:
                self._end_call(app, inv)
            inv.conversation_ended = True
            return
        inv.state = "Declined" if outcome.subcode == "Declined" else "Failed"
        inv.status = "Failure"
        inv.reason = {"code": outcome.code, "message": outcome.message}
        if outcome.subcode is not None:
            inv.reason = {
                "code": outcome.code,
                "subcode": outcome.subcode,
                "message": outcome.message,
            }
        self._emit_invitation(app, inv, "completed")
        self._end_call(app, inv)

    def _find_invitation(self, app: Application, params: dict[str, str]) -> PhoneAudioInvitation:
        for inv in self.callbacks:
            if inv.app_id == app.app_id and params["invitation"] == inv.invitation_id:
                return inv
        raise UcwaReplyError(404, "NotFound")

    def _find_conversation(self, app: Application, params: dict[str, str]) -> PhoneAudioInvitation:
        for inv in self.callbacks:
            if inv.app_id == app.app_id and params["conversation"] == inv.conversation_id:
                if inv.conversation_ended:
                    break
                return inv
        raise UcwaReplyError(404, "NotFound")

    async def _get_invitation(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the call-back's phoneAudioInvitation, in its current state."""
        assert app is not None
        inv = self._find_invitation(app, params)
        return json_reply(200, calls.invitation_body(self._hrefs(app), inv, self.user))

    async def _get_conversation(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the call-back's conversation while it lasts."""
        assert app is not None
        inv = self._find_conversation(app, params)
        return json_reply(200, calls.conversation_body(self._hrefs(app), inv, self.user))

    async def _get_phone_audio(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the phoneAudio modality of the call-back's conversation."""
        assert app is not None
        inv = self._find_conversation(app, params)
        return json_reply(200, calls.phone_audio_body(self._hrefs(app), inv))

    # Resources advertised so that every link resolves (see peripheral.py) ----------------------

    async def _get_xframe(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Return the cross-domain frame the root links for browser clients: a page, not JSON."""
        return Reply(200, XFRAME_PAGE.encode(), "text/html; charset=utf-8")

    async def _get_resource(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Return a resource this project never uses: its minimal body, found by its path."""
        assert app is not None
        h = self._hrefs(app)
        for rel, path in RESOURCES.items():
            if call.path.rstrip("/").lower() == urlsplit(h.under(path)).path.lower():
                return json_reply(200, resource_body(h, rel, self.user))
        raise UcwaReplyError(404, "NotFound")  # pragma: no cover  # routes come from RESOURCES

    async def _post_not_supported(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Refuse an advertised action the simulator does not act on (`not_supported`)."""
        raise not_supported()

    async def _get_photo(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Return the user's or a contact's photo: an image."""
        return Reply(200, PHOTO, "image/png")

    async def _get_phones(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the user's phones, or one of them."""
        assert app is not None
        h = self._hrefs(app)
        if "kind" not in params:
            return json_reply(200, phones_body(h, self.user))
        number = phone_numbers(self.user).get(params["kind"])
        if number is None:
            raise UcwaReplyError(404, "NotFound")
        return json_reply(200, phone_body(h, params["kind"], number))

    async def _get_me_part(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Presence, note or location: they exist only once makeMeAvailable (MeDashboard.md)."""
        assert app is not None
        if not app.available:
            raise UcwaReplyError(404, "NotFound")
        return json_reply(200, rep.ME_PARTS[params["part"]](self._hrefs(app), app))

    async def _get_contact(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return a contact, or its presence, named by address."""
        assert app is not None
        h = self._hrefs(app)
        if call.path.rstrip("/").endswith("/contactPresence"):
            return json_reply(200, contact_presence_body(h, params["address"]))
        return json_reply(200, contact_body(h, params["address"]))

    async def _get_conversations(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Return the application's conversations that are still going on."""
        assert app is not None
        h = self._hrefs(app)
        live = [
            h.conversation(inv.conversation_id)
            for inv in self.callbacks
            if inv.app_id == app.app_id and not inv.conversation_ended
        ]
        links: dict[str, Any] = {"self": {"href": h.under("communication/conversations")}}
        if live:
            links["conversation"] = h.many(live)
        return json_reply(200, {"rel": "conversations", "_links": links})

    async def _get_participant(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return a call-back's participants: the user and the log's counterpart."""
        assert app is not None
        inv = self._find_conversation(app, params)
        h = self._hrefs(app)
        href = h.conversation(inv.conversation_id)
        people = [
            calls.participant_body(h, href, self.user.name, self.user.sip_uri, local=True),
            calls.participant_body(h, href, inv.to_name, inv.to, local=False),
        ]
        if "address" not in params:
            body = {
                "rel": "participants",
                "_links": {
                    "self": {"href": f"{href}/participants"},
                    "participant": h.many([p["_links"]["self"]["href"] for p in people]),
                },
            }
            return json_reply(200, body)
        for person in people:
            if person["uri"].removeprefix("sip:").split(";", 1)[0] == params["address"]:
                return json_reply(200, person)
        raise UcwaReplyError(404, "NotFound")

    async def _get_transcript(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the one transcript entry a log has (conversationLogTranscript_ref.md)."""
        assert app is not None
        log = self._find_log(params)
        page = rep.transcripts_body(self._hrefs(app), log, self.user)
        return json_reply(200, page["_embedded"]["conversationLogTranscript"][0])

    # Control operations (also under /_sim/, see control.py) -------------------------------------

    def add_conversation_log(
        self, log: dict[str, Any] | None = None, **fields: Any
    ) -> ConversationLogRecord:
        """Deliver a log to the mailbox (seed format) and fire `missedItems updated`."""
        record = parse_log({**(log or {}), **fields}, datetime.now(UTC))
        if any(existing.log_id == record.log_id for existing in self.logs):
            raise ValueError(f"a log with id {record.log_id!r} exists")
        self.logs.append(record)
        self._broadcast_missed_items()
        return record

    def fail_next(
        self,
        method: str | None = None,
        path: str = "",
        *,
        status: int = 500,
        code: str = "ServiceFailure",
        subcode: str | None = None,
        message: str | None = None,
        count: int = 1,
    ) -> Fault:
        """Answer the next `count` matching requests with this error instead of acting.

        `path` is a substring or a regular expression of the URL path. On the token route the
        body is the OAuth `{"error": code}`; a 401 is the usual challenge.
        """
        fault = Fault(
            "fail", path, method, count, status, code, subcode,
            message if message is not None else reference_message(code, subcode),
        )  # fmt: skip
        self.faults.append(fault)
        return fault

    def delay_next(self, method: str | None, path: str, seconds: float, *, count: int = 1) -> Fault:
        """Hold the next `count` matching requests for `seconds` before handling them."""
        fault = Fault("delay", path, method, count, seconds=seconds)
        self.faults.append(fault)
        return fault

    def drop_next(
        self, method: str | None, path: str, *, after: bool = False, count: int = 1
    ) -> Fault:
        """Close the connection of the next `count` matching requests without an answer.

        With `after=True` the server acts first, like a response lost in the network.
        """
        fault = Fault("drop_after" if after else "drop", path, method, count)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Disarm every pending fault."""
        self.faults.clear()

    def expire_tokens(self) -> None:
        """Make every issued token invalid, as if their lifetime had passed."""
        self._tokens.clear()

    def drop_application(
        self, kind: Literal["not_found", "expired"] = "not_found", app_id: str | None = None
    ) -> list[str]:
        """End applications server-side: `not_found` answers 404 at once, `expired` 410 then 404."""
        if kind not in ("not_found", "expired"):
            raise ValueError(f"unknown kind {kind!r}")
        targets = (
            [self.applications[app_id]] if app_id is not None else list(self.applications.values())
        )
        for app in targets:
            if kind == "not_found":
                self._remove_app(app)
            else:
                app.state = "expired"
                if app.channel.parked is not None:
                    app.channel.parked.wake("expired")
        return [app.app_id for app in targets]

    def set_callback_outcome(self, outcome: CallbackOutcome) -> None:
        """How the following call-backs end."""
        self.config.callback_outcome = outcome

    def reset_requests(self) -> None:
        """Forget recorded requests and route counts."""
        self.requests.clear()
        self.route_counts.clear()

    async def wait_for_request(
        self, method: str, route: str, count: int = 1, seconds: float = 5.0
    ) -> RecordedRequest:
        """Wait until `count` requests of `METHOD route` were received; return the latest."""
        key = f"{method.upper()} {route}"
        async with asyncio.timeout(seconds):
            while self.route_counts[key] < count:
                await self._changed.wait()
        return [r for r in self.requests if (r.method, r.route) == (method.upper(), route)][-1]

    async def wait_for_parked_pget(
        self, app_id: str | None = None, seconds: float = 5.0
    ) -> Application:
        """Wait until an application (this one, or any) holds a P-GET."""
        async with asyncio.timeout(seconds):
            while True:
                for app in self.applications.values():
                    if app.channel.parked is not None and app_id in (None, app.app_id):
                        return app
                await self._changed.wait()

    def state(self) -> dict[str, Any]:
        """Everything a test or developer may want to look at, as JSON-ready data."""
        now = time.monotonic()
        return {
            "user": {
                "sign_in_address": self.user.sign_in_address,
                "username": self.user.username,
                "phone_number": self.user.phone_number,
                "name": self.user.name,
            },
            "applications": [
                {
                    "app_id": app.app_id,
                    "endpoint_id": app.endpoint_id,
                    "instance_id": app.instance_id,
                    "user_agent": app.user_agent,
                    "state": app.state,
                    "available": app.available,
                    "callback_number": app.callback_number,
                    "pget_parked": app.channel.parked is not None,
                    "acked": app.channel.acked,
                    "pending_events": len(app.channel.pending),
                    "seconds_since_activity": round(now - app.last_activity, 3),
                }
                for app in self.applications.values()
            ],
            "logs": [log_state(log) for log in self.logs],
            "callbacks": [
                {
                    "invitation_id": inv.invitation_id,
                    "app_id": inv.app_id,
                    "log_id": inv.log_id,
                    "operation_id": inv.operation_id,
                    "phone_number": inv.phone_number,
                    "to": inv.to,
                    "state": inv.state,
                    "status": inv.status,
                    "reason": inv.reason,
                }
                for inv in self.callbacks
            ],
            "tokens": len(self._tokens),
            "faults": [asdict(fault) for fault in self.faults],
        }


__all__ = ["DropConnection", "Simulator", "encode_json"]
