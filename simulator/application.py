"""The application and its user: create/get/delete, me (with phones), makeMeAvailable and reportMyActivity."""

from __future__ import annotations

from dataclasses import dataclass
import re
import secrets
import time
from typing import Any
import uuid

from simulator.peripheral import phone_body, phone_numbers, phones_body
from simulator.pool import Pool
from simulator.presence import ME_RESOURCES, PREFERRED_AVAILABILITY, me_event, publish
import simulator.representations as rep
from simulator.state import Application, EventChannel
from simulator.wire import (
    Call,
    Reply,
    UcwaReplyError,
    empty_reply,
    invalid_parameter,
    json_reply,
)

SIGN_IN_MODALITIES = {"messaging": "Messaging", "phoneaudio": "PhoneAudio"}
OTHER_MODALITIES = frozenset(
    {"audio", "video", "applicationsharing", "datacollaboration", "panoramicvideo"}
)
MESSAGE_FORMATS = frozenset({"Plain", "Html"})
AUDIO_PREFERENCES = frozenset({"PhoneAudio", "VoipAudio"})
PHONE_NUMBER = re.compile(r"(?:tel:\+|\+)?(\d{4,15})")


def normalise_phone(name: str, value: Any, country_code: str) -> str:
    """Return the server's normalisation: `tel:+<E.164>`; a bare 10-digit number gets the country code.

    The simulator's one phone-number rule: makeMeAvailable and continuePhoneAudio both apply it,
    and `name` is the input the 400 ParameterValidationFailure names.
    """
    if not isinstance(value, str):
        raise invalid_parameter(name)
    match = PHONE_NUMBER.fullmatch(value.strip())
    if match is None or (value.startswith("tel:") and not value.startswith("tel:+")):
        raise invalid_parameter(name)
    digits = match.group(1)
    if "+" not in value and len(digits) == 10:
        digits = f"{country_code}{digits}"
    return f"tel:+{digits}"


def new_etag() -> str:
    """Return a communication etag the way the pool writes them: ten digits."""
    return str(secrets.randbelow(9_000_000_000) + 1_000_000_000)


@dataclass(frozen=True, slots=True)
class Availability:
    """makeMeAvailable's validated input."""

    modalities: list[str]
    formats: list[str]
    sign_in_as: str | None
    """None when the client sent no signInAs: the user's availability is left as it is."""
    audio: str
    number: str | None


def parse_availability(values: dict[str, Any], country_code: str) -> Availability:
    """Validate makeMeAvailable's input in the reference's order of checks."""
    raw_modalities = values.get("supportedmodalities", ["Messaging"])
    if not isinstance(raw_modalities, list) or not all(
        isinstance(item, str) for item in raw_modalities
    ):
        raise invalid_parameter("supportedModalities")
    modalities: list[str] = []
    for item in raw_modalities:
        if item.lower() in OTHER_MODALITIES:
            raise UcwaReplyError(
                403,
                "Forbidden",
                message=(
                    "The application is attempting to use modalities other than Messaging "
                    "and Phone Audio."
                ),
            )
        if item.lower() not in SIGN_IN_MODALITIES:
            raise invalid_parameter("supportedModalities")
        modalities.append(SIGN_IN_MODALITIES[item.lower()])
    formats = values.get("supportedmessageformats", ["Plain"])
    if not isinstance(formats, list) or not set(formats) <= MESSAGE_FORMATS:
        raise invalid_parameter("supportedMessageFormats")
    sign_in_as = values.get("signinas")
    if sign_in_as is not None and sign_in_as not in PREFERRED_AVAILABILITY:
        raise invalid_parameter("signInAs")
    audio = values.get("audiopreference", "VoipAudio")
    if audio not in AUDIO_PREFERENCES:
        raise invalid_parameter("audioPreference")
    phone = values.get("phonenumber")
    number = (
        normalise_phone("phoneNumber", phone, country_code) if phone not in (None, "") else None
    )
    return Availability(modalities, [str(item) for item in formats], sign_in_as, str(audio), number)


