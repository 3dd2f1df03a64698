"""The Keycloak 26 realm ``aizu``, generated from ``tenants/`` (``aizu keycloak realm``).

The realm is the production side of ``gateway/IDENTITY.md``: the same roles, clients and claims the
development issuer emits, so the gateway verifies tokens from either without knowing which. The
output is a realm *import* file (``kc.sh start --import-realm``), not a full export: whatever it
leaves out, Keycloak creates with its defaults on import (authentication flows, keys, the built-in
client scopes ``basic``, ``profile``, ``email``, ``roles``, ``web-origins``, ``organization``).
That is deliberate: a file that lists ``clientScopes`` or ``authenticationFlows`` replaces those
defaults instead of adding to them, so the realm would lose ``sub`` or every built-in flow.

Choices that follow from the identity contract rather than from Keycloak's defaults:

- ``name`` and the address come from user attributes, not from ``firstName``/``lastName`` and
  Keycloak's address mapper. A My Number Card carries 氏名 as one string in family-given order;
  the full-name mapper would print "<first> <last>", and the address mapper emits ``address: {}``
  for users without one, where the contract wants the claim absent. ``firstName``/``lastName`` are
  left out of the user profile, so the ``profile`` scope's full-name mapper never competes.
- The clients do not have the full role scope: only the four Aizu roles reach ``realm_access``
  (no ``default-roles-aizu``, ``offline_access``), and ``aud`` is exactly ``aizu-gateway`` and
  ``account``, as the development issuer writes it.
- Keycloak does not accept wildcard hosts in redirect URIs, so every town's callback is listed.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from contracts.principal import Role
from contracts.tenants import Region, Tenant

REALM = "aizu"
BASE_DOMAIN = "aizu.example"
GATEWAY_CLIENT = "aizu-gateway"
PORTAL_CLIENT = "aizu-portal"
JPKI_ALIAS = "jpki"
#: Keycloak replaces ``${NAME}`` with the environment variable when it imports the file at start-up.
GATEWAY_SECRET_PLACEHOLDER = "${AIZU_OIDC_CLIENT_SECRET}"
#: Level of assurance by ``acr`` value, as Keycloak's step-up authentication counts it.
ACR_LOA: dict[str, int] = {"aal1": 1, "aal2": 2, "jpki": 3}
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "deploy" / "keycloak" / "aizu-realm.json"

#: Realm roles with their descriptions, Japanese first.
ROLES: dict[Role, str] = {
    "resident": "住民 — 自分の申請・通知を扱う / Resident: files and follows their own applications",
    "caseworker": (
        "職員（担当者）— 自治体の申請を処理し、窓口で住民に代わって申請する / "
        "Caseworker: handles the town's applications and files for residents at the counter"
    ),
    "tenant-admin": (
        "自治体管理者 — 手続き・手数料・様式・お知らせなど自治体の設定を管理する / "
        "Tenant admin: configures the town (procedures, fees, templates, branding, alerts)"
    ),
    "council": (
        "協議会 — 全市町村の共有指標とオープンデータを閲覧する（住民の個人情報は不可） / "
        "Council: reads the shared KPIs of all towns and open data, never residents' personal data"
    ),
}

#: Built-in client scopes Keycloak creates on import; ``organization`` is what lets the
#: organization-membership mapper run at all (it only answers for a requested organization scope).
CLIENT_SCOPES = ("basic", "email", "organization", "profile", "roles", "web-origins")

#: User attributes behind the claims. The address parts use the names Keycloak's own address
#: mapper reads, so the built-in ``address`` scope would agree if a client ever asked for it.
ADDRESS_PARTS = ("formatted", "postal_code", "region", "locality")
CARD_ATTRIBUTES = ("name", *ADDRESS_PARTS, "birthdate", "gender")

_PREFECTURE = "福島県"
_TRUE = "true"


class Address(msgspec.Struct, frozen=True, kw_only=True):
    formatted: str
    postal_code: str
    region: str
    locality: str


class DemoUser(msgspec.Struct, frozen=True, kw_only=True):
    """A demo resident, staff member or council member, as ``gateway/IDENTITY.md`` lists them."""

    username: str
    roles: tuple[Role, ...]
    #: The level the user signs in at: ``jpki``, ``aal1`` or ``aal2``.
    acr: str
    #: A resident's home town (the ``tenant`` claim).
    tenant: str | None = None
    #: A staff member's town (the Keycloak organization, the ``organization`` claim).
    organization: str | None = None
    email: str | None = None
    name: str | None = None
    address: Address | None = None
    birthdate: str | None = None
    gender: str | None = None


# --- public API ---------------------------------------------------------------------------------


def build_realm(region: Region, *, with_demo_users: bool = False, base_domain: str = BASE_DOMAIN) -> dict[str, Any]:
    """The realm representation Keycloak 26 imports, for every town of ``region``."""
    users = demo_users(region, base_domain=base_domain) if with_demo_users else ()
    hosts = [f"{t.slug}.{base_domain}" for t in region.towns] + [f"{region.council.slug}.{base_domain}"]
    realm: dict[str, Any] = {
        "realm": REALM,
        "displayName": "会津地域デジタル共通基盤",
        "displayNameHtml": "会津地域デジタル共通基盤 <small>Aizu shared services</small>",
        "enabled": True,
        "sslRequired": "external",
        "organizationsEnabled": True,
        # Sessions and tokens: the contract's 300 s access token and 30 min refresh, rotated.
        "accessTokenLifespan": 300,
        "ssoSessionIdleTimeout": 1800,
        "ssoSessionMaxLifespan": 36000,
        "revokeRefreshToken": True,
        "refreshTokenMaxReuse": 0,
        "accessCodeLifespan": 60,
        "accessCodeLifespanLogin": 1800,
        "accessCodeLifespanUserAction": 300,
        # Brute force: temporary lockouts only, so an elderly resident is never locked out for good.
        "bruteForceProtected": True,
        "permanentLockout": False,
        "failureFactor": 10,
        "waitIncrementSeconds": 60,
        "maxFailureWaitSeconds": 900,
        "minimumQuickLoginWaitSeconds": 60,
        "quickLoginCheckMilliSeconds": 1000,
        "maxDeltaTimeSeconds": 43200,
        "passwordPolicy": "length(12) and notUsername(undefined) and notEmail(undefined)",
        # Accounts come from the town (staff) or the JPKI broker (residents), never self-service.
        "registrationAllowed": False,
        "resetPasswordAllowed": False,
        "rememberMe": False,
        "verifyEmail": False,
        "loginWithEmailAllowed": True,
        "duplicateEmailsAllowed": False,
        "editUsernameAllowed": False,
        "internationalizationEnabled": True,
        "supportedLocales": ["ja", "en"],
        "defaultLocale": "ja",
        "localizationTexts": _localization_texts(),
        "eventsEnabled": True,
        "eventsExpiration": 90 * 24 * 3600,
        "adminEventsEnabled": True,
        "adminEventsDetailsEnabled": False,
        "attributes": {"acr.loa.map": json.dumps(ACR_LOA, separators=(",", ":"), sort_keys=True)},
        "roles": {"realm": [_role(name, description) for name, description in ROLES.items()]},
        "scopeMappings": [{"client": c, "roles": list(ROLES)} for c in (GATEWAY_CLIENT, PORTAL_CLIENT)],
        "clients": [_gateway_client(hosts), _portal_client(hosts)],
        "components": {"org.keycloak.userprofile.UserProfileProvider": [_user_profile(region)]},
        "identityProviders": [_jpki_provider()],
        "identityProviderMappers": _jpki_mappers(),
        "organizations": [_organization(t, base_domain, users) for t in region.towns],
    }
    if with_demo_users:
        realm["users"] = [_user(u) for u in users]
    return realm


def render(region: Region, *, with_demo_users: bool = False, base_domain: str = BASE_DOMAIN) -> str:
    """The realm as the file is committed: sorted keys, two-space indent, UTF-8 text, final newline."""
    realm = build_realm(region, with_demo_users=with_demo_users, base_domain=base_domain)
    return json.dumps(realm, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write(
    path: Path | str, region: Region, *, with_demo_users: bool = False, base_domain: str = BASE_DOMAIN
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(region, with_demo_users=with_demo_users, base_domain=base_domain), encoding="utf-8")
    return path


def demo_users(region: Region, *, base_domain: str = BASE_DOMAIN) -> tuple[DemoUser, ...]:
    """Five demo users per town and two council members, with made-up but well-formed identities."""
    users: list[DemoUser] = []
    for i, town in enumerate(region.towns):
        family = _family_name(town)
        locality = _locality(town)
        given, gender = (("花子", "female"), ("太郎", "male"))[i % 2]
        district = town.districts[0] if town.districts else ""
        users.append(
            DemoUser(
                username=f"{town.slug}.resident",
                roles=("resident",),
                acr="jpki",
                tenant=town.slug,
                name=f"{family} {given}",
                address=Address(
                    formatted=f"{_PREFECTURE}{locality}{district}{i + 1}番地",
                    postal_code=_postal_prefix(town) + "-0000",
                    region=_PREFECTURE,
                    locality=locality,
                ),
                birthdate=date(1940 + (i * 7) % 45, 1 + (i * 5) % 12, 1 + (i * 11) % 28).isoformat(),
                gender=gender,
            )
        )
        users.append(
            DemoUser(
                username=f"{town.slug}.resident-basic",
                roles=("resident",),
                acr="aal1",
                tenant=town.slug,
                name=f"{family} {('一郎', '幸子')[i % 2]}",
            )
        )
        for suffix, role in (("caseworker", "caseworker"), ("admin", "tenant-admin"), ("admin2", "tenant-admin")):
            username = f"{town.slug}.{suffix}"
            users.append(
                DemoUser(
                    username=username,
                    roles=(role,),
                    acr="aal2",
                    organization=town.slug,
                    # Keycloak validates an organization member's e-mail whenever the profile is
                    # checked, so staff need one; it is in the town's organization domain.
                    email=f"{username}@{town.slug}.{base_domain}",
                )
            )
    council = region.council.slug
    for username in (f"{council}.member", f"{council}.member2"):
        users.append(
            DemoUser(username=username, roles=("council",), acr="aal2", email=f"{username}@{council}.{base_domain}")
        )
    return tuple(users)


def user_id(username: str) -> str:
    """A stable Keycloak user id, so organization members can name their user and re-imports agree."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:aizu:keycloak:{REALM}:user:{username}"))


