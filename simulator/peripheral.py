"""Resources a pool advertises that this project does not use, so that every link resolves.

A client that follows hypermedia may GET any link it is given (Hypermedia.md), so each advertised
resource answers 200 with a minimal body: its `rel`, its `self` link and the keys the reference's
sample shows, where the reference copy has one (policies and phones: batch_ref.md; presence:
MeDashboard.md). Actions the simulator does not act on are listed in `ACTIONS`; the server
answers them with `not_supported()`.
"""

from __future__ import annotations

from typing import Any
import zlib

from simulator.hrefs import Hrefs
from simulator.state import User
from simulator.wire import UcwaReplyError

PEOPLE_LINKS = {
    "myContactsAndGroupsSubscription": "people/myContactsAndGroupsSubscription",
    "myContacts": "people/contacts",
    "myGroupMemberships": "people/groupMemberships",
    "myGroups": "people/groups",
    "myPrivacyRelationships": "people/privacyRelationships",
    "presenceSubscriptionMemberships": "people/presenceSubscriptionMemberships",
    "presenceSubscriptions": "people/presenceSubscriptions",
    "search": "people/search",
    "subscribedContacts": "people/subscribedContacts",
}
"""The people hub's links (CreateAnApplication.md step 10), rel → path below the application."""

ONLINE_MEETINGS_LINKS = {
    "myAssignedOnlineMeeting": "onlineMeetings/myOnlineMeetings/1XAW22CG",
    "myOnlineMeetings": "onlineMeetings/myOnlineMeetings",
    "onlineMeetingDefaultValues": "onlineMeetings/defaultValues",
    "onlineMeetingEligibleValues": "onlineMeetings/eligibleValues",
    "onlineMeetingInvitationCustomization": "onlineMeetings/customInvitation",
    "onlineMeetingPolicies": "onlineMeetings/policies",
    "phoneDialInInformation": "onlineMeetings/phoneDialInInformation",
}
"""The onlineMeetings dashboard's links (CreateAnApplication.md step 10)."""

RESOURCES = {
    "policies": "policies",
    "callForwardingSettings": "me/callForwardingSettings",
    "mediaPolicies": "mediaPolicies",
    "mediaRelayAccessToken": "mediaRelayAccessToken",
    "people": "people",
    "onlineMeetings": "onlineMeetings",
    **PEOPLE_LINKS,
    **ONLINE_MEETINGS_LINKS,
}
"""Every resource below the application answered with a minimal body, rel → path."""

ACTIONS = {
    "reportMyNetwork": "reportMyNetwork",
    **{
        rel: f"communication/{rel}"
        for rel in (
            "joinOnlineMeeting",
            "replayMessage",
            "startAudio",
            "startAudioOnBehalfOfDelegator",
            "startAudioVideo",
            "startAudioVideoOnBehalfOfDelegator",
            "startEmergencyCall",
            "startMessaging",
            "startOnlineMeeting",
            "startPhoneAudio",
            "startPhoneAudioOnBehalfOfDelegator",
            "startVideo",
        )
    },
}
"""POST-only actions below the application that the simulator advertises but does not act on."""

LOG_ACTIONS = ("continueAudio", "continueAudioVideo", "continueMessaging", "continueVideo")
"""POST-only actions of a conversationLog that the simulator does not act on."""

PHONE_TYPES = ("work", "mobile", "home", "other")

# A 1x1 transparent PNG: photos are images, not JSON.
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def not_supported() -> UcwaReplyError:
    """Answer a POST on an advertised action the simulator does not act on.

    409 Conflict without a subcode is the reference's own answer for this: nearly every *_ref
    error table lists it as "Un-supported Service/Resource/API error". 403 Forbidden/
    OperationNotSupported would fit the words too, but a 403 tells a client to run discovery
    again (RootURL.md), which would punish it for trying a link it was given.
    """
    return UcwaReplyError(
        409, "Conflict", message="Un-supported Service/Resource/API error: not simulated."
    )


def resource_body(h: Hrefs, rel: str, user: User) -> dict[str, Any]:
    """Return the minimal representation of one of `RESOURCES`."""
    body: dict[str, Any] = {"rel": rel}
    if rel == "policies":  # batch_ref.md's policies sample
        body.update(
            telephonyMode="Uc",
            exchangeUnifiedMessaging="Enabled",
            logging="Enabled",
            loggingLevel="Full",
            photos="Enabled",
            voicemailUri=f"{user.sip_uri};opaque=app:voicemail",
        )
    links: dict[str, str] = {"self": h.under(RESOURCES[rel])}
    if rel == "people":
        links.update({name: h.under(path) for name, path in PEOPLE_LINKS.items()})
    elif rel == "onlineMeetings":
        links.update({name: h.under(path) for name, path in ONLINE_MEETINGS_LINKS.items()})
    body["_links"] = h.links(**links)
    return body


def phone_numbers(user: User) -> dict[str, str]:
    """Return the user's phone numbers by phones type, the ones they have."""
    numbers = {
        "work": user.phone_number,
        "mobile": user.mobile_phone_number,
        "home": user.home_phone_number,
        "other": user.other_phone_number,
    }
    return {kind: f"tel:{number}" for kind, number in numbers.items() if number}


def phone_body(h: Hrefs, kind: str, number: str) -> dict[str, Any]:
    """Return one phone (batch_ref.md's phones sample), without change links: AD owns them."""
    return {
        "rel": "phone",
        "number": number,
        "type": kind,
        "includeInContactCard": kind == "work",
        "_links": h.links(self=h.under(f"me/phones/{kind}")),
        "etag": str(zlib.crc32(f"{kind} {number}".encode())),
    }


def phones_body(h: Hrefs, user: User) -> dict[str, Any]:
    """Return the user's phones with each phone embedded (batch_ref.md)."""
    return {
        "rel": "phones",
        "_links": h.links(self=h.under("me/phones")),
        "_embedded": {
            "phone": [phone_body(h, kind, number) for kind, number in phone_numbers(user).items()]
        },
    }


def contact_body(h: Hrefs, address: str) -> dict[str, Any]:
    """Return a contact found through a log, transcript or call: its URI and its parts' links."""
    href = h.under(f"people/{address}")
    return {
        "rel": "contact",
        "uri": f"sip:{address}",
        "_links": h.links(
            self=href,
            contactPhoto=f"{href}/contactPhoto",
            contactPresence=f"{href}/contactPresence",
        ),
    }


def contact_presence_body(h: Hrefs, address: str) -> dict[str, Any]:
    """Return a contact's presence; the simulated directory shows everyone Online."""
    return {
        "rel": "contactPresence",
        "availability": "Online",
        "_links": h.links(self=h.under(f"people/{address}/contactPresence")),
    }
