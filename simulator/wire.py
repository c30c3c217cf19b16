"""The wire format: requests and replies as the handlers see them, JSON encoding and UCWA errors.

Handlers work on `Call`/`Reply` rather than aiohttp objects so that a part of a batch runs through
exactly the same code (recording, counting, faults) as a request on its own connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
import json
import re
from typing import Any

from multidict import CIMultiDict

JSON_TYPE = "application/json; charset=utf-8"
BOM = "\ufeff"

# Messages from the reference's error tables, so injected faults read like the real thing.
REFERENCE_MESSAGES: dict[tuple[str, str | None], str] = {
    ("ServiceFailure", "CallbackChannelError"): "The remote event channel is not reachable",
    ("ServiceFailure", "InvalidExchangeServerVersion"): (
        "Invalid exchange server version.The exchange mailbox of the server might have moved to an "
        "unsupported version for the required feature."
    ),
    ("ServiceFailure", "ExchangeTimeout"): "The Exchange request timed out",
    ("ServiceFailure", None): "Internal Server Error.",
    ("Conflict", "AlreadyExists"): "The already exists error.",
    ("Conflict", "TooManyGroups"): "The too many groups error.",
    ("Conflict", None): "Un-supported Service/Resource/API error.",
    ("Conflict", "MakeMeAvailableRequired"): (
        "The application has not yet sent a request on the makeMeAvailable resource."
    ),
    ("Conflict", "PGetReplaced"): (
        "The existing P-GET was replaced with a new P-GET from the client application."
    ),
    ("Gone", "CannotRedirect"): "Cannot redirect since there is no back up pool configured.",
    ("Gone", "InactiveApplicationExpired"): "An inactive application expired.",
    ("Gone", "TooManyApplications"): "There are too many applications for this user.",
    ("Gone", "UserAgentNotAllowed"): "The user agent supplied is not allowed.",
    ("NotFound", "ApplicationNotFound"): "The application resource does not exist.",
    ("NotFound", None): "The resource does not exist.",
    ("BadRequest", "ParameterValidationFailure"): "A parameter value is not valid.",
    ("BadRequest", "DeserializationFailure"): (
        "The request body could not be deserialized. Please check if the body confirms to allowed "
        "formats and does not have any invalid characters."
    ),
    (
        "BadRequest",
        None,
    ): "Something is wrong with the entire request (malformed XML/JSON, for example).",
    ("Forbidden", None): "Forbidden.",
    ("Forbidden", "AnonymousNotAllowed"): "This operation is not allowed for anonymous users",
    ("TooManyRequests", None): "Indicates that there are too many outstanding HTTP operations.",
    ("MethodNotAllowed", None): "The requested HTTP method is not supported for this resource.",
    ("UnsupportedMediaType", None): "The content-type is not supported.",
    ("Timeout", "Timeout"): "Internal Server Error, remote timeout.",
}


def reference_message(code: str, subcode: str | None) -> str:
    """Return the reference's wording for a code/subcode pair, or the code's own when there is none."""
    return REFERENCE_MESSAGES.get((code, subcode)) or REFERENCE_MESSAGES.get((code, None)) or code


class UcwaReplyError(Exception):
    """A synchronous UCWA error: the generic error body with a matching HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        subcode: str | None = None,
        message: str | None = None,
        parameters: list[dict[str, str]] | None = None,
    ) -> None:
        """Keep the parts of the error body; `message` defaults to the reference's wording."""
        self.status = status
        self.code = code
        self.subcode = subcode
        self.message = message if message is not None else reference_message(code, subcode)
        self.parameters = parameters
        super().__init__(f"{status} {code}/{subcode}: {self.message}")

    def reply(self) -> Reply:
        """Return the error as a reply; `parameters` only ever comes with 400, as the reference says."""
        body: dict[str, Any] = {"code": self.code}
        if self.subcode is not None:
            body["subcode"] = self.subcode
        body["message"] = self.message
        if self.parameters is not None and self.status == HTTPStatus.BAD_REQUEST:
            body["parameters"] = self.parameters
        return json_reply(self.status, body)


def invalid_parameter(name: str, reason: str = "Invalid") -> UcwaReplyError:
    """400 ParameterValidationFailure naming the offending input, as a real pool lists them."""
    return UcwaReplyError(
        400,
        "BadRequest",
        "ParameterValidationFailure",
        parameters=[{"name": name, "reason": reason}],
    )


@dataclass(slots=True)
class Call:
    """One HTTP request as a handler sees it, whether it came alone or inside a batch."""

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    body: bytes
    origin: str
    """scheme://host the client used; absolute hrefs are built from it."""
    in_batch: bool = False

    def bearer(self) -> str | None:
        """Return the token after `Bearer `, if the request carries one."""
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def input(self) -> dict[str, Any]:
        """POST input with lower-cased keys: real clients send PascalCase and the server accepts it.

        The reference also allows inputs in the query string; the body wins on a clash.
        """
        values: dict[str, Any] = {key.lower(): value for key, value in self.query.items()}
        text = self.body.decode("utf-8-sig", errors="replace").strip()
        if not text:
            return values
        try:
            parsed = json.loads(text)
        except ValueError as err:
            raise UcwaReplyError(400, "BadRequest", "DeserializationFailure") from err
        if not isinstance(parsed, dict):
            raise UcwaReplyError(400, "BadRequest", "DeserializationFailure")
        values.update({str(key).lower(): value for key, value in parsed.items()})
        return values


@dataclass(slots=True)
class Reply:
    """What a handler answers; `headers` is a list because WWW-Authenticate repeats."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


_DATE = re.compile(r'"/Date\((-?\d+(?:[+-]\d{4})?)\)/"')


def encode_json(value: Any) -> bytes:
    r"""Serialise like the pool's ASP.NET stack: dates come out as "\/Date(ms)\/".

    Dates are carried as the plain string "/Date(ms)/" up to here; escaping their slashes leaves
    the decoded value unchanged, so no other string can be harmed by the substitution.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _DATE.sub(r'"\\/Date(\1)\\/"', text).encode("utf-8")


def json_date(moment: datetime) -> str:
    """Return a datetime as the ASP.NET AJAX date the JSON samples use (milliseconds since the epoch)."""
    return f"/Date({round(moment.timestamp() * 1000)})/"


def json_reply(status: int, body: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    """Return a JSON reply in the content type the pool uses."""
    return Reply(status, encode_json(body), JSON_TYPE, headers or [])


def empty_reply(status: int = 204, headers: list[tuple[str, str]] | None = None) -> Reply:
    """Return a reply without a body (204 No Content, or 201 with only a Location)."""
    return Reply(status, b"", None, headers or [])
