"""Discovery and OAuth: the anonymous root, the protected user resource, WebTicket tokens and the 401 challenge."""

from __future__ import annotations

import math
import secrets
import time
from urllib.parse import parse_qsl

from simulator.config import SimulatorConfig
import simulator.representations as rep
from simulator.state import Application, User
from simulator.wire import Call, Reply, json_reply

UNAUTHORIZED_PAGE = (
    "<!DOCTYPE html><html><head><title>401 - Unauthorized: Access is denied due to invalid "
    "credentials.</title></head><body><h2>401 - Unauthorized: Access is denied due to invalid "
    "credentials.</h2><h3>You do not have permission to view this directory or page using the "
    "credentials that you supplied.</h3></body></html>"
)

XFRAME_PAGE = "<!DOCTYPE html><html><head><title>XFrame</title></head><body></body></html>"


class Tokens:
    """The bearer tokens the pool issued, each valid until its monotonic expiry."""

    def __init__(self, config: SimulatorConfig, user: User) -> None:
        """Tokens are checked against the shared config, so a lifetime change applies at once."""
        self.config = config
        self.user = user
        self.expiries: dict[str, float] = {}

    def issue(self) -> str:
        """Return a new opaque token; real WebTicket tokens start with `cwt=`."""
        token = f"cwt={secrets.token_urlsafe(48)}"
        self.expiries[token] = time.monotonic() + self.config.token_lifetime
        return token

    def expire_all(self) -> None:
        """Make every issued token invalid, as if their lifetime had passed."""
        self.expiries.clear()

    def authenticate(self, call: Call) -> Reply | None:
        """Return None for a live token, else the challenge (and forget an expired token)."""
        token = call.bearer()
        expiry = self.expiries.get(token) if token is not None else None
        if expiry is not None and expiry > time.monotonic():
            return None
        if token is not None:
            self.expiries.pop(token, None)
        return self.challenge(call)

    def challenge(self, call: Call) -> Reply:
        """401 as IIS sends it: an HTML page and two WWW-Authenticate headers."""
        href = f"{call.origin}{rep.TOKEN_PATH}"
        href = f'"{href}"' if self.config.quote_challenge_href else href
        grants = ",".join(self.config.grant_types)
        bearer = (
            'Bearer trusted_issuers="00000002-0000-0ff1-ce00-000000000000@'
            f'{self.user.domain}", client_id="00000004-0000-0ff1-ce00-000000000000"'
        )
        return Reply(
            401,
            UNAUTHORIZED_PAGE.encode(),
            "text/html",
            [
                ("WWW-Authenticate", bearer),
                ("WWW-Authenticate", f'MsRtcOAuth href={href},grant_type="{grants}"'),
            ],
        )


class DiscoveryHandlers:
    """The open routes: they authenticate themselves (the user resource) or not at all."""

    def __init__(self, config: SimulatorConfig, user: User, tokens: Tokens) -> None:
        """Handlers read the shared config on every request, so knob changes apply at once."""
        self.config = config
        self.user = user
        self.tokens = tokens

    async def get_root(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Anonymous entry point; `GET /` may instead point elsewhere (hybrid topologies)."""
        if self.config.root_redirect is not None and call.path == "/":
            href = self.config.root_redirect.replace("{origin}", call.origin)
            return json_reply(200, rep.redirect_body(href))
        return json_reply(200, rep.root_body(call.origin, self.user))

    async def get_xframe(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Return the cross-domain frame the root links for browser clients: a page, not JSON."""
        return Reply(200, XFRAME_PAGE.encode(), "text/html; charset=utf-8")

    async def get_user(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Return the protected entry point: the challenge first, then the applications link."""
        if (challenge := self.tokens.authenticate(call)) is not None:
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

    async def post_token(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """WebTicket's password grant; errors are OAuth bodies, not UCWA ones."""
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
        return json_reply(
            200,
            {
                "access_token": self.tokens.issue(),
                "token_type": "Bearer",
                "expires_in": max(1, math.ceil(self.config.token_lifetime)),
                "ms_rtc_identityscope": "local",
            },
        )
