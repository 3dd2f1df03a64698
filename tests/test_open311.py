"""Open311 GeoReport v2 through a third-party client (civicbot's ``Open311Client``), on both databases.

civicbot is synchronous (urllib), so every call runs in a thread while the real gateway (uvicorn)
and the procedures service answer on the test's event loop. Its ``HttpTransport`` is the library's
own extension point: the subclass below only adds headers, the Host that names the town (the
tenant is always the Host) and, for posting, a resident's bearer token.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from civicbot import Endpoint, HttpError, HttpTransport, Open311Client
from civicbot.http import RateLimiter

from tests.conftest import GatewayClient, gateway_client, running_procedures

KITAKATA = "kitakata.localhost"
APPS = "/api/v1/applications"
#: A pothole in front of Kitakata city hall.
LAT, LONG = 37.6506, 139.8745


@pytest.fixture
async def gateway(region, nats_url, procedures_db):
    async with running_procedures(nats_url, procedures_db), gateway_client(region, nats_url) as client:
        yield client


class TownTransport(HttpTransport):
    """civicbot's transport, sending the town's Host and any other headers with every call."""

    def __init__(self, host: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(user_agent="aizu-tests", timeout=10, rate_limiter=RateLimiter(min_interval=0))
        self.headers = {"Host": host, **(headers or {})}

    def get_bytes(self, url: str, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> bytes:
        return super().get_bytes(url, params, {**self.headers, **(headers or {})})

    def post_form(self, url: str, data: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Any:
        return super().post_form(url, data, {**self.headers, **(headers or {})})


def open311(gateway: GatewayClient, host: str = KITAKATA, user: str | None = None, jurisdiction: str | None = None,
            **headers: str) -> Open311Client:
    if user is not None:
        headers["Authorization"] = f"Bearer {gateway.token(user)}"
    endpoint = Endpoint(
        id=host, name=host, base_url=f"http://127.0.0.1:{gateway.port}/open311/v2", write=True,
        api_key_required_for_write=False,
    )
    return Open311Client(endpoint, transport=TownTransport(host, headers), jurisdiction_id=jurisdiction)


def report_codes(region, slug: str) -> set[str]:
    offered = {o.code for o in region.town(slug).procedures}
    return {p.code for p in region.catalog.procedures if p.workflow == "report" and p.code in offered}


async def post_pothole(client: Open311Client, **extra: Any) -> str:
    form: dict[str, Any] = {
        "lat": LAT, "lng": LONG, "address_string": "喜多方市御清水東 市役所前",
        "description": "直径30cmほどの穴があります",
        "attributes": {"damage_type": "pothole", "traffic_impact": "hindered"},
        **extra,
    }
    prepared = await asyncio.to_thread(
        client.create_request, "road-damage", dry_run=False, confirm="SEND", validate_remote=True, **form
    )
    [created] = prepared.response
    assert created["service_request_id"] and created["service_notice"]
    return str(created["service_request_id"])


async def raw_post(client: Open311Client, form: dict[str, Any]) -> HttpError:
    """POST past civicbot's own checks (it refuses a missing place or lat 200 before sending)."""
    url = f"{client.endpoint.base_url}/requests.json"
    with pytest.raises(HttpError) as caught:
        await asyncio.to_thread(client.http.post_form, url, form)
    return caught.value


def open311_errors(error: HttpError, status: int) -> list[str]:
    """GeoReport's error format: a list of {code, description}, with the HTTP status as code."""
    assert error.status == status, error
    body = json.loads(error.body)
    assert isinstance(body, list) and body
    assert all(set(e) == {"code", "description"} and e["code"] == status for e in body), body
    return [e["description"] for e in body]


async def test_services_are_exactly_the_towns_report_procedures(gateway, region):
    client = open311(gateway, jurisdiction="kitakata")
    services = await asyncio.to_thread(client.list_services)
    assert {s["service_code"] for s in services} == report_codes(region, "kitakata")
    assert report_codes(region, "kitakata") >= {"road-damage", "streetlight-report", "illegal-dumping", "snow-removal-request"}
    road = next(s for s in services if s["service_code"] == "road-damage")
    assert road["service_name"] == region.standard("road-damage").name_ja
    assert road["type"] == "realtime" and road["metadata"] is True and road["group"] == "道路"
    assert "陥没" in road["keywords"].split(",")


