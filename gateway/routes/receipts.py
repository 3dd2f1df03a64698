"""Checking a signed receipt or issued document, and the town's public keys to check it offline."""

from __future__ import annotations

import msgspec
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from contracts import receipts as msg
from contracts import subjects
from contracts.tenant_profile import TenantProfile
from gateway.tenancy import require_town

JSON = "application/json"


@post(
    "/api/v1/verify",
    tags=["receipts"],
    status_code=200,
    responses={200: ResponseSpec(data_container=msg.Verification, description="Genuine or not, and who issued it")},
)
async def verify(state: State, tenant: TenantProfile, data: msg.VerifyRequest) -> Response[bytes]:
    """Anyone may check a receipt or document: genuine or not, which town issued it, and when."""
    town = require_town(tenant)
    body = await state.bus.request(town, subjects.PROCEDURES, msg.VERIFY, msgspec.json.encode(data))
    return Response(body, media_type=JSON)


@get("/api/v1/tenant/jwks.json", tags=["receipts"])
async def town_keys(state: State, tenant: TenantProfile) -> Response[bytes]:
    """The town's public signing keys (JWKS), to verify its receipts without asking us."""
    town = require_town(tenant)
    body = await state.bus.request(town, subjects.PROCEDURES, msg.KEYS, b"{}")
    return Response(body, media_type="application/jwk-set+json")