# --- realm parts --------------------------------------------------------------------------------


def _role(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "description": description, "composite": False, "clientRole": False}


def _common_client(hosts: list[str]) -> dict[str, Any]:
    return {
        "enabled": True,
        "protocol": "openid-connect",
        "standardFlowEnabled": True,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "consentRequired": False,
        "fullScopeAllowed": False,
        "redirectUris": [f"https://{h}/auth/callback" for h in hosts],
        "webOrigins": [f"https://{h}" for h in hosts],
        "attributes": {
            "pkce.code.challenge.method": "S256",
            "post.logout.redirect.uris": "##".join(f"https://{h}/*" for h in hosts),
        },
        "defaultClientScopes": list(CLIENT_SCOPES),
        "optionalClientScopes": [],
        "protocolMappers": _protocol_mappers(),
    }


def _gateway_client(hosts: list[str]) -> dict[str, Any]:
    return {
        **_common_client(hosts),
        "clientId": GATEWAY_CLIENT,
        "name": "Aizu gateway",
        "description": (
            "ゲートウェイ（ブラウザのサインインとサービス間の client_credentials） / "
            "The gateway: browser sign-in and service-to-service client_credentials"
        ),
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "secret": GATEWAY_SECRET_PLACEHOLDER,
        "serviceAccountsEnabled": True,
    }


