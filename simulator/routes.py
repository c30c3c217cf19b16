"""The UCWA route table, in the order a client meets the resources: discovery, auth, application, me's presence, events, communication, logs, call-back."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.advertised import AdvertisedHandlers
from simulator.application import ApplicationHandlers
from simulator.batch import BatchHandlers
from simulator.callback import CallbackHandlers
from simulator.communication import CommunicationHandlers
from simulator.discovery import DiscoveryHandlers
from simulator.events import EventHandlers
from simulator.logs import LogHandlers
from simulator.peripheral import ACTIONS, LOG_ACTIONS, RESOURCES
from simulator.presence import MeHandlers
from simulator.routing import Route, route

APP = r"/ucwa/oauth/v1/applications/(?P<app>\d+)"
LOG = rf"{APP}/communication/conversationLogs/(?P<log>[0-9A-Za-z_-]+)"
CONVERSATION = rf"{APP}/communication/conversations/(?P<conversation>\d+)"
PERSON = rf"{APP}/people/(?P<address>[^/]+)"


@dataclass(frozen=True, slots=True)
class Families:
    """One handler object per resource family, as the server composed them."""

    discovery: DiscoveryHandlers
    application: ApplicationHandlers
    me: MeHandlers
    events: EventHandlers
    batch: BatchHandlers
    communication: CommunicationHandlers
    logs: LogHandlers
    callback: CallbackHandlers
    advertised: AdvertisedHandlers


def ucwa_routes(f: Families) -> list[Route]:
    """List the resources the project's flow uses first, then those advertised only so links resolve.

    The first match wins, so a specific path (a RESOURCES entry under people/) stays before a
    pattern that would also match it (a contact).
    """
    return [*_flow_routes(f), *_advertised_routes(f)]


def _flow_routes(f: Families) -> list[Route]:
    d, a, c, cb, lg = f.discovery, f.application, f.communication, f.callback, f.logs
    return [
        route("root", "/", open_=True, get=d.get_root),
        route("root", r"/autodiscover/autodiscoverservice\.svc/root", open_=True, get=d.get_root),
        route("user", r"/autodiscover/autodiscoverservice\.svc/root/oauth/user", open_=True,
              get=d.get_user),
        route("oauthtoken", "/WebTicket/oauthtoken", open_=True, post=d.post_token),
        route("applications", "/ucwa/oauth/v1/applications", post=a.post_applications),
        route("application", APP, get=a.get_application, delete=a.delete_application),
        route("me", f"{APP}/me", get=a.get_me),
        route("makeMeAvailable", f"{APP}/communication/makeMeAvailable",
              post=a.post_make_me_available),
        route("reportMyActivity", f"{APP}/reportMyActivity", post=a.post_report_my_activity),
        route("presence", f"{APP}/me/presence", get=f.me.get_part, post=f.me.post_presence),
        route("note", f"{APP}/me/note", get=f.me.get_part, post=f.me.post_note),
        route("location", f"{APP}/me/location", get=f.me.get_part, post=f.me.post_location),
        route("events", f"{APP}/events", get=f.events.get_events),
        route("batch", f"{APP}/batch", post=f.batch.post_batch),
        route("communication", f"{APP}/communication", get=c.get_communication),
        route("missedItems", f"{APP}/communication/missedItems", get=c.get_missed_items),
        route("conversationLogs", f"{APP}/communication/conversationLogs",
              get=lg.get_conversation_logs),
        route("conversationLog", LOG, get=lg.get_conversation_log,
              delete=lg.delete_conversation_log),
        route("conversationLogRecipient", rf"{LOG}/conversationLogRecipient/(?P<index>\d+)",
              get=lg.get_recipient),
        route("conversationLogTranscripts", f"{LOG}/conversationLogTranscripts",
              get=lg.get_transcripts),
        route("markAsRead", f"{LOG}/markAsRead", post=lg.post_mark_as_read),
        route("continuePhoneAudio", f"{LOG}/continuePhoneAudio",
              post=cb.post_continue_phone_audio),
        route("phoneAudioInvitation", rf"{APP}/communication/invitations/(?P<invitation>\d+)",
              get=cb.get_invitation),
        route("conversation", CONVERSATION, get=cb.get_conversation),
        route("phoneAudio", f"{CONVERSATION}/phoneAudio", get=cb.get_phone_audio),
    ]  # fmt: skip


def _advertised_routes(f: Families) -> list[Route]:
    adv, a, cb = f.advertised, f.application, f.callback
    refuse = adv.post_not_supported
    return [
        route("xframe", r"/autodiscover/XFrame/XFrame\.html", open_=True,
              get=f.discovery.get_xframe),
        *(route(rel, f"{APP}/{path}", get=adv.get_resource) for rel, path in RESOURCES.items()),
        *(route(rel, f"{APP}/{path}", post=refuse) for rel, path in ACTIONS.items()),
        route("photo", f"{APP}/photo", get=adv.get_photo),
        route("phones", f"{APP}/me/phones", get=a.get_phones),
        route("phone", rf"{APP}/me/phones/(?P<kind>work|mobile|home|other)", get=a.get_phones),
        route("contactPhoto", f"{PERSON}/contactPhoto", get=adv.get_photo),
        route("contactPresence", f"{PERSON}/contactPresence", get=adv.get_contact),
        route("contact", PERSON, get=adv.get_contact),
        route("conversations", f"{APP}/communication/conversations", get=cb.get_conversations),
        route("participants", f"{CONVERSATION}/participants", get=cb.get_participant),
        route("participant", f"{CONVERSATION}/participants/(?P<address>[^/]+)",
              get=cb.get_participant),
        route("logAction", rf"{LOG}/(?:{'|'.join(LOG_ACTIONS)})", post=refuse),
        route("conversationLogTranscript", rf"{LOG}/conversationLogTranscripts/0",
              get=f.logs.get_transcript),
        route("cancel", rf"{APP}/communication/invitations/\d+/cancel", post=refuse),
        route("phoneAudioAction", f"{CONVERSATION}/phoneAudio/(?:stopPhoneAudio|holdPhoneAudio)",
              post=refuse),
    ]  # fmt: skip
