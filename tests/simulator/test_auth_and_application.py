"""Discovery, the challenge, the token endpoint, applications and their lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from simulator import Simulator
from tests.simulator.conftest import Walker

MakeSim = Callable[..., Awaitable[Simulator]]


async def test_root_on_slash_and_redirect_knob(make_sim: MakeSim, session: Any) -> None:
    sim = await make_sim(root_redirect="{origin}/autodiscover/autodiscoverservice.svc/root")
    walker = Walker(sim, session)
    redirect = (await walker.get("/", auth=False)).json
    assert redirect == {"_links": {"redirect": {"href": sim.discovery_url}}}
    assert (
        "user"
        in (await walker.get(redirect["_links"]["redirect"]["href"], auth=False)).json["_links"]
    )


async def test_challenge_headers(sim: Simulator, walker: Walker) -> None:
    root = (await walker.get(sim.discovery_url, auth=False)).json
    resp = await walker.get(root["_links"]["user"]["href"], auth=False)
    assert resp.status == 401
    assert resp.headers["Content-Type"].startswith("text/html")
    bearer, oauth = resp.headers.getall("WWW-Authenticate")
    assert bearer.startswith("Bearer trusted_issuers=")
    assert oauth == (
        f'MsRtcOAuth href="{sim.base_url}/WebTicket/oauthtoken",'
        'grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password"'
    )


async def test_unquoted_challenge_href(make_sim: MakeSim, session: Any) -> None:
    sim = await make_sim(quote_challenge_href=False)
    resp = await Walker(sim, session).get("/ucwa/oauth/v1/applications", auth=False)
    assert (
        f"href={sim.base_url}/WebTicket/oauthtoken," in resp.headers.getall("WWW-Authenticate")[1]
    )


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "username": "alice@contoso.com", "password": "x"}, "invalid_grant"),
        ({"grant_type": "password", "username": "mallory@contoso.com", "password": "Pass@word1"}, "invalid_grant"),
        ({"grant_type": "urn:microsoft.rtc:windows"}, "unsupported_grant_type"),
        ({"grant_type": "password", "username": "alice@contoso.com"}, "invalid_request"),
        ({}, "invalid_request"),
    ],
)  # fmt: skip
async def test_token_errors(walker: Walker, form: dict[str, str], error: str) -> None:
    resp = await walker.request("POST", "/WebTicket/oauthtoken", data=form, auth=False)
    assert resp.status == 400
    assert resp.json == {"error": error}
    if error != "invalid_request":
        assert resp.headers["X-Ms-diagnostics"].startswith("280")


async def test_token_with_configured_username(sim: Simulator, walker: Walker) -> None:
    form = {"grant_type": "password", "username": "contoso\\ALICE", "password": "Pass@word1"}
    resp = await walker.request("POST", "/WebTicket/oauthtoken", data=form, auth=False)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.json["access_token"].startswith("cwt=")
    assert resp.json["token_type"] == "Bearer"
    assert resp.json["ms_rtc_identityscope"] == "local"


async def test_token_lifetime_and_expiry(make_sim: MakeSim, session: Any) -> None:
    sim = await make_sim(token_lifetime=0.2)
    walker = Walker(sim, session)
    await walker.sign_in()
    applications = walker.user["_links"]["applications"]["href"]
    await asyncio.sleep(0.3)
    resp = await walker.post(applications, {"userAgent": "a", "endpointId": "b", "culture": "c"})
    assert resp.status == 401
    assert "MsRtcOAuth" in resp.headers.getall("WWW-Authenticate")[1]


async def test_expire_tokens(sim: Simulator, walker: Walker) -> None:
    await walker.create_app()
    sim.expire_tokens()
    assert (await walker.get(walker.app_url)).status == 401


async def test_user_pool_redirect(make_sim: MakeSim, session: Any) -> None:
    sim = await make_sim(user_redirect="https://pool2.contoso.com/autodiscover/user")
    user = await Walker(sim, session).sign_in()
    assert user["_links"]["redirect"]["href"] == "https://pool2.contoso.com/autodiscover/user"
    assert "applications" not in user["_links"]


async def test_application_body_and_pascal_case_input(walker: Walker) -> None:
    await walker.sign_in()
    body = {"UserAgent": "ua", "EndpointId": "ep", "Culture": "en-US", "InstanceId": "i1"}
    resp = await walker.post(walker.user["_links"]["applications"]["href"], body)
    assert resp.status == 201
    app = resp.json
    assert (app["rel"], app["type"], app["endpointId"], app["instanceId"]) == (
        "application", "Browser", "ep", "i1"
    )  # fmt: skip
    assert set(app["_links"]) == {"self", "batch", "events", "policies", "reportMyNetwork"}
    assert app["_links"]["events"]["href"].endswith("/events?ack=1")
    assert set(app["_embedded"]) == {"communication", "me", "onlineMeetings", "people"}
    communication = app["_embedded"]["communication"]
    assert {"conversationLogs", "missedItems", "startPhoneAudio"} <= set(communication["_links"])
    assert "please pass this in a PUT request" in communication.values()
    again = await walker.post(walker.user["_links"]["applications"]["href"], body)
    assert again.status == 200
    assert again.json["_links"]["self"] == app["_links"]["self"]


@pytest.mark.parametrize(
    "body",
    [
        {"endpointId": "ep", "culture": "en-US"},
        {"userAgent": "ua", "endpointId": "", "culture": "en-US"},
        {"userAgent": "u" * 101, "endpointId": "ep", "culture": "en-US"},
    ],
)
async def test_application_validation(walker: Walker, body: dict[str, str]) -> None:
    await walker.sign_in()
    resp = await walker.post(walker.user["_links"]["applications"]["href"], body)
    assert resp.status == 400
    assert (resp.json["code"], resp.json["subcode"]) == ("BadRequest", "ParameterValidationFailure")
    assert resp.json["parameters"][0]["name"] in {"userAgent", "endpointId"}


async def test_malformed_json_is_deserialization_failure(walker: Walker) -> None:
    await walker.sign_in()
    resp = await walker.request(
        "POST",
        walker.user["_links"]["applications"]["href"],
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert resp.json["subcode"] == "DeserializationFailure"


async def test_too_many_applications(make_sim: MakeSim, session: Any) -> None:
    sim = await make_sim(max_applications=1)
    walker = Walker(sim, session)
    assert (await walker.create_app()).status == 201
    resp = await walker.create_app(endpointId="other")
    assert (resp.status, resp.json["code"], resp.json["subcode"]) == (
        410, "Gone", "TooManyApplications"
    )  # fmt: skip


async def test_make_me_available_rules(walker: Walker) -> None:
    await walker.create_app()
    report = walker.link("me", "self").replace("/me", "/reportMyActivity")
    early = await walker.post(report)
    assert (early.status, early.json["subcode"]) == (409, "MakeMeAvailableRequired")
    make_me_available = walker.link("me", "makeMeAvailable")
    forbidden = await walker.post(make_me_available, {"supportedModalities": ["Audio"]})
    assert (forbidden.status, forbidden.json["code"]) == (403, "Forbidden")
    bad_phone = await walker.post(make_me_available, {"phoneNumber": "call me"})
    assert bad_phone.json["subcode"] == "ParameterValidationFailure"
    assert (await walker.post(make_me_available, {"phoneNumber": "4255552222"})).status == 204
    communication = (await walker.get(walker.link("communication", "self"))).json
    assert communication["phoneNumber"] == "tel:+14255552222"
    again = await walker.post(make_me_available, {})
    assert (again.status, again.json["subcode"]) == (409, "AlreadyExists")


async def test_pget_idle_expiry_gives_410_then_404(make_sim: MakeSim, session: Any) -> None:
    sim = await make_sim(pget_idle_expiry=0.1)
    walker = Walker(sim, session)
    await walker.create_app()
    await asyncio.sleep(0.15)
    first = await walker.get(walker.app_url)
    assert (first.status, first.json["subcode"]) == (410, "InactiveApplicationExpired")
    second = await walker.get(walker.app_url)
    assert (second.status, second.json["subcode"]) == (404, "ApplicationNotFound")


async def test_activity_expiry_releases_parked_pget(make_sim: MakeSim, session: Any) -> None:
    sim = await make_sim(activity_expiry=0.2, expiry_check_interval=0.05)
    walker = Walker(sim, session)
    await walker.create_app()
    await walker.make_me_available()
    resp = await walker.get(walker.link("events"))  # the makeMeAvailable events
    parked = await walker.get(resp.json["_links"]["next"]["href"])
    assert (parked.status, parked.json["subcode"]) == (410, "InactiveApplicationExpired")
    assert (await walker.get(walker.app_url)).status == 404


@pytest.mark.parametrize(("kind", "status"), [("not_found", 404), ("expired", 410)])
async def test_drop_application(sim: Simulator, walker: Walker, kind: str, status: int) -> None:
    await walker.create_app()
    assert sim.drop_application(kind) == [walker.app["_links"]["self"]["href"].split("/")[-1]]  # type: ignore[arg-type]
    assert (await walker.get(walker.app_url)).status == status
    assert (await walker.get(walker.app_url)).status == 404


async def test_delete_releases_parked_pget(sim: Simulator, walker: Walker) -> None:
    await walker.create_app()
    pget = asyncio.create_task(walker.get(walker.link("events")))
    await sim.wait_for_parked_pget()
    assert (await walker.request("DELETE", walker.app_url)).status == 204
    released = await pget
    assert (released.status, released.json["subcode"]) == (404, "ApplicationNotFound")


async def test_headers_like_a_real_pool(walker: Walker) -> None:
    await walker.create_app()
    resp = await walker.get(walker.app_url)
    assert resp.headers["X-MS-UcwaVersion"]
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["Etag"]
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"


async def test_unknown_path_and_method(walker: Walker) -> None:
    await walker.create_app()
    unknown = await walker.get(walker.app_url + "/nowhere")
    assert (unknown.status, unknown.json["code"]) == (404, "NotFound")
    assert (await walker.get(walker.link("people", "self"))).json["rel"] == "people"
    assert (await walker.request("PUT", walker.app_url)).status == 405


async def test_never_binds_beyond_loopback() -> None:
    from simulator import SimulatorConfig

    with pytest.raises(ValueError, match="loopback"):
        SimulatorConfig(host="0.0.0.0")  # noqa: S104


_ = aiohttp