def _portal_client(hosts: list[str]) -> dict[str, Any]:
    return {
        **_common_client(hosts),
        "clientId": PORTAL_CLIENT,
        "name": "Aizu portal",
        "description": "地域ポータル（公開クライアント、PKCE 必須） / The regional portal: public client, PKCE required",
        "publicClient": True,
        "serviceAccountsEnabled": False,
    }


def _in_tokens(*, userinfo: bool = True) -> dict[str, str]:
    config = {"access.token.claim": _TRUE, "id.token.claim": _TRUE, "introspection.token.claim": _TRUE}
    if userinfo:
        config["userinfo.token.claim"] = _TRUE
    return config


def _mapper(name: str, mapper: str, config: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "protocol": "openid-connect",
        "protocolMapper": mapper,
        "consentRequired": False,
        "config": config,
    }


def _attribute_mapper(name: str, attribute: str, claim: str) -> dict[str, Any]:
    """A user attribute as a claim; absent from the token when the user has no such attribute."""
    return _mapper(
        name,
        "oidc-usermodel-attribute-mapper",
        {"user.attribute": attribute, "claim.name": claim, "jsonType.label": "String", **_in_tokens()},
    )


def _audience_mapper(client_id: str) -> dict[str, Any]:
    return _mapper(
        f"audience {client_id}",
        "oidc-audience-mapper",
        {
            "included.client.audience": client_id,
            "access.token.claim": _TRUE,
            "id.token.claim": "false",
            "introspection.token.claim": _TRUE,
        },
    )


