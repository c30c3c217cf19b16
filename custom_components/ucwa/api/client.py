"""The asynchronous UCWA 2.0 client.

One class owns everything a UCWA session is made of: where the user's pool is (autodiscovery), the
tokens per host, the application and its event channel, and the cache of conversation logs. Every
HTTP request goes through `UcwaClient._request`, the single place where Authorization is applied,
timeouts are set, transport failures become `UcwaConnectionError` and error bodies become
`UcwaApiError`. The client never builds a UCWA URL: it follows the links the server hands out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass, field, replace
import json
import logging
import math
import random
import re
from typing import Any, Self
from urllib.parse import urljoin
import uuid

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .auth import Challenge, Token, find_ms_rtc_oauth, grant_types, parse_www_authenticate
from .batch import MAX_BATCH_PARTS, BatchPart, build_batch_request, parse_batch_response
from .exceptions import (
    UcwaApiError,
    UcwaApplicationError,
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaConversationLogNotFoundError,
    UcwaError,
    UcwaLinkNotOfferedError,
    UcwaMalformedResponseError,
    UcwaSecurityError,
    UcwaTimeoutError,
)
from .links import APPLICATION, COMMUNICATION, ME, ApplicationLinks, embedded
from .models import (
    ApplicationLost,
    ApplicationRestored,
    AuthenticationFailed,
    ConversationLog,
    ConversationLogsAdded,
    MissedItems,
    MissedItemsUpdated,
    PhoneAudioCall,
    PhoneAudioInvitationEvent,
    UcwaEvent,
    link_href,
    link_hrefs,
    log_id_from_href,
    normalize_phone_number,
    validate_operation_id,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "ha-ucwa/0.1"
MAX_DISCOVERY_HOPS = 10
"""Redirects (root or user level, 3xx or `_links.redirect`) followed before giving up."""
DEFAULT_LOG_LIMIT = 50
ACTIVITY_INTERVAL = 180.0
"""reportMyActivity must come at least every 4 minutes (MeDashboard.md); 3 leaves a margin."""
PGET_MARGIN = 30.0
"""Extra read time on a P-GET beyond the `timeout` the server is asked to hold it for."""
REDISCOVER_AFTER_FAILURES = 5
"""Consecutive connection failures of the event channel that count as "many retries" (RootURL.md)."""
_TOKEN_MARGIN_MAX = 300.0
_KEPT_OPERATIONS = 100
"""Invitations remembered for correlation and results; older ones are forgotten."""

type EventCallback = Callable[[UcwaEvent], None]

_APPLICATION_ERROR_STATUS = 410
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
_LOST_APPLICATION = {(404, "ApplicationNotFound"), (410, "InactiveApplicationExpired")}
_NOT_APPLICATION_ERRORS = {None, "None", "InactiveApplicationExpired", "CannotRedirect"}
_XML_TAG_RE = {
    tag: re.compile(rf"<{tag}>(.*?)</{tag}>", re.DOTALL) for tag in ("code", "subcode", "message")
}


@dataclass(frozen=True, kw_only=True)
class UcwaConfig:
    """Everything the client needs to know about the user and how to reach the server.

    `endpoint_id` must stay the same across restarts (store it): the server treats applications
    with the same endpoint id as one, which avoids 410 TooManyApplications. When None, a new one
    is generated. `trusted_hosts` are host names (or domains, matching their subdomains) the user
    approved for discovery redirects that leave the sign-in domain.
    """

    sign_in_address: str
    password: str = field(repr=False)
    username: str | None = None
    phone_number: str | None = None
    discovery_url: str | None = None
    verify_ssl: bool = True
    endpoint_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    user_agent: str = DEFAULT_USER_AGENT
    culture: str = "en-US"
    report_activity: bool = False
    event_timeout: float = 180.0
    trusted_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Generate the endpoint id when none is stored yet and normalise the lists."""
        if not self.endpoint_id:
            object.__setattr__(self, "endpoint_id", str(uuid.uuid4()))
        object.__setattr__(self, "trusted_hosts", tuple(self.trusted_hosts))

    @property
    def domain(self) -> str:
        """The sign-in domain: what follows the @ of the sign-in address."""
        address = self.sign_in_address.removeprefix("sip:")
        return address.partition("@")[2].strip().lower() if "@" in address else ""


@dataclass(frozen=True, slots=True)
class _Response:
    """A response read in full by the chokepoint."""

    url: URL
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes = field(repr=False)  # a token endpoint's body holds the access token

    def json(self) -> dict[str, Any]:
        """Decode a JSON object body; anything else is the library's base error."""
        content_type = self.headers.get("Content-Type", "")
        if "json" not in content_type.lower():
            raise UcwaMalformedResponseError(
                f"Expected JSON from {self.url.host}, got {content_type or 'nothing'}"
            )
        try:
            data = json.loads(self.body.decode("utf-8-sig"))
        except ValueError as err:
            raise UcwaMalformedResponseError(f"Invalid JSON from {self.url.host}") from err
        if not isinstance(data, dict):
            raise UcwaMalformedResponseError(f"Unexpected JSON from {self.url.host}")
        return data


@dataclass(slots=True)
class _Application:
    """The live application (application_ref.md): where it is, its events, the links it offers now."""

    href: str
    events_url: str
    links: ApplicationLinks


def _origin(url: URL | str) -> str:
    """Return the scheme://host:port a token belongs to."""
    url = URL(url) if isinstance(url, str) else url
    return str(url.origin()).lower()


