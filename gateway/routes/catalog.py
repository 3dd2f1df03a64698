"""The town's public profile and its procedure catalog."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from contracts import procedures as msg
from contracts.catalog import Category
from contracts.subjects import PROCEDURES
from contracts.tenant_profile import TenantProfile
from gateway.access import Caller
from gateway.routes.replies import documented, json_reply


@get("/api/v1/tenant", tags=["tenant"], sync_to_thread=False)
def tenant_profile(tenant: NamedDependency[TenantProfile]) -> TenantProfile:
    return tenant


@get(
    "/api/v1/procedures",
    tags=["procedures"],
    responses={200: documented(msg.ProcedureList, "The town's catalog")},
)
async def list_procedures(
    state: State, tenant: NamedDependency[TenantProfile], category: FromQuery[Category | None] = None
) -> Response[bytes]:
    return json_reply(await state.bus.call(tenant, PROCEDURES, msg.LIST, msg.ListProcedures(category=category)))


@get(
    "/api/v1/procedures/{code:str}",
    tags=["procedures"],
    responses={200: documented(msg.ProcedureDetail, "One procedure and its form")},
)
async def get_procedure(state: State, tenant: NamedDependency[TenantProfile], code: FromPath[str]) -> Response[bytes]:
    return json_reply(await state.bus.call(tenant, PROCEDURES, msg.GET, msg.GetProcedure(code=code)))


@get(
    "/api/v1/procedures/{code:str}/prefill",
    tags=["procedures"],
    responses={200: documented(msg.PrefilledForm, "The form, filled once only")},
)
async def prefill_procedure(state: State, caller: NamedDependency[Caller], code: FromPath[str]) -> Response[bytes]:
    """For a signed-in resident: the fields filled from the verified identity and earlier answers."""
    principal = await caller.resident()
    return json_reply(await state.bus.call(caller.tenant, PROCEDURES, msg.PREFILL, msg.Prefill(code=code), principal))
