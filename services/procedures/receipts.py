"""Receipts and issued documents signed with the town's own key (JWS, ES256, a key id per town).

Anyone can check one: the town's public keys are published (``keys``) and ``verify`` says
whether a token is genuine, which town issued it and when. The private keys are encrypted at rest
with ``AIZU_SIGNING_KEY_SECRET`` (a Fernet key; production takes it from its secret store).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from datetime import UTC, datetime

import msgspec
from cryptography.fernet import Fernet
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import receipts as msg
from contracts.receipts import ReceiptClaims, Verification
from services.procedures.models import SigningKey
from services.runtime import rls
from services.runtime.service import Context, ServiceApp

ALGORITHM = "ES256"
TOKEN_TYPE = "aizu-receipt+jws"
KEY_RECHECK = 60.0
_CLAIMS = msgspec.json.Decoder(ReceiptClaims)
#: Development only: a fixed secret so `make dev` keeps its keys readable across runs.
DEV_SECRET = base64.urlsafe_b64encode(hashlib.sha256(b"aizu development signing keys").digest()).decode()


def digest(value: object) -> str:
    """SHA-256 of a JSON value in a canonical form (sorted keys), as hex."""
    return hashlib.sha256(msgspec.json.encode(value, order="sorted")).hexdigest()


class Signer:
    def __init__(self, secret: bytes | None = None) -> None:
        """``secret``: the settings' ``AIZU_SIGNING_KEY_SECRET`` (None, in development only: :data:`DEV_SECRET`)."""
        self._fernet = Fernet(secret or DEV_SECRET.encode())
        self._keys: dict[str, ECKey] = {}
        self._active: dict[str, tuple[float, str]] = {}

    async def ensure_key(self, session: AsyncSession, tenant: str) -> str:
        """The town's active key id, creating the first key (seeding does this, in its transaction)."""
        existing = (
            await session.execute(select(SigningKey.kid).where(SigningKey.tenant == tenant, SigningKey.active.is_(True)))
        ).scalar_one_or_none()
        if existing:
            return existing
        key = ECKey.generate_key("P-256")
        kid = f"{tenant}-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
        session.add(
            SigningKey(
                kid=kid,
                tenant=tenant,
                public_jwk=json.dumps({**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": ALGORITHM}),
                private_jwk_encrypted=self._fernet.encrypt(json.dumps(key.as_dict(private=True)).encode()),
                created_at=datetime.now(UTC),
                active=True,
            )
        )
        return kid

    async def _private(self, session: AsyncSession, tenant: str) -> tuple[str, ECKey]:
        """The town's active key, looked up at most every ``KEY_RECHECK`` seconds: every filing
        signs, and a lookup per filing cost more than the signature (a rotation shows within that time)."""
        cached = self._active.get(tenant)
        if cached is not None and time.monotonic() - cached[0] < KEY_RECHECK:
            return cached[1], self._keys[cached[1]]
        row = (
            await session.execute(select(SigningKey).where(SigningKey.tenant == tenant, SigningKey.active.is_(True)))
        ).scalar_one_or_none()
        if row is None:
            raise RuntimeError(f"{tenant} has no signing key: run `aizu seed`")
        if row.kid not in self._keys:
            self._keys[row.kid] = ECKey.import_key(json.loads(self._fernet.decrypt(row.private_jwk_encrypted)))
        self._active[tenant] = (time.monotonic(), row.kid)
        return row.kid, self._keys[row.kid]

    async def sign(self, session: AsyncSession, claims: ReceiptClaims) -> str:
        kid, key = await self._private(session, claims.tenant)
        header = {"alg": ALGORITHM, "kid": kid, "typ": TOKEN_TYPE}
        return jws.serialize_compact(header, msgspec.json.encode(claims), key, algorithms=[ALGORITHM])

    async def jwks(self, session: AsyncSession, tenant: str) -> dict[str, list[dict[str, str]]]:
        rows = (await session.execute(select(SigningKey.public_jwk).where(SigningKey.tenant == tenant))).scalars().all()
        return {"keys": [json.loads(r) for r in rows]}

    async def verify(self, session: AsyncSession, token: str) -> Verification:
        try:
            header = jws.extract_compact(token.encode()).protected
        except (JoseError, ValueError, TypeError):
            return Verification(valid=False, reason="not a signed receipt or document")
        kid = header.get("kid")
        if isinstance(kid, str):
            # Any town's host verifies any town's receipt, but signing keys have row-level
            # security by town: read the key as the town its id starts with (see ensure_key).
            await rls.use_tenant(session, kid.split("-", 1)[0])
        row = (await session.execute(select(SigningKey).where(SigningKey.kid == kid))).scalar_one_or_none()
        if row is None or header.get("alg") != ALGORITHM:
            return Verification(valid=False, reason="signed with a key no Aizu town uses")
        public = ECKey.import_key(json.loads(row.public_jwk))
        try:
            payload = jws.deserialize_compact(token, public, algorithms=[ALGORITHM]).payload
            claims = _CLAIMS.decode(payload)
        except (JoseError, ValueError, msgspec.DecodeError, msgspec.ValidationError):
            return Verification(valid=False, reason="the signature does not match: the content was changed")
        if claims.tenant != row.tenant:
            return Verification(valid=False, reason="the key belongs to another town")
        return Verification(
            valid=True,
            kind=claims.kind,
            tenant=claims.tenant,
            town_name_ja=claims.town_name_ja,
            issued_at=datetime.fromtimestamp(claims.iat, UTC),
            claims=claims,
        )



def register(app: ServiceApp, signer: Signer) -> None:
    @app.endpoint(msg.KEYS, msg.GetKeys, read_only=True)
    async def keys(ctx: Context, req: msg.GetKeys) -> dict[str, list[dict[str, str]]]:
        return await signer.jwks(ctx.session, ctx.tenant)

    @app.endpoint(msg.VERIFY, msg.VerifyRequest, read_only=True)
    async def verify(ctx: Context, req: msg.VerifyRequest) -> Verification:
        # Any town's host verifies any town's receipt: the answer names the issuing town.
        return await signer.verify(ctx.session, req.token)
