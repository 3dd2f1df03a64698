"""Fee payment: the provider's signed notifications, and a town's daily reconciliation as CSV (the
resident's page at the provider, counter payments and the reconciliation itself are rows of
``table.py``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery, HeaderParameter

from contracts import payments as msg
from contracts.subjects import PROCEDURES
from contracts.tenant_profile import TenantProfile
from gateway.access import Caller
from gateway.routes.replies import documented, json_reply


@post("/api/v1/payments/webhook", tags=["payments"], status_code=200,
      responses={200: documented(msg.Received, "Handled (or handled before)")})
async def provider_notification(
    state: State, tenant: NamedDependency[TenantProfile], request: Request[Any, Any, Any],
    stripe_signature: Annotated[str, HeaderParameter(name="Stripe-Signature")],
) -> Response[bytes]:
    """The payment provider's signed notification (a webhook) for this town; verified by the service."""
    body = (await request.body()).decode("utf-8", errors="replace")
    note = msg.ProviderNotification(payload=body, signature=stripe_signature)
    return json_reply(await state.bus.call(tenant, PROCEDURES, msg.NOTIFICATION, note))


async def _reconciliation(state: State, caller: Caller, day: date) -> bytes:
    principal = await caller.staff()
    return await state.bus.call(caller.tenant, PROCEDURES, msg.RECONCILIATION, msg.Reconcile(day=day), principal)


@get("/api/v1/payments/reconciliation.csv", tags=["payments"], media_type="text/csv")
async def reconciliation_csv(state: State, caller: NamedDependency[Caller], day: FromQuery[date]) -> Response[str]:
    """The same day as CSV, to lay beside the provider's settlement."""
    report = msgspec.json.decode(await _reconciliation(state, caller, day), type=msg.Reconciliation)
    return Response(report.csv, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="payments-{caller.tenant.slug}-{day.isoformat()}.csv"'})


ROUTES = [provider_notification, reconciliation_csv]
