"""OAuth tokens per host: the password grant that answers a 401 challenge, renewal before expiry."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
import math
from typing import Any

from yarl import URL

from .auth import Token, find_ms_rtc_oauth, grant_types, parse_www_authenticate
from .config import UcwaConfig, UcwaTimings
from .exceptions import UcwaApiError, UcwaAuthenticationError, UcwaSecurityError
from .hosts import HostPolicy, origin, parse_target
from .models import join_href

TOKEN_MARGIN_MAX = 300.0
"""A token is renewed up to this long (or a tenth of its lifetime) before it expires."""
DEFAULT_LIFETIME = 3600.0
"""The lifetime of a token whose answer says nothing about it."""
GRANT_BURST = 3
"""Password grants that may go out back to back (a sign-in, then refusals that stop the channel
with AuthenticationFailed); more within `UcwaTimings.token_grant_window` wait, since each one
may count towards a lockout. 403s and `expires_in` have their own, stricter rules."""

type FormPoster = Callable[[str, Mapping[str, str]], Awaitable[Mapping[str, Any]]]
"""POST a form without Authorization and return the JSON answer (the chokepoint's job)."""


class TokenStore:
    """The tokens the client holds, one per host (a user may be homed on another pool).

    Tokens are only fetched for hosts that passed the discovery security check. The store does no
    HTTP itself: the chokepoint hands it the function that posts the grant. No server answer
    makes it send the password more than `GRANT_BURST` times per `token_grant_window`: the
    account's lockout counts failed sign-ins, and a directory sees every grant.
    """

    def __init__(self, config: UcwaConfig, hosts: HostPolicy, post_form: FormPoster) -> None:
        """Start with no token; `post_form` sends the grant through the chokepoint.

        `timings` is public so that the client that owns the chokepoint can hand its own.
        """
        self._config = config
        self._hosts = hosts
        self._post_form = post_form
        self.timings = UcwaTimings()
        self._tokens: dict[str, Token] = {}
        self._token_urls: dict[str, str] = {}
        self._granted_at: dict[str, float] = {}
        self._grants: deque[float] = deque(maxlen=GRANT_BURST)
        self._lock = asyncio.Lock()
        self.grants_sent = 0

    def knows(self, host_origin: str) -> bool:
        """Whether the host's token endpoint is known, so a token can be renewed there."""
        return host_origin in self._token_urls

    async def token_for(self, host_origin: str) -> Token | None:
        """Return a valid token for the host, renewing an expired one before sending."""
        token = self._tokens.get(host_origin)
        if token is None:
            return None
        if asyncio.get_running_loop().time() < token.expires_at:
            return token
        return await self.renew(host_origin, stale=token)

    async def answer_challenge(
        self, url: URL, www_authenticate: Iterable[str], stale: Token | None
    ) -> None:
        """Answer a 401: read the MsRtcOAuth challenge and get a token for that host."""
        host_origin = origin(url)
        if not self._hosts.is_trusted(url):
            raise UcwaSecurityError(
                f"{url.host} asked for credentials but did not pass the security check"
            )
        challenge = find_ms_rtc_oauth(parse_www_authenticate(www_authenticate))
        if challenge is not None:
            types = grant_types(challenge)
            if "password" not in types:
                raise UcwaAuthenticationError(
                    "The server does not offer the password grant (only "
                    f"{', '.join(types) or 'nothing'}); this client needs it"
                )
            href = challenge.params.get("href")
            if not href:
                raise UcwaAuthenticationError("The MsRtcOAuth challenge has no token endpoint")
            token_url = join_href(str(url), href)
            self._hosts.check_redirect(url, parse_target(token_url))
            self._token_urls[host_origin] = token_url
        elif host_origin not in self._token_urls:
            raise UcwaAuthenticationError(
                f"{url.host} does not offer MsRtcOAuth, the only sign-in this client supports"
            )
        await self._renew(host_origin, stale, refused=True)

    async def renew(self, host_origin: str, stale: Token | None) -> Token:
        """Run the password grant against the host's token endpoint and cache the token.

        Concurrent callers share one grant: whoever waited on the lock finds the new token. The
        stale token stays cached while the grant runs, so that concurrent requests wait here for
        the new one instead of going out without Authorization; it is dropped if the grant fails.
        A token that has not expired and was granted less than `token_grant_window` ago is kept:
        a 403 so soon after a grant is about the pool, not the token, and a server answering 403
        to everything must not make the client send the password on every request.
        """
        return await self._renew(host_origin, stale, refused=False)

    async def _renew(self, host_origin: str, stale: Token | None, *, refused: bool) -> Token:
        """Renew unless someone already did (or, not `refused`, the token is young and valid)."""
        async with self._lock:
            current = self._tokens.get(host_origin)
            if current is not None and current is not stale:
                return current
            now = asyncio.get_running_loop().time()
            if (
                current is not None
                and not refused
                and now < current.expires_at
                and now - self._granted_at.get(host_origin, -math.inf)
                < self.timings.token_grant_window
            ):
                return current
            await self._pace()
            self.grants_sent += 1
            try:
                token = await self._password_grant(self._token_urls[host_origin])
            except BaseException:
                self._tokens.pop(host_origin, None)
                raise
            self._tokens[host_origin] = token
            self._granted_at[host_origin] = asyncio.get_running_loop().time()
            return token

    async def _pace(self) -> None:
        """Wait (with the lock held) until one more grant keeps within the burst per window."""
        loop = asyncio.get_running_loop()
        if len(self._grants) == GRANT_BURST:
            await asyncio.sleep(
                max(0.0, self._grants[0] + self.timings.token_grant_window - loop.time())
            )
        self._grants.append(loop.time())

    async def _password_grant(self, token_url: str) -> Token:
        """POST the user's credentials to the token endpoint and return the token it issues."""
        form = {
            "grant_type": "password",
            "username": self._config.username or self._config.sign_in_address,
            "password": self._config.password,
        }
        try:
            data = await self._post_form(token_url, form)
        except UcwaApiError as err:
            if err.status in (400, 401, 403):
                raise UcwaAuthenticationError(
                    f"The server refused the credentials ({err.code or err.status})"
                ) from err
            raise
        value = data.get("access_token")
        if not isinstance(value, str) or not value:
            raise UcwaAuthenticationError("The token endpoint answered without a token")
        lifetime = self._lifetime(data.get("expires_in"))
        margin = min(TOKEN_MARGIN_MAX, lifetime / 10)
        return Token(
            value=value,
            token_type=str(data.get("token_type") or "Bearer"),
            expires_at=asyncio.get_running_loop().time() + lifetime - margin,
        )

    def _lifetime(self, expires_in: object) -> float:
        """Seconds the token may be used: `expires_in`, never below `token_min_lifetime`.

        A missing lifetime is the usual hour. One that is not a positive finite number (0, -5,
        NaN, "abc", true) or is very short gets the minimum instead: the server's clock or its
        answer is wrong, and renewing before every request would send the password each time.
        """
        if expires_in is None:
            return DEFAULT_LIFETIME
        try:
            lifetime = float(str(expires_in))  # "True" and "{...}" are not numbers
        except ValueError:
            lifetime = 0.0
        if not math.isfinite(lifetime):
            lifetime = 0.0
        return max(lifetime, self.timings.token_min_lifetime)
