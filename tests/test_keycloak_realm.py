"""The Keycloak realm import file: generated from tenants/, faithful to gateway/IDENTITY.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from contracts.tenants import Region, default_directory, load_region
from gateway.devissuer.tokens import identity_claims
from gateway.devissuer.users import DemoUser, demo_users, subject_for
from gateway.keycloak_realm import (
    ACR_LOA,
    ADDRESS_PARTS,
    CARD_ATTRIBUTES,
    GATEWAY_CLIENT,
    GATEWAY_SECRET_PLACEHOLDER,
    PORTAL_CLIENT,
    ROLES,
    build_realm,
    realm_issuer,
    render,
    write,
)

COMMITTED = Path(__file__).resolve().parent.parent / "deploy" / "keycloak" / "aizu-realm.json"
ENV_PLACEHOLDER = re.compile(r"^\$\{AIZU_[A-Z0-9_]+(:[^}]*)?\}$")
# Keycloak substitutes environment variables into the whole file on import; a ``${...}`` that is not
# ours must be one of Keycloak's own message keys (lower case), never an accidental variable.
ANY_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
MESSAGE_KEY = re.compile(r"^[a-z][a-z0-9_.]*$")


@pytest.fixture(scope="module")
def tenants() -> Region:
    return load_region(default_directory())


@pytest.fixture(scope="module")
def realm(tenants: Region) -> dict[str, Any]:
    return build_realm(tenants)


@pytest.fixture(scope="module")
def demo(tenants: Region) -> dict[str, Any]:
    return build_realm(tenants, with_demo_users=True)


@pytest.fixture(scope="module")
def dev_users(tenants: Region) -> dict[str, DemoUser]:
    """The development issuer's demo users, as an issuer at the realm's own URL would have them."""
    return demo_users(tenants, realm_issuer())


def _client(realm: dict[str, Any], client_id: str) -> dict[str, Any]:
    return next(c for c in realm["clients"] if c["clientId"] == client_id)


def _mappers(client: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in client["protocolMappers"]}


def _user_profile(realm: dict[str, Any]) -> dict[str, Any]:
    (component,) = realm["components"]["org.keycloak.userprofile.UserProfileProvider"]
    assert component["providerId"] == "declarative-user-profile"
    (text,) = component["config"]["kc.user.profile.config"]
    return json.loads(text)


def _walk(value: Any, key: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _walk(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in _walk(v, key)]
    return [(key, value)]


def _organizations_of(realm: dict[str, Any], username: str) -> list[str]:
    return [o["alias"] for o in realm["organizations"] if username in {m["username"] for m in o.get("members", [])}]


def _keycloak_claims(realm: dict[str, Any], client_id: str, user: dict[str, Any]) -> dict[str, Any]:
    """The identity claims a token of ``client_id`` carries for ``user``, as the realm's mappers write them.

    ``sub`` is the user id (scope ``basic``), ``organization`` the aliases of the organizations the
    user is a member of (scope ``organization``), and each attribute mapper puts the attribute's
    value at its claim name (``address.locality`` nested), leaving the claim out without a value.
    """
    claims: dict[str, Any] = {
        "sub": user["id"],
        "preferred_username": user["username"],
        "realm_access": {"roles": user["realmRoles"]},
    }
    for mapper in _client(realm, client_id)["protocolMappers"]:
        if mapper["protocolMapper"] != "oidc-usermodel-attribute-mapper":
            continue
        values = user["attributes"].get(mapper["config"]["user.attribute"])
        if values is None:
            continue
        *path, leaf = mapper["config"]["claim.name"].split(".")
        target = claims
        for part in path:
            target = target.setdefault(part, {})
        (target[leaf],) = values
    orgs = _organizations_of(realm, user["username"])
    if orgs:
        claims["organization"] = orgs
    return claims


def _dev_issuer_claims(user: DemoUser) -> dict[str, Any]:
    """The same claims as the development issuer writes them (IDENTITY.md), minus ``street_address``."""
    claims = {"sub": user.subject, **identity_claims(user), "realm_access": {"roles": list(user.roles)}}
    if "address" in claims:
        claims["address"] = {k: v for k, v in claims["address"].items() if k != "street_address"}
    return claims


# --- the committed file -------------------------------------------------------------------------


def test_committed_file_is_current(tenants: Region) -> None:
    regenerate = "run `aizu keycloak realm --out deploy/keycloak/aizu-realm.json`"
    assert COMMITTED.exists(), f"deploy/keycloak/aizu-realm.json is missing: {regenerate}"
    assert COMMITTED.read_text(encoding="utf-8") == render(tenants), (
        f"deploy/keycloak/aizu-realm.json is stale (tenants/ or gateway/keycloak_realm.py changed): {regenerate}"
    )


def test_committed_file_has_no_users_and_no_secrets() -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert "users" not in committed
    assert all("members" not in org for org in committed["organizations"])
    assert "dev-gateway-secret" not in COMMITTED.read_text(encoding="utf-8")


def test_render_is_deterministic_sorted_and_utf8(tenants: Region, tmp_path: Path) -> None:
    text = render(tenants)
    assert text == render(tenants)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert "喜多方市" in text  # not \u escapes
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    out = write(tmp_path / "nested" / "aizu-realm.json", tenants, with_demo_users=True)
    assert out.read_text(encoding="utf-8") == render(tenants, with_demo_users=True)


def test_every_placeholder_is_ours_or_a_keycloak_message_key(tenants: Region) -> None:
    for text in (render(tenants), render(tenants, with_demo_users=True)):
        for key in ANY_PLACEHOLDER.findall(text):
            assert key.startswith("AIZU_") or MESSAGE_KEY.match(key), f"unexpected placeholder ${{{key}}}"


# --- realm settings -----------------------------------------------------------------------------


def test_realm_settings(realm: dict[str, Any]) -> None:
    assert realm["realm"] == "aizu"
    assert realm["enabled"] is True
    assert realm["organizationsEnabled"] is True
    assert realm["sslRequired"] == "external"
    assert realm["accessTokenLifespan"] == 300
    assert realm["ssoSessionIdleTimeout"] == 1800
    assert realm["revokeRefreshToken"] is True and realm["refreshTokenMaxReuse"] == 0
    assert realm["bruteForceProtected"] is True and realm["permanentLockout"] is False
    assert realm["internationalizationEnabled"] is True
    assert realm["supportedLocales"] == ["ja", "en"]
    assert realm["defaultLocale"] == "ja"
    assert "loginTheme" not in realm  # Keycloak's default theme
    assert json.loads(realm["attributes"]["acr.loa.map"]) == {"aal1": 1, "aal2": 2, "jpki": 3} == ACR_LOA
    # Built-in client scopes and authentication flows are left to Keycloak: listing either in the
    # import file would replace the defaults (and lose ``sub`` or every built-in flow).
    assert "clientScopes" not in realm and "authenticationFlows" not in realm


def test_roles_exist_with_japanese_and_english_descriptions(realm: dict[str, Any]) -> None:
    roles = {r["name"]: r for r in realm["roles"]["realm"]}
    assert set(roles) == {"resident", "caseworker", "tenant-admin", "council"} == set(ROLES)
    for role in roles.values():
        ja, _, en = role["description"].partition(" / ")
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", ja) and en.isascii() and en


def test_every_town_is_an_organization(realm: dict[str, Any], tenants: Region) -> None:
    orgs = {o["alias"]: o for o in realm["organizations"]}
    assert set(orgs) == {t.slug for t in tenants.towns}
    assert tenants.council.slug not in orgs  # council members carry no organization claim
    for town in tenants.towns:
        org = orgs[town.slug]
        assert org["name"] == town.name_ja
        assert org["enabled"] is True
        assert org["attributes"]["code"] == [town.code]
        assert org["attributes"]["name_en"] == [town.name_en]
        assert org["domains"] == [{"name": f"{town.slug}.aizu.example", "verified": False}]
        assert org["redirectUrl"] == f"https://{town.slug}.aizu.example/"


# --- clients and claims -------------------------------------------------------------------------


def test_both_clients_use_pkce_s256_and_no_direct_grant(realm: dict[str, Any], tenants: Region) -> None:
    gateway, portal = _client(realm, GATEWAY_CLIENT), _client(realm, PORTAL_CLIENT)
    assert gateway["publicClient"] is False and gateway["serviceAccountsEnabled"] is True
    assert portal["publicClient"] is True and portal["serviceAccountsEnabled"] is False
    for client in (gateway, portal):
        assert client["attributes"]["pkce.code.challenge.method"] == "S256"
        assert client["standardFlowEnabled"] is True
        assert client["directAccessGrantsEnabled"] is False
        assert client["implicitFlowEnabled"] is False
        # Keycloak has no wildcard hosts in redirect URIs: every town and the council is listed.
        hosts = [t.slug for t in tenants.towns] + [tenants.council.slug]
        assert client["redirectUris"] == [f"https://{h}.aizu.example/auth/callback" for h in hosts]
        assert client["webOrigins"] == [f"https://{h}.aizu.example" for h in hosts]
        assert all("*" not in uri for uri in client["redirectUris"])


def test_gateway_secret_is_an_env_placeholder_never_a_literal(tenants: Region) -> None:
    for with_demo_users in (False, True):
        realm = build_realm(tenants, with_demo_users=with_demo_users)
        assert _client(realm, GATEWAY_CLIENT)["secret"] == GATEWAY_SECRET_PLACEHOLDER == "${AIZU_OIDC_CLIENT_SECRET}"
        secrets = [(k, v) for k, v in _walk(realm) if "secret" in k.lower()]
        assert secrets, "the walk found no secret fields at all"
        for key, value in secrets:
            assert ENV_PLACEHOLDER.match(value), f"{key} holds a literal: {value!r}"
            assert value.partition(":")[2] in ("", "}"), f"{key} has a literal default: {value!r}"
        assert not [v for k, v in _walk(realm) if k in ("credentials", "password", "value")]


def test_realm_roles_reach_realm_access_and_nothing_else(realm: dict[str, Any]) -> None:
    for client_id in (GATEWAY_CLIENT, PORTAL_CLIENT):
        client = _client(realm, client_id)
        assert {"basic", "roles", "profile", "email", "organization"} <= set(client["defaultClientScopes"])
        assert client["fullScopeAllowed"] is False
        mapping = next(m for m in realm["scopeMappings"] if m["client"] == client_id)
        assert sorted(mapping["roles"]) == sorted(ROLES)


def test_audience_acr_tenant_and_organization_claims(realm: dict[str, Any]) -> None:
    for client_id in (GATEWAY_CLIENT, PORTAL_CLIENT):
        client = _client(realm, client_id)
        mappers = _mappers(client)
        audiences = [
            m["config"] for m in mappers.values() if m["protocolMapper"] == "oidc-audience-mapper"
        ]
        assert [a["included.client.audience"] for a in audiences] == ["aizu-gateway", "account"]
        assert all(a["access.token.claim"] == "true" for a in audiences)
        acr = mappers["acr"]
        assert acr["protocolMapper"] == "oidc-acr-mapper"
        assert acr["config"]["access.token.claim"] == acr["config"]["id.token.claim"] == "true"
        tenant = mappers["tenant"]
        assert tenant["protocolMapper"] == "oidc-usermodel-attribute-mapper"
        assert tenant["config"]["user.attribute"] == tenant["config"]["claim.name"] == "tenant"
        # The organization claim comes from Keycloak's built-in ``organization`` client scope (its
        # oidc-organization-membership-mapper answers only when that scope is on the client).
        assert "organization" in client["defaultClientScopes"]
        assert not [m for m in mappers.values() if m["protocolMapper"] == "oidc-organization-membership-mapper"]


def test_four_basic_items_in_every_token(realm: dict[str, Any]) -> None:
    expected_claims = {
        "name": "name",
        "formatted": "address.formatted",
        "postal_code": "address.postal_code",
        "region": "address.region",
        "locality": "address.locality",
        "birthdate": "birthdate",
        "gender": "gender",
    }
    for client_id in (GATEWAY_CLIENT, PORTAL_CLIENT):
        attribute_mappers = {
            m["config"]["user.attribute"]: m["config"]
            for m in _client(realm, client_id)["protocolMappers"]
            if m["protocolMapper"] == "oidc-usermodel-attribute-mapper"
        }
        for attribute, claim in expected_claims.items():
            config = attribute_mappers[attribute]
            assert config["claim.name"] == claim
            for where in ("access.token.claim", "id.token.claim", "userinfo.token.claim"):
                assert config[where] == "true", f"{attribute} not in {where}"


def test_user_profile_declares_every_attribute_the_claims_read(realm: dict[str, Any], tenants: Region) -> None:
    profile = _user_profile(realm)
    attributes = {a["name"]: a for a in profile["attributes"]}
    assert {"username", "email", "tenant", *CARD_ATTRIBUTES} == set(attributes)
    # No firstName/lastName: the ``profile`` scope's full-name mapper must not write a second ``name``.
    assert "firstName" not in attributes and "lastName" not in attributes
    for name in ("tenant", *CARD_ATTRIBUTES):
        assert attributes[name]["permissions"]["edit"] == ["admin"], f"{name} must not be editable by the user"
    assert attributes["tenant"]["validations"]["options"]["options"] == [t.slug for t in tenants.towns]
    groups = {g["name"] for g in profile["groups"]}
    assert {a["group"] for a in attributes.values() if "group" in a} <= groups
    texts = realm["localizationTexts"]
    for key in re.findall(r"\$\{(aizu\.[^}]+)\}", json.dumps(profile)):
        assert key in texts["ja"] and key in texts["en"], key


def test_jpki_broker_placeholder(realm: dict[str, Any]) -> None:
    (idp,) = realm["identityProviders"]
    assert idp["alias"] == "jpki" and idp["providerId"] == "oidc"
    assert idp["enabled"] is False
    assert idp["firstBrokerLoginFlowAlias"] == "first broker login"
    for key in ("issuer", "authorizationUrl", "tokenUrl", "userInfoUrl", "jwksUrl", "clientId", "clientSecret"):
        assert ENV_PLACEHOLDER.match(idp["config"][key]), key
        assert idp["config"][key].startswith("${AIZU_JPKI_"), key
    assert idp["config"]["pkceMethod"] == "S256" and idp["config"]["syncMode"] == "FORCE"
    mappers = [m for m in realm["identityProviderMappers"] if m["identityProviderAlias"] == "jpki"]
    imported = {
        m["config"]["user.attribute"]: m["config"]["claim"]
        for m in mappers
        if m["identityProviderMapper"] == "oidc-user-attribute-idp-mapper"
    }
    assert imported == {
        "name": "name",
        "formatted": "address.formatted",
        "postal_code": "address.postal_code",
        "region": "address.region",
        "locality": "address.locality",
        "birthdate": "birthdate",
        "gender": "gender",
    }
    roles = [m["config"]["role"] for m in mappers if m["identityProviderMapper"] == "oidc-hardcoded-role-idp-mapper"]
    assert roles == ["resident"]


# --- demo users ---------------------------------------------------------------------------------


def test_demo_users_as_the_contract_lists_them(demo: dict[str, Any], tenants: Region) -> None:
    users = {u["username"]: u for u in demo["users"]}
    assert len(demo["users"]) == len(users) == 13 * 5 + 2 == len(tenants.towns) * 5 + 2
    expected = {"council.member", "council.member2"} | {
        f"{t.slug}.{suffix}"
        for t in tenants.towns
        for suffix in ("resident", "resident-basic", "caseworker", "admin", "admin2")
    }
    assert set(users) == expected
    for user in users.values():
        assert user["enabled"] is True
        assert "credentials" not in user  # set with kcadm.sh set-password on a staging realm
        # The id is Keycloak's ``sub``: the contract's uuid5 for the realm's issuer.
        assert user["id"] == subject_for("https://auth.aizu.example/realms/aizu", user["username"])


def test_demo_users_are_the_development_issuers(
    demo: dict[str, Any], dev_users: dict[str, DemoUser], tenants: Region
) -> None:
    """One source of truth: the same people, in the same order, as gateway.devissuer.users."""
    assert [u["username"] for u in demo["users"]] == list(dev_users)
    for user in demo["users"]:
        dev = dev_users[user["username"]]
        assert user["id"] == dev.subject
        assert user["realmRoles"] == list(dev.roles)
        attrs = {name: value for name, (value,) in user["attributes"].items()}
        assert attrs.get("name") == dev.name
        assert attrs.get("tenant") == dev.tenant
        assert attrs.get("birthdate") == dev.birthdate
        assert attrs.get("gender") == dev.gender
        if dev.address is None:
            assert not set(ADDRESS_PARTS) & set(attrs)
        else:
            assert {part: attrs[part] for part in ADDRESS_PARTS} == {
                part: getattr(dev.address, part) for part in ADDRESS_PARTS
            }
        assert _organizations_of(demo, user["username"]) == ([dev.organization] if dev.organization else [])
    # The address parts the realm leaves out: street_address only (not declared in the user profile).
    assert {f for u in dev_users.values() if u.address for f in u.address.__struct_fields__} - set(ADDRESS_PARTS) == {
        "street_address"
    }


def test_keycloak_and_the_development_issuer_write_the_same_identity_claims(
    demo: dict[str, Any], dev_users: dict[str, DemoUser]
) -> None:
    for client_id in (GATEWAY_CLIENT, PORTAL_CLIENT):
        for user in demo["users"]:
            dev = dev_users[user["username"]]
            assert _keycloak_claims(demo, client_id, user) == _dev_issuer_claims(dev), user["username"]


def test_demo_user_ids_follow_the_issuer(tenants: Region) -> None:
    """A staging Keycloak elsewhere renders for its own issuer; its ids are then that issuer's subjects."""
    staging = "http://keycloak:8080/realms/aizu"
    realm = build_realm(tenants, with_demo_users=True, issuer_url=staging)
    dev = demo_users(tenants, staging)
    assert {u["username"]: u["id"] for u in realm["users"]} == {name: u.subject for name, u in dev.items()}
    assert render(tenants, with_demo_users=True, issuer_url=staging) == render(
        tenants, with_demo_users=True, issuer_url=staging
    )
    other = build_realm(tenants, with_demo_users=True, base_domain="aizu.test")
    assert other["users"][0]["id"] == subject_for("https://auth.aizu.test/realms/aizu", other["users"][0]["username"])
    # Without demo users the issuer changes nothing: the committed file stays the same.
    assert render(tenants, issuer_url=staging) == render(tenants)


