"""The town's public profile and its procedure catalog."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from contracts import procedures as msg
from contracts import subjects
from contracts.catalog import Category
from contracts.tenant_profile import TenantProfile
from gateway.access import Caller
from gateway.tenancy import require_town

JSON = "application/json"


@get("/api/v1/tenant", tags=["tenant"], sync_to_thread=False)
def tenant_profile(tenant: TenantProfile) -> TenantProfile:
    return tenant


@get(
    "/api/v1/procedures",
    tags=["procedures"],
    responses={200: ResponseSpec(data_container=msg.ProcedureList, description="The town's catalog")},
)
async def list_procedures(
    state: State,
    tenant: TenantProfile,
    category: Category | None = None,
) -> Response[bytes]:
    town = require_town(tenant)
    payload = msgspec.json.encode(msg.ListProcedures(category=category))
    body = await state.bus.request(town, subjects.PROCEDURES, msg.LIST, payload)
    return Response(body, media_type=JSON)


@get(
    "/api/v1/procedures/{code:str}",
    tags=["procedures"],
    responses={200: ResponseSpec(data_container=msg.ProcedureDetail, description="One procedure and its form")},
)
async def get_procedure(state: State, tenant: TenantProfile, code: str) -> Response[bytes]:
    town = require_town(tenant)
    payload = msgspec.json.encode(msg.GetProcedure(code=code))
    body = await state.bus.request(town, subjects.PROCEDURES, msg.GET, payload)
    return Response(body, media_type=JSON)


@get(
    "/api/v1/procedures/{code:str}/prefill",
    tags=["procedures"],
    responses={200: ResponseSpec(data_container=msg.PrefilledForm, description="The form, filled once only")},
)
async def prefill_procedure(state: State, caller: Caller, code: str) -> Response[bytes]:
    """For a signed-in resident: the fields filled from the verified identity and earlier answers."""
    principal = await caller.resident()
    town = require_town(caller.tenant)
    payload = msgspec.json.encode(msg.Prefill(code=code))
    body = await state.bus.request(town, subjects.PROCEDURES, msg.PREFILL, payload, principal)
    return Response(body, media_type=JSON)