async def test_the_jurisdiction_may_be_the_towns_code_and_english_is_on_request(gateway, region):
    client = open311(gateway, jurisdiction="072087", **{"Accept-Language": "en-GB,en;q=0.9,ja;q=0.5"})
    services = await asyncio.to_thread(client.list_services)
    road = next(s for s in services if s["service_code"] == "road-damage")
    assert road["service_name"] == region.standard("road-damage").name_en and road["group"] == "Roads"


async def test_a_service_definition_lists_the_form_as_attributes(gateway, region):
    client = open311(gateway)
    definition = await asyncio.to_thread(client.get_service_definition, "road-damage")
    assert definition["service_code"] == "road-damage"
    attributes = {a["code"]: a for a in definition["attributes"]}
    # description and phone are GeoReport's own fields; a photo has no form field in GeoReport.
    assert set(attributes) == {"damage_type", "traffic_impact"}  # traffic_impact: Kitakata's own extra field
    damage = attributes["damage_type"]
    assert damage["datatype"] == "singlevaluelist" and damage["required"] is True and damage["variable"] is True
    standard = next(f for f in region.standard("road-damage").fields if f.name == "damage_type")
    assert [v["key"] for v in damage["values"]] == [c.value for c in standard.choices]
    assert damage["values"][0]["name"] == standard.choices[0].label_ja
    assert sorted(a["order"] for a in attributes.values()) == [1, 2]
    streetlight = await asyncio.to_thread(client.get_service_definition, "streetlight-report")
    pole = next(a for a in streetlight["attributes"] if a["code"] == "pole_number")
    assert pole["datatype"] == "string" and pole["required"] is False


async def test_a_posted_report_is_open_in_the_list_and_by_id_without_the_reporters_identity(gateway):
    resident = open311(gateway, user="kitakata.resident", jurisdiction="kitakata")
    request_id = await post_pothole(resident, phone="090-1234-5678", first_name="太郎", email="taro@example.jp")
    public = open311(gateway)  # nobody signed in
    listed = await asyncio.to_thread(public.list_requests)
    mine = next(r for r in listed if r["service_request_id"] == request_id)
    one = await asyncio.to_thread(public.get_request, request_id)
    assert one == mine
    assert one["status"] == "open" and one["service_code"] == "road-damage"
    assert (one["lat"], one["long"]) == (LAT, LONG) and one["address"] == "喜多方市御清水東 市役所前"
    assert one["description"] == "直径30cmほどの穴があります"
    assert one["agency_responsible"] == "建設課" and one["expected_datetime"]
    assert one["requested_datetime"].endswith("+09:00")
    # The public projection names nobody: not the resident, their address, phone or account.
    me = (await gateway.get("/api/v1/me", headers=gateway.as_user("kitakata.resident"))).json()
    text = json.dumps(one, ensure_ascii=False)
    for secret in (me["identity"]["name"], me["identity"]["address"], me["subject"], "09012345678", "太郎", "taro@"):
        assert secret not in text
    # The town's caseworker sees the same report as an application, with the call-back number.
    detail = (await gateway.get(f"{APPS}/{request_id}", headers=gateway.as_user("kitakata.caseworker"))).json()
    assert detail["summary"]["channel"] == "online" and detail["summary"]["applicant_name"] == me["identity"]["name"]
    assert detail["answers"]["phone"] == "09012345678" and detail["answers"]["damage_type"] == "pothole"


async def test_a_report_closed_by_the_caseworker_shows_closed(gateway):
    request_id = await post_pothole(open311(gateway, user="kitakata.resident"))
    staff = gateway.as_user("kitakata.caseworker")
    for to in ("in_review", "closed"):
        moved = await gateway.post(f"{APPS}/{request_id}/transitions", json={"to": to, "comment": "現地確認 田中"}, headers=staff)
        assert moved.status_code == 200, moved.text
        shown = await asyncio.to_thread(open311(gateway).get_request, request_id)
        assert shown["status"] == ("open" if to == "in_review" else "closed")
    assert shown["status_notes"] == "対応が完了しました" and "田中" not in json.dumps(shown, ensure_ascii=False)
    assert shown["expected_datetime"] is None


