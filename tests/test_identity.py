"""Identity: tokens from the development issuer verified by python-keycloak, and every bad token refused."""

from __future__ import annotations

import time
import warnings

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import RSAKey

from gateway.devissuer.keys import KeyStore
from tests.conftest import ISSUER_KEYS, gateway_client, running_procedures

ME = "/api/v1/me"


@pytest.fixture
async def gateway(region, nats_url, procedures_db):
    async with running_procedures(nats_url, procedures_db), gateway_client(region, nats_url) as client:
        yield client


async def test_a_card_verified_resident_carries_the_four_items(gateway):
    me = (await gateway.get(ME, headers=gateway.as_user("kitakata.resident"))).json()
    assert me["roles"] == ["resident"] and me["tenant"] == "kitakata" and me["acr"] == "jpki"
    identity = me["identity"]
    assert identity["name"] and identity["birthdate"] and identity["gender"]
    assert "喜多方市" in identity["address"]


async def test_staff_carry_their_town_from_the_organization_claim(gateway):
    me = (await gateway.get(ME, headers=gateway.as_user("aizuwakamatsu.caseworker"))).json()
    assert me["roles"] == ["caseworker"] and me["tenant"] == "aizuwakamatsu"
    council = (await gateway.get(ME, headers=gateway.as_user("council.member"))).json()
    assert council["roles"] == ["council"] and council["tenant"] is None


async def test_no_token_is_401_with_a_challenge(gateway):
    response = await gateway.get(ME)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def _claims(gateway) -> dict:
    token = gateway.token("kitakata.resident")
    return dict(jwt.decode(token, KeyStore(ISSUER_KEYS).verification_keys()).claims)


def _sign(claims: dict, key: RSAKey | None = None, header: dict | None = None) -> str:
    key = key or KeyStore(ISSUER_KEYS).signing_key()
    return jwt.encode(header or {"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)


def _forgeries(gateway) -> dict[str, str]:
    claims = _claims(gateway)
    now = int(time.time())
    valid = _sign(claims)
    head, body, signature = valid.split(".")
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-published"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # an unsigned token is the forgery under test
        unsigned = jwt.encode({"alg": "none"}, claims, None, algorithms=["none"])
    return {
        "tampered payload": ".".join([head, _sign({**claims, "sub": "someone-else"}).split(".")[1], signature]),
        "expired": _sign({**claims, "iat": now - 4000, "nbf": now - 4000, "exp": now - 3600}),
        "not yet valid": _sign({**claims, "nbf": now + 3600, "exp": now + 7200}),
        "unknown key": _sign(claims, stranger, {"alg": "RS256", "kid": "not-published"}),
        "wrong issuer": _sign({**claims, "iss": "http://evil.example/realms/aizu"}),
        "wrong audience": _sign({**claims, "aud": ["someone-else"]}),
        "alg none": unsigned,
        "refresh token as access": _sign({**claims, "typ": "Refresh"}),
        "garbage": "not.a.token",
    }


async def test_the_valid_token_passes(gateway):
    assert (await gateway.get(ME, headers={"authorization": f"Bearer {_sign(_claims(gateway))}"})).status_code == 200


@pytest.mark.parametrize(
    "forgery",
    ["tampered payload", "expired", "not yet valid", "unknown key", "wrong issuer", "wrong audience",
     "alg none", "refresh token as access", "garbage"],
)
async def test_bad_tokens_are_refused(gateway, forgery):
    token = _forgeries(gateway)[forgery]
    response = await gateway.get(ME, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401, forgery
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "kitakata" not in response.text


async def test_a_non_bearer_authorization_is_refused(gateway):
    response = await gateway.get(ME, headers={"authorization": "Basic a2l0YWthdGE6cGFzcw=="})
    assert response.status_code == 401


async def test_prefill_fills_the_four_items_so_nothing_is_left_to_type(gateway):
    response = await gateway.get("/api/v1/procedures/juminhyo-copy/prefill", headers=gateway.as_user("kitakata.resident"))
    assert response.status_code == 200, response.text
    form = response.json()
    me = (await gateway.get(ME, headers=gateway.as_user("kitakata.resident"))).json()["identity"]
    assert me["name"] in form["values"].values() and me["address"] in form["values"].values()
    assert form["remaining_required"] == []
    assert set(form["sources"].values()) <= {"name", "address", "birthdate", "gender"}


async def test_a_password_level_resident_is_asked_to_step_up(gateway):
    response = await gateway.get(
        "/api/v1/procedures/juminhyo-copy/prefill", headers=gateway.as_user("kitakata.resident-basic")
    )
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_user_authentication"' in challenge and 'acr_values="jpki"' in challenge
    assert response.json()["acr_values"] == "jpki"


async def test_a_password_level_resident_may_use_an_aal1_procedure(gateway, region):
    code = next(p.code for p in region.catalog.procedures if p.assurance == "aal1")
    response = await gateway.get(f"/api/v1/procedures/{code}/prefill", headers=gateway.as_user("kitakata.resident-basic"))
    assert response.status_code == 200