def test_staff_carry_their_role_and_their_town(demo: dict[str, Any], tenants: Region) -> None:
    users = {u["username"]: u for u in demo["users"]}
    orgs = {o["alias"]: o for o in demo["organizations"]}
    member_of = {m["username"]: alias for alias, org in orgs.items() for m in org.get("members", [])}
    for town in tenants.towns:
        staff = {
            f"{town.slug}.caseworker": "caseworker",
            f"{town.slug}.admin": "tenant-admin",
            f"{town.slug}.admin2": "tenant-admin",
        }
        members = orgs[town.slug]["members"]
        assert {m["username"] for m in members} == set(staff)
        for member in members:
            assert member["id"] == users[member["username"]]["id"]
            assert member["membershipType"] == "UNMANAGED"
        for username, role in staff.items():
            user = users[username]
            assert user["realmRoles"] == [role]
            assert member_of[username] == town.slug
            assert set(user["attributes"]) == {"name"}  # no tenant, no card items
            assert user["email"] == f"{username}@{town.slug}.aizu.example"
            assert user["emailVerified"] is True
    for username in ("council.member", "council.member2"):
        assert users[username]["realmRoles"] == ["council"]
        assert username not in member_of
        assert set(users[username]["attributes"]) == {"name"}
        assert users[username]["email"] == f"{username}@{tenants.council.slug}.aizu.example"


