"""Checking a signed receipt or issued document, and the town's public keys to check it offline."""

from __future__ import annotations

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody

from contracts import receipts as msg
from contracts.subjects import PROCEDURES
from contracts.tenant_profile import TenantProfile
from gateway.ratelimit import limited
from gateway.routes.replies import documented, json_reply


@post(
    "/api/v1/verify",
    tags=["receipts"],
    guards=[limited("anonymous_post")],
    status_code=200,
    responses={200: documented(msg.Verification, "Genuine or not, and who issued it")},
)
async def verify(state: State, tenant: NamedDependency[TenantProfile], data: JSONBody[msg.VerifyRequest]) -> Response[bytes]:
    """Anyone may check a receipt or document: genuine or not, which town issued it, and when."""
    return json_reply(await state.bus.call(tenant, PROCEDURES, msg.VERIFY, data))


JWKS = "application/jwk-set+json"


@get("/api/v1/tenant/jwks.json", tags=["receipts"], media_type=JWKS,
     responses={200: documented(dict[str, list[dict[str, str]]], "RFC 7517: {keys: [public JWK, ...]}", JWKS)})
async def town_keys(state: State, tenant: NamedDependency[TenantProfile]) -> Response[bytes]:
    """The town's public signing keys (JWKS), to verify its receipts without asking us."""
    return Response(await state.bus.call(tenant, PROCEDURES, msg.KEYS), media_type=JWKS)
