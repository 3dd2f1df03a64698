"""Browser sign-in through the gateway: code flow with PKCE, HttpOnly session cookie, CSRF, logout."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import nats
import pytest

from tests.conftest import gateway_client, running_procedures


@pytest.fixture
async def gateway(region, nats_url, procedures_db):
    async with running_procedures(nats_url, procedures_db), gateway_client(region, nats_url) as client:
        yield client


def loopback(client, url: str) -> tuple[str, dict[str, str]]:
    """*.localhost does not resolve here: send to the server's loopback port with the original Host."""
    parts = urlsplit(url)
    return f"http://127.0.0.1:{client.port}{parts.path}?{parts.query}", {"host": parts.netloc}


async def sign_in(client, username: str, next_path: str = "/mine", acr: str | None = None) -> httpx.Response:
    params = {"next": next_path, **({"acr": acr} if acr else {})}
    start = await client.get("/auth/login", params=params)
    assert start.status_code == 302, start.text
    auth_url = start.headers["location"]
    query = parse_qs(urlsplit(auth_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["redirect_uri"] == ["http://kitakata.localhost/auth/callback"]
    page = await client.get(auth_url, headers={"host": urlsplit(auth_url).netloc})
    assert page.status_code == 200 and f'value="{username}"' in page.text
    txn = re.search(r'name="txn" value="([^"]+)"', page.text).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    done = await client.post(f"http://127.0.0.1:{client.port}{action}", data={"txn": txn, "username": username},
                             headers={"host": urlsplit(auth_url).netloc})
    assert done.status_code == 303, done.text
    url, headers = loopback(client, done.headers["location"])
    return await client.get(url, headers=headers)


async def test_code_flow_ends_in_an_httponly_session(gateway, nats_url):
    nc = await nats.connect(nats_url)
    audit = await nc.jetstream().subscribe("aizu.audit.kitakata.sign_in", ordered_consumer=True,
                                           deliver_policy=nats.js.api.DeliverPolicy.NEW)
    try:
        finished = await sign_in(gateway, "kitakata.resident")
        assert finished.status_code == 303 and finished.headers["location"] == "/mine"
        cookie = next(h for h in finished.headers.get_list("set-cookie") if h.startswith("aizu_session="))
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "secure" not in cookie.lower()
        binding = next(h for h in finished.headers.get_list("set-cookie") if h.startswith("aizu_auth="))
        assert "HttpOnly" in binding
        me = await gateway.get("/auth/me")
        assert me.status_code == 200 and me.json()["roles"] == ["resident"] and me.json()["acr"] == "jpki"
        record = json.loads((await audit.next_msg(timeout=5)).data)
        assert record["kind"] == "sign_in" and record["actor"] == me.json()["subject"]
    finally:
        await nc.close()
    # The session is for pages; the API still wants a bearer token (so no CSRF exposure there).
    assert (await gateway.get("/api/v1/me")).status_code == 401


async def test_logout_needs_the_csrf_token_and_ends_the_session(gateway):
    await sign_in(gateway, "kitakata.caseworker")
    assert (await gateway.get("/auth/me")).status_code == 200
    refused = await gateway.post("/auth/logout")
    assert refused.status_code == 403
    assert (await gateway.get("/auth/me")).status_code == 200
    csrf = gateway.cookies.get("aizu_csrf")
    assert csrf
    done = await gateway.post("/auth/logout", headers={"x-csrftoken": csrf})
    assert done.status_code == 303
    assert (await gateway.get("/auth/me")).status_code == 401


async def test_a_callback_with_a_foreign_state_is_refused(gateway):
    await gateway.get("/auth/login")
    response = await gateway.get("/auth/callback", params={"code": "x", "state": "not-ours"})
    assert response.status_code == 400
    assert (await gateway.get("/auth/me")).status_code == 401


async def test_a_callback_with_a_bad_code_is_refused(gateway):
    start = await gateway.get("/auth/login")
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    response = await gateway.get("/auth/callback", params={"code": "forged", "state": state})
    assert response.status_code == 401
    assert (await gateway.get("/auth/me")).status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/\\evil.example", "/\tx"])
async def test_next_never_leaves_the_site(gateway, target):
    finished = await sign_in(gateway, "kitakata.resident", next_path=target)
    assert finished.headers["location"] == "/"


async def test_a_bad_acr_is_refused(gateway):
    assert (await gateway.get("/auth/login", params={"acr": "platinum"})).status_code == 400


async def test_step_up_asks_the_issuer_for_the_card(gateway):
    start = await gateway.get("/auth/login", params={"acr": "jpki"})
    assert parse_qs(urlsplit(start.headers["location"]).query)["acr_values"] == ["jpki"]


async def test_unknown_host_cannot_start_a_sign_in(gateway):
    assert (await gateway.get("/auth/login", headers={"host": "nowhere.localhost"})).status_code == 404


async def test_a_session_id_without_its_binding_cookie_is_not_signed_in(gateway):
    await sign_in(gateway, "kitakata.resident")
    assert (await gateway.get("/auth/me")).status_code == 200
    session_id = gateway.cookies.get("aizu_session")
    # Someone who planted or stole only the session id (fixation) gets nothing from it.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}", headers={"host": "kitakata.localhost"}) as other:
        other.cookies.set("aizu_session", session_id)
        assert (await other.get("/auth/me")).status_code == 401
        other.cookies.set("aizu_auth", "guessed")
        assert (await other.get("/auth/me")).status_code == 401
