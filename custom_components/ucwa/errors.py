"""How a UCWA error reads where a person sees it: messages, repair issues, the call-back status."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import UcwaApiError


def ucwa_codes(code: str | None, subcode: str | None) -> str | None:
    """Join UCWA's code and subcode as `Code/Subcode`, leaving out the one the server did not send."""
    return "/".join(part for part in (code, subcode) if part) or None


def api_error_text(err: UcwaApiError) -> str:
    """Name an error answer: `HTTP 409 Conflict/AlreadyExists`, `HTTP 503 ServiceFailure`, `HTTP 502`.

    These are the reference's identifiers, the same in every language, so the translations only
    place them (as `{error}`); nothing absent is spelled out as "None".
    """
    codes = ucwa_codes(err.code, err.subcode)
    return f"HTTP {err.status} {codes}" if codes else f"HTTP {err.status}"
