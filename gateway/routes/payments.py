"""Fee payment: a resident's page at the payment provider, counter payments, the provider's
signed notifications, and a town's daily reconciliation."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody

from contracts import applications as apps
from contracts import payments as msg
from contracts.errors import convert
from contracts.subjects import PROCEDURES
from contracts.tenant_profile import TenantProfile
from gateway.access import Caller
from gateway.routes.replies import documented, json_reply


class PayBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the provider's page sends the resident back: this town's portal origin."""

    return_origin: str


class CounterBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """:class:`contracts.payments.CounterPayment` without the id, which is in the path."""

    method: msg.CounterMethod
    kind: Literal["payment", "refund"] = "payment"


@post(
    "/api/v1/applications/{application_id:str}/payment",
    tags=["payments"],
    status_code=201,
    responses={201: documented(msg.PaymentPage, "The provider's page to pay on (the open one again, if any)")},
)
async def start_payment(state: State, caller: NamedDependency[Caller], application_id: FromPath[str],
                        data: JSONBody[PayBody]) -> Response[bytes]:
    """A resident pays their application's fee online, on the payment provider's page."""
    principal = await caller.resident()
    start = convert({"application_id": application_id, "return_origin": data.return_origin}, msg.StartPayment)
    return json_reply(await state.bus.call(caller.tenant, PROCEDURES, msg.PAY, start, principal), 201)


@post(
    "/api/v1/applications/{application_id:str}/payment/confirm",
    tags=["payments"],
    status_code=200,
    responses={200: documented(apps.ApplicationDetail, "The application, its payment looked up at the provider")},
)
async def confirm_payment(state: State, caller: NamedDependency[Caller], application_id: FromPath[str]) -> Response[bytes]:
    """Back from the provider's page: the payment is looked up there at once."""
    principal = await caller.resident_or_staff()
    confirm = convert({"application_id": application_id}, msg.ConfirmPayment)
    return json_reply(await state.bus.call(caller.tenant, PROCEDURES, msg.CONFIRM, confirm, principal))


@post(
    "/api/v1/applications/{application_id:str}/counter-payment",
    tags=["payments"],
    status_code=200,
    responses={200: documented(apps.ApplicationDetail, "The application with the payment recorded")},
)
async def record_counter_payment(state: State, caller: NamedDependency[Caller], application_id: FromPath[str],
                                 data: JSONBody[CounterBody]) -> Response[bytes]:
    """A caseworker records a fee paid (or a refund handed back) at the counter, in cash or by card."""
    principal = await caller.staff()
    record = convert({"application_id": application_id, **msgspec.structs.asdict(data)}, msg.CounterPayment)
    return json_reply(await state.bus.call(caller.tenant, PROCEDURES, msg.RECORD, record, principal))


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


@get("/api/v1/payments/reconciliation", tags=["payments"],
     responses={200: documented(msg.Reconciliation, "The town's payments and refunds of one day (Japan's time)")})
async def reconciliation(state: State, caller: NamedDependency[Caller], day: FromQuery[date]) -> Response[bytes]:
    return json_reply(await _reconciliation(state, caller, day))


@get("/api/v1/payments/reconciliation.csv", tags=["payments"], media_type="text/csv")
async def reconciliation_csv(state: State, caller: NamedDependency[Caller], day: FromQuery[date]) -> Response[str]:
    """The same day as CSV, to lay beside the provider's settlement."""
    report = msgspec.json.decode(await _reconciliation(state, caller, day), type=msg.Reconciliation)
    return Response(report.csv, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="payments-{caller.tenant.slug}-{day.isoformat()}.csv"'})


ROUTES = [start_payment, confirm_payment, record_counter_payment, provider_notification, reconciliation, reconciliation_csv]
