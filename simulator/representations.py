"""JSON representations of the simulated resources, shaped after the reference's samples.

Key names, nesting, `rel` values and link names follow the *_ref.md JSON samples; only the values
come from the simulator's state. Hrefs come from `hrefs.Hrefs` (the on-premises OAuth prefix
`/ucwa/oauth/v1`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from simulator.hrefs import APPLICATIONS_PATH, Hrefs
from simulator.peripheral import resource_body
from simulator.state import (
    Application,
    ConversationLogRecord,
    EventChannel,
    Recipient,
    User,
)
from simulator.wire import json_date

ROOT_PATH = "/autodiscover/autodiscoverservice.svc/root"
USER_PATH = f"{ROOT_PATH}/oauth/user"
XFRAME_PATH = "/autodiscover/XFrame/XFrame.html"
TOKEN_PATH = "/WebTicket/oauthtoken"  # noqa: S105  # a path, not a secret

PUT_GUARD_TEXT = "please pass this in a PUT request"

TRACE_COMMUNICATION_LINKS = frozenset(
    {"self", "conversations", "startMessaging", "startOnlineMeeting", "joinOnlineMeeting"}
)
"""What the reference's trace embeds in the POST applications answer (CreateAnApplication.md)."""
CAPABILITY_LINKS = frozenset(
    {
        "conversationLogs",
        "missedItems",
        "startPhoneAudio",
        "startAudio",
        "startAudioVideo",
        "startVideo",
        "mediaPolicies",
        "mediaRelayAccessToken",
        "replayMessage",
    }
)
"""Added to the trace's communication by makeMeAvailable (ReceiveAnIM.md, Hypermedia.md).

The trace at creation has none of them (CreateAnApplication.md); afterwards the communication is
what communication_ref.md's sample shows, less the links tied to a delegator (the three
`*OnBehalfOfDelegator`) and `startEmergencyCall` (enhanced emergency services): the demo user has
neither. The lenient pool offers those too."""


# Discovery and authentication -------------------------------------------------------------------


def root_body(origin: str, user: User) -> dict[str, Any]:
    """Return the autodiscovery root (RootURL.md step 8, root_ref.md), with absolute hrefs."""
    return {
        "rel": "root",
        "_links": {
            "self": {"href": f"{origin}{ROOT_PATH}?originalDomain={user.domain}"},
            "user": {"href": f"{origin}{USER_PATH}?originalDomain={user.domain}"},
            "xframe": {"href": f"{origin}{XFRAME_PATH}"},
        },
    }


def redirect_body(href: str) -> dict[str, Any]:
    """Return a root that only points elsewhere (RootURL.md step 5)."""
    return {"_links": {"redirect": {"href": href}}}


def user_body(origin: str, user: User, redirect: str | None) -> dict[str, Any]:
    """Return the user resource once authenticated (CreateAnApplication.md step 8, user_ref.md)."""
    links: dict[str, dict[str, str]] = {
        "self": {"href": f"{origin}{USER_PATH}?originalDomain={user.domain}"}
    }
    if redirect is None:
        links["applications"] = {"href": f"{origin}{APPLICATIONS_PATH}"}
    else:
        links["redirect"] = {"href": redirect}
    links["xframe"] = {"href": f"{origin}{XFRAME_PATH}"}
    return {"rel": "user", "_links": links}


# Application and its embedded dashboards --------------------------------------------------------


def application_body(h: Hrefs, app: Application, user: User) -> dict[str, Any]:
    """Return the application with me, people, onlineMeetings and communication embedded."""
    body: dict[str, Any] = {
        "rel": "application",
        "type": "Browser",
        "culture": app.culture,
        "endpointId": app.endpoint_id,
        "id": app.registration_id,
    }
    if app.instance_id is not None:
        body["instanceId"] = app.instance_id
    body["userAgent"] = app.user_agent
    body["_links"] = h.links(
        self=h.app,
        batch=h.under("batch"),
        events=h.events(app.channel.acked),
        policies=h.under("policies"),
        reportMyNetwork=h.under("reportMyNetwork"),
    )
    body["_embedded"] = {
        "communication": communication_body(h, app),
        "me": me_body(h, app, user),
        "onlineMeetings": resource_body(h, "onlineMeetings", user),
        "people": resource_body(h, "people", user),
    }
    return body