def test_residents_carry_tenant_and_jpki_residents_the_four_items(demo: dict[str, Any], tenants: Region) -> None:
    users = {u["username"]: u for u in demo["users"]}
    profile = {a["name"]: a for a in _user_profile(demo)["attributes"]}
    for town in tenants.towns:
        card = users[f"{town.slug}.resident"]
        basic = users[f"{town.slug}.resident-basic"]
        for resident in (card, basic):
            assert resident["realmRoles"] == ["resident"]
            assert resident["attributes"]["tenant"] == [town.slug]
            assert "email" not in resident
        attrs = card["attributes"]
        assert set(attrs) == {"tenant", *CARD_ATTRIBUTES}
        assert re.fullmatch(r"\S+ \S+", attrs["name"][0])  # 氏名 in family-given order
        assert attrs["region"] == ["福島県"]
        assert attrs["locality"] == [town.name_ja]
        assert attrs["formatted"][0].startswith("福島県") and town.name_ja in attrs["formatted"][0]
        assert attrs["gender"][0] in ("female", "male")
        for name in ("postal_code", "birthdate"):
            pattern = profile[name]["validations"]["pattern"]["pattern"]
            assert re.fullmatch(pattern, attrs[name][0]), (name, attrs[name])
        # Password-level residents carry their self-declared name only.
        assert set(basic["attributes"]) == {"tenant", "name"}


def test_demo_identities_match_the_user_profile(demo: dict[str, Any], dev_users: dict[str, DemoUser]) -> None:
    users = list(dev_users.values())
    assert {u.acr for u in users} == {"jpki", "aal1", "aal2"}
    assert all(u.acr in ACR_LOA for u in users)
    assert all((u.tenant is None) != (u.organization is None) or "council" in u.roles for u in users)
    declared = {a["name"] for a in _user_profile(demo)["attributes"]}
    assert {name for u in demo["users"] for name in u["attributes"]} <= declared