def error_from_response(
    status: int, content_type: str, body: bytes, reason: str | None = None
) -> UcwaApiError:
    """Map an HTTP error answer to the library's error (the one place it is done).

    UCWA error bodies (JSON, or XML) carry `code`, `subcode` and `message`; the token endpoint's
    OAuth errors carry `error` and `error_description`. Anything else (an IIS or proxy HTML page)
    gives code None. Subcodes are open strings and are kept as sent.
    """
    code = subcode = message = None
    text = body.decode("utf-8-sig", errors="replace").lstrip("\ufeff")
    lowered = content_type.lower()
    if "json" in lowered:
        with contextlib.suppress(ValueError):
            data = json.loads(text)
            if isinstance(data, dict):
                code = _opt_str(data.get("code")) or _opt_str(data.get("error"))
                subcode = _opt_str(data.get("subcode"))
                message = _opt_str(data.get("message")) or _opt_str(data.get("error_description"))
    elif "xml" in lowered:
        found = {tag: regex.search(text) for tag, regex in _XML_TAG_RE.items()}
        code, subcode, message = (m.group(1).strip() if m else None for m in found.values())
    if code is None and message is None:
        message = reason
    error_type = (
        UcwaApplicationError
        if status == _APPLICATION_ERROR_STATUS and subcode not in _NOT_APPLICATION_ERRORS
        else UcwaApiError
    )
    return error_type(status, code, subcode, message)


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_lost(err: UcwaError) -> bool:
    """Whether the error says the application is gone and a new one will do (ApplicationDashboard.md)."""
    return isinstance(err, UcwaApiError) and (err.status, err.subcode) in _LOST_APPLICATION


def _as_list(value: object) -> list[Any]:
    """Return an array as is, a single object as a one-item list (PayloadFormat.md), else []."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, Mapping) else []


async def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancel a helper task and wait for it, without swallowing our own cancellation."""
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # retrieved: the outcome of an abandoned P-GET does not matter


