"""How a UCWA error reads where a person sees it, and how an expected failure is logged.

Messages, repair issues and the call-back status name the server's answer the same way; an
expected failure of an action is logged once, as a warning, without a traceback.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from homeassistant.exceptions import HomeAssistantError

from .api import UcwaApiError

if TYPE_CHECKING:
    from .api import UcwaError


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


def api_error_placeholders(err: UcwaApiError) -> dict[str, str]:
    """Name the HTTP status, UCWA code and subcode in a translated message (`{error}`)."""
    return {"error": api_error_text(err)}


def capability_reason(err: UcwaError) -> str:
    """Say in a few words why a capability is missing (the link rel, or UCWA's code/subcode)."""
    if isinstance(err, UcwaApiError):
        return api_error_text(err)
    return str(err)


class UcwaActionError(HomeAssistantError):
    """An action's translated error for a failure the integration expects, already logged once.

    A server refusing a documented request, or not answering, is no bug: the action logs one
    warning line (saying what failed and why) and raises this, so the person sees the same words.
    """


class _AlreadyLogged(logging.Filter):
    """Keep Home Assistant's websocket API from logging an UcwaActionError a second time.

    Home Assistant 2025.4 logs every HomeAssistantError of a service call made from the UI as
    "Unexpected exception" with a full traceback; later releases log it as one more error line.
    Either repeats the warning the action logged, so those records are dropped; the debug-level
    traceback of later releases is kept for whoever turns debug logging on.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return True
        raised = record.exc_info[1] if record.exc_info else None
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(isinstance(item, UcwaActionError) for item in (raised, *args))


_ALREADY_LOGGED: Final = _AlreadyLogged()
# The logger of Home Assistant's websocket connections (websocket_api/http.py), where a service
# call from the UI that raised is reported.
_WEBSOCKET_LOGGER: Final = "homeassistant.components.websocket_api.http.connection"


def async_setup_error_logging() -> None:
    """Install the filter once per process (from async_setup; repeating it changes nothing)."""
    logger = logging.getLogger(_WEBSOCKET_LOGGER)
    if _ALREADY_LOGGED not in logger.filters:
        logger.addFilter(_ALREADY_LOGGED)