async def test_filters_of_requests(gateway):
    resident = open311(gateway, user="kitakata.resident")
    closed_id = await post_pothole(resident)
    open_id = await post_pothole(resident)
    streetlight = await asyncio.to_thread(
        resident.create_request, "streetlight-report", dry_run=False, confirm="SEND", validate_remote=True,
        address_string="喜多方市字寺町 防犯灯12番", attributes={"problem": "flicker", "pole_number": "12"},
    )
    light_id = streetlight.response[0]["service_request_id"]
    staff = gateway.as_user("kitakata.caseworker")
    for to in ("in_review", "closed"):
        assert (await gateway.post(f"{APPS}/{closed_id}/transitions", json={"to": to}, headers=staff)).status_code == 200
    client = open311(gateway)

    def ids(**filters: Any) -> set[str]:
        return {r["service_request_id"] for r in client.list_requests(**filters)}

    ours = {closed_id, open_id, light_id}
    assert await asyncio.to_thread(ids, service_request_ids=[closed_id, light_id]) == {closed_id, light_id}
    assert ours & await asyncio.to_thread(ids, status="open") == {open_id, light_id}
    assert ours & await asyncio.to_thread(ids, status="closed") == {closed_id}
    assert ours & await asyncio.to_thread(ids, status="open,closed") == ours
    assert ours & await asyncio.to_thread(ids, service_code="streetlight-report") == {light_id}
    assert ours & await asyncio.to_thread(ids, service_code="road-damage,streetlight-report") == ours
    now = datetime.now(UTC)
    window = {"start_date": (now - timedelta(hours=1)).isoformat(), "end_date": (now + timedelta(hours=1)).isoformat()}
    assert ours <= await asyncio.to_thread(ids, **window)
    assert ours & await asyncio.to_thread(ids, start_date=(now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")) == set()
    assert ours & await asyncio.to_thread(ids, end_date=(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")) == set()
    # A request id of another procedure (a resident's certificate) is never shown.
    certificate = await gateway.post(
        APPS, json={"code": "juminhyo-copy"},
        headers={**gateway.as_user("kitakata.resident"), "idempotency-key": str(uuid.uuid4())},
    )
    assert certificate.status_code == 201
    assert await asyncio.to_thread(ids, service_request_ids=[certificate.json()["application"]["id"]]) == set()
    assert await asyncio.to_thread(ids, service_code="juminhyo-copy") == set()


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"status": "pending"}, "status"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-06-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2024-06-01T00:00:00Z", "end_date": "2024-01-01T00:00:00Z"}, "start_date"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": "1e2"}, "page_size"),
        ({"start_date": "9999-12-31T00:00:00"}, "start_date"),  # overflowed to a 500
        ({"end_date": "0001-01-01T00:00:00"}, "end_date"),
    ],
)
async def test_bad_filters_are_400_naming_the_parameter(gateway, filters, field):
    client = open311(gateway)
    with pytest.raises(HttpError) as caught:
        await asyncio.to_thread(client.list_requests, **filters)
    [description] = open311_errors(caught.value, 400)
    assert description.startswith(f"{field}:")


async def test_bad_reports_are_400_in_the_open311_error_format_and_file_nothing(gateway):
    client = open311(gateway, user="kitakata.resident")
    staff = gateway.as_user("kitakata.caseworker")
    before = len((await gateway.get(APPS, params={"code": "road-damage", "limit": 500}, headers=staff)).json()["items"])
    good = {"service_code": "road-damage", "lat": LAT, "long": LONG, "attribute[damage_type]": "pothole",
            "attribute[traffic_impact]": "none"}
    no_place = {k: v for k, v in good.items() if k not in ("lat", "long")}
    [missing] = open311_errors(await raw_post(client, no_place), 400)
    assert missing.startswith("lat, long, address_string:")
    [far] = open311_errors(await raw_post(client, {**good, "lat": 200}), 400)
    assert far.startswith("lat:") and "90" in far
    [half] = open311_errors(await raw_post(client, {k: v for k, v in good.items() if k != "long"}), 400)
    assert half.startswith("lat, long, address_string:")
    [unknown] = open311_errors(await raw_post(client, {**good, "service_code": "no-such-service"}), 400)
    assert unknown.startswith("service_code:")
    [certificate] = open311_errors(await raw_post(client, {**good, "service_code": "juminhyo-copy"}), 400)
    assert certificate.startswith("service_code:")
    both = open311_errors(await raw_post(client, {**good, "attribute[damage_type]": "volcano", "phone": "12"}), 400)
    assert {d.split(":")[0] for d in both} == {"attribute[damage_type]", "phone"}
    [unasked] = open311_errors(await raw_post(client, {**good, "attribute[colour]": "red"}), 400)
    assert unasked.startswith("attribute[colour]:")
    [nothing] = open311_errors(await raw_post(client, {"lat": LAT, "long": LONG}), 400)
    assert nothing.startswith("service_code:")
    after = len((await gateway.get(APPS, params={"code": "road-damage", "limit": 500}, headers=staff)).json()["items"])
    assert after == before


