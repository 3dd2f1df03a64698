"""Access, ID and refresh tokens with the claims IDENTITY.md fixes, signed and verified with joserfc."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import BaseClaimsRegistry, JWTClaimsRegistry

from contracts.tenants import Region
from gateway.devissuer import lifetimes
from gateway.devissuer.clients import GATEWAY
from gateway.devissuer.errors import IssuerUnavailable
from gateway.devissuer.keys import ALGORITHM, Clock, KeyStore
from gateway.devissuer.settings import IssuerSettings
from gateway.devissuer.users import DemoUser, demo_users, subject_for

#: Keycloak puts this second audience on every user token (its account console client).
ACCESS_AUDIENCE = [GATEWAY, "account"]
USER_SCOPE = "openid profile email"
#: Without ``openid`` Keycloak issues an OAuth access token and no ID token.
OAUTH_SCOPE = "profile email"


class TokenResponse(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename={"not_before_policy": "not-before-policy"}
):
    """The token endpoint's answer, field for field as Keycloak writes it."""

    access_token: str
    expires_in: int
    refresh_expires_in: int
    # No defaults above this line: omit_defaults drops only the absent (None) tokens below.
    token_type: str
    not_before_policy: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None
    session_state: str | None = None


class InvalidToken(Exception):
    """A token that is not ours, not of the expected kind, tampered with, or expired."""


class UserGrant(msgspec.Struct, frozen=True, kw_only=True):
    """What a sign-in established, carried from the code through each refresh."""

    user: DemoUser
    client_id: str
    sid: str
    openid: bool = True
    nonce: str | None = None
    auth_time: int


def identity_claims(user: DemoUser) -> dict[str, Any]:
    """Who the user is, as access token, ID token and userinfo all state it.

    The four basic items of the card go only into tokens of card-verified (``jpki``) residents:
    a password-level resident's name is self-declared and carries nothing else.
    """
    claims: dict[str, Any] = {"preferred_username": user.username, "name": user.name}
    if user.acr == "jpki":
        claims["address"] = msgspec.to_builtins(user.address)
        claims["birthdate"] = user.birthdate
        claims["gender"] = user.gender
    if user.tenant is not None:
        claims["tenant"] = user.tenant
    if user.organization is not None:
        claims["organization"] = [user.organization]
    return claims


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6: left half of the SHA-256 of the access token, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