def _protocol_mappers() -> list[dict[str, Any]]:
    """Claims of both clients beyond the built-in scopes (``sub``, ``realm_access``, ``organization``...)."""
    return [
        _audience_mapper(GATEWAY_CLIENT),
        # The development issuer writes aud ["aizu-gateway", "account"]; without the full role scope
        # Keycloak's audience-resolve mapper no longer adds "account" by itself.
        _audience_mapper("account"),
        _mapper("acr", "oidc-acr-mapper", _in_tokens(userinfo=False)),
        _attribute_mapper("tenant", "tenant", "tenant"),
        _attribute_mapper("name", "name", "name"),
        *(_attribute_mapper(f"address {part}", part, f"address.{part}") for part in ADDRESS_PARTS),
        _attribute_mapper("birthdate", "birthdate", "birthdate"),
        _attribute_mapper("gender", "gender", "gender"),
    ]


def _user_profile(region: Region) -> dict[str, Any]:
    """Keycloak 24+ keeps only declared attributes; these are the ones the claims read."""
    card_only = {"view": ["admin", "user"], "edit": ["admin"]}

    def attribute(name: str, group: str, validations: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "displayName": f"${{aizu.attribute.{name}}}",
            "group": group,
            "multivalued": False,
            "permissions": card_only,
            "validations": validations,
            **extra,
        }

    length = {"length": {"max": 255}}
    config = {
        "attributes": [
            {
                "name": "username",
                "displayName": "${username}",
                "multivalued": False,
                "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
                "validations": {
                    "length": {"min": 3, "max": 255},
                    "username-prohibited-characters": {},
                    "up-username-not-idn-homograph": {},
                },
            },
            {
                "name": "email",
                "displayName": "${email}",
                "multivalued": False,
                "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
                "validations": {"email": {}, "length": {"max": 255}},
            },
            attribute("name", "card", length),
            attribute("formatted", "card", length),
            attribute(
                "postal_code",
                "card",
                {"pattern": {"pattern": "^[0-9]{3}-[0-9]{4}$", "error-message": "aizu.invalid.postal_code"}},
            ),
            attribute("region", "card", length),
            attribute("locality", "card", length),
            attribute(
                "birthdate",
                "card",
                {"pattern": {"pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "error-message": "aizu.invalid.birthdate"}},
            ),
            attribute("gender", "card", {"length": {"max": 32}}),
            attribute(
                "tenant",
                "municipality",
                {"options": {"options": [t.slug for t in region.towns]}},
                annotations={
                    "inputType": "select",
                    "inputOptionLabels": {t.slug: t.name_ja for t in region.towns},
                },
            ),
        ],
        "groups": [
            {"name": "card", "displayHeader": "${aizu.group.card}", "displayDescription": "${aizu.group.card.help}"},
            {
                "name": "municipality",
                "displayHeader": "${aizu.group.municipality}",
                "displayDescription": "${aizu.group.municipality.help}",
            },
        ],
    }
    text = json.dumps(config, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return {"providerId": "declarative-user-profile", "subComponents": {}, "config": {"kc.user.profile.config": [text]}}


def _localization_texts() -> dict[str, dict[str, str]]:
    return {
        "ja": {
            "aizu.attribute.name": "氏名",
            "aizu.attribute.formatted": "住所",
            "aizu.attribute.postal_code": "郵便番号",
            "aizu.attribute.region": "都道府県",
            "aizu.attribute.locality": "市区町村",
            "aizu.attribute.birthdate": "生年月日",
            "aizu.attribute.gender": "性別",
            "aizu.attribute.tenant": "住所地の市町村",
            "aizu.group.card": "基本4情報",
            "aizu.group.card.help": "マイナンバーカードで確認した氏名・住所・生年月日・性別",
            "aizu.group.municipality": "市町村",
            "aizu.group.municipality.help": "住民が住む会津地域の市町村",
            "aizu.invalid.postal_code": "郵便番号は 123-4567 の形で入力してください",
            "aizu.invalid.birthdate": "生年月日は 1950-01-31 の形で入力してください",
        },
        "en": {
            "aizu.attribute.name": "Name",
            "aizu.attribute.formatted": "Address",
            "aizu.attribute.postal_code": "Postal code",
            "aizu.attribute.region": "Prefecture",
            "aizu.attribute.locality": "Municipality",
            "aizu.attribute.birthdate": "Date of birth",
            "aizu.attribute.gender": "Gender",
            "aizu.attribute.tenant": "Home municipality",
            "aizu.group.card": "Basic four items",
            "aizu.group.card.help": "Name, address, date of birth and gender as verified with a My Number Card",
            "aizu.group.municipality": "Municipality",
            "aizu.group.municipality.help": "The Aizu municipality the resident lives in",
            "aizu.invalid.postal_code": "Enter the postal code as 123-4567",
            "aizu.invalid.birthdate": "Enter the date of birth as 1950-01-31",
        },
    }


def _jpki_provider() -> dict[str, Any]:
    """The My Number Card (JPKI) broker: an OIDC provider, disabled until the region has one.

    Keycloak validates an identity provider's URLs on import even when it is disabled, so each
    placeholder carries a syntactically valid default on the reserved ``.invalid`` domain.
    """

    def env(name: str, default: str) -> str:
        return f"${{AIZU_JPKI_{name}:{default}}}"

    broker = "https://jpki-broker.invalid"
    return {
        "alias": JPKI_ALIAS,
        "displayName": "マイナンバーカードでサインイン / Sign in with My Number Card",
        "providerId": "oidc",
        "enabled": False,
        "trustEmail": False,
        "storeToken": False,
        "addReadTokenRoleOnCreate": False,
        "authenticateByDefault": False,
        "linkOnly": False,
        "firstBrokerLoginFlowAlias": "first broker login",
        "config": {
            "issuer": env("ISSUER", broker),
            "authorizationUrl": env("AUTHORIZATION_URL", f"{broker}/authorize"),
            "tokenUrl": env("TOKEN_URL", f"{broker}/token"),
            "userInfoUrl": env("USERINFO_URL", f"{broker}/userinfo"),
            "jwksUrl": env("JWKS_URL", f"{broker}/jwks"),
            "useJwksUrl": _TRUE,
            "validateSignature": _TRUE,
            "clientId": env("CLIENT_ID", "aizu"),
            "clientSecret": env("CLIENT_SECRET", ""),
            "clientAuthMethod": env("CLIENT_AUTH_METHOD", "client_secret_post"),
            "defaultScope": env("SCOPE", "openid profile address"),
            "pkceEnabled": _TRUE,
            "pkceMethod": "S256",
            # FORCE: every card sign-in rewrites the four items, so a move or a name change is
            # picked up the next time the resident uses the card.
            "syncMode": "FORCE",
            "loginHint": "false",
            "backchannelSupported": "false",
            "disableUserInfo": "false",
            "guiOrder": "1",
        },
    }


def _jpki_mappers() -> list[dict[str, Any]]:
    def claim_to_attribute(claim: str, attribute: str) -> dict[str, Any]:
        return {
            "name": f"card {attribute}",
            "identityProviderAlias": JPKI_ALIAS,
            "identityProviderMapper": "oidc-user-attribute-idp-mapper",
            "config": {"claim": claim, "user.attribute": attribute, "syncMode": "FORCE"},
        }

    return [
        claim_to_attribute("name", "name"),
        *(claim_to_attribute(f"address.{part}", part) for part in ADDRESS_PARTS),
        claim_to_attribute("birthdate", "birthdate"),
        claim_to_attribute("gender", "gender"),
        {
            "name": "card holder is a resident",
            "identityProviderAlias": JPKI_ALIAS,
            "identityProviderMapper": "oidc-hardcoded-role-idp-mapper",
            "config": {"role": "resident", "syncMode": "INHERIT"},
        },
    ]


def _organization(town: Tenant, base_domain: str, users: tuple[DemoUser, ...]) -> dict[str, Any]:
    org: dict[str, Any] = {
        "name": town.name_ja,
        "alias": town.slug,
        "enabled": True,
        "description": f"{town.name_ja}（{town.name_en}） 団体コード {town.code}",
        "redirectUrl": f"https://{town.slug}.{base_domain}/",
        "attributes": {"code": [town.code], "name_en": [town.name_en]},
        "domains": [{"name": f"{town.slug}.{base_domain}", "verified": False}],
    }
    members = [u for u in users if u.organization == town.slug]
    if members:
        # Keycloak 26 links members by username after the users are imported (older 25.x by id,
        # hence both); membershipType UNMANAGED: a realm user linked to the organization.
        org["members"] = [
            {"id": user_id(u.username), "username": u.username, "membershipType": "UNMANAGED"} for u in members
        ]
    return org


def _user(user: DemoUser) -> dict[str, Any]:
    attributes: dict[str, list[str]] = {}
    if user.tenant:
        attributes["tenant"] = [user.tenant]
    if user.name:
        attributes["name"] = [user.name]
    if user.address:
        for part in ADDRESS_PARTS:
            attributes[part] = [getattr(user.address, part)]
    if user.birthdate:
        attributes["birthdate"] = [user.birthdate]
    if user.gender:
        attributes["gender"] = [user.gender]
    rep: dict[str, Any] = {
        "id": user_id(user.username),
        "username": user.username,
        "enabled": True,
        "realmRoles": list(user.roles),
        "attributes": attributes,
        "requiredActions": [],
    }
    if user.email:
        rep["email"] = user.email
        rep["emailVerified"] = True
    return rep


# --- demo identities ----------------------------------------------------------------------------

_POSTAL = re.compile(r"〒\s*(?P<prefix>[0-9]{3})-[0-9]{4}")


def _family_name(town: Tenant) -> str:
    """A made-up family name from the town's name: 喜多方市 → 喜多方."""
    if town.kind_ja and town.name_ja.endswith(town.kind_ja) and len(town.name_ja) > len(town.kind_ja):
        return town.name_ja[: -len(town.kind_ja)]
    return town.name_ja


def _locality(town: Tenant) -> str:
    """The municipality as an address writes it, with its 郡 for a town or village (耶麻郡北塩原村)."""
    match = re.search(rf"{_PREFECTURE}(?P<gun>\S{{1,4}}郡)?{re.escape(town.name_ja)}", town.contact.address_ja)
    gun = match.group("gun") if match and match.group("gun") else ""
    return f"{gun}{town.name_ja}"


def _postal_prefix(town: Tenant) -> str:
    match = _POSTAL.search(town.contact.address_ja)
    return match.group("prefix") if match else "960"
