"""JSON representations of a call-back, as the reference samples show them.

The phoneAudioInvitation, its conversation, participants and phoneAudio modality
(phoneAudioInvitation_ref.md, conversation_ref.md, phoneAudio_ref.md).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from simulator.hrefs import Hrefs
from simulator.representations import event
from simulator.state import PhoneAudioInvitation, User
from simulator.wire import json_date


def participant_body(
    h: Hrefs, conversation_href: str, name: str, sip_uri: str, *, local: bool
) -> dict[str, Any]:
    """Return a conversation participant, as acceptedByParticipant embeds it."""
    address = sip_uri.removeprefix("sip:").split(";", 1)[0]
    contact = h.person(sip_uri)
    links = h.links(
        self=f"{conversation_href}/participants/{quote(address, safe='@+.')}",
        contact=contact,
        contactPhoto=f"{contact}/contactPhoto",
        contactPresence=f"{contact}/contactPresence",
        conversation=conversation_href,
    )
    if local:
        links.update(h.links(me=h.under("me")))
    return {
        "rel": "participant",
        "anonymous": False,
        "local": local,
        "name": name,
        "sourceNetwork": "SameEnterprise",
        "uri": sip_uri,
        "_links": links,
    }


def invitation_body(h: Hrefs, inv: PhoneAudioInvitation, user: User) -> dict[str, Any]:
    """Return an outgoing phoneAudioInvitation (phoneAudioInvitation_ref.md) in its current state."""
    conversation = h.conversation(inv.conversation_id)
    rels = {
        "self": h.invitation(inv.invitation_id),
        "conversation": conversation,
        "from": f"{conversation}/participants/{user.sign_in_address}",
        "phoneAudio": f"{conversation}/phoneAudio",
        "to": h.person(inv.to),
    }
    if inv.status is None:
        rels["cancel"] = f"{h.invitation(inv.invitation_id)}/cancel"
    body: dict[str, Any] = {
        "rel": "phoneAudioInvitation",
        "direction": "Outgoing",
        "importance": inv.importance,
        "operationId": inv.operation_id,
        "phoneNumber": inv.phone_number,
        "privateLine": False,
        "state": inv.state,
        "subject": inv.subject,
        "threadId": inv.thread_id,
        "to": inv.to,
        "_links": h.links(**rels),
    }
    if inv.status == "Success":
        body["_embedded"] = {
            "acceptedByParticipant": [
                participant_body(h, conversation, inv.to_name, inv.to, local=False)
            ]
        }
    return body


def conversation_body(h: Hrefs, inv: PhoneAudioInvitation, user: User) -> dict[str, Any]:
    """Return the conversation a call-back created, with the log's thread and subject."""
    href = h.conversation(inv.conversation_id)
    connected = inv.phone_audio_state == "Connected"
    return {
        "rel": "conversation",
        "activeModalities": ["PhoneAudio"] if connected else [],
        "created": json_date(inv.created),
        "importance": inv.importance,
        "participantCount": 2 if connected else 1,
        "readLocally": True,
        "recording": False,
        "state": "Connected" if connected else "Connecting",
        "subject": inv.subject,
        "threadId": inv.thread_id,
        "_links": h.links(
            self=href,
            localParticipant=f"{href}/participants/{user.sign_in_address}",
            participants=f"{href}/participants",
            phoneAudio=f"{href}/phoneAudio",
        ),
    }


def phone_audio_body(h: Hrefs, inv: PhoneAudioInvitation) -> dict[str, Any]:
    """Return the phoneAudio modality of a call-back's conversation (phoneAudio_ref.md)."""
    conversation = h.conversation(inv.conversation_id)
    href = f"{conversation}/phoneAudio"
    rels = {"self": href, "conversation": conversation}
    if inv.phone_audio_state in {"Connecting", "Connected"}:
        rels["stopPhoneAudio"] = f"{href}/stopPhoneAudio"
    if inv.phone_audio_state == "Connected":
        rels["holdPhoneAudio"] = f"{href}/holdPhoneAudio"
    return {"rel": "phoneAudio", "state": inv.phone_audio_state, "_links": h.links(**rels)}


def participants_body(
    h: Hrefs, conversation_href: str, people: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return a conversation's participants collection: links to each participant."""
    return {
        "rel": "participants",
        "_links": {
            "self": {"href": f"{conversation_href}/participants"},
            "participant": h.many([p["_links"]["self"]["href"] for p in people]),
        },
    }


def conversations_body(h: Hrefs, live: list[PhoneAudioInvitation]) -> dict[str, Any]:
    """Return the application's conversations collection: links to those still going on."""
    links: dict[str, Any] = {"self": {"href": h.under("communication/conversations")}}
    if live:
        links["conversation"] = h.many([h.conversation(inv.conversation_id) for inv in live])
    return {"rel": "conversations", "_links": links}


# Events -----------------------------------------------------------------------------------------


def conversation_added_event(h: Hrefs, inv: PhoneAudioInvitation, user: User) -> dict[str, Any]:
    """`conversation added` (sender communication) when the call-back starts."""
    body = conversation_body(h, inv, user)
    return event(h, "conversation", h.conversation(inv.conversation_id), "added", body)


def invitation_event(h: Hrefs, inv: PhoneAudioInvitation, user: User, kind: str) -> dict[str, Any]:
    """`phoneAudioInvitation started/updated/completed`, always embedded as the reference shows.

    A completed event carries the outcome: status, and the reason when the call failed.
    """
    body: dict[str, Any] = {
        "link": {"rel": "phoneAudioInvitation", "href": h.invitation(inv.invitation_id)},
        "_embedded": {"phoneAudioInvitation": invitation_body(h, inv, user)},
        "type": kind,
    }
    if kind == "completed" and inv.status is not None:
        body["status"] = inv.status
        if inv.reason is not None:
            body["reason"] = dict(inv.reason)
    return body


def phone_audio_event(h: Hrefs, inv: PhoneAudioInvitation) -> dict[str, Any]:
    """`phoneAudio updated` (sender conversation) on every change of the call's audio state."""
    href = f"{h.conversation(inv.conversation_id)}/phoneAudio"
    return event(h, "phoneAudio", href, "updated", phone_audio_body(h, inv))


def conversation_deleted_event(h: Hrefs, inv: PhoneAudioInvitation) -> dict[str, Any]:
    """`conversation deleted` (sender communication) when the call ends: a link only."""
    link = {"rel": "conversation", "href": h.conversation(inv.conversation_id)}
    return {"link": link, "type": "deleted"}
