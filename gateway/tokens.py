"""Verifying bearer tokens with python-keycloak, against Keycloak or the development issuer alike.

The JWKS is fetched once and cached; a token signed with a key id we have not seen triggers one
refetch (rate-limited, so a flood of forged key ids cannot make us hammer the issuer). Verified
tokens are remembered until they expire, so a client sending the same token on every request pays
for the RSA check once.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

from jwcrypto import jwk, jws
from jwcrypto.common import JWException
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError

ALGORITHMS = ["RS256", "PS256", "ES256"]
REFETCH_INTERVAL = 10.0
CACHE_SIZE = 10_000


class InvalidToken(Exception):
    """The token is not one we accept; the message says why (never shown to the caller verbatim)."""


def split_issuer(issuer: str) -> tuple[str, str]:
    """``http://host/realms/aizu`` → (``http://host/``, ``aizu``): python-keycloak's two halves."""
    base, sep, realm = issuer.rstrip("/").rpartition("/realms/")
    if not sep or not realm:
        raise ValueError(f"not a Keycloak issuer URL: {issuer!r}")
    return base + "/", realm


class TokenVerifier:
    def __init__(self, issuer: str, audience: str, client_id: str, client_secret: str | None = None) -> None:
        server_url, realm = split_issuer(issuer)
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.oidc = KeycloakOpenID(
            server_url=server_url, realm_name=realm, client_id=client_id, client_secret_key=client_secret, timeout=5
        )
        self._keys: jwk.JWKSet | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def _key_set(self, kid: str | None) -> jwk.JWKSet:
        async with self._lock:
            known = self._keys is not None and (kid is None or self._keys.get_key(kid) is not None)
            stale = time.monotonic() - self._fetched_at > REFETCH_INTERVAL
            if not known and (self._keys is None or stale):
                certs = await self.oidc.a_certs()
                keys = jwk.JWKSet()
                for cert in certs.get("keys", []):
                    if cert.get("use", "sig") == "sig":
                        keys.add(jwk.JWK(**cert))
                self._keys, self._fetched_at = keys, time.monotonic()
            assert self._keys is not None
            return self._keys

    async def verify(self, token: str) -> dict[str, Any]:
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None:
            if cached["exp"] > now:
                self._verified.move_to_end(token)
                return cached
            del self._verified[token]
        try:
            header = jws.JWS()
            header.deserialize(token)
            protected = header.jose_header
        except (JWException, ValueError, TypeError) as exc:
            raise InvalidToken(f"unreadable token: {exc}") from exc
        if protected.get("alg") not in ALGORITHMS:
            raise InvalidToken(f"algorithm {protected.get('alg')!r} not accepted")
        keys = await self._key_set(protected.get("kid"))
        try:
            claims = self.oidc.decode_token(
                token,
                key=keys,
                algs=ALGORITHMS,
                expected_type="JWS",
                leeway=30,
                check_claims={"iss": self.issuer, "aud": self.audience, "exp": None, "sub": None},
            )
        except (JWException, ValueError, TypeError, KeyError) as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from exc
        if "nbf" in claims and claims["nbf"] > now + 30:
            raise InvalidToken("token not yet valid")
        if claims.get("typ", "Bearer") != "Bearer":
            raise InvalidToken(f"a {claims.get('typ')} token is not an access token")
        self._verified[token] = claims
        if len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    async def check_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token of a code exchange: our client as audience, and the nonce we sent."""
        protected = jws.JWS()
        try:
            protected.deserialize(id_token)
            kid = protected.jose_header.get("kid")
            claims = self.oidc.decode_token(
                id_token,
                key=await self._key_set(kid),
                algs=ALGORITHMS,
                expected_type="JWS",
                leeway=30,
                check_claims={"iss": self.issuer, "aud": self.oidc.client_id, "exp": None, "nonce": nonce},
            )
        except (JWException, ValueError, TypeError, KeyError) as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from exc
        return claims

    async def aclose(self) -> None:
        """Close the HTTP client python-keycloak keeps for its async calls (keys, tokens, logout)."""
        await self.oidc.connection.aclose()

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """New tokens for a browser session whose access token has expired."""
        try:
            return await self.oidc.a_refresh_token(refresh_token)
        except KeycloakError as exc:
            raise InvalidToken("refresh refused") from exc
