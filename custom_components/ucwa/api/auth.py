"""Reading the server's 401 challenge and holding OAuth tokens (AuthenticationInUCWA.md).

A UCWA resource answers an unauthenticated request with 401 and one or more `WWW-Authenticate`
headers. The one that matters is `MsRtcOAuth href="<token endpoint>",grant_type="<list>"`. Servers
quote the values or not (the reference shows both), the grant types are a comma list inside the
quotes, and proxies may fold several challenges into one header line, so this is a small tokenizer
rather than a split on commas.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
import re

_SCHEME_RE = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s+(.*))?$", re.DOTALL)
_PARAM_RE = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Challenge:
    """One authentication challenge: its scheme and its parameters (keys lower-cased)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def _split_outside_quotes(value: str) -> list[str]:
    """Split a header value on commas that are not inside a quoted string."""
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and in_quotes:
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            in_quotes = not in_quotes
        elif char == "," and not in_quotes:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _unquote(value: str) -> tuple[str, bool]:
    """Return the value without its quotes (and escapes) and whether it was quoted."""
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1]), True
    return value, False


def parse_www_authenticate(headers: Iterable[str]) -> list[Challenge]:
    """Parse every challenge found in the given `WWW-Authenticate` header values.

    `Negotiate, MsRtcOAuth href=https://h/WebTicket/oauthtoken,grant_type="password"` yields two
    challenges. An unquoted comma list (`grant_type=urn:a,password`) is kept together: a bare word
    after an unquoted parameter continues that parameter, while after anything else it starts a
    new scheme.
    """
    challenges: list[Challenge] = []
    for header in headers:
        current: Challenge | None = None
        last_key: str | None = None
        last_quoted = True
        for segment in _split_outside_quotes(header):
            if param := _PARAM_RE.match(segment):
                if current is None:
                    continue
                last_key = param.group(1).lower()
                current.params[last_key], last_quoted = _unquote(param.group(2))
                continue
            scheme = _SCHEME_RE.match(segment)
            if scheme is None:
                continue
            rest = scheme.group(2)
            if rest is None and current is not None and last_key is not None and not last_quoted:
                current.params[last_key] += "," + segment
                continue
            current = Challenge(scheme=scheme.group(1))
            challenges.append(current)
            last_key, last_quoted = None, True
            if rest and (param := _PARAM_RE.match(rest.strip())):
                last_key = param.group(1).lower()
                current.params[last_key], last_quoted = _unquote(param.group(2))
    return challenges


def find_ms_rtc_oauth(challenges: Iterable[Challenge]) -> Challenge | None:
    """Return the MsRtcOAuth challenge (scheme names are case-insensitive), if any."""
    for challenge in challenges:
        if challenge.scheme.lower() == "msrtcoauth":
            return challenge
    return None


def grant_types(challenge: Challenge) -> list[str]:
    """Return the grant types an MsRtcOAuth challenge offers."""
    raw = challenge.params.get("grant_type", "")
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(slots=True)
class Token:
    """A bearer token for one host, valid until `expires_at` (event-loop clock, seconds).

    The value never appears in repr: tokens must not reach logs.
    """

    value: str = field(repr=False)
    token_type: str
    expires_at: float

    @property
    def header(self) -> str:
        """The Authorization header value (`Bearer cwt=...`)."""
        return f"{self.token_type} {self.value}"