class TokenMinter:
    def __init__(
        self, issuer_url: str, keys: KeyStore, users: Mapping[str, DemoUser], clock: Clock = time.time
    ) -> None:
        self.issuer_url = issuer_url.rstrip("/")
        self._keys = keys
        self._users = users
        self._clock = clock

    def now(self) -> int:
        return int(self._clock())

    def _sign(self, claims: dict[str, Any]) -> str:
        key = self._keys.signing_key()
        return jwt.encode({"alg": ALGORITHM, "typ": "JWT", "kid": key.kid}, claims, key, algorithms=[ALGORITHM])

    def _base(self, now: int, lifetime: int, typ: str) -> dict[str, Any]:
        return {"exp": now + lifetime, "iat": now, "jti": str(uuid.uuid4()), "iss": self.issuer_url, "typ": typ}

    # --- user tokens ---------------------------------------------------------------------------

    def access_token(self, grant: UserGrant, now: int) -> str:
        user = grant.user
        claims = self._base(now, lifetimes.ACCESS_TOKEN, "Bearer")
        claims.update(
            nbf=now,
            aud=ACCESS_AUDIENCE,
            sub=user.subject,
            azp=grant.client_id,
            sid=grant.sid,
            acr=user.acr,
            realm_access={"roles": list(user.roles)},
            scope=USER_SCOPE if grant.openid else OAUTH_SCOPE,
            **identity_claims(user),
        )
        return self._sign(claims)

    def id_token(self, grant: UserGrant, access_token: str, now: int) -> str:
        user = grant.user
        claims = self._base(now, lifetimes.ID_TOKEN, "ID")
        claims.update(
            aud=grant.client_id,
            sub=user.subject,
            azp=grant.client_id,
            sid=grant.sid,
            auth_time=grant.auth_time,
            acr=user.acr,
            at_hash=at_hash(access_token),
            **identity_claims(user),
        )
        if grant.nonce:
            claims["nonce"] = grant.nonce
        return self._sign(claims)

    def refresh_token(self, grant: UserGrant, now: int) -> tuple[str, str]:
        """A refresh token and its ``jti``, which the session remembers to detect reuse."""
        claims = self._base(now, lifetimes.REFRESH_TOKEN, "Refresh")
        claims.update(
            aud=self.issuer_url,
            sub=grant.user.subject,
            azp=grant.client_id,
            sid=grant.sid,
            scope=USER_SCOPE if grant.openid else OAUTH_SCOPE,
        )
        return self._sign(claims), claims["jti"]

    def issue(self, grant: UserGrant) -> tuple[TokenResponse, str]:
        """Tokens for a sign-in or a refresh, and the new refresh token's ``jti``."""
        now = self.now()
        access = self.access_token(grant, now)
        refresh, refresh_jti = self.refresh_token(grant, now)
        response = TokenResponse(
            access_token=access,
            expires_in=lifetimes.ACCESS_TOKEN,
            refresh_expires_in=lifetimes.REFRESH_TOKEN,
            token_type="Bearer",
            refresh_token=refresh,
            id_token=self.id_token(grant, access, now) if grant.openid else None,
            not_before_policy=0,
            session_state=grant.sid,
            scope=USER_SCOPE if grant.openid else OAUTH_SCOPE,
        )
        return response, refresh_jti

    # --- service account and local minting -----------------------------------------------------

    def service_account_token(self, client_id: str) -> TokenResponse:
        """client_credentials: the client's service account, with no role and no session.

        Like Keycloak: no refresh token, no ID token, no ``sid`` and no ``acr`` (nobody signed in).
        """
        now = self.now()
        username = f"service-account-{client_id}"
        claims = self._base(now, lifetimes.ACCESS_TOKEN, "Bearer")
        claims.update(
            nbf=now,
            aud=ACCESS_AUDIENCE,
            sub=subject_for(self.issuer_url, username),
            azp=client_id,
            client_id=client_id,
            preferred_username=username,
            realm_access={"roles": []},
            scope=OAUTH_SCOPE,
        )
        return TokenResponse(
            access_token=self._sign(claims),
            expires_in=lifetimes.ACCESS_TOKEN,
            refresh_expires_in=0,
            token_type="Bearer",
            not_before_policy=0,
            scope=OAUTH_SCOPE,
        )

    def mint_access_token(self, username: str, client_id: str = "aizu-cli") -> str:
        """An access token for ``username`` without a sign-in, as ``aizu dev token`` prints it.

        Its session exists nowhere, so it cannot be refreshed; it is valid for 5 minutes.
        """
        user = self._users.get(username)
        if user is None:
            raise KeyError(
                f"unknown demo user {username!r} (e.g. kitakata.resident, kitakata.caseworker, council.member)"
            )
        now = self.now()
        grant = UserGrant(user=user, client_id=client_id, sid=str(uuid.uuid4()), auth_time=now)
        return self.access_token(grant, now)

    # --- verification --------------------------------------------------------------------------

    def verify(self, token: str, typ: str, *, check_expiry: bool = True) -> dict[str, Any]:
        """Claims of one of our tokens of kind ``typ`` (``Bearer``, ``ID``, ``Refresh``), else InvalidToken.

        ``check_expiry=False`` is for ``id_token_hint`` at logout, which may name an expired ID token.
        """
        try:
            decoded = jwt.decode(token, self._keys.verification_keys(), algorithms=[ALGORITHM])
            expected: dict[str, Any] = {
                "iss": {"essential": True, "value": self.issuer_url},
                "typ": {"essential": True, "value": typ},
            }
            registry = JWTClaimsRegistry(now=self.now, **expected) if check_expiry else BaseClaimsRegistry(**expected)
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise InvalidToken(f"{type(exc).__name__}: {exc}") from exc
        return decoded.claims


def dev_token(
    region: Region, username: str, client_id: str = "aizu-cli", settings: IssuerSettings | None = None
) -> str:
    """``aizu dev token <username>``: an access token the running gateway accepts, minted locally.

    It is signed with the key in ``keys.json`` that the gateway's issuer publishes, so no server is
    needed. Refused outside development: there, only Keycloak issues tokens.
    """
    settings = settings or IssuerSettings.from_env()
    if not settings.development:
        raise IssuerUnavailable(
            "aizu dev token works only in development (AIZU_ENV=development); Keycloak issues tokens elsewhere"
        )
    minter = TokenMinter(settings.issuer_url, KeyStore(settings.key_dir), demo_users(region, settings.issuer_url))
    return minter.mint_access_token(username, client_id)
