"""Every protected route × every role × own town / other town: who may, and proof of each refusal."""

from __future__ import annotations

import json
import uuid

import nats
import pytest

from tests.conftest import gateway_client, running_procedures

HOST = "kitakata.localhost"
ROLES = [
    None,
    "kitakata.resident",
    "kitakata.resident-basic",
    "kitakata.caseworker",
    "kitakata.admin",
    "aizuwakamatsu.resident",
    "aizuwakamatsu.caseworker",
    "aizuwakamatsu.admin",
    "council.member",
]
OWN_STAFF = {"kitakata.caseworker", "kitakata.admin"}
OTHER_STAFF = {"aizuwakamatsu.caseworker", "aizuwakamatsu.admin"}
RESIDENTS = {"kitakata.resident", "kitakata.resident-basic", "aizuwakamatsu.resident"}


def expected(route: str, user: str | None) -> int:
    """The status each caller gets on each route, for an application of kitakata.resident."""
    if user is None:
        return 401
    if route == "me":
        return 200
    if user in OTHER_STAFF or user == "council.member":
        return 403
    if route == "prefill":
        return 401 if user == "kitakata.resident-basic" else (200 if user in RESIDENTS else 403)
    if route == "list":
        return 200
    if route == "submit":
        return 201 if user in OWN_STAFF or user == "kitakata.resident" else (401 if user == "kitakata.resident-basic" else 201)
    if user in OWN_STAFF or user == "kitakata.resident":
        return 404 if route == "document" else 200  # nothing issued yet: reachable, but absent
    return 404  # another resident: the application is not theirs, and does not exist for them


COUNTER = {"name": "会津 太郎", "address": "福島県喜多方市", "birthdate": "1941-02-03"}


@pytest.fixture
async def world(region, nats_url, procedures_db):
    async with running_procedures(nats_url, procedures_db), gateway_client(region, nats_url) as client:
        created = await client.post(
            "/api/v1/applications",
            json={"code": "juminhyo-copy"},
            headers={**client.as_user("kitakata.resident"), "idempotency-key": str(uuid.uuid4())},
        )
        assert created.status_code == 201
        client.application = created.json()["application"]
        yield client


def request_for(route: str, app_id: str, user: str | None) -> tuple[str, str, dict | None]:
    body = {"code": "juminhyo-copy"}
    if user in OWN_STAFF | OTHER_STAFF:
        body["counter_applicant"] = COUNTER
    return {
        "me": ("GET", "/api/v1/me", None),
        "prefill": ("GET", "/api/v1/procedures/juminhyo-copy/prefill", None),
        "submit": ("POST", "/api/v1/applications", body),
        "list": ("GET", "/api/v1/applications", None),
        "get": ("GET", f"/api/v1/applications/{app_id}", None),
        "receipt": ("GET", f"/api/v1/applications/{app_id}/receipt", None),
        "document": ("GET", f"/api/v1/applications/{app_id}/document.html", None),
        "transition": ("POST", f"/api/v1/applications/{app_id}/transitions", {"to": "in_review"}),
    }[route]


ROUTES = ["me", "prefill", "submit", "list", "get", "receipt", "document", "transition"]


@pytest.mark.parametrize("route", ROUTES)
async def test_route_by_role_and_town(world, route):
    app = world.application
    for user in ROLES:
        method, path, body = request_for(route, app["id"], user)
        headers = {"host": HOST, "idempotency-key": str(uuid.uuid4())}
        if user:
            headers.update(world.as_user(user))
        if route == "transition":
            # Callers take turns on one application: each asks for a move that is legal at that point.
            body = {"to": {"kitakata.admin": "needs_info", "kitakata.resident": "in_review"}.get(user or "", "in_review")}
            if user in RESIDENTS - {"kitakata.resident"}:
                body = {"to": "withdrawn"}
        response = await world.request(method, path, json=body, headers=headers)
        want = expected(route, user)
        if route == "transition" and user == "kitakata.resident":
            want = 409  # their own application, but only staff move it into review
        assert response.status_code == want, (route, user, response.text)
        if want >= 400:
            # A refusal carries no one's data: not the application, not the applicant.
            assert app["id"] not in response.text, (route, user)
            assert app["applicant_name"] not in response.text, (route, user)
        if route == "list" and user and user not in OWN_STAFF and user != "kitakata.resident" and want == 200:
            assert response.json()["items"] == [] or all(
                a["applicant_name"] != app["applicant_name"] for a in response.json()["items"]
            ), user


async def test_own_town_staff_see_the_application_in_their_queue(world):
    queue = (await world.get("/api/v1/applications", headers=world.as_user("kitakata.caseworker"))).json()["items"]
    assert world.application["id"] in {a["id"] for a in queue}


async def test_staff_of_kitakata_cannot_reach_into_another_towns_host(world):
    for path in ("/api/v1/applications", f"/api/v1/applications/{world.application['id']}"):
        response = await world.get(path, headers={**world.as_user("kitakata.caseworker"), "host": "aizuwakamatsu.localhost"})
        assert response.status_code == 403
        assert world.application["id"] not in response.text


async def test_cross_town_refusals_and_staff_reads_are_audited(world, nats_url):
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    denied_sub = await js.subscribe("aizu.audit.kitakata.denied", ordered_consumer=True,
                                    deliver_policy=nats.js.api.DeliverPolicy.NEW)
    read_sub = await js.subscribe("aizu.audit.kitakata.staff_read", ordered_consumer=True,
                                  deliver_policy=nats.js.api.DeliverPolicy.NEW)
    try:
        intruder = world.as_user("aizuwakamatsu.caseworker")
        intruder_sub = (await world.get("/api/v1/me", headers=intruder)).json()["subject"]
        assert (await world.get("/api/v1/applications", headers={**intruder, "traceparent":
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})).status_code == 403
        denied = json.loads((await denied_sub.next_msg(timeout=5)).data)
        assert denied["actor"] == intruder_sub and denied["actor_tenant"] == "aizuwakamatsu"
        assert denied["tenant"] == "kitakata" and denied["action"] == "GET /api/v1/applications"
        assert denied["trace_id"] == "0af7651916cd43dd8448eb211c80319c" and denied["at"]

        staff = world.as_user("kitakata.caseworker")
        assert (await world.get(f"/api/v1/applications/{world.application['id']}", headers=staff)).status_code == 200
        read = json.loads((await read_sub.next_msg(timeout=5)).data)
        assert read["kind"] == "staff_read" and world.application["id"] in read["action"]
    finally:
        await nc.close()