class UcwaClient:
    """An asynchronous UCWA 2.0 client for one user.

    `sign_in()` finds the pool and checks the credentials; `start()` also creates the application,
    makes the user available for phone audio and parks the event channel. Subscribers receive typed
    events in order. `close()` stops the channel and deletes the application.
    """

    def __init__(
        self,
        config: UcwaConfig,
        session: aiohttp.ClientSession | None = None,
        request_timeout: float = 30.0,
    ) -> None:
        """Keep the configuration; a given session is used and never closed by the client."""
        self.config = config
        self.request_timeout = request_timeout
        self._session = session
        self._close_session = False

        self._tokens: dict[str, Token] = {}
        self._token_urls: dict[str, str] = {}
        self._token_lock = asyncio.Lock()
        self._trusted_origins: set[str] = set()

        self._applications_url: str | None = None
        self._discovery_stale = False
        self._app: _Application | None = None
        self._generation = 0
        self._app_lock = asyncio.Lock()
        self._started = False
        self._closed = False

        self._event_task: asyncio.Task[None] | None = None
        self._activity_task: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()
        self._pget_count = 0
        self._pget_dispatched = asyncio.Condition()
        self._events_ok = False
        self._reconnect_base = 1.0
        self._reconnect_cap = 30.0
        self._parked_grace = 0.2
        self._batch_retry_delay = 1.0
        self._activity_interval = ACTIVITY_INTERVAL

        self._subscribers: list[EventCallback] = []

        self._logs: dict[str, ConversationLog] = {}
        self._log_list: list[str] | None = None
        self._list_limit = 0
        self._list_complete = False
        self._seen_log_ids: set[str] = set()
        self._baseline = False
        self._missed_items: MissedItems | None = None
        self._refresh_lock = asyncio.Lock()

        self._invitation_ops: dict[str, str] = {}
        self._invitation_results: dict[str, PhoneAudioInvitationEvent] = {}
        self._invitation_waiters: dict[str, asyncio.Future[PhoneAudioInvitationEvent]] = {}

    def __repr__(self) -> str:
        """Describe the client without its password or tokens."""
        return (
            f"UcwaClient(sign_in_address={self.config.sign_in_address!r}, "
            f"signed_in={self._applications_url is not None}, "
            f"application={self._app.href if self._app else None!r})"
        )

    async def __aenter__(self) -> Self:
        """Use the client as an async context manager."""
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        """Close the client when leaving the context."""
        await self.close()

    # ------------------------------------------------------------------ the request chokepoint

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session: the one given, or one the client created and will close."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._close_session = True
        return self._session

    async def _request(
        self,
        method: str,
        url: URL | str,
        *,
        json_body: Mapping[str, Any] | None = None,
        data: bytes | Mapping[str, str] | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
        authorize: bool = True,
        read_timeout: float | None = None,
    ) -> _Response:
        """Send one HTTP request: every request of the client passes here.

        Authorization is added only for a host the client holds a token for, and tokens are only
        fetched for hosts that passed the discovery security check. A 401 fetches a new token and
        repeats the request once; a 403 with a token does the same (ucwa-flow.md §1.1: a 403 may
        be a bad token). Redirects are never followed here: callers decide. Transport failures
        never repeat a request, so a POST is sent at most once per answer received.
        """
        target = URL(url) if isinstance(url, str) else url
        origin = _origin(target)
        retried_auth = False
        while True:
            headers = {"Accept": accept, "User-Agent": self.config.user_agent}
            if content_type:
                headers["Content-Type"] = content_type
            token = await self._token_for(origin) if authorize else None
            if token is not None:
                headers["Authorization"] = token.header
            body: Any = data
            if json_body is not None:
                body = json.dumps(json_body).encode()
                headers["Content-Type"] = "application/json"
            response = await self._send(method, target, headers, body, read_timeout)
            if response.status in (401, 403) and authorize and not retried_auth:
                retried_auth = True
                if response.status == 401:
                    await self._handle_challenge(response, stale=token)
                    continue
                if token is not None and origin in self._token_urls:
                    # A 403 may be a bad token (ucwa-flow.md §1.1): renew it, but only repeat a
                    # request that is safe to repeat; a refused POST is reported as is.
                    await self._fetch_token(origin, stale=token)
                    if method in _IDEMPOTENT:
                        continue
            if response.status == 401 and authorize:
                raise UcwaAuthenticationError(f"{target.host} refused the new token")
            if response.status in (403, 502) and authorize:
                # RootURL.md: these (and no other status) mean the cached pool may be wrong.
                self._discovery_stale = True
            if response.status >= 400:
                raise error_from_response(
                    response.status,
                    response.headers.get("Content-Type", ""),
                    response.body,
                    f"HTTP {response.status}",
                )
            return response

    async def _send(
        self,
        method: str,
        url: URL,
        headers: dict[str, str],
        body: Any,
        read_timeout: float | None,
    ) -> _Response:
        """Do the I/O of one request and map transport failures to the library's errors."""
        total = read_timeout if read_timeout is not None else self.request_timeout
        if self.session.closed:
            # aiohttp raises RuntimeError here; to callers it is a connection that is gone.
            raise UcwaConnectionError(f"The HTTP session is closed ({method} {url.host})")
        try:
            async with self.session.request(
                method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                ssl=self.config.verify_ssl,
                timeout=aiohttp.ClientTimeout(total=total),
            ) as response:
                content = await response.read()
        except TimeoutError as err:
            _LOGGER.debug("%s %s -> timeout", method, url)
            raise UcwaTimeoutError(f"Timeout talking to {url.host} ({method})") from err
        except (aiohttp.ClientError, OSError) as err:
            _LOGGER.debug("%s %s -> %s", method, url, type(err).__name__)
            raise UcwaConnectionError(
                f"Error talking to {url.host} ({method}): {type(err).__name__}"
            ) from err
        _LOGGER.debug("%s %s -> %s", method, url, response.status)
        return _Response(url=url, status=response.status, headers=response.headers, body=content)

    # ------------------------------------------------------------------ tokens

    async def _token_for(self, origin: str) -> Token | None:
        """Return a valid token for the host, renewing an expired one before sending."""
        token = self._tokens.get(origin)
        if token is None:
            return None
        if asyncio.get_running_loop().time() < token.expires_at:
            return token
        # A token is only ever cached by _fetch_token, which needs the host's token URL.
        return await self._fetch_token(origin, stale=token)

    async def _handle_challenge(self, response: _Response, stale: Token | None) -> None:
        """Answer a 401: read the MsRtcOAuth challenge and get a token for that host."""
        origin = _origin(response.url)
        if origin not in self._trusted_origins:
            raise UcwaSecurityError(
                f"{response.url.host} asked for credentials but did not pass the security check"
            )
        challenge = find_ms_rtc_oauth(
            parse_www_authenticate(response.headers.getall("WWW-Authenticate", []))
        )
        if challenge is not None:
            self._token_urls[origin] = self._token_url(response.url, challenge)
        elif origin not in self._token_urls:
            raise UcwaAuthenticationError(
                f"{response.url.host} does not offer MsRtcOAuth, the only sign-in this client supports"
            )
        await self._fetch_token(origin, stale=stale)

    def _token_url(self, source: URL, challenge: Challenge) -> str:
        """Check the challenge and return its token endpoint, which must pass the security check."""
        if "password" not in grant_types(challenge):
            raise UcwaAuthenticationError(
                "The server does not offer the password grant (only "
                f"{', '.join(grant_types(challenge)) or 'nothing'}); this client needs it"
            )
        href = challenge.params.get("href")
        if not href:
            raise UcwaAuthenticationError("The MsRtcOAuth challenge has no token endpoint")
        token_url = urljoin(str(source), href)
        self._check_redirect(source, URL(token_url))
        return token_url

    async def _fetch_token(self, origin: str, stale: Token | None) -> Token:
        """Run the password grant against the host's token endpoint and cache the token.

        Concurrent callers share one grant: whoever waited on the lock finds the new token. The
        stale token stays cached while the grant runs, so that concurrent requests wait here for
        the new one instead of going out without Authorization; it is dropped if the grant fails.
        """
        async with self._token_lock:
            current = self._tokens.get(origin)
            if current is not None and current is not stale:
                return current
            try:
                token = await self._password_grant(self._token_urls[origin])
            except BaseException:
                self._tokens.pop(origin, None)
                raise
            self._tokens[origin] = token
            return token

    async def _password_grant(self, token_url: str) -> Token:
        """POST the user's credentials to the token endpoint and return the token it issues."""
        form = {
            "grant_type": "password",
            "username": self.config.username or self.config.sign_in_address,
            "password": self.config.password,
        }
        try:
            response = await self._request(
                "POST",
                token_url,
                data=form,
                content_type="application/x-www-form-urlencoded;charset=UTF-8",
                authorize=False,
            )
        except UcwaApiError as err:
            if err.status in (400, 401, 403):
                raise UcwaAuthenticationError(
                    f"The server refused the credentials ({err.code or err.status})"
                ) from err
            raise
        data = response.json()
        value = data.get("access_token")
        if not isinstance(value, str) or not value:
            raise UcwaAuthenticationError("The token endpoint answered without a token")
        expires_in = data.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        margin = min(_TOKEN_MARGIN_MAX, lifetime / 10)
        return Token(
            value=value,
            token_type=str(data.get("token_type") or "Bearer"),
            expires_at=asyncio.get_running_loop().time() + lifetime - margin,
        )

    # ------------------------------------------------------------------ discovery

    def _host_allowed(self, host: str) -> bool:
        """Apply steps (b) to (d) of the security check: sign-in domain, typed host, trusted list."""
        host = host.lower().rstrip(".")
        domain = self.config.domain
        if host == domain or host.endswith("." + domain):
            return True
        if (
            self.config.discovery_url
            and host == (URL(self.config.discovery_url).host or "").lower()
        ):
            return True
        for entry in self.config.trusted_hosts:
            trusted = entry.lower().strip().lstrip(".")
            if trusted and (host == trusted or host.endswith("." + trusted)):
                return True
        return False

    def _check_redirect(self, source: URL, target: URL) -> None:
        """Run the security check of RootURL.md before following a link out of `source`.

        (a) A response received over verified HTTPS is authentic, so its links pass. Without
        certificate verification HTTPS proves nothing and is treated like HTTP. Otherwise the
        target host must be in the sign-in domain, typed by the user or in the trusted list.
        A failure raises before anything, let alone credentials, is sent to the target.
        """
        if target.scheme not in ("http", "https") or not target.host:
            raise UcwaSecurityError(f"Refusing to follow a link to {target.scheme}: URL")
        verified = source.scheme == "https" and self.config.verify_ssl
        if not verified and not self._host_allowed(target.host):
            raise UcwaSecurityError(
                f"{source.host} (not verified HTTPS) sent us to {target.host}, which is outside "
                f"{self.config.domain} and not a trusted host"
            )
        self._trusted_origins.add(_origin(target))

    def _discovery_roots(self) -> list[URL]:
        if self.config.discovery_url:
            return [URL(self.config.discovery_url)]
        domain = self.config.domain
        if not domain:
            raise UcwaAuthenticationError("The sign-in address has no domain")
        return [
            URL(f"https://lyncdiscoverinternal.{domain}/"),
            URL(f"https://lyncdiscover.{domain}/"),
        ]

    async def _discover(self) -> str:
        """Find the applications URL: roots internal then external, then the user resource."""
        last_error: UcwaError | None = None
        security_error: UcwaSecurityError | None = None
        for root in self._discovery_roots():
            self._trusted_origins.add(_origin(root))
            try:
                return await self._follow_discovery(root)
            except UcwaAuthenticationError:
                raise
            except UcwaSecurityError as err:
                security_error = err
                _LOGGER.warning("Autodiscovery at %s failed the security check", root.host)
            except UcwaError as err:
                last_error = err
                _LOGGER.debug("Autodiscovery at %s failed: %s", root.host, err)
        if security_error is not None:
            raise security_error
        assert last_error is not None
        raise last_error

    async def _follow_discovery(self, start: URL) -> str:
        """Follow root, redirect and user links until the user resource names its applications."""
        url = start
        seen: set[str] = set()
        for _hop in range(MAX_DISCOVERY_HOPS + 1):
            if str(url) in seen:
                raise UcwaConnectionError(f"Autodiscovery redirect loop at {url.host}")
            seen.add(str(url))
            response = await self._request("GET", url)
            if 300 <= response.status < 400:
                location = response.headers.get("Location")
                if not location:
                    raise UcwaApiError(response.status, None, None, "Redirect without Location")
                target = URL(urljoin(str(url), location))
                if not self._same_domain(url, target):
                    # RootURL.md step 3: a 302 to another domain is a failed attempt.
                    raise UcwaSecurityError(
                        f"{url.host} redirected discovery to another domain ({target.host})"
                    )
                self._trusted_origins.add(_origin(target))
                url = target
                continue
            resource = response.json()
            base = str(url)
            if redirect := link_href(resource, "redirect", base):
                target = URL(redirect)
                self._check_redirect(url, target)
                url = target
                continue
            if applications := link_href(resource, "applications", base):
                self._check_redirect(url, URL(applications))
                return applications
            if user := link_href(resource, "user", base):
                target = URL(user)
                self._check_redirect(url, target)
                url = target
                continue
            raise UcwaMalformedResponseError(
                f"{url.host} answered discovery without a user or applications link"
            )
        raise UcwaConnectionError(f"Autodiscovery needed more than {MAX_DISCOVERY_HOPS} hops")

    @staticmethod
    def _same_domain(source: URL, target: URL) -> bool:
        """Whether a 3xx stays in the discovery service's domain (lyncdiscover.x.com → *.x.com)."""
        host = (source.host or "").lower()
        other = (target.host or "").lower()
        if other == host:
            return True
        labels = host.split(".")
        if len(labels) < 3 or labels[-1].isdigit():
            return False
        parent = ".".join(labels[1:])
        return other == parent or other.endswith("." + parent)

    async def sign_in(self) -> None:
        """Discover the pool, get a token and read the user resource.

        Raises UcwaAuthenticationError for bad credentials, UcwaSecurityError when a redirect
        fails the security check and UcwaConnectionError when no root answers.
        """
        self._applications_url = await self._discover()
        self._discovery_stale = False

    # ------------------------------------------------------------------ application

    async def start(self) -> None:
        """Create the application, make the user available for phone audio, park the channel."""
        self._closed = False
        async with self._app_lock:
            if self._app is None:
                await self._create_application()
        self._started = True
        if self._event_task is None:
            self._events_ok = True
            self._event_task = asyncio.create_task(
                self._run_event_channel(), name="ucwa event channel"
            )
        if self.config.report_activity and self._activity_task is None:
            self._activity_task = asyncio.create_task(
                self._run_activity_reports(), name="ucwa reportMyActivity"
            )

    async def _create_application(self) -> None:
        """POST applications (same endpointId every time), then makeMeAvailable.

        Called with the application lock held. Re-discovers first when the pool is unknown or a
        403/502 said the cached one may be wrong.
        """
        if self._applications_url is None or self._discovery_stale:
            await self.sign_in()
        assert self._applications_url is not None
        response = await self._request(
            "POST",
            self._applications_url,
            json_body={
                "userAgent": self.config.user_agent,
                "endpointId": self.config.endpoint_id,
                "culture": self.config.culture,
            },
        )
        resource = response.json()
        base = self._applications_url
        href = link_href(resource, "self", base) or response.headers.get("Location")
        events = link_href(resource, "events", base)
        if not href or not events:
            raise UcwaMalformedResponseError("The application resource has no self or events link")
        href = urljoin(base, href)
        application = _Application(
            href=href, events_url=events, links=ApplicationLinks(resource, base, href)
        )
        if make_me_available := application.links.get(ME, "makeMeAvailable"):
            await self._make_me_available(make_me_available, application.links)
        self._app = application
        self._generation += 1
        self._drop_caches(logs=True)

    async def _make_me_available(self, href: str, links: ApplicationLinks) -> None:
        """Leave lurker mode with the modalities phone audio needs (makeMeAvailable_ref.md).

        The phone number given here becomes the server's default for continuePhoneAudio. A 409
        AlreadyExists means an earlier call already did it. Either way me and communication may
        now offer capability links they did not (ReceiveAnIM.md), so they may be re-read once.
        """
        body: dict[str, Any] = {
            "signInAs": "Online",
            "supportedModalities": ["PhoneAudio", "Messaging"],
            "supportedMessageFormats": ["Plain"],
            "audioPreference": "PhoneAudio",
        }
        if self.config.phone_number:
            body["phoneNumber"] = normalize_phone_number(self.config.phone_number)
        try:
            await self._request("POST", href, json_body=body)
        except UcwaApiError as err:
            if (err.status, err.subcode) != (409, "AlreadyExists"):
                raise
        links.changed(ME)
        links.changed(COMMUNICATION)

    async def _read_resource(self, href: str) -> tuple[Mapping[str, Any], str]:
        """GET a resource to learn its current links (the reader the links room is given)."""
        response = await self._request("GET", href)
        return response.json(), str(response.url)

    async def _link(self, app: _Application, owner: str, rel: str) -> str:
        """Return a link of the live application's resources, re-reading its owner once if needed."""
        return await app.links.require(owner, rel, self._read_resource)

    async def _ensure_application(self) -> _Application:
        """Return the live application, creating it (again) first when it is missing.

        After close() nothing creates one: it would outlive the DELETE and never be deleted.
        """
        if self._closed:
            raise UcwaConnectionError("The UCWA client is closed")
        app = self._app
        if app is not None and not self._discovery_stale:
            return app
        await self._recover_application(self._generation)
        assert self._app is not None
        return self._app

    async def _recover_application(self, failed_generation: int) -> None:
        """Replace a lost application, unless another caller already replaced it."""
        async with self._app_lock:
            if (
                self._app is not None
                and self._generation != failed_generation
                and not self._discovery_stale
            ):
                return
            self._app = None
            await self._create_application()

    def _mark_lost(self, generation: int) -> None:
        if generation == self._generation:
            self._app = None
            self._drop_caches(logs=True)

    async def _app_request(
        self, method: str, url_of: Callable[[_Application], Awaitable[str]], **kwargs: Any
    ) -> _Response:
        """Send a request to a link of the application, recreating the application once if lost.

        `url_of` finds the link on the (possibly new) application; it may re-read the link's
        owner. Only requests the server did not act on are repeated: a lost application answers
        404/410 before doing anything.
        """
        for attempt in range(2):
            app = await self._ensure_application()
            generation = self._generation
            try:
                url = await url_of(app)
                return await self._request(method, url, **kwargs)
            except UcwaApiError as err:
                if not _is_lost(err) or attempt:
                    raise
                self._mark_lost(generation)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run_activity_reports(self) -> None:
        """Report activity every 3 minutes so the server keeps the user available."""
        while True:
            await asyncio.sleep(self._activity_interval)
            try:
                await self.report_activity()
            except UcwaError as err:
                _LOGGER.debug("reportMyActivity failed: %s", err)

    async def report_activity(self) -> None:
        """POST reportMyActivity once (MeDashboard.md); its link appears on `me` with presence.

        A 409 MakeMeAvailableRequired means the server put the user back in lurker mode: me is
        re-read and makeMeAvailable sent again if me offers it.
        """
        app = await self._ensure_application()
        try:
            await self._app_request("POST", lambda a: self._link(a, ME, "reportMyActivity"))
        except UcwaApiError as err:
            if (err.status, err.subcode) != (409, "MakeMeAvailableRequired"):
                raise
            app.links.changed(ME)
            if href := await app.links.find(ME, "makeMeAvailable", self._read_resource):
                await self._make_me_available(href, app.links)

    async def close(self) -> None:
        """Stop the event channel, delete the application and close a session we created."""
        self._closed = True
        for task in (self._event_task, self._activity_task):
            if task is not None:
                await _cancel(task)
        self._event_task = self._activity_task = None
        self._started = False
        for waiter in self._invitation_waiters.values():
            waiter.cancel()
        self._invitation_waiters.clear()
        app, self._app = self._app, None
        if app is not None:
            try:
                await self._request(
                    "DELETE", app.href, read_timeout=min(self.request_timeout, 10.0)
                )
            except UcwaError as err:
                _LOGGER.debug("Deleting the application failed: %s", err)
        if self._session is not None and self._close_session:
            await self._session.close()
            self._session = None
            self._close_session = False

    # ------------------------------------------------------------------ events

    def subscribe(self, callback: EventCallback) -> Callable[[], None]:
        """Call `callback(event)` for every event, in order; returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: UcwaEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                _LOGGER.exception("Error in a UCWA event subscriber")

    @property
    def events_flowing(self) -> bool:
        """Whether the event channel is parked and its last answer was good (caches are trusted)."""
        return self._event_task is not None and self._events_ok and self._app is not None

    def _reconnect_delay(self, failures: int) -> float:
        """Exponential backoff with jitter, never above the cap (so never silent for longer)."""
        delay = min(self._reconnect_cap, self._reconnect_base * float(2 ** min(failures, 16)))
        return float(delay) * random.uniform(0.5, 1.0)  # noqa: S311  # jitter, not crypto

    async def _backoff(self, failures: int) -> None:
        """Wait before reconnecting, or less when someone needs the channel back now."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._kick.wait(), self._reconnect_delay(failures))
        self._kick.clear()

    async def _pget(self, url: str) -> _Response:
        """Park one P-GET, asking the server to hold it for `event_timeout` seconds.

        The query is extended with a URL builder, never by editing `ack`.
        """
        seconds = max(1, math.ceil(self.config.event_timeout))
        target = URL(url).update_query(timeout=str(seconds))
        async with self._pget_dispatched:
            self._pget_count += 1
            self._pget_dispatched.notify_all()
        return await self._request("GET", target, read_timeout=seconds + PGET_MARGIN)

    async def _wait_for_pget(self, after: int, within: float) -> bool:
        """Wait until the channel has sent a P-GET newer than `after`."""
        async with self._pget_dispatched:
            try:
                await asyncio.wait_for(
                    self._pget_dispatched.wait_for(lambda: self._pget_count > after), within
                )
            except TimeoutError:
                return False
        await asyncio.sleep(self._parked_grace)
        return True

    async def _await_pget(self, pending: asyncio.Task[_Response]) -> _Response | None:
        """Wait for the parked P-GET; None when someone kicked the channel to re-park it."""
        kick = asyncio.create_task(self._kick.wait())
        try:
            await asyncio.wait({pending, kick}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancel(kick)
        if pending.done():
            return pending.result()
        self._kick.clear()
        await _cancel(pending)
        return None

    async def _run_event_channel(self) -> None:
        """Run the event channel: one P-GET parked at a time, batches handled strictly in order.

        The next P-GET is sent before the batch is processed (EventChannelDetails.md). `resync`
        wins over `next`; `resync` and `resume` mean the server reset state, so caches go.
        A lost application is recreated; ApplicationLost/ApplicationRestored are only emitted
        when that takes more than one attempt.
        """
        failures = 0
        lost_reported = False
        generation = self._generation
        # Events queue on the server from the application's creation, so caches are trusted
        # until a P-GET fails (and again once one succeeds).
        self._events_ok = True
        url: str | None = None
        channel_app: _Application | None = None
        pending: asyncio.Task[_Response] | None = None
        try:
            while True:
                if self._app is None or self._discovery_stale:
                    try:
                        await self._recover_application(generation)
                    except UcwaAuthenticationError as err:
                        self._emit(AuthenticationFailed(error=str(err)))
                        return
                    except UcwaError as err:
                        self._events_ok = False
                        if not lost_reported:
                            lost_reported = True
                            self._emit(ApplicationLost(error=str(err), cause=err))
                        await self._backoff(failures)
                        failures += 1
                        continue
                    self._events_ok = True
                    if lost_reported:
                        lost_reported = False
                        self._emit(ApplicationRestored())
                app = self._app
                assert app is not None
                replaced = url is not None and generation != self._generation
                if url is None or replaced:
                    generation, url, failures = self._generation, app.events_url, 0
                    channel_app = app
                    if pending is not None:
                        await _cancel(pending)
                        pending = None
                if pending is None:
                    pending = asyncio.create_task(self._pget(url))
                if replaced:
                    # Events of the old application are gone with it: re-read what they would
                    # have reported, once the new channel is parked.
                    await self._catch_up()
                try:
                    response = await self._await_pget(pending)
                except UcwaAuthenticationError as err:
                    # A retry would be one more failed sign-in towards the account's lockout.
                    pending = None
                    self._emit(AuthenticationFailed(error=str(err)))
                    return
                except UcwaError as err:
                    pending = None
                    self._events_ok = False
                    failures += 1
                    if _is_lost(err):
                        self._mark_lost(generation)
                        failures = 0
                    elif isinstance(err, UcwaApiError) and err.status == 409:
                        _LOGGER.warning(
                            "Event channel replaced (%s); is another client running?", err
                        )
                        await self._backoff(failures)
                    elif isinstance(err, UcwaApiError) and self._discovery_stale:
                        self._mark_lost(generation)
                    else:
                        if (
                            isinstance(err, UcwaConnectionError)
                            and failures >= REDISCOVER_AFTER_FAILURES
                        ):
                            self._discovery_stale = True
                        _LOGGER.debug("Event channel error (%s), reconnecting", err)
                        await self._backoff(failures)
                    continue
                pending = None
                if response is None:
                    continue
                failures = 0
                try:
                    batch = response.json()
                except UcwaError as err:
                    _LOGGER.debug("Unreadable event batch: %s", err)
                    await self._backoff(1)
                    continue
                self._events_ok = True
                base = str(response.url)
                if resync := link_href(batch, "resync", base):
                    self._drop_caches()
                    url = resync
                    continue
                if resume := link_href(batch, "resume", base):
                    self._drop_caches()
                    url = resume
                elif next_url := link_href(batch, "next", base):
                    url = next_url
                pending = asyncio.create_task(self._pget(url))
                try:
                    assert channel_app is not None
                    await self._process_batch(batch, base, channel_app.links)
                except Exception:
                    # One malformed batch must not end push updates for good.
                    _LOGGER.exception("Error while handling a UCWA event batch")
        finally:
            self._events_ok = False
            if pending is not None:
                await _cancel(pending)

    async def _process_batch(
        self, batch: Mapping[str, Any], base: str, links: ApplicationLinks
    ) -> None:
        """Turn one event batch into typed events, in the order the server listed them.

        Events about me and communication update the links those resources offer (`links`, of
        the application whose channel this is) before anything else reads them.
        """
        missed_items_changed = False
        missed_items: Mapping[str, Any] | None = None
        for sender in _as_list(batch.get("sender")):
            if not isinstance(sender, Mapping):
                continue
            for event in _as_list(sender.get("events")):
                if not isinstance(event, Mapping) or not isinstance(event.get("link"), Mapping):
                    continue
                links.apply_event(sender.get("rel"), event, base)
                rel = event["link"].get("rel")
                if rel == "phoneAudioInvitation":
                    self._on_invitation_event(event, base)
                elif rel == "missedItems":
                    missed_items_changed = True
                    missed_items = embedded(event, "missedItems")
        if missed_items_changed:
            await self._catch_up(missed_items)

    def _on_invitation_event(self, event: Mapping[str, Any], base: str) -> None:
        parsed = PhoneAudioInvitationEvent.from_json(event, base)
        if parsed is None:
            return
        if parsed.operation_id:
            self._remember_operation(parsed.href, parsed.operation_id)
        elif operation_id := self._invitation_ops.get(parsed.href):
            parsed = replace(parsed, operation_id=operation_id)
        self._emit(parsed)
        if parsed.type != "completed" or not parsed.operation_id:
            return
        self._invitation_results[parsed.operation_id] = parsed
        while len(self._invitation_results) > _KEPT_OPERATIONS:
            self._invitation_results.pop(next(iter(self._invitation_results)))
        waiter = self._invitation_waiters.pop(parsed.operation_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(parsed)

    async def _catch_up(self, missed_items: Mapping[str, Any] | None = None) -> None:
        """Re-read missed items and the log list, reporting what changed; never raises.

        Runs on a `missedItems updated` event, and after the application was replaced, since the
        old application's events were lost with it. `missed_items` is the resource when the event
        embedded it (EventsInUCWA.md allows that), which saves reading it.
        """
        try:
            await self._on_missed_items_updated(missed_items)
        except UcwaLinkNotOfferedError as err:
            # A policy, not a failure: it would say the same on every missed call.
            _LOGGER.debug("Not re-reading: %s", err)
        except UcwaError as err:
            _LOGGER.warning("Could not re-read missed items and logs: %s", err)
        except Exception:
            _LOGGER.exception("Unexpected error while re-reading missed items and logs")

    def _remember_operation(self, href: str, operation_id: str) -> None:
        """Map an invitation to its operation id, keeping only the latest hundred."""
        self._invitation_ops[href] = operation_id
        while len(self._invitation_ops) > _KEPT_OPERATIONS:
            self._invitation_ops.pop(next(iter(self._invitation_ops)))

    async def _on_missed_items_updated(self, resource: Mapping[str, Any] | None) -> None:
        """Handle `missedItems updated`: take or re-read the counters, then re-read the logs."""
        if resource is not None:
            missed = self._missed_items = MissedItems.from_json(resource)
        else:
            self._missed_items = None
            missed = await self.get_missed_items()
        self._emit(MissedItemsUpdated(missed_items=missed))
        await self._refresh_logs()

    def _drop_caches(self, *, logs: bool = False) -> None:
        """Forget what events would have told us; with `logs`, also hrefs of a dead application."""
        self._log_list = None
        self._missed_items = None
        if logs:
            self._logs.clear()

    # ------------------------------------------------------------------ missed items and logs

    async def get_missed_items(self, *, force: bool = False) -> MissedItems:
        """Return the missed-items counters; served from cache while events flow, unless `force`.

        `force` (a safety poll) also allows one re-read of communication if missedItems was
        missing, as refresh_conversation_logs does for conversationLogs.
        """
        if self._missed_items is not None and self.events_flowing and not force:
            return self._missed_items
        if force and (app := self._app) is not None:
            app.links.changed(COMMUNICATION)
        response = await self._app_request(
            "GET", lambda app: self._link(app, COMMUNICATION, "missedItems")
        )
        self._missed_items = MissedItems.from_json(response.json())
        return self._missed_items

    async def get_conversation_logs(self, limit: int = DEFAULT_LOG_LIMIT) -> list[ConversationLog]:
        """Return at most `limit` conversation logs, newest first.

        The list (hrefs only) is one request; details of logs not yet cached come in batches of up
        to 100. While the event channel flows and no missedItems event arrived, the answer comes
        from the cache at no cost.
        """
        if limit < 1:
            return []
        async with self._refresh_lock:
            if not self._list_covers(limit):
                await self._read_log_list(limit)
            assert self._log_list is not None
            ids = self._log_list[:limit]
            self._baseline = True
            self._seen_log_ids.update(ids)
            return [self._logs[log_id] for log_id in ids if log_id in self._logs]

    def _list_covers(self, limit: int) -> bool:
        return (
            self._log_list is not None
            and self.events_flowing
            and (self._list_limit >= limit or self._list_complete)
        )

    async def _read_log_list(self, limit: int) -> list[str]:
        """GET the list with `?limit=`, fetch unknown details, and remember the order."""

        async def list_url(app: _Application) -> str:
            url = await self._link(app, COMMUNICATION, "conversationLogs")
            return str(URL(url).update_query(limit=str(limit)))

        for attempt in range(2):
            generation = self._generation
            response = await self._app_request("GET", list_url)
            hrefs = link_hrefs(response.json(), "conversationLog", str(response.url))
            by_id = {log_id_from_href(href): href for href in hrefs}
            unknown = [href for log_id, href in by_id.items() if log_id not in self._logs]
            try:
                fetched = await self._fetch_logs(unknown)
            except UcwaApiError as err:
                if not _is_lost(err) or attempt:
                    raise
                self._mark_lost(generation)
                continue
            for log in fetched:
                self._logs[log.log_id] = log
            break
        known = [self._logs[log_id] for log_id in by_id if log_id in self._logs]
        known.sort(
            key=lambda log: log.creation_time.timestamp() if log.creation_time else 0.0,
            reverse=True,
        )
        self._log_list = [log.log_id for log in known][:limit]
        self._list_limit = limit
        self._list_complete = len(hrefs) < limit
        return self._log_list

    async def _fetch_logs(self, hrefs: Sequence[str]) -> list[ConversationLog]:
        """Fetch log details with the batch resource, at most 100 parts per POST."""
        logs: list[ConversationLog] = []
        for start in range(0, len(hrefs), MAX_BATCH_PARTS):
            chunk = hrefs[start : start + MAX_BATCH_PARTS]
            for href, part in zip(chunk, await self._batch(chunk), strict=True):
                if part.status == 404 and not _is_lost(self._part_error(part)):
                    continue  # deleted between the list and the batch
                if part.status >= 400:
                    raise self._part_error(part)
                try:
                    data = part.json()
                except ValueError as err:
                    raise UcwaMalformedResponseError(
                        f"Unreadable conversation log ({part.status})"
                    ) from err
                if not isinstance(data, dict):
                    raise UcwaMalformedResponseError("A conversation log that is not a JSON object")
                logs.append(ConversationLog.from_json(data, href, href=href))
        return logs

    @staticmethod
    def _part_error(part: BatchPart) -> UcwaApiError:
        return error_from_response(part.status, part.content_type, part.body, f"HTTP {part.status}")

    async def _batch(self, hrefs: Sequence[str]) -> list[BatchPart]:
        """POST one batch of GETs; on 429 (none of it ran) split it and try again later."""
        app = self._app
        batch_url = app.links.get(APPLICATION, "batch") if app is not None else None
        if batch_url is None:
            # Batching only saves requests: without the link, one GET per log does the same.
            return [await self._single_get(href) for href in hrefs]
        content_type, body = build_batch_request([URL(href) for href in hrefs])
        try:
            response = await self._request(
                "POST",
                batch_url,
                data=body,
                content_type=content_type,
                accept="multipart/batching",
            )
        except UcwaApiError as err:
            if err.status != 429 or len(hrefs) == 1:
                raise
            await asyncio.sleep(self._batch_retry_delay)
            middle = len(hrefs) // 2
            return [*await self._batch(hrefs[:middle]), *await self._batch(hrefs[middle:])]
        try:
            parts = parse_batch_response(response.headers.get("Content-Type", ""), response.body)
        except ValueError as err:
            raise UcwaMalformedResponseError(f"Unreadable batch response: {err}") from err
        if len(parts) != len(hrefs):
            raise UcwaMalformedResponseError(
                f"Batch answered {len(parts)} parts for {len(hrefs)} requests"
            )
        return parts

    async def _single_get(self, href: str) -> BatchPart:
        """Fallback when the server offers no batch link: one GET, shaped like a batch part."""
        try:
            response = await self._request("GET", href)
        except UcwaApiError as err:
            if err.status != 404 or _is_lost(err):
                raise
            return BatchPart(status=404, headers=CIMultiDict(), body=b"")
        return BatchPart(
            status=response.status, headers=CIMultiDict(response.headers), body=response.body
        )

    async def refresh_conversation_logs(self) -> list[ConversationLog]:
        """Re-read the log list now; report (and return) logs not seen before, newest first.

        The reference has no conversationLog event: the client calls this on missedItems
        changes, and callers may call it to pick up answered calls, which change no counter.
        A caller asking for the server's current state (a safety poll) also lets the client
        re-read communication once if it offered no conversationLogs link: a policy may have
        changed without an event saying so.
        """
        if (app := self._app) is not None:
            app.links.changed(COMMUNICATION)
        return await self._refresh_logs()

    async def _refresh_logs(self) -> list[ConversationLog]:
        """Re-read the list and report new logs (the event-driven path: no extra re-read)."""
        async with self._refresh_lock:
            limit = max(self._list_limit, DEFAULT_LOG_LIMIT)
            ids = await self._read_log_list(limit)
            new = [self._logs[log_id] for log_id in ids if log_id not in self._seen_log_ids]
            self._seen_log_ids.update(ids)
            if not self._baseline:
                self._baseline = True  # the first read only sets what "new" means
                return []
            if new:
                self._emit(ConversationLogsAdded(logs=tuple(new)))
            return new

    async def _current_log(self, log: ConversationLog) -> ConversationLog:
        """Return the log as the live application knows it (hrefs embed the application id)."""
        cached = self._logs.get(log.log_id)
        if cached is not None:
            return cached
        await self._ensure_application()
        async with self._refresh_lock:
            await self._read_log_list(max(self._list_limit, DEFAULT_LOG_LIMIT))
        cached = self._logs.get(log.log_id)
        if cached is None:
            raise UcwaConversationLogNotFoundError(log.log_id)
        return cached

    async def _log_link(
        self, log: ConversationLog, rel: str, pick: Callable[[ConversationLog], str | None]
    ) -> str:
        """Return a link of the log, re-reading the log once when its representation lacks it."""
        if (url := pick(log)) is not None:
            return url
        response = await self._request("GET", log.href)
        fresh = ConversationLog.from_json(response.json(), str(response.url), href=log.href)
        self._logs[fresh.log_id] = fresh
        if (url := pick(fresh)) is None:
            raise UcwaLinkNotOfferedError(rel, "conversationLog")
        return url

    async def _log_request(
        self,
        method: str,
        log: ConversationLog,
        rel: str,
        pick: Callable[[ConversationLog], str | None],
    ) -> ConversationLog:
        """Send a request to one of the log's links, re-finding the log once if the app was lost."""
        for attempt in range(2):
            await self._ensure_application()
            generation = self._generation
            current = await self._current_log(log)
            try:
                url = await self._log_link(current, rel, pick)
                await self._request(method, url)
            except UcwaApiError as err:
                if not _is_lost(err) or attempt:
                    raise
                self._mark_lost(generation)
                continue
            return current
        raise AssertionError("unreachable")  # pragma: no cover

    async def mark_as_read(self, log: ConversationLog) -> None:
        """POST the log's markAsRead link (the server then updates missedItems)."""
        await self._log_request(
            "POST", log, "markAsRead", lambda current: current.mark_as_read_href
        )

    async def delete_conversation_log(self, log: ConversationLog) -> None:
        """DELETE the log from the user's mailbox."""
        current = await self._log_request("DELETE", log, "self", lambda current: current.href)
        self._logs.pop(current.log_id, None)
        if self._log_list is not None and current.log_id in self._log_list:
            self._log_list.remove(current.log_id)

    # ------------------------------------------------------------------ phone audio

    async def continue_phone_audio(
        self,
        log: ConversationLog,
        phone_number: str | None = None,
        operation_id: str | None = None,
    ) -> PhoneAudioCall:
        """Call the log's counterpart back: the server first rings `phone_number` (the user's).

        One POST while the application is alive. It is repeated only when the server certainly
        did not act: once after a 401 (new token), once after 500 CallbackChannelError when the
        event channel is parked again, once after the application was found lost. A timeout or a
        dropped connection after sending raises: a phone must never ring twice.
        """
        number = phone_number or self.config.phone_number
        tel = normalize_phone_number(number) if number else None
        op_id = validate_operation_id(operation_id) if operation_id else uuid.uuid4().hex
        body: dict[str, Any] = {"operationId": op_id}
        if tel:
            body["phoneNumber"] = tel
        retried_channel = retried_lost = False
        while True:
            before, pget_before = self._generation, self._pget_count
            await self._ensure_application()
            generation = self._generation
            if generation != before and self._event_task is not None:
                # A new application: let the event channel park first, or the server answers
                # 500 CallbackChannelError (it needs somewhere to send the invitation's events).
                self._kick.set()
                await self._wait_for_pget(pget_before, self.request_timeout)
            current = await self._current_log(log)
            pget_count = self._pget_count
            try:
                url = await self._log_link(
                    current, "continuePhoneAudio", lambda log: log.continue_phone_audio_href
                )
                response = await self._request("POST", url, json_body=body)
                break
            except UcwaApiError as err:
                if _is_lost(err) and not retried_lost:
                    retried_lost = True
                    self._mark_lost(generation)
                    continue
                if (
                    (err.status, err.subcode) == (500, "CallbackChannelError")
                    and not retried_channel
                    and self._event_task is not None
                ):
                    retried_channel = True
                    self._kick.set()
                    if await self._wait_for_pget(pget_count, self.request_timeout):
                        continue
                raise
        location = response.headers.get("Location")
        if not location:
            raise UcwaMalformedResponseError("continuePhoneAudio answered without a Location")
        app = self._app
        pool = str(URL(app.href).origin()) if app else str(response.url.origin())
        href = urljoin(pool + "/", location)
        self._remember_operation(href, op_id)
        return PhoneAudioCall(
            invitation_href=href,
            operation_id=op_id,
            phone_number=tel,
            conversation_log_id=current.log_id,
        )

    async def wait_for_invitation(
        self,
        operation_id: str,
        timeout: float = 120.0,  # noqa: ASYNC109  # the contract's name; applied with wait_for
    ) -> PhoneAudioInvitationEvent:
        """Wait for the `completed` event of the invitation started with `operation_id`.

        The event may already have arrived (even before continue_phone_audio returned): it is
        kept by operation id. Raises UcwaTimeoutError when it does not come in time.
        """
        if (result := self._invitation_results.get(operation_id)) is not None:
            return result
        waiter = self._invitation_waiters.get(operation_id)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._invitation_waiters[operation_id] = waiter
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError as err:
            if self._invitation_waiters.get(operation_id) is waiter:
                del self._invitation_waiters[operation_id]
            raise UcwaTimeoutError(
                f"No result for phone audio operation {operation_id} within {timeout} s"
            ) from err