async def test_posting_needs_a_signed_in_resident(gateway):
    good = {"service_code": "road-damage", "lat": LAT, "long": LONG, "attribute[damage_type]": "pothole",
            "attribute[traffic_impact]": "none", "api_key": "anything"}
    error = await raw_post(open311(gateway), good)
    [description] = open311_errors(error, 401)
    assert "Sign-in" in description
    open311_errors(await raw_post(open311(gateway, user="kitakata.caseworker"), good), 403)


async def test_unknown_and_non_report_services_and_requests_are_404(gateway):
    client = open311(gateway)
    for code in ("no-such-service", "juminhyo-copy"):
        with pytest.raises(HttpError) as caught:
            await asyncio.to_thread(client.get_service_definition, code)
        open311_errors(caught.value, 404)
    with pytest.raises(HttpError) as caught:
        await asyncio.to_thread(client.get_request, str(uuid.uuid4()))
    open311_errors(caught.value, 404)


async def test_json_only_and_the_jurisdiction_must_be_the_hosts_town(gateway):
    for path in ("services.xml", "requests.xml", "requests/1.xml", "services/road-damage.xml"):
        response = await gateway.get(f"/open311/v2/{path}")
        assert response.status_code == 404 and response.headers["content-type"].startswith("application/json")
        assert ".json" in response.json()[0]["description"]
    with pytest.raises(HttpError) as caught:
        await asyncio.to_thread(open311(gateway, jurisdiction="aizuwakamatsu").list_services)
    [description] = open311_errors(caught.value, 404)
    assert description.startswith("jurisdiction_id:")
    unknown_host = await gateway.get("/open311/v2/services.json", headers={"host": "nowhere.localhost"})
    assert unknown_host.status_code == 404 and unknown_host.json()[0]["code"] == 404


async def test_another_towns_host_does_not_show_kitakatas_reports(gateway, region):
    request_id = await post_pothole(open311(gateway, user="kitakata.resident"))
    elsewhere = open311(gateway, host="aizuwakamatsu.localhost")
    assert request_id not in {r["service_request_id"] for r in await asyncio.to_thread(elsewhere.list_requests)}
    with pytest.raises(HttpError) as caught:
        await asyncio.to_thread(elsewhere.get_request, request_id)
    open311_errors(caught.value, 404)
    services = await asyncio.to_thread(elsewhere.list_services)
    assert {s["service_code"] for s in services} == report_codes(region, "aizuwakamatsu")


async def test_a_retry_with_the_same_request_id_files_once(gateway):
    client = open311(gateway, user="kitakata.resident", **{"X-Request-Id": str(uuid.uuid4())})
    first = await post_pothole(client)
    again = await post_pothole(client)
    assert first == again
    fresh = await post_pothole(open311(gateway, user="kitakata.resident"))
    assert fresh != first


async def test_discovery_names_the_towns_json_endpoint(gateway):
    client = open311(gateway)
    document = await asyncio.to_thread(client.http.get_json, f"{client.endpoint.base_url}/discovery.json")
    [endpoint] = document["endpoints"]
    assert endpoint["url"] == f"http://{KITAKATA}/open311/v2" and endpoint["formats"] == ["application/json"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert "喜多方市" in document["contact"]


async def test_the_portal_api_takes_a_location_for_reports_only(gateway):
    def headers() -> dict[str, str]:
        return {**gateway.as_user("kitakata.resident"), "idempotency-key": str(uuid.uuid4())}

    report = {"code": "road-damage", "answers": {"damage_type": "crack", "traffic_impact": "none"}}
    created = await gateway.post(APPS, json={**report, "location": {"lat": LAT, "long": LONG}}, headers=headers())
    assert created.status_code == 201, created.text
    shown = await asyncio.to_thread(open311(gateway).get_request, created.json()["application"]["id"])
    assert (shown["lat"], shown["long"], shown["address"]) == (LAT, LONG, None)
    certificate = await gateway.post(APPS, json={"code": "juminhyo-copy", "location": {"lat": LAT, "long": LONG}}, headers=headers())
    assert certificate.status_code == 422 and [e["field"] for e in certificate.json()["errors"]] == ["$.location"]
    for location in ({"lat": 91, "long": 0}, {"lat": LAT}, {}):
        bad = await gateway.post(APPS, json={**report, "location": location}, headers=headers())
        assert bad.status_code == 400 and "location" in bad.text, (location, bad.text)
