"""Errors raised by the UCWA client.

Callers catch these, never aiohttp's. Every transport failure and every UCWA error body is mapped to one
of them in exactly one place (the client's request chokepoint). No message built here may contain a
password, a token or an Authorization header: messages end up in logs and in Home Assistant's UI.
"""

from __future__ import annotations


class UcwaError(Exception):
    """Base of everything the client raises."""


class UcwaConnectionError(UcwaError):
    """The server could not be reached, or the connection broke before an answer arrived."""


class UcwaTimeoutError(UcwaConnectionError):
    """No answer within the request timeout.

    For a POST this means the server may have acted: the client reports it and never repeats it.
    """


class UcwaAuthenticationError(UcwaError):
    """The server refused the credentials (for instance `invalid_grant` on the password grant).

    Kept apart from connection errors because only a new password fixes it.
    """


class UcwaSecurityError(UcwaError):
    """A discovery redirect failed the reference's security check, so no credentials were sent there."""


class UcwaMalformedResponseError(UcwaError):
    """The server answered, but not in a form the client can read (not JSON, a missing link it must have).

    Nothing was misunderstood on our side: the answer itself is unusable, so repeating the same request
    is unlikely to help.
    """


class UcwaLinkNotOfferedError(UcwaError):
    """The server does not offer a link the operation needs, even after re-reading its owner.

    A missing link is UCWA's way of saying "not allowed now" (Hypermedia.md): a policy (no conversation
    history, no Exchange integration) or the user's state. `rel` names the link (`conversationLogs`,
    `missedItems`, `continuePhoneAudio`, ...) and `owner` the resource that would carry it.
    """

    def __init__(self, rel: str, owner: str) -> None:
        """Keep which link is missing and where it was looked for."""
        self.rel = rel
        self.owner = owner
        super().__init__(f"The server does not offer {rel} for this account")


class UcwaConversationLogNotFoundError(UcwaError):
    """The conversation log is not among the newest ones the server lists (deleted, or too old).

    Not an HTTP error: the server never answered 404 for it; the client did not find it in the list.
    """

    def __init__(self, log_id: str) -> None:
        """Keep the stable id of the log that was asked for."""
        self.log_id = log_id
        super().__init__(f"Conversation log {log_id} not found")


class UcwaApiError(UcwaError):
    """The server answered with a UCWA error.

    `code` and `subcode` are open strings: servers add subcodes the reference does not list, so they
    are kept exactly as received (subcode may be None when the body has none).
    """

    def __init__(
        self,
        status: int,
        code: str | None,
        subcode: str | None = None,
        message: str | None = None,
    ) -> None:
        """Keep the HTTP status and UCWA's code, subcode and message for callers to branch on."""
        self.status = status
        self.code = code
        self.subcode = subcode
        self.message = message
        detail = f"{status} {code or 'Unknown'}"
        if subcode:
            detail += f"/{subcode}"
        if message:
            detail += f": {message}"
        super().__init__(detail)


class UcwaApplicationError(UcwaApiError):
    """The server will not keep an application for us (410 TooManyApplications, UserAgentNotAllowed, ...).

    Unlike a lost application, recreating it will not help: the user or the administrator must act.
    """
