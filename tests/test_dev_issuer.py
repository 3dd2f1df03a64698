"""The development OIDC issuer against real OIDC clients, over real HTTP.

uvicorn serves a Litestar app holding only the issuer's router, on the test's own event loop;
python-keycloak (what the gateway's scripts use) and authlib (a second, independent client) run
the authorization-code + PKCE flow against it unchanged. Time is moved with an injected clock.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import stat
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakAuthenticationError, KeycloakPostError
from litestar import Litestar

from contracts.tenants import Region
from gateway.devissuer import IssuerSettings, IssuerUnavailable, KeyStore, dev_token, issuer_router
from gateway.devissuer.users import demo_users, subject_for
from services.runtime.local_servers import free_port

REDIRECT = "http://kitakata.localhost:8000/auth/callback"
SECRET = "dev-gateway-secret"


class Clock:
    """Real time plus an offset the tests can move, so tokens stay valid for real-time verifiers."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    @contextmanager
    def advanced(self, seconds: float) -> Iterator[None]:
        self.offset += seconds
        try:
            yield
        finally:
            self.offset -= seconds


@dataclass
class Issuer:
    base_url: str
    issuer_url: str
    key_dir: Path
    clock: Clock
    http: httpx.AsyncClient

    def endpoint(self, name: str) -> str:
        return f"{self.issuer_url}/protocol/openid-connect/{name}"