def me_body(h: Hrefs, app: Application, user: User) -> dict[str, Any]:
    """Return the user; presence, note, location and reportMyActivity appear after makeMeAvailable.

    The home, mobile and other phone numbers are left out when the user has none, as a pool omits
    properties without a value.
    """
    if app.available:
        links = h.links(
            self=h.under("me"),
            callForwardingSettings=h.under("me/callForwardingSettings"),
            location=h.under("me/location"),
            note=h.under("me/note"),
            phones=h.under("me/phones"),
            photo=h.under("photo"),
            presence=h.under("me/presence"),
            reportMyActivity=h.under("reportMyActivity"),
        )
    else:
        links = h.links(
            self=h.under("me"),
            callForwardingSettings=h.under("me/callForwardingSettings"),
            makeMeAvailable=h.under("communication/makeMeAvailable"),
            phones=h.under("me/phones"),
            photo=h.under("photo"),
        )
    body: dict[str, Any] = {
        "rel": "me",
        "company": user.company,
        "department": user.department,
        "emailAddresses": [user.sign_in_address],
        "endpointUri": f"{user.sip_uri};opaque=user:epid:{app.registration_id[:22]};gruu",
    }
    if user.home_phone_number:
        body["homePhoneNumber"] = f"tel:{user.home_phone_number}"
    if user.mobile_phone_number:
        body["mobilePhoneNumber"] = f"tel:{user.mobile_phone_number}"
    body["name"] = user.name
    body["officeLocation"] = user.office_location
    if user.other_phone_number:
        body["otherPhoneNumber"] = f"tel:{user.other_phone_number}"
    body["title"] = user.title
    body["uri"] = user.sip_uri
    body["workPhoneNumber"] = f"tel:{user.phone_number}"
    body["_links"] = links
    return body


def communication_body(h: Hrefs, app: Application) -> dict[str, Any]:
    """Return the communication dashboard, with the random-named PUT guard property and etag.

    Its links are the user's capabilities right now: in the trace profile only the five the
    reference's trace shows until makeMeAvailable adds `CAPABILITY_LINKS` (conversationLogs,
    missedItems, startPhoneAudio, the audio/video and media links); an account without
    conversation history never gets conversationLogs.
    """
    history = h.config.conversation_history != "absent"
    body: dict[str, Any] = {
        app.put_guard: PUT_GUARD_TEXT,
        "rel": "communication",
        "simultaneousRingNumberMatch": "Disabled",
        "videoBasedScreenSharing": "Disabled",
        "audioPreference": app.audio_preference,
        "conversationHistory": "Enabled" if history else "Disabled",
        "lisLocation": "",
        "lisQueryResult": "Failed",
    }
    if app.callback_number is not None:
        body["phoneNumber"] = app.callback_number
    body["publishEndpointLocation"] = False
    body["supportedMessageFormats"] = list(app.supported_message_formats)
    body["supportedModalities"] = list(app.supported_modalities)
    links = h.links(
        self=h.under("communication"),
        conversationLogs=h.under("communication/conversationLogs"),
        conversations=h.under("communication/conversations"),
        joinOnlineMeeting=h.under("communication/joinOnlineMeeting"),
        mediaPolicies=h.under("mediaPolicies"),
        mediaRelayAccessToken=h.under("mediaRelayAccessToken"),
        missedItems=h.under("communication/missedItems"),
        replayMessage=h.under("communication/replayMessage"),
        startAudioOnBehalfOfDelegator=h.under("communication/startAudioOnBehalfOfDelegator"),
        startAudio=h.under("communication/startAudio"),
        startAudioVideoOnBehalfOfDelegator=h.under(
            "communication/startAudioVideoOnBehalfOfDelegator"
        ),
        startAudioVideo=h.under("communication/startAudioVideo"),
        startEmergencyCall=h.under("communication/startEmergencyCall"),
        startMessaging=h.under("communication/startMessaging"),
        startOnlineMeeting=h.under("communication/startOnlineMeeting"),
        startPhoneAudioOnBehalfOfDelegator=h.under(
            "communication/startPhoneAudioOnBehalfOfDelegator"
        ),
        startPhoneAudio=h.under("communication/startPhoneAudio"),
        startVideo=h.under("communication/startVideo"),
    )
    if h.config.profile == "trace":
        offered = TRACE_COMMUNICATION_LINKS | (CAPABILITY_LINKS if app.available else frozenset())
        links = {rel: link for rel, link in links.items() if rel in offered}
    if not history:
        links.pop("conversationLogs", None)
    body["_links"] = links
    body["etag"] = app.communication_etag
    return body


# Events -----------------------------------------------------------------------------------------


