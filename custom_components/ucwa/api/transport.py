"""The request chokepoint: every HTTP request, its Authorization, timeout and error mapping pass here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import json
import logging
import re
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from .bounds import MAX_BODY_BYTES, Scrubber, loads_json
from .config import UcwaConfig
from .exceptions import (
    UcwaApiError,
    UcwaApplicationError,
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaError,
    UcwaMalformedResponseError,
    UcwaSecurityError,
    UcwaTimeoutError,
)
from .hosts import HostPolicy, origin
from .session import SessionState
from .tokens import TokenStore

_LOGGER = logging.getLogger(__package__)

_APPLICATION_ERROR_STATUS = 410
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
_LOST_APPLICATION = {(404, "ApplicationNotFound"), (410, "InactiveApplicationExpired")}
_NOT_APPLICATION_ERRORS = {None, "None", "InactiveApplicationExpired", "CannotRedirect"}
_READ_CHUNK = 64 * 1024
_MAX_ERROR_BODY = 64 * 1024
"""Error bodies are a few hundred bytes; a larger one is not searched (its text is not needed)."""
_XML_TAG_RE = {
    tag: re.compile(rf"<{tag}>(.*?)</{tag}>", re.DOTALL) for tag in ("code", "subcode", "message")
}


@dataclass(frozen=True, slots=True)
class Response:
    """A response read in full by the chokepoint."""

    url: URL
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes = field(repr=False)  # a token endpoint's body holds the access token

    def json(self) -> dict[str, Any]:
        """Decode a JSON object body; anything else is an answer the client cannot read."""
        content_type = self.headers.get("Content-Type", "")
        if "json" not in content_type.lower():
            raise UcwaMalformedResponseError(
                f"Expected JSON from {self.url.host}, got {content_type or 'nothing'}"
            )
        data = loads_json(self.body, str(self.url.host))
        if not isinstance(data, dict):
            raise UcwaMalformedResponseError(f"Unexpected JSON from {self.url.host}")
        return data


def error_from_response(
    status: int,
    content_type: str,
    body: bytes,
    reason: str | None = None,
    scrub: Scrubber | None = None,
) -> UcwaApiError:
    """Map an HTTP error answer to the library's error (the one place it is done).

    UCWA error bodies (JSON, or XML) carry `code`, `subcode` and `message`; the token endpoint's
    OAuth errors carry `error` and `error_description`. Anything else (an IIS or proxy HTML page),
    or a body too large or too deep to be an error body, gives code None. Subcodes are open
    strings and are kept as sent. Server text may echo the request, so it passes `scrub` (the
    chokepoint's, which knows the password and tokens) before it reaches the error.
    """
    code = subcode = message = None
    lowered = content_type.lower()
    if len(body) <= _MAX_ERROR_BODY and "json" in lowered:
        try:
            data = loads_json(body, "the server")
        except UcwaMalformedResponseError:
            data = None
        if isinstance(data, dict):
            code = _opt_str(data.get("code")) or _opt_str(data.get("error"))
            subcode = _opt_str(data.get("subcode"))
            message = _opt_str(data.get("message")) or _opt_str(data.get("error_description"))
    elif len(body) <= _MAX_ERROR_BODY and "xml" in lowered:
        text = body.decode("utf-8-sig", errors="replace").lstrip("\ufeff")
        found = {tag: regex.search(text) for tag, regex in _XML_TAG_RE.items()}
        code, subcode, message = (m.group(1).strip() if m else None for m in found.values())
    if code is None and message is None:
        message = reason
    clean = scrub or Scrubber("")
    error_type = (
        UcwaApplicationError
        if status == _APPLICATION_ERROR_STATUS and subcode not in _NOT_APPLICATION_ERRORS
        else UcwaApiError
    )
    return error_type(status, clean(code), clean(subcode), clean(message))


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def is_lost(err: UcwaError) -> bool:
    """Whether the error says the application is gone and a new one will do (ApplicationDashboard.md)."""
    return isinstance(err, UcwaApiError) and (err.status, err.subcode) in _LOST_APPLICATION


class Transport:
    """Sends requests: Authorization, timeouts, error bodies and transport failures, in one place.

    A session handed in is used and never closed; one the transport had to create is closed by
    `close()`. Redirects are never followed here: callers decide, after the security check.
    """

    def __init__(
        self,
        config: UcwaConfig,
        hosts: HostPolicy,
        state: SessionState,
        session: aiohttp.ClientSession | None,
        request_timeout: float,
    ) -> None:
        """Keep the session (if any) and make the token store that answers 401s."""
        self.config = config
        self.hosts = hosts
        self.state = state
        self.request_timeout = request_timeout
        self.scrub = Scrubber(config.password)
        self.tokens = TokenStore(config, hosts, self._post_form)
        self._session = session
        self._close_session = False
        self.requests_sent = 0
        """Every request that went out (or was attempted), for the session's diagnostics."""

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session: the one given, or one the transport created and will close."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._close_session = True
        return self._session

    async def close(self) -> None:
        """Close the session if the transport created it."""
        if self._session is not None and self._close_session:
            await self._session.close()
            self._session = None
            self._close_session = False

    async def _post_form(self, url: str, form: Mapping[str, str]) -> Mapping[str, Any]:
        """POST the password grant (never with a token) and return its JSON answer."""
        response = await self.request(
            "POST",
            url,
            data=form,
            content_type="application/x-www-form-urlencoded;charset=UTF-8",
            authorize=False,
        )
        answer = response.json()
        if isinstance(token := answer.get("access_token"), str):
            self.scrub.add_tokens([token])  # an echo of it in a later error text is scrubbed
        return answer

    async def request(
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
    ) -> Response:
        """Send one HTTP request: every request of the client passes here.

        Authorization is added only for a host the client holds a token for. A 401 fetches a new
        token and repeats the request once; a 403 with a token does the same (ucwa-flow.md §1.1:
        a 403 may be a bad token), but only for a request that is safe to repeat. Transport
        failures never repeat a request, so a POST is sent at most once per answer received.
        """
        target = self.allowed(method, url)
        host_origin = origin(target)
        retried_auth = False
        while True:
            headers = {"Accept": accept, "User-Agent": self.config.user_agent}
            if content_type:
                headers["Content-Type"] = content_type
            token = await self.tokens.token_for(host_origin) if authorize else None
            if token is not None:
                headers["Authorization"] = token.header
                self.scrub.add_tokens([token.value])
            body: Any = data
            if json_body is not None:
                body = json.dumps(json_body).encode()
                headers["Content-Type"] = "application/json"
            response = await self._send(method, target, headers, body, read_timeout)
            if response.status in (401, 403) and authorize and not retried_auth:
                retried_auth = True
                if response.status == 401:
                    www_authenticate = response.headers.getall("WWW-Authenticate", [])
                    await self.tokens.answer_challenge(response.url, www_authenticate, token)
                    continue
                if token is not None and self.tokens.knows(host_origin):
                    await self.tokens.renew(host_origin, stale=token)
                    if method in _IDEMPOTENT:
                        continue
            return self._check(response, target, authorize)

    def allowed(self, method: str, url: URL | str) -> URL:
        """Refuse, before a byte is sent, a URL off the origins discovery established.

        Links come from the server; a malformed one (`javascript:x`, `http://[::1`, a port of
        99999) or one to a host discovery never reached (the metadata address, another pool) is
        a UcwaSecurityError, logged, never a ValueError out of the URL parser. Callers that
        add a query to a server's link check it here first.
        """
        try:
            return self.hosts.require(url)
        except UcwaSecurityError as err:
            _LOGGER.warning("Refused %s: %s", method, err)
            raise

    def error_from(self, status: int, content_type: str, body: bytes) -> UcwaApiError:
        """Map an error answer (a response or a batch part) with this session's secrets scrubbed."""
        return error_from_response(status, content_type, body, f"HTTP {status}", self.scrub)

    def _check(self, response: Response, target: URL, authorize: bool) -> Response:
        """Turn an error status into the library's error; note when the pool may be wrong."""
        if response.status == 401 and authorize:
            raise UcwaAuthenticationError(f"{target.host} refused the new token")
        if response.status in (403, 502) and authorize:
            # RootURL.md: these (and no other status) mean the cached pool may be wrong.
            self.state.discovery_stale = True
        if response.status >= 400:
            raise self.error_from(
                response.status, response.headers.get("Content-Type", ""), response.body
            )
        return response

    async def _send(
        self,
        method: str,
        url: URL,
        headers: dict[str, str],
        body: Any,
        read_timeout: float | None,
    ) -> Response:
        """Do the I/O of one request and map transport failures to the library's errors."""
        total = read_timeout if read_timeout is not None else self.request_timeout
        if self.session.closed:
            # aiohttp raises RuntimeError here; to callers it is a connection that is gone.
            raise UcwaConnectionError(f"The HTTP session is closed ({method} {url.host})")
        self.requests_sent += 1
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
                content = await _read_bounded(response, url)
        except TimeoutError as err:
            _LOGGER.debug("%s %s -> timeout", method, self.scrub(str(url)))
            raise UcwaTimeoutError(f"Timeout talking to {url.host} ({method})") from err
        except (aiohttp.ClientError, OSError) as err:
            _LOGGER.debug("%s %s -> %s", method, self.scrub(str(url)), type(err).__name__)
            raise UcwaConnectionError(
                f"Error talking to {url.host} ({method}): {type(err).__name__}"
            ) from err
        _LOGGER.debug("%s %s -> %s", method, self.scrub(str(url)), response.status)
        return Response(url=url, status=response.status, headers=response.headers, body=content)


async def _read_bounded(response: aiohttp.ClientResponse, url: URL) -> bytes:
    """Read a body of at most MAX_BODY_BYTES, decompressed, whatever the server declares.

    aiohttp decompresses gzip/deflate transparently, so the chunks counted here are the
    decompressed bytes: a 1 MB gzip body that expands to 1 GiB stops after MAX_BODY_BYTES, and
    the connection is closed rather than drained. A declared Content-Length (the compressed
    size) over the cap is refused before any of the body is read; without one, compressed bytes
    never outnumber the decompressed ones by more than deflate's few bytes, so the count bounds
    both.
    """
    declared = response.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        response.close()
        raise UcwaMalformedResponseError(
            f"{url.host} announced a body of {declared} bytes (at most {MAX_BODY_BYTES})"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            response.close()
            raise UcwaMalformedResponseError(
                f"{url.host} sent a body over {MAX_BODY_BYTES} bytes (decompressed)"
            )
        chunks.append(chunk)
    return b"".join(chunks)
