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
- The demo users (``--with-demo-users`` only) are the development issuer's, from
  :func:`gateway.devissuer.users.demo_users`: the same people, names, addresses and birth dates, so a
  staging Keycloak and ``make dev`` agree. Each user's Keycloak id (the ``sub`` Keycloak writes) is
  the subject the development issuer computes, ``uuid5(issuer + "/" + username)`` per IDENTITY.md,
  for the realm's own issuer (:func:`realm_issuer`, or ``issuer_url`` for a staging Keycloak
  elsewhere); a development issuer run with ``AIZU_OIDC_ISSUER`` set to that URL gives every user
  the same ``sub``. Only the four address parts the user profile declares are exported, not the
  development issuer's ``street_address``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.principal import Role
from contracts.tenants import Region, Tenant
from gateway.devissuer.users import DemoUser, demo_users

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

_TRUE = "true"


# --- public API ---------------------------------------------------------------------------------


def realm_issuer(base_domain: str = BASE_DOMAIN) -> str:
    """The realm's ``iss`` in production: Keycloak at ``auth.<base domain>`` (``AIZU_OIDC_ISSUER``)."""
    return f"https://auth.{base_domain}/realms/{REALM}"


def build_realm(
    region: Region, *, with_demo_users: bool = False, base_domain: str = BASE_DOMAIN, issuer_url: str | None = None
) -> dict[str, Any]:
    """The realm representation Keycloak 26 imports, for every town of ``region``.

    ``issuer_url`` (default :func:`realm_issuer`) only decides the demo users' ids.
    """
    users = tuple(demo_users(region, issuer_url or realm_issuer(base_domain)).values()) if with_demo_users else ()
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
        realm["users"] = [_user(u, base_domain) for u in users]
    return realm


def render(
    region: Region, *, with_demo_users: bool = False, base_domain: str = BASE_DOMAIN, issuer_url: str | None = None
) -> str:
    """The realm as the file is committed: sorted keys, two-space indent, UTF-8 text, final newline."""
    realm = build_realm(region, with_demo_users=with_demo_users, base_domain=base_domain, issuer_url=issuer_url)
    return json.dumps(realm, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write(
    path: Path | str,
    region: Region,
    *,
    with_demo_users: bool = False,
    base_domain: str = BASE_DOMAIN,
    issuer_url: str | None = None,
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render(region, with_demo_users=with_demo_users, base_domain=base_domain, issuer_url=issuer_url)
    path.write_text(text, encoding="utf-8")
    return path



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
        org["members"] = [{"id": u.subject, "username": u.username, "membershipType": "UNMANAGED"} for u in members]
    return org


def _user(user: DemoUser, base_domain: str) -> dict[str, Any]:
    """A demo user of the development issuer as a Keycloak user: id = its ``sub``, no credentials."""
    attributes: dict[str, list[str]] = {"name": [user.name]}
    if user.tenant:
        attributes["tenant"] = [user.tenant]
    if user.address:
        for part in ADDRESS_PARTS:
            attributes[part] = [getattr(user.address, part)]
    if user.birthdate:
        attributes["birthdate"] = [user.birthdate]
    if user.gender:
        attributes["gender"] = [user.gender]
    rep: dict[str, Any] = {
        "id": user.subject,
        "username": user.username,
        "enabled": True,
        "realmRoles": list(user.roles),
        "attributes": attributes,
        "requiredActions": [],
    }
    if user.tenant is None:
        # Staff and council: Keycloak validates an organization member's e-mail against the
        # organization's domains whenever the profile is checked, so each gets one in its town's
        # (or the council's) domain. The development issuer has no e-mails.
        rep["email"] = f"{user.username}@{user.group}.{base_domain}"
        rep["emailVerified"] = True
    return rep