def event(
    h: Hrefs, rel: str, href: str, kind: str, resource: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One event about a resource; it embeds the resource only in the embedded_events profile.

    The reference's event samples are link-only (me_ref.md, missedItems_ref.md, conversation_ref.md)
    except where it shows otherwise; those callers build their own embedded events.
    """
    body: dict[str, Any] = {"link": {"rel": rel, "href": href}}
    if resource is not None and h.config.embedded_events:
        body["_embedded"] = {rel: resource}
    body["type"] = kind
    return body


def communication_updated_event(h: Hrefs, app: Application) -> dict[str, Any]:
    """`communication updated` after makeMeAvailable: always embedded, as the reference's trace shows it."""
    return {
        "link": {"rel": "communication", "href": h.under("communication")},
        "_embedded": {"communication": communication_body(h, app)},
        "type": "updated",
    }


def events_body(h: Hrefs, channel: EventChannel, ack: int) -> dict[str, Any]:
    """Return batch `ack` of the channel: consecutive events of one sender share a sender entry."""
    onward = "resume" if ack in channel.resumed else "next"
    body: dict[str, Any] = {
        "_links": {"self": {"href": h.events(ack)}, onward: {"href": h.events(ack + 1)}}
    }
    senders: list[dict[str, Any]] = []
    for item in channel.batches.get(ack, []):
        last = senders[-1] if senders else None
        if last is not None and (last["rel"], last["href"]) == (item.sender_rel, item.sender_href):
            last["events"].append(item.body)
        else:
            senders.append(
                {"rel": item.sender_rel, "href": item.sender_href, "events": [item.body]}
            )
    if senders:
        body["sender"] = senders
    return body


def resync_body(h: Hrefs, acked: int) -> dict[str, Any]:
    """Return the answer to an `ack` out of range: only a link back to the oldest unacknowledged batch."""
    return {"_links": {"resync": {"href": h.events(acked)}}}


# Conversation logs ------------------------------------------------------------------------------


def conversation_logs_body(h: Hrefs, logs: list[ConversationLogRecord]) -> dict[str, Any]:
    """Return the log collection: hrefs only, always an array (conversationLogs_ref.md)."""
    return {
        "rel": "conversationLogs",
        "_links": {
            "self": {"href": h.under("communication/conversationLogs")},
            "conversationLog": h.many([h.log(log.log_id) for log in logs]),
        },
    }


def conversation_log_body(h: Hrefs, log: ConversationLogRecord) -> dict[str, Any]:
    """One log with every property and link of conversationLog_ref.md."""
    href = h.log(log.log_id)
    total = log.total_recipients_count
    return {
        "rel": "conversationLog",
        "creationTime": json_date(log.creation_time),
        "direction": log.direction,
        "importance": log.importance,
        "modalities": list(log.modalities),
        "onlineMeetingUri": log.online_meeting_uri,
        "previewMessage": log.preview_message,
        "status": log.status,
        "subject": log.subject,
        "threadId": log.thread_id,
        "totalRecipientsCount": total if total is not None else len(log.recipients),
        "type": log.type,
        "_links": h.links(
            self=href,
            continueAudio=f"{href}/continueAudio",
            continueAudioVideo=f"{href}/continueAudioVideo",
            continueMessaging=f"{href}/continueMessaging",
            continuePhoneAudio=f"{href}/continuePhoneAudio",
            continueVideo=f"{href}/continueVideo",
            conversationLogTranscripts=f"{href}/conversationLogTranscripts",
            markAsRead=f"{href}/markAsRead",
        ),
        "_embedded": {
            "conversationLogRecipient": [
                recipient_body(h, log, index, recipient)
                for index, recipient in enumerate(log.recipients)
            ]
        },
    }


def recipient_body(
    h: Hrefs, log: ConversationLogRecord, index: int, recipient: Recipient
) -> dict[str, Any]:
    """Return a conversationLogRecipient (conversationLogRecipient_ref.md)."""
    contact = h.person(recipient.sip_uri)
    return {
        "rel": "conversationLogRecipient",
        "displayName": recipient.display_name,
        "sipUri": recipient.sip_uri,
        "_links": h.links(
            self=f"{h.log(log.log_id)}/conversationLogRecipient/{index}",
            contact=contact,
            contactPhoto=f"{contact}/contactPhoto",
            contactPresence=f"{contact}/contactPresence",
        ),
    }


def transcripts_body(h: Hrefs, log: ConversationLogRecord, user: User) -> dict[str, Any]:
    """Return a one-page transcript list: one entry per log, audio or message as the log's type says."""
    href = f"{h.log(log.log_id)}/conversationLogTranscripts"
    counterpart = log.recipients[0].sip_uri if log.recipients else user.sip_uri
    entry: dict[str, Any] = {
        "rel": "conversationLogTranscript",
        "timeStamp": json_date(log.creation_time),
        "_links": h.links(self=f"{href}/0", contact=h.person(counterpart), me=h.under("me")),
    }
    if "Messaging" in log.modalities:
        text = quote(log.preview_message)
        entry["_embedded"] = {
            "messageTranscript": {
                "rel": "messageTranscript",
                "_links": {"plainMessage": {"href": f"data:text/plain;charset=utf-8,{text}"}},
            }
        }
    else:
        entry["_embedded"] = {
            "audioTranscript": {
                "rel": "audioTranscript",
                "duration": "00:00:00" if log.status == "Missed" else "00:03:12",
                "status": "Unknown" if log.status == "Missed" else "Ended",
            }
        }
    return {
        "rel": "conversationLogTranscripts",
        "_links": h.links(self=href),
        "_embedded": {"conversationLogTranscript": [entry]},
    }


def missed_items_body(h: Hrefs, logs: list[ConversationLogRecord], user: User) -> dict[str, Any]:
    """Counters derived from the mailbox, so unread never exceeds total (missedItems_ref.md)."""
    missed = [log for log in logs if log.status == "Missed"]
    voicemails = max(user.voicemails, 0)
    return {
        "rel": "missedItems",
        "conversationLogsCount": len(logs),
        "conversationLogsNotifications": "Enabled",
        "missedConversationsCount": len(missed),
        "unreadMissedConversationsCount": sum(1 for log in missed if log.unread),
        "unreadVoicemailsCount": min(max(user.unread_voicemails, 0), voicemails),
        "voiceMailsCount": voicemails,
        "_links": h.links(self=h.under("communication/missedItems")),
    }