class ApplicationHandlers:
    """Handlers of the application, me and the two availability actions."""

    def __init__(self, pool: Pool) -> None:
        """Share the pool with the other families."""
        self.pool = pool

    def _body(self, app: Application) -> dict[str, Any]:
        return rep.application_body(self.pool.hrefs(app), app, self.pool.user)

    async def post_applications(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Register an application; the same endpointId+instanceId gets the existing one back."""
        pool = self.pool
        values = call.input()
        fields: dict[str, str] = {}
        for name in ("userAgent", "endpointId", "culture"):
            value = values.get(name.lower())
            if not isinstance(value, str) or not value.strip():
                raise invalid_parameter(name, "Missing")
            if len(value) > 100:
                raise invalid_parameter(name)
            fields[name] = value
        instance = values.get("instanceid")
        if instance is not None and (not isinstance(instance, str) or len(instance) > 100):
            raise invalid_parameter("instanceId")
        for existing in list(pool.applications.values()):
            pool.check_expiry(existing)
            if existing.state == "expired":
                pool.remove_app(existing)
            elif existing.endpoint_id == fields["endpointId"] and existing.instance_id == instance:
                return json_reply(200, self._body(existing), [("Etag", existing.etag)])
        if len(pool.applications) >= pool.config.max_applications:
            raise UcwaReplyError(410, "Gone", "TooManyApplications")
        now = time.monotonic()
        new = Application(
            app_id=pool.next_id(),
            registration_id=uuid.uuid4().hex,
            endpoint_id=fields["endpointId"],
            instance_id=instance,
            user_agent=fields["userAgent"],
            culture=fields["culture"],
            etag=str(uuid.uuid4()),
            origin=call.origin,
            channel=EventChannel(last_release=now),
            last_activity=now,
            communication_etag=new_etag(),
            put_guard=str(uuid.uuid4()),
        )
        pool.applications[new.app_id] = new
        return json_reply(201, self._body(new), [("Etag", new.etag)])

    async def get_application(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Return the application as it is now (me's links depend on makeMeAvailable)."""
        assert app is not None
        return json_reply(200, self._body(app), [("Etag", app.etag)])

    async def delete_application(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Sign the application out; a held P-GET is released with 404 ApplicationNotFound."""
        assert app is not None
        self.pool.remove_app(app)
        publish(self.pool, ("presence",))  # one endpoint fewer
        return empty_reply()

    async def get_me(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Return the user resource of this application."""
        assert app is not None
        return json_reply(200, rep.me_body(self.pool.hrefs(app), app, self.pool.user))

    async def get_phones(
        self, call: Call, app: Application | None, params: dict[str, str]
    ) -> Reply:
        """Return the user's phones, or one of them."""
        assert app is not None
        h = self.pool.hrefs(app)
        if "kind" not in params:
            return json_reply(200, phones_body(h, self.pool.user))
        number = phone_numbers(self.pool.user).get(params["kind"])
        if number is None:
            raise UcwaReplyError(404, "NotFound")
        return json_reply(200, phone_body(h, params["kind"], number))

    async def post_make_me_available(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Leave lurker mode: me gains presence/note/location, communication gets the modalities.

        The events follow the reference's own trace (ReceiveAnIM.md step 7): me updated, then
        presence, note and location added (sender me), then communication updated. A signInAs
        sets the user's manual availability (simulator.presence): a client that sends one
        claims the user's availability, whatever the user does elsewhere.
        """
        assert app is not None
        if app.available:
            raise UcwaReplyError(
                409,
                "Conflict",
                "AlreadyExists",
                "Multiple invocations of this operation is not valid.",
            )
        pool = self.pool
        wanted = parse_availability(call.input(), pool.config.country_code)
        if wanted.sign_in_as is not None:
            pool.presence.manual = wanted.sign_in_as
        publish(pool)  # to the applications already available; this one reads it below
        app.available = True
        app.callback_number = wanted.number
        app.supported_modalities = wanted.modalities
        app.supported_message_formats = wanted.formats
        app.audio_preference = wanted.audio
        app.last_activity = time.monotonic()
        app.communication_etag = new_etag()
        h = pool.hrefs(app)
        me = h.under("me")
        pool.emit(app, "me", me, rep.event(h, "me", me, "updated", rep.me_body(h, app, pool.user)))
        for rel in ME_RESOURCES:
            me_event(pool, app, rel, "added")
        communication = rep.communication_updated_event(h, app)
        pool.emit(app, "communication", h.under("communication"), communication)
        publish(pool, ("presence",))  # one endpoint more: an Offline user is now Away
        return empty_reply()

    async def post_report_my_activity(
        self, call: Call, app: Application | None, _: dict[str, str]
    ) -> Reply:
        """Note that the user is active on this application: its endpoint is Online.

        It also keeps an available application alive. Only this application's endpoint
        changes: MeDashboard.md, "only the availability of the user from the current
        application".
        """
        assert app is not None
        if not app.available:
            raise UcwaReplyError(409, "Conflict", "MakeMeAvailableRequired")
        app.last_activity = app.activity_reported = time.monotonic()
        publish(self.pool, ("presence",))
        return empty_reply()