@pytest.fixture(scope="module")
async def issuer(region: Region, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Issuer]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    issuer_url = f"{base_url}/realms/aizu"
    key_dir = tmp_path_factory.mktemp("issuer")
    clock = Clock()
    app = Litestar(route_handlers=[issuer_router(region, issuer_url, key_dir, development=True, clock=clock)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            yield Issuer(base_url, issuer_url, key_dir, clock, http)
    finally:
        server.should_exit = True
        await task


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def sign_in(http: httpx.AsyncClient, auth_url: str, username: str) -> str:
    """What a person does in the browser: open the page, press their name; returns the callback URL."""
    page = await http.get(auth_url)
    assert page.status_code == 200, page.text
    assert f'value="{username}"' in page.text
    txn = re.search(r'name="txn" value="([^"]+)"', page.text)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert txn and action
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(auth_url))
    done = await http.post(origin + action.group(1), data={"txn": txn.group(1), "username": username})
    assert done.status_code == 303, done.text
    return done.headers["location"]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def code_for(
    issuer: Issuer, username: str = "kitakata.resident", client_id: str = "aizu-gateway", **extra: str
) -> tuple[str, str]:
    """A fresh authorization code and its PKCE verifier, through the sign-in page."""
    verifier, challenge = pkce()
    params = {
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    callback = await sign_in(issuer.http, f"{issuer.endpoint('auth')}?{urlencode(params)}", username)
    return query_of(callback)["code"], verifier


async def token_request(issuer: Issuer, data: dict[str, str], auth: tuple[str, str] | None = None) -> httpx.Response:
    return await issuer.http.post(issuer.endpoint("token"), data=data, auth=auth)


async def exchange(issuer: Issuer, code: str, verifier: str, **override: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": "aizu-gateway",
        "client_secret": SECRET,
        **override,
    }
    return await token_request(issuer, data)


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def jwks(issuer: Issuer) -> KeySet:
    return KeySet.import_key_set((await issuer.http.get(issuer.endpoint("certs"))).json())


# --- discovery and the two real clients -------------------------------------------------------


async def test_discovery_has_keycloaks_layout(issuer: Issuer) -> None:
    config = (await issuer.http.get(f"{issuer.issuer_url}/.well-known/openid-configuration")).json()
    assert config["issuer"] == issuer.issuer_url
    for field, name in [
        ("authorization_endpoint", "auth"),
        ("token_endpoint", "token"),
        ("jwks_uri", "certs"),
        ("userinfo_endpoint", "userinfo"),
        ("end_session_endpoint", "logout"),
    ]:
        assert config[field] == issuer.endpoint(name)
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert config["acr_values_supported"] == ["aal1", "jpki", "aal2"]
    assert set(config["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}
    assert config["response_types_supported"] == ["code"]
    assert {"name", "address", "birthdate", "gender", "acr", "tenant", "organization"} <= set(
        config["claims_supported"]
    )


async def test_python_keycloak_runs_the_whole_flow(issuer: Issuer) -> None:
    kc = KeycloakOpenID(
        server_url=f"{issuer.base_url}/", realm_name="aizu", client_id="aizu-gateway", client_secret_key=SECRET
    )
    try:
        verifier, challenge = pkce()
        auth_url = await kc.a_auth_url(
            redirect_uri=REDIRECT,
            scope="openid",
            state="state-1",
            nonce="nonce-1",
            code_challenge=challenge,
            code_challenge_method="S256",
        )
        back = query_of(await sign_in(issuer.http, auth_url, "kitakata.resident"))
        assert back["state"] == "state-1" and back["iss"] == issuer.issuer_url

        tokens = await kc.a_token(
            grant_type="authorization_code", code=back["code"], redirect_uri=REDIRECT, code_verifier=verifier
        )
        assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 300 and tokens["refresh_expires_in"] == 1800

        access = await kc.a_decode_token(tokens["access_token"])  # verified against the JWKS by jwcrypto
        assert access["iss"] == issuer.issuer_url
        assert access["sub"] == str(uuid.uuid5(uuid.NAMESPACE_URL, issuer.issuer_url + "/kitakata.resident"))
        assert access["aud"] == ["aizu-gateway", "account"] and access["azp"] == "aizu-gateway"
        assert access["typ"] == "Bearer" and access["scope"] == "openid profile email"
        assert access["exp"] - access["iat"] == 300 and access["nbf"] == access["iat"]
        assert access["sid"] == tokens["session_state"]
        assert access["acr"] == "jpki" and access["realm_access"] == {"roles": ["resident"]}
        assert access["tenant"] == "kitakata" and "organization" not in access
        assert access["address"]["locality"] == "喜多方市" and access["address"]["region"] == "福島県"
        assert access["address"]["formatted"].startswith("福島県喜多方市")
        assert re.fullmatch(r"966-\d{4}", access["address"]["postal_code"])
        assert re.fullmatch(r"19\d\d-\d\d-\d\d", access["birthdate"]) and access["gender"] in ("female", "male")
        header = jwt.decode(tokens["access_token"], await jwks(issuer), algorithms=["RS256"]).header
        assert header["typ"] == "JWT" and header["kid"] in [k["kid"] for k in (await kc.a_certs())["keys"]]

        id_token = await kc.a_decode_token(tokens["id_token"])
        assert id_token["aud"] == "aizu-gateway" and id_token["nonce"] == "nonce-1" and id_token["typ"] == "ID"
        digest = hashlib.sha256(tokens["access_token"].encode()).digest()[:16]
        assert id_token["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        assert id_token["name"] == access["name"] and id_token["address"] == access["address"]

        info = await kc.a_userinfo(tokens["access_token"])
        assert isinstance(info, dict)
        assert (
            info["sub"] == access["sub"] and info["name"] == access["name"] and info["birthdate"] == access["birthdate"]
        )

        refreshed = await kc.a_refresh_token(tokens["refresh_token"])
        assert refreshed["refresh_token"] != tokens["refresh_token"]
        assert (await kc.a_decode_token(refreshed["access_token"]))["sid"] == access["sid"]
        assert (await kc.a_decode_token(refreshed["id_token"]))["nonce"] == "nonce-1"

        assert await kc.a_logout(refreshed["refresh_token"]) == {}
        with pytest.raises(KeycloakPostError) as refused:
            await kc.a_refresh_token(refreshed["refresh_token"])
        assert refused.value.response_code == 400 and b"invalid_grant" in refused.value.response_body
        with pytest.raises(KeycloakAuthenticationError):  # userinfo refuses the ended session's token
            await kc.a_userinfo(refreshed["access_token"])
    finally:
        await kc.connection.aclose()


@pytest.mark.parametrize(("client_id", "secret"), [("aizu-portal", None), ("aizu-gateway", SECRET)])
async def test_authlib_runs_the_flow_from_discovery(issuer: Issuer, client_id: str, secret: str | None) -> None:
    with warnings.catch_warnings():
        import authlib.deprecate  # noqa: F401 - it installs an "always" filter on import; ours must come after

        warnings.simplefilter("ignore")  # authlib's notice that it prefers httpx2 over httpx
        from authlib.common.security import generate_token
        from authlib.integrations.httpx_client import AsyncOAuth2Client

    config = (await issuer.http.get(f"{issuer.issuer_url}/.well-known/openid-configuration")).json()
    client = AsyncOAuth2Client(
        client_id=client_id,
        client_secret=secret,
        scope="openid profile",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
    )
    async with client:
        verifier, nonce = generate_token(48), generate_token(16)
        auth_url, state = client.create_authorization_url(
            config["authorization_endpoint"],
            code_verifier=verifier,
            nonce=nonce,
            acr_values="jpki",
            login_hint="aizuwakamatsu",
        )
        callback = await sign_in(issuer.http, auth_url, "aizuwakamatsu.resident")
        token = await client.fetch_token(
            config["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )

        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": config["issuer"]},
            aud={"essential": True, "value": client_id},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True},
        )
        keys = KeySet.import_key_set((await client.get(config["jwks_uri"])).json())
        id_token = jwt.decode(token["id_token"], keys, algorithms=config["id_token_signing_alg_values_supported"])
        registry.validate(id_token.claims)
        assert id_token.claims["acr"] == "jpki" and id_token.claims["address"]["locality"] == "会津若松市"

        info = (await client.get(config["userinfo_endpoint"])).json()
        assert info["sub"] == id_token.claims["sub"] and info["tenant"] == "aizuwakamatsu"

        old_refresh = token["refresh_token"]
        new = await client.refresh_token(config["token_endpoint"])
        assert new["refresh_token"] != old_refresh
        assert jwt.decode(new["access_token"], keys).claims["azp"] == client_id


# --- the sign-in page -------------------------------------------------------------------------


def auth_url(issuer: Issuer, **params: str) -> str:
    _verifier, challenge = pkce()
    base = {
        "client_id": "aizu-portal",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{issuer.endpoint('auth')}?{urlencode({**base, **params})}"


def listed(page: str) -> set[str]:
    return set(re.findall(r'name="username" value="([^"]+)"', page))


async def test_sign_in_page_lists_users_by_town_accessibly(issuer: Issuer, region: Region) -> None:
    page = await issuer.http.get(auth_url(issuer))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="ja">' in page.text and 'lang="en"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert len(listed(page.text)) == len(region.towns) * 5 + 2
    for town in region.towns:
        assert (
            f'<h2 id="town-{town.slug}">{town.name_ja}<span class="en" lang="en">{town.name_en}</span></h2>'
            in page.text
        )


async def test_jpki_request_hides_users_who_cannot_meet_it(issuer: Issuer, region: Region) -> None:
    page = await issuer.http.get(auth_url(issuer, acr_values="jpki"))
    assert listed(page.text) == {f"{t.slug}.resident" for t in region.towns}
    narrowed = await issuer.http.get(auth_url(issuer, acr_values="jpki", kc_idp_hint="yanaizu"))
    assert listed(narrowed.text) == {"yanaizu.resident"}
    one = await issuer.http.get(auth_url(issuer, login_hint="kitakata.caseworker"))
    assert listed(one.text) == {"kitakata.caseworker"}
    # A user the page did not offer cannot be posted either.
    txn = re.search(r'name="txn" value="([^"]+)"', page.text)
    assert txn
    refused = await issuer.http.post(
        issuer.endpoint("auth"), data={"txn": txn.group(1), "username": "kitakata.resident-basic"}
    )
    assert refused.status_code == 400 and "location" not in refused.headers


async def test_sign_in_cannot_be_completed_from_another_browser(issuer: Issuer) -> None:
    page = await issuer.http.get(auth_url(issuer))
    txn = re.search(r'name="txn" value="([^"]+)"', page.text)
    assert txn
    async with httpx.AsyncClient() as other_browser:
        forged = await other_browser.post(
            issuer.endpoint("auth"), data={"txn": txn.group(1), "username": "kitakata.resident"}
        )
    assert forged.status_code == 400 and "location" not in forged.headers


async def test_cancel_returns_access_denied(issuer: Issuer) -> None:
    page = await issuer.http.get(auth_url(issuer))
    txn = re.search(r'name="txn" value="([^"]+)"', page.text)
    assert txn
    done = await issuer.http.post(issuer.endpoint("auth"), data={"txn": txn.group(1), "cancel": "1"})
    assert done.status_code == 303
    assert query_of(done.headers["location"]) == {
        "error": "access_denied",
        "error_description": "sign-in cancelled",
        "state": "xyz",
        "iss": issuer.issuer_url,
    }


async def test_untrusted_client_or_redirect_gets_a_page_not_a_redirect(issuer: Issuer) -> None:
    for params in (
        {"client_id": "nobody"},
        {"redirect_uri": "https://evil.example/auth/callback"},
        {"redirect_uri": "http://kitakata.localhost:8000/elsewhere"},
        {"redirect_uri": "http://kitakata.localhost:8000/auth/callback#frag"},
    ):
        response = await issuer.http.get(auth_url(issuer, **params))
        assert response.status_code == 400 and "location" not in response.headers, params
        assert "サインインできません" in response.text


async def test_bad_authorization_requests_are_redirected_with_an_error(issuer: Issuer) -> None:
    missing_pkce = auth_url(issuer).replace("code_challenge_method=S256", "").replace("code_challenge=", "x=")
    cases = [
        (missing_pkce, "invalid_request"),
        (auth_url(issuer, code_challenge_method="plain"), "invalid_request"),
        (auth_url(issuer, response_type="token"), "unsupported_response_type"),
        (auth_url(issuer, prompt="none"), "login_required"),
    ]
    for url, error in cases:
        response = await issuer.http.get(url)
        assert response.status_code == 302, url
        back = query_of(response.headers["location"])
        assert back["error"] == error and back["state"] == "xyz" and back["iss"] == issuer.issuer_url
        assert response.headers["location"].startswith(REDIRECT + "?")


async def test_loopback_redirects_are_accepted_for_cli_clients(issuer: Issuer) -> None:
    verifier, challenge = pkce()
    loopback = "http://127.0.0.1:53117/callback"
    url = f"{issuer.endpoint('auth')}?" + urlencode(
        {
            "client_id": "aizu-cli",
            "redirect_uri": loopback,
            "response_type": "code",
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    code = query_of(await sign_in(issuer.http, url, "council.member"))["code"]
    response = await token_request(
        issuer,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": loopback,
            "code_verifier": verifier,
            "client_id": "aizu-cli",
        },
    )
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], await jwks(issuer)).claims
    assert claims["realm_access"] == {"roles": ["council"]} and claims["acr"] == "aal2"
    assert "tenant" not in claims and "organization" not in claims


# --- token endpoint: what must be refused ------------------------------------------------------


async def test_wrong_pkce_verifier_is_refused(issuer: Issuer) -> None:
    code, _verifier = await code_for(issuer)
    assert_oauth_error(await exchange(issuer, code, pkce()[0]), 400, "invalid_grant")


async def test_missing_pkce_verifier_is_refused(issuer: Issuer) -> None:
    code, _verifier = await code_for(issuer)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    assert_oauth_error(await token_request(issuer, data, auth=("aizu-gateway", SECRET)), 400, "invalid_grant")


async def test_reused_code_is_refused_and_ends_its_session(issuer: Issuer) -> None:
    code, verifier = await code_for(issuer)
    first = await exchange(issuer, code, verifier)
    assert first.status_code == 200, first.text
    assert_oauth_error(await exchange(issuer, code, verifier), 400, "invalid_grant")
    refresh = {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
    assert_oauth_error(await token_request(issuer, refresh, auth=("aizu-gateway", SECRET)), 400, "invalid_grant")


async def test_expired_code_is_refused(issuer: Issuer) -> None:
    code, verifier = await code_for(issuer)
    with issuer.clock.advanced(61):
        assert_oauth_error(await exchange(issuer, code, verifier), 400, "invalid_grant")


async def test_code_is_bound_to_redirect_uri_and_client(issuer: Issuer) -> None:
    code, verifier = await code_for(issuer)
    assert_oauth_error(
        await exchange(issuer, code, verifier, redirect_uri="http://aizuwakamatsu.localhost:8000/auth/callback"),
        400,
        "invalid_grant",
    )
    code, verifier = await code_for(issuer, client_id="aizu-portal")
    assert_oauth_error(await exchange(issuer, code, verifier), 400, "invalid_grant")  # redeemed by aizu-gateway


async def test_client_authentication_failures_are_401(issuer: Issuer) -> None:
    grant = {"grant_type": "client_credentials"}
    unknown = await token_request(issuer, {**grant, "client_id": "nobody", "client_secret": "x"})
    assert_oauth_error(unknown, 401, "invalid_client")
    bad_post = await token_request(issuer, {**grant, "client_id": "aizu-gateway", "client_secret": "wrong"})
    assert_oauth_error(bad_post, 401, "invalid_client")
    bad_basic = await token_request(issuer, grant, auth=("aizu-gateway", "wrong"))
    assert_oauth_error(bad_basic, 401, "invalid_client")
    assert bad_basic.headers["www-authenticate"].startswith("Basic")
    no_secret = await token_request(issuer, {**grant, "client_id": "aizu-gateway"})
    assert_oauth_error(no_secret, 401, "invalid_client")


async def test_grant_types_are_checked(issuer: Issuer) -> None:
    public = await token_request(issuer, {"grant_type": "client_credentials", "client_id": "aizu-portal"})
    assert_oauth_error(public, 400, "unauthorized_client")
    unknown = await token_request(
        issuer, {"grant_type": "password", "username": "a", "password": "b"}, auth=("aizu-gateway", SECRET)
    )
    assert_oauth_error(unknown, 400, "unsupported_grant_type")
    missing = await token_request(issuer, {"code": "x"}, auth=("aizu-gateway", SECRET))
    assert_oauth_error(missing, 400, "invalid_request")
    as_json = await issuer.http.post(
        issuer.endpoint("token"), json={"grant_type": "client_credentials"}, auth=("aizu-gateway", SECRET)
    )
    assert_oauth_error(as_json, 400, "invalid_request")
    twice = await token_request(issuer, {"grant_type": "client_credentials"}, auth=("aizu-gateway", SECRET))
    assert twice.status_code == 200


async def test_client_credentials_gives_a_service_account_token(issuer: Issuer) -> None:
    response = await token_request(issuer, {"grant_type": "client_credentials"}, auth=("aizu-gateway", SECRET))
    body = response.json()
    assert response.status_code == 200 and "refresh_token" not in body and "id_token" not in body
    claims = jwt.decode(body["access_token"], await jwks(issuer)).claims
    assert claims["preferred_username"] == "service-account-aizu-gateway" and claims["realm_access"] == {"roles": []}
    assert "sid" not in claims and "acr" not in claims and claims["azp"] == "aizu-gateway"


async def test_refresh_token_reuse_is_refused_and_ends_the_session(issuer: Issuer) -> None:
    code, verifier = await code_for(issuer)
    first = (await exchange(issuer, code, verifier)).json()
    auth = ("aizu-gateway", SECRET)
    second = await token_request(
        issuer, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=auth
    )
    assert second.status_code == 200
    replay = await token_request(
        issuer, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=auth
    )
    assert_oauth_error(replay, 400, "invalid_grant")
    # The replay may have been the thief or the client: neither continues.
    after = await token_request(
        issuer, {"grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"]}, auth=auth
    )
    assert_oauth_error(after, 400, "invalid_grant")


async def test_refresh_token_is_bound_to_its_client_and_expires(issuer: Issuer) -> None:
    code, verifier = await code_for(issuer)
    tokens = (await exchange(issuer, code, verifier)).json()
    other = await token_request(
        issuer, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "aizu-portal"}
    )
    assert_oauth_error(other, 400, "invalid_grant")
    with issuer.clock.advanced(1801):
        late = await token_request(
            issuer,
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=("aizu-gateway", SECRET),
        )
    assert_oauth_error(late, 400, "invalid_grant")


async def test_userinfo_needs_a_valid_bearer_token(issuer: Issuer) -> None:
    missing = await issuer.http.get(issuer.endpoint("userinfo"))
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    forged = await issuer.http.get(issuer.endpoint("userinfo"), headers={"Authorization": "Bearer not.a.token"})
    assert_oauth_error(forged, 401, "invalid_token")
    code, verifier = await code_for(issuer)
    tokens = (await exchange(issuer, code, verifier)).json()
    refresh_as_access = await issuer.http.get(
        issuer.endpoint("userinfo"), headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert_oauth_error(refresh_as_access, 401, "invalid_token")
    posted = await issuer.http.post(issuer.endpoint("userinfo"), data={"access_token": tokens["access_token"]})
    assert posted.status_code == 200 and posted.json()["preferred_username"] == "kitakata.resident"
    with issuer.clock.advanced(301):
        expired = await issuer.http.get(
            issuer.endpoint("userinfo"), headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    assert_oauth_error(expired, 401, "invalid_token")


# --- logout ------------------------------------------------------------------------------------


async def test_rp_initiated_logout_with_id_token_hint(issuer: Issuer) -> None:
    code, verifier = await code_for(issuer)
    tokens = (await exchange(issuer, code, verifier)).json()
    params = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": "http://kitakata.localhost:8000/",
        "state": "bye",
    }
    response = await issuer.http.get(f"{issuer.endpoint('logout')}?{urlencode(params)}")
    assert response.status_code == 302 and response.headers["location"] == "http://kitakata.localhost:8000/?state=bye"
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert_oauth_error(await token_request(issuer, refresh, auth=("aizu-gateway", SECRET)), 400, "invalid_grant")


async def test_logout_refuses_foreign_redirects_and_asks_before_a_bare_logout(issuer: Issuer) -> None:
    code, verifier = await code_for(issuer)
    tokens = (await exchange(issuer, code, verifier)).json()
    evil = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"}
    refused = await issuer.http.get(f"{issuer.endpoint('logout')}?{urlencode(evil)}")
    assert refused.status_code == 400 and "location" not in refused.headers

    bare = await issuer.http.get(issuer.endpoint("logout"))
    assert bare.status_code == 200 and "ログアウトしますか" in bare.text
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    still = await token_request(issuer, refresh, auth=("aizu-gateway", SECRET))
    assert still.status_code == 200, "a GET without a hint must not sign anyone out"
    csrf = re.search(r'name="csrf" value="([^"]+)"', bare.text)
    assert csrf
    confirmed = await issuer.http.post(issuer.endpoint("logout"), data={"csrf": csrf.group(1), "confirm": "1"})
    assert confirmed.status_code == 200 and "ログアウトしました" in confirmed.text
    refresh["refresh_token"] = still.json()["refresh_token"]
    assert_oauth_error(await token_request(issuer, refresh, auth=("aizu-gateway", SECRET)), 400, "invalid_grant")


async def test_refresh_token_logout_needs_the_client(issuer: Issuer) -> None:
    code, verifier = await code_for(issuer)
    tokens = (await exchange(issuer, code, verifier)).json()
    wrong = await issuer.http.post(
        issuer.endpoint("logout"),
        data={"client_id": "aizu-gateway", "client_secret": "no", "refresh_token": tokens["refresh_token"]},
    )
    assert_oauth_error(wrong, 401, "invalid_client")
    other = await issuer.http.post(
        issuer.endpoint("logout"), data={"client_id": "aizu-portal", "refresh_token": tokens["refresh_token"]}
    )
    assert_oauth_error(other, 400, "invalid_grant")


# --- keys ----------------------------------------------------------------------------------------


async def test_rotation_keeps_old_key_until_its_tokens_expire(issuer: Issuer, region: Region) -> None:
    settings = IssuerSettings(issuer_url=issuer.issuer_url, key_dir=issuer.key_dir)
    before = dev_token(region, "kitakata.caseworker", settings=settings)
    old_kid = jwt.decode(before, await jwks(issuer)).header["kid"]

    # Another process (as `aizu dev` would) rotates the shared key file; the server follows it.
    new_kid = KeyStore(issuer.key_dir, issuer.clock).rotate()
    published = [k["kid"] for k in (await issuer.http.get(issuer.endpoint("certs"))).json()["keys"]]
    assert set(published) == {old_kid, new_kid}
    jwt.decode(before, await jwks(issuer), algorithms=["RS256"])  # still verifies
    info = await issuer.http.get(issuer.endpoint("userinfo"), headers={"Authorization": f"Bearer {before}"})
    assert info.status_code == 200 and info.json()["organization"] == ["kitakata"]
    issued = await token_request(issuer, {"grant_type": "client_credentials"}, auth=("aizu-gateway", SECRET))
    assert jwt.decode(issued.json()["access_token"], await jwks(issuer)).header["kid"] == new_kid

    with issuer.clock.advanced(1790):
        assert old_kid in [k["kid"] for k in (await issuer.http.get(issuer.endpoint("certs"))).json()["keys"]]
    with issuer.clock.advanced(1800):
        after = [k["kid"] for k in (await issuer.http.get(issuer.endpoint("certs"))).json()["keys"]]
    assert after == [new_kid]
    with pytest.raises((JoseError, ValueError)):
        jwt.decode(before, await jwks(issuer), algorithms=["RS256"])


def test_keys_persist_privately(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "issuer")
    path = tmp_path / "issuer" / "keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeyStore(tmp_path / "issuer").kids() == store.kids()
    (key,) = store.jwks()["keys"]
    assert set(key) == {"kid", "kty", "alg", "use", "n", "e"} and key["alg"] == "RS256"
    path.write_text("{not json")
    with pytest.raises(Exception, match="delete it"):
        KeyStore(tmp_path / "issuer")


# --- users, CLI tokens, and production ------------------------------------------------------------


def test_demo_users_follow_the_contract(region: Region) -> None:
    issuer_url = "http://localhost:8000/realms/aizu"
    users = demo_users(region, issuer_url)
    assert demo_users(region, issuer_url) == users  # the same on every run
    assert len(users) == len(region.towns) * 5 + 2
    for town in region.towns:
        resident = users[f"{town.slug}.resident"]
        assert resident.acr == "jpki" and resident.tenant == town.slug and resident.roles == ("resident",)
        assert resident.address is not None and resident.address.locality == town.name_ja
        assert resident.address.formatted.startswith("福島県") and town.name_ja in resident.address.formatted
        assert re.fullmatch(r"9[67]\d-\d{4}", resident.address.postal_code)
        assert resident.subject == subject_for(issuer_url, resident.username)
        basic = users[f"{town.slug}.resident-basic"]
        assert basic.acr == "aal1" and basic.address is None and basic.birthdate is None
        for staff, role in (("caseworker", "caseworker"), ("admin", "tenant-admin"), ("admin2", "tenant-admin")):
            user = users[f"{town.slug}.{staff}"]
            assert (
                user.roles == (role,) and user.organization == town.slug and user.tenant is None and user.acr == "aal2"
            )
        names = [u.name for u in users.values() if u.group == town.slug]
        assert len(set(names)) == len(names) and all(re.fullmatch(r"\S+ \S+", n) for n in names)
    years = sorted(int(u.birthdate[:4]) for u in users.values() if u.birthdate)
    assert years[0] < 1956 and years[-1] > 1974  # elderly and younger card holders both
    assert users["council.member"].roles == ("council",) and users["council.member2"].organization is None


def test_dev_token_refused_outside_development(region: Region, tmp_path: Path) -> None:
    settings = IssuerSettings(key_dir=tmp_path, development=False)
    with pytest.raises(IssuerUnavailable):
        dev_token(region, "kitakata.resident", settings=settings)
    with pytest.raises(KeyError, match="unknown demo user"):
        dev_token(region, "nobody", settings=IssuerSettings(key_dir=tmp_path))


def test_router_refuses_to_build_outside_development(region: Region, tmp_path: Path) -> None:
    with pytest.raises(IssuerUnavailable, match="only in development"):
        issuer_router(region, "http://localhost:8000/realms/aizu", tmp_path, development=False)
    assert not (tmp_path / "keys.json").exists()
