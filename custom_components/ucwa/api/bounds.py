"""What a server's answer may cost the client, and what its text may echo back.

A front-end pool is trusted to speak UCWA, not to be kind: a broken or hostile server can send a
body that expands to gigabytes, JSON nested deep enough to exhaust the stack, numbers with
thousands of digits, or an error text that repeats the request (password and token included).
Every JSON the client reads goes through `loads_json` and every server text that reaches an
exception or a log line goes through a `Scrubber`, so these limits hold in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import accumulate
import json
import re
from typing import Any
from urllib.parse import quote, quote_plus

from .exceptions import UcwaMalformedResponseError

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest response body, after decompression. A batch of 100 logs is about 300 KB and a list of
100,000 log links about 9 MB, so only a bomb or a runaway server reaches it."""

MAX_JSON_DEPTH = 64
"""Deepest nesting of JSON objects and arrays. UCWA resources nest about six deep."""

MAX_NUMBER_DIGITS = 30
"""Longer JSON integers are read as None: Python refuses over 4,300 digits, and no UCWA count or
lifetime needs more than a few."""

MAX_TEXT_CHARS = 500
"""Server text copied into an exception (an error `message`) is cut to this length."""

_STRING_RE = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(raw: bytes) -> int:
    """Return the deepest bracket nesting of a JSON text, ignoring brackets inside strings.

    Runs in C-speed passes (a regex, a byte translation, an accumulate), so checking a body of
    the largest allowed size costs milliseconds and recursion is never involved.
    """
    brackets = _STRING_RE.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _parse_int(digits: str) -> int | None:
    return int(digits) if len(digits.lstrip("-")) <= MAX_NUMBER_DIGITS else None


def loads_json(raw: bytes | str, source: str) -> Any:
    """Decode JSON within the limits; anything else raises UcwaMalformedResponseError only.

    `source` names the server (its host) for the error text. A UTF-8 byte order mark is dropped,
    since real servers send one. Too deep a nesting is refused before decoding, so the decoder's
    recursion never runs out of stack; RecursionError is still mapped, as a last guard.
    """
    data = raw.encode("utf-8", errors="replace") if isinstance(raw, str) else raw
    if len(data) > MAX_BODY_BYTES:
        raise UcwaMalformedResponseError(f"JSON from {source} is larger than {MAX_BODY_BYTES}")
    if (depth := json_depth(data)) > MAX_JSON_DEPTH:
        raise UcwaMalformedResponseError(
            f"JSON from {source} nests {depth} deep (at most {MAX_JSON_DEPTH})"
        )
    try:
        return json.loads(data.decode("utf-8-sig"), parse_int=_parse_int)
    except (ValueError, RecursionError) as err:
        raise UcwaMalformedResponseError(f"Invalid JSON from {source}") from err


_CWT_RE = re.compile(r"cwt=[^\s\"'&,;<>]+", re.IGNORECASE)
_FIELD_RE = re.compile(
    r"\b(password|access_token|refresh_token)(\"?\s*[=:]\s*\"?)[^\s\"'&,;<>]+", re.IGNORECASE
)
_BEARER_RE = re.compile(r"\b(Bearer)\s+[^\s\"'&,;<>]+", re.IGNORECASE)
MASK = "***"


class Scrubber:
    """Removes the password, tokens and `cwt=` values from text a server sent.

    The chokepoint owns one: it knows the password from the config and sees every token it sends
    or receives, so nothing else (the token store) has to be imported to scrub. Server text is
    also cut to `MAX_TEXT_CHARS`, since it ends up in Home Assistant's UI and logs.
    """

    MAX_TOKENS = 8

    def __init__(self, password: str) -> None:
        """Remember the password in the forms a server could echo it (raw and URL-encoded)."""
        forms = {password, quote(password, safe=""), quote_plus(password)} if password else set()
        self._password_forms = sorted(forms, key=len, reverse=True)
        self._tokens: list[str] = []

    def __repr__(self) -> str:
        """Never show what is being scrubbed."""
        return f"Scrubber(tokens={len(self._tokens)})"

    def add_tokens(self, values: Iterable[str]) -> None:
        """Remember tokens (the newest few) so that an echo of one is scrubbed."""
        for value in values:
            if value and value not in self._tokens:
                self._tokens.append(value)
        del self._tokens[: -self.MAX_TOKENS]

    def __call__(self, text: str | None) -> str | None:
        """Return the text without secrets, cut to `MAX_TEXT_CHARS` (None stays None)."""
        if text is None:
            return None
        text = text[: MAX_TEXT_CHARS * 4]
        for secret in (*self._tokens, *self._password_forms):
            text = text.replace(secret, MASK)
        text = _CWT_RE.sub("cwt=" + MASK, text)
        text = _FIELD_RE.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
        text = _BEARER_RE.sub(lambda m: m.group(1) + " " + MASK, text)
        if len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS] + "…"
        return text
