"""Parsers and validators, checked against the reference's own samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json

import pytest
from yarl import URL

from custom_components.ucwa.api import (
    ConversationLog,
    MissedItems,
    PhoneAudioInvitationEvent,
    UcwaApiError,
    UcwaApplicationError,
    parse_ucwa_datetime,
)
from custom_components.ucwa.api.auth import (
    find_ms_rtc_oauth,
    grant_types,
    parse_www_authenticate,
)
from custom_components.ucwa.api.batch import (
    build_batch_request,
    decode_body,
    parse_batch_response,
)
from custom_components.ucwa.api.client import UcwaConfig, error_from_response
from custom_components.ucwa.api.models import (
    link_hrefs,
    log_id_from_href,
    normalize_phone_number,
    validate_operation_id,
)

from .conftest import reference, reference_text

POOL = "https://fe1.contoso.com:443/"


# --- WWW-Authenticate -------------------------------------------------------------------------


def test_challenge_from_reference_401() -> None:
    headers = reference("CreateAnApplication__step-4")["http"]["headers"]["WWW-Authenticate"]
    challenges = parse_www_authenticate(headers)
    assert [c.scheme for c in challenges] == ["Bearer", "MsRtcOAuth"]
    oauth = find_ms_rtc_oauth(challenges)
    assert oauth is not None
    assert oauth.params["href"] == "https://lyncweb.contoso.com/WebTicket/oauthtoken"
    assert grant_types(oauth) == [
        "urn:microsoft.rtc:windows",
        "urn:microsoft.rtc:anonmeeting",
        "password",
    ]
    assert challenges[0].params["client_id"] == "00000004-0000-0ff1-ce00-000000000000"


@pytest.mark.parametrize(
    "header",
    [
        # unquoted href, as AuthenticationInUCWA.md shows it
        'MsRtcOAuth href=https://lyncweb.contoso.com/WebTicket/oauthtoken,grant_type="password"',
        # several challenges folded into one line by a proxy
        (
            'Negotiate, Bearer trusted_issuers="a@b, c@d", client_id="x", '
            'msrtcoauth href="https://lyncweb.contoso.com/WebTicket/oauthtoken", '
            'grant_type="urn:microsoft.rtc:windows,password"'
        ),
        # unquoted comma list
        (
            "MsRtcOAuth href=https://lyncweb.contoso.com/WebTicket/oauthtoken,"
            "grant_type=urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password"
        ),
    ],
)
def test_challenge_variants(header: str) -> None:
    oauth = find_ms_rtc_oauth(parse_www_authenticate([header]))
    assert oauth is not None
    assert oauth.params["href"] == "https://lyncweb.contoso.com/WebTicket/oauthtoken"
    assert "password" in grant_types(oauth)


def test_challenge_edge_cases() -> None:
    challenges = parse_www_authenticate(
        ['orphan="x", Basic realm="a \\"quoted\\" realm", NTLM, =bad, Digest']
    )
    assert [c.scheme for c in challenges] == ["Basic", "NTLM", "Digest"]
    assert challenges[0].params["realm"] == 'a "quoted" realm'
    assert find_ms_rtc_oauth(challenges) is None
    assert parse_www_authenticate([""]) == []


# --- batch ------------------------------------------------------------------------------------


def _split_http(text: str) -> tuple[str, bytes]:
    head, _, body = text.partition("\n\n")
    content_type = next(
        line.split(":", 1)[1].strip()
        for line in head.splitlines()
        if line.lower().startswith("content-type:")
    )
    return content_type, body.encode()


def test_batch_response_from_reference_strips_bom() -> None:
    # The sample abbreviates some objects as `{ ... }`; make those empty objects.
    text = reference_text("BatchingRequests__batch-examples-2").replace("{ ... }", "{}")
    content_type, body = _split_http(text)
    parts = parse_batch_response(content_type, body)
    assert [part.status for part in parts] == [200, 200]
    assert parts[0].json()["rel"] == "myContacts"
    assert parts[1].json()["name"] == "Dana Birkby"
    assert parts[1].content_type.startswith("application/json")


def test_batch_response_real_bom_and_crlf() -> None:
    log = reference("conversationLog_ref__get-json-response")["body"]
    raw = json.dumps(log).encode()
    body = (
        b"--b1\r\nContent-Type: application/http; msgtype=response\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
        b"\xef\xbb\xbf"
        + raw
        + b"\r\n--b1\r\nContent-Type: application/http; msgtype=response\r\n\r\n"
        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n"
        b'\xef\xbb\xbf{"code":"NotFound"}\r\n--b1--\r\n'
    )
    parts = parse_batch_response('multipart/batching; boundary="b1"', body)
    assert parts[0].json()["threadId"] == log["threadId"]
    assert parts[1].status == 404
    assert decode_body(b"\xef\xbb\xbf\xef\xbb\xbf{}") == "{}"


def test_batch_response_errors() -> None:
    with pytest.raises(ValueError, match="boundary"):
        parse_batch_response("multipart/batching", b"")
    with pytest.raises(ValueError, match="status line"):
        parse_batch_response("multipart/batching;boundary=x", b"--x\r\n\r\nnot http\r\n--x--")


def test_batch_request_matches_reference_shape() -> None:
    expected = reference_text("BatchingRequests__batch-examples-1")
    content_type, body = build_batch_request(
        [
            URL("https://lyncweb.contoso.com/ucwa/oauth/v1/applications/103/people/contacts"),
            URL("https://lyncweb.contoso.com/ucwa/oauth/v1/applications/103/me?x=1"),
        ],
        boundary="77f2569d-c005-442b-b856-782305305e5f",
    )
    assert content_type == "multipart/batching;boundary=77f2569d-c005-442b-b856-782305305e5f"
    text = body.decode()
    for line in (
        "--77f2569d-c005-442b-b856-782305305e5f",
        "Content-Type: application/http; msgtype=request",
        "GET /ucwa/oauth/v1/applications/103/people/contacts HTTP/1.1",
        "Host: lyncweb.contoso.com",
        "Accept: application/json",
        "--77f2569d-c005-442b-b856-782305305e5f--",
    ):
        assert line in expected
        assert line in text
    assert "GET /ucwa/oauth/v1/applications/103/me?x=1 HTTP/1.1" in text
    assert "\r\n" in text


# --- resources --------------------------------------------------------------------------------


def test_conversation_log_from_reference() -> None:
    body = reference("conversationLog_ref__get-json-response")["body"]
    log = ConversationLog.from_json(body, POOL)
    assert log.creation_time == datetime(2016, 9, 26, 23, 20, 24, 587000, tzinfo=UTC)
    assert log.direction == "Incoming"
    assert log.status == "Archived"
    assert not log.is_missed
    assert log.type == "AudioLog"
    assert "Audio" in log.modalities
    assert log.total_recipients_count == 91
    assert log.thread_id == "534e445ee854436a8abe02c24985f78a"
    assert log.continue_phone_audio_href == (
        "https://fe1.contoso.com:443/ucwa/v1/applications/192/communication/"
        "conversationLogs/conversationLog/continuePhoneAudio"
    )
    assert log.mark_as_read_href is not None
    assert log.log_id == "conversationLog"
    assert log.recipients
    assert log.recipients[0].sip_uri is not None


def test_conversation_log_list_and_ids() -> None:
    body = reference("conversationLogs_ref__get-json-response")["body"]
    hrefs = link_hrefs(body, "conversationLog", POOL)
    assert hrefs == [
        (
            "https://fe1.contoso.com:443/ucwa/v1/applications/192/communication/"
            "conversationLogs/conversationLog"
        )
    ]
    single = {"_links": {"conversationLog": {"href": "/a/b/AAMk%3D"}}}
    assert [log_id_from_href(h) for h in link_hrefs(single, "conversationLog", POOL)] == ["AAMk="]
    assert link_hrefs({}, "conversationLog", POOL) == []


def test_missed_items_from_reference() -> None:
    items = MissedItems.from_json(reference("missedItems_ref__get-json-response")["body"])
    assert items.missed_conversations_count == 5
    assert items.unread_voicemails_count == 51
    assert items.voicemails_count == 38
    assert items.conversation_logs_notifications == "Disabled"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("phoneAudioInvitation_ref__events-started", "started"),
        ("phoneAudioInvitation_ref__events-updated", "updated"),
    ],
)
def test_invitation_events_from_reference(name: str, kind: str) -> None:
    batch = reference(name)["body"]
    event = batch["sender"][0]["events"][0]
    parsed = PhoneAudioInvitationEvent.from_json(event, POOL)
    assert parsed is not None
    assert parsed.type == kind
    assert parsed.href.endswith("/communication/invitations/146")
    assert parsed.operation_id is None  # link-only event


def test_invitation_event_embedded_and_completed() -> None:
    invitation = reference("phoneAudioInvitation_ref__get-json-response")["body"]
    event = {
        "link": {"rel": "phoneAudioInvitation", "href": "/ucwa/v1/applications/192/x/146"},
        "type": "completed",
        "status": "Failure",
        "reason": {"code": "RemoteFailure", "subcode": "Declined", "message": "No."},
        "_embedded": {"phoneAudioInvitation": invitation},
    }
    parsed = PhoneAudioInvitationEvent.from_json(event, POOL)
    assert parsed is not None
    assert parsed.operation_id == "74cb7404e0a247d5a2d4eb0376a47dbf"
    assert parsed.state == "Connected"
    assert parsed.status == "Failure"
    assert parsed.reason is not None
    assert parsed.reason.subcode == "Declined"
    assert PhoneAudioInvitationEvent.from_json({"link": "x"}, POOL) is None
    assert PhoneAudioInvitationEvent.from_json({**event, "type": "weird"}, POOL) is None
    deleted = PhoneAudioInvitationEvent.from_json({**event, "type": "deleted"}, POOL)
    assert deleted is not None
    assert deleted.type == "completed"


def test_event_channel_samples_parse_as_json() -> None:
    for name in (
        "EventChannelDetails__sample-json-event-response",
        "missedItems_ref__events-updated",
        "OperationResource__example-3",
    ):
        body = reference(name)["body"]
        assert "next" in body["_links"]
        assert body["sender"][0]["events"]


# --- dates ------------------------------------------------------------------------------------


def test_dates() -> None:
    assert parse_ucwa_datetime("/Date(0)/") == datetime(1970, 1, 1, tzinfo=UTC)
    with_offset = parse_ucwa_datetime("/Date(1474932024587-0700)/")
    assert with_offset is not None
    assert with_offset.utcoffset() == timedelta(hours=-7)
    assert with_offset == datetime(2016, 9, 26, 23, 20, 24, 587000, tzinfo=UTC)
    assert parse_ucwa_datetime("/Date(1000+0130)/") is not None
    iso = parse_ucwa_datetime("2016-09-26T16:20:24.6066543-07:00")
    assert iso is not None
    assert iso.tzinfo is not None
    naive = parse_ucwa_datetime("2016-09-26T16:20:24")
    assert naive is not None
    assert naive.tzinfo == UTC
    assert parse_ucwa_datetime("yesterday") is None
    assert parse_ucwa_datetime(None) is None


# --- errors -----------------------------------------------------------------------------------


def test_error_mapping() -> None:
    body = json.dumps(reference("ErrorsAndInformationalMessages__error-sample-json")["body"])
    err = error_from_response(409, "application/json", body.encode())
    assert (err.status, err.code, err.subcode) == (409, "Conflict", "AlreadyExists")
    assert err.message is not None
    assert "409 Conflict/AlreadyExists" in str(err)

    html = error_from_response(502, "text/html", b"<html>Bad gateway</html>", "HTTP 502")
    assert (html.code, html.subcode, html.message) == (None, None, "HTTP 502")

    oauth = json.dumps(reference("AuthenticationInUCWA__error-conditions")["body"]).encode()
    assert error_from_response(400, "application/json;charset=UTF-8", oauth).code == (
        "unsupported_grant_type"
    )

    xml = (
        b'<?xml version="1.0"?><reason xmlns="http://schemas.microsoft.com/rtc/2012/03/ucwa">'
        b"<code>Gone</code><subcode>TooManyApplications</subcode><message>Too many</message>"
        b"</reason>"
    )
    gone = error_from_response(410, "application/vnd.microsoft.com.ucwa+xml", xml)
    assert isinstance(gone, UcwaApplicationError)
    assert gone.subcode == "TooManyApplications"

    expired = error_from_response(
        410, "application/json", b'{"code":"Gone","subcode":"InactiveApplicationExpired"}'
    )
    assert type(expired) is UcwaApiError
    garbage = error_from_response(500, "application/json", b"{not json", "HTTP 500")
    assert (garbage.code, garbage.message) == (None, "HTTP 500")
    assert str(UcwaApiError(500, None)) == "500 Unknown"


# --- input validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+14255551234", "tel:+14255551234"),
        ("+1 (425) 555-1234", "tel:+14255551234"),
        (" +1.425.555.1234 ", "tel:+14255551234"),
        ("tel:+14255551234", "tel:+14255551234"),
        ("+123", "tel:+123"),
    ],
)
def test_phone_number_normalised(value: str, expected: str) -> None:
    assert normalize_phone_number(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "sip:bob@contoso.com",
        "tel:14255551234",
        "+1 425 CALL NOW",
        "+12",
        "+" + "1" * 16,
        "++1",
        "14255551234",  # no + : which country?
        "425.555.1234",
        "+0123456",  # no country code starts with 0
    ],
)
def test_phone_number_rejected(value: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        normalize_phone_number(value)


def test_operation_id() -> None:
    assert validate_operation_id("74cb7404e0a247d5a2d4eb0376a47dbf") == (
        "74cb7404e0a247d5a2d4eb0376a47dbf"
    )
    for bad in ("", "x" * 51, "has space", "é"):
        with pytest.raises(ValueError, match="operation_id"):
            validate_operation_id(bad)


# --- config -----------------------------------------------------------------------------------


def test_config_hides_password_and_generates_endpoint() -> None:
    config = UcwaConfig(sign_in_address="sip:Alice@Contoso.com", password="hunter2")
    assert "hunter2" not in repr(config)
    assert "hunter2" not in str(config)
    assert config.domain == "contoso.com"
    assert len(config.endpoint_id) == 36
    assert UcwaConfig(sign_in_address="a@b.c", password="x").endpoint_id != config.endpoint_id
    assert UcwaConfig(sign_in_address="a@b.c", password="x", endpoint_id="e").endpoint_id == "e"
    with_list = UcwaConfig(
        sign_in_address="a@b.c",
        password="x",
        trusted_hosts=["lync.fabrikam.com"],  # type: ignore[arg-type]
    )
    assert with_list.trusted_hosts == ("lync.fabrikam.com",)


# --- edge cases a real server produces --------------------------------------------------------


def test_counters_tolerate_strings_booleans_and_junk() -> None:
    """Servers (and proxies rewriting JSON) send counts as strings; nonsense becomes None."""
    items = MissedItems.from_json(
        {
            "conversationLogsCount": "12",
            "missedConversationsCount": True,
            "unreadMissedConversationsCount": "-3",
            "unreadVoicemailsCount": "many",
            "voiceMailsCount": [1],
        }
    )
    assert items.conversation_logs_count == 12
    assert items.missed_conversations_count is None
    assert items.unread_missed_conversations_count == -3
    assert items.unread_voicemails_count is None
    assert items.voicemails_count is None


def test_conversation_log_with_single_recipient_and_list_links() -> None:
    """A lone embedded recipient may be an object, a link may be a list: both are read."""
    log = ConversationLog.from_json(
        {
            "_links": {
                "self": [{"href": "/ucwa/v1/applications/1/communication/conversationLogs/L1"}],
                "markAsRead": [],
            },
            "_embedded": {
                "conversationLogRecipient": {"displayName": "Dan", "sipUri": "sip:dan@x.com"}
            },
        },
        POOL,
    )
    assert log.log_id == "L1"
    assert (
        log.href
        == "https://fe1.contoso.com:443/ucwa/v1/applications/1/communication/conversationLogs/L1"
    )
    assert [r.sip_uri for r in log.recipients] == ["sip:dan@x.com"]
    assert log.mark_as_read_href is None
    no_links = ConversationLog.from_json({"_links": "oops"}, POOL, href="/a/b/L2")
    assert (no_links.log_id, no_links.continue_phone_audio_href) == ("L2", None)


def test_batch_response_tolerates_odd_header_lines_and_a_missing_end() -> None:
    body = (
        b"--b\r\nContent-Type: application/http; msgtype=response\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nnot a header\r\nContent-Type: application/json\r\n\r\n{}\r\n"
        b"--b\r\nContent-Type: application/http; msgtype=response\r\n\r\n"
        b"HTTP/1.1 204 No Content\r\n"
    )
    parts = parse_batch_response("multipart/batching; boundary=b", body)
    assert [part.status for part in parts] == [200, 204]
    assert list(parts[0].headers.items()) == [("Content-Type", "application/json")]
    assert parts[1].body == b""


def test_error_body_that_is_json_but_not_an_object() -> None:
    err = error_from_response(503, "application/json", b'["busy"]', "HTTP 503")
    assert (err.status, err.code, err.subcode, err.message) == (503, None, None, "HTTP 503")


def test_empty_stored_endpoint_id_is_replaced() -> None:
    config = UcwaConfig(sign_in_address="a@b.c", password="x", endpoint_id="")
    assert len(config.endpoint_id) == 36
