"""One application's hrefs, as the pool writes them: relative or absolute, hidden links left out.

Below `representations.py` and `peripheral.py` (both build bodies with it), so neither needs the
other to know where a resource lives.
"""

from __future__ import annotations

from urllib.parse import quote

from simulator.config import SimulatorConfig

UCWA_PREFIX = "/ucwa/oauth/v1"
APPLICATIONS_PATH = f"{UCWA_PREFIX}/applications"


class Hrefs:
    """Builds one application's hrefs and leaves out the capability links switched off."""

    def __init__(self, origin: str, app_id: str, config: SimulatorConfig) -> None:
        """Hrefs are relative unless the pool writes them absolute (`config.absolute_hrefs`)."""
        self.base = origin if config.absolute_hrefs else ""
        self.app = f"{self.base}{APPLICATIONS_PATH}/{app_id}"
        self.hidden = config.hidden_links
        self.config = config

    def many(self, hrefs: list[str]) -> list[dict[str, str]] | dict[str, str]:
        """Return a multi-valued link rel: an array, or one object when the pool writes it so."""
        if len(hrefs) == 1 and self.config.single_link_objects:
            return {"href": hrefs[0]}
        return [{"href": href} for href in hrefs]

    def links(self, /, **rels: str) -> dict[str, dict[str, str]]:
        """`_links` from rel=href pairs, in the given order, without hidden rels (self stays)."""
        return {
            rel: {"href": href}
            for rel, href in rels.items()
            if rel == "self" or rel not in self.hidden
        }

    def under(self, path: str) -> str:
        """Return an href below the application."""
        return f"{self.app}/{path}"

    def person(self, sip_uri: str) -> str:
        """Return the contact href of a SIP URI (the address part, as BatchingRequests.md shows)."""
        address = sip_uri.removeprefix("sip:").split(";", 1)[0]
        return self.under(f"people/{quote(address, safe='@+.')}")

    def events(self, ack: int) -> str:
        """Return the event channel href for batch `ack`."""
        return self.under(f"events?ack={ack}")

    def log(self, log_id: str) -> str:
        """Return a conversation log's href; the id is the mailbox's, not the application's."""
        return self.under(f"communication/conversationLogs/{log_id}")

    def invitation(self, invitation_id: str) -> str:
        """Return a phoneAudioInvitation's href, as continuePhoneAudio's Location gives it."""
        return self.under(f"communication/invitations/{invitation_id}")

    def conversation(self, conversation_id: str) -> str:
        """Return a conversation's href."""
        return self.under(f"communication/conversations/{conversation_id}")
