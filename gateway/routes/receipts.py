"""The town's public keys, to check its receipts and issued documents offline (checking one online
is a row of ``table.py``)."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency

from contracts import receipts as msg
from contracts.subjects import PROCEDURES
from contracts.tenant_profile import TenantProfile
from gateway.routes.replies import documented

JWKS = "application/jwk-set+json"


@get("/api/v1/tenant/jwks.json", tags=["receipts"], media_type=JWKS,
     responses={200: documented(dict[str, list[dict[str, str]]], "RFC 7517: {keys: [public JWK, ...]}", JWKS)})
async def town_keys(state: State, tenant: NamedDependency[TenantProfile]) -> Response[bytes]:
    """The town's public signing keys (JWKS), to verify its receipts without asking us."""
    return Response(await state.bus.call(tenant, PROCEDURES, msg.KEYS), media_type=JWKS)
