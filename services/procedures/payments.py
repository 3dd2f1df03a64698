"""Paying an application's fee: online on the provider's page, or at the town's counter.

An application with a fee filed online to be paid online waits as ``awaiting_payment``, outside
the staff's queue; once paid it is ``received`` and in the queue. The provider tells us in a
signed notification, and the resident's return from its page is checked with the provider at
once, whichever comes first; both end in :meth:`Payments._settle`, which changes anything only
from a state that expects it, so a repeated, replayed or reordered notification leaves one
payment and one state. A paid application that is rejected or withdrawn is refunded (online by
the provider; at the counter the caseworker records handing it back). Every yen in or out is a
line in one ledger, online and counter alike, from which a town's daily reconciliation is read.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import uuid
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import applications as apps
from contracts import payments as msg
from contracts import subjects
from contracts.applications import DECLINED, Status
from contracts.payments import LedgerKind, PaymentChoice, PaymentMethod, PaymentState
from contracts.errors import ErrorCode, FieldError, failure
from services.procedures import workflow
from services.procedures.models import Application, LedgerRow, OutboxRow, PaymentAttemptRow, PaymentRow, ProviderEventRow, StatusChangeRow
from services.procedures.psp import Checkout, Provider, ProviderError
from services.runtime import rls
from services.runtime.background import Background
from services.runtime.database import idle, utc
from services.runtime.outbox import new_event
from services.runtime.service import Context, ServiceApp
from services.runtime.settings import PaymentSettings

if TYPE_CHECKING:
    from services.procedures.applications import Applications

log = logging.getLogger(__name__)
T = TypeVar("T")
TOKYO_OFFSET = timedelta(hours=9)
_ENCODER = msgspec.json.Encoder()
#: Who moves an application once its fee is paid online (the history's actor).
PROVIDER_ACTOR = "payments"
#: A page closing within this is not handed out again: a new one is made.
FRESH_ENOUGH = timedelta(minutes=2)
#: States in which the fee is still to be paid.
OWED = frozenset({PaymentState.AWAITING_PAYMENT, PaymentState.EXPIRED})
KIND_JA = {LedgerKind.PAYMENT: "支払い", LedgerKind.REFUND: "返金"}
METHOD_JA = {PaymentMethod.ONLINE: "オンライン", PaymentMethod.CASH: "現金", PaymentMethod.CARD: "カード（窓口）"}


def payment_row(tenant: str, application_id: str, amount_yen: int, choice: PaymentChoice, now: datetime) -> PaymentRow:
    """The row filed with an application that has a fee."""
    return PaymentRow(application_id=application_id, tenant=tenant, amount_yen=amount_yen, state=PaymentState.AWAITING_PAYMENT,
                      choice=choice, method=None, payment_intent=None, charge=None, refund=None,
                      paid_at=None, refunded_at=None, updated_at=now)


def shown(row: PaymentRow, state: PaymentState | None = None, online: bool = False) -> msg.Payment:
    """``state``: the application row's copy, when shown with that row. (PostgreSQL's reads run in
    autocommit, a snapshot per statement: the copy keeps state and status from one moment.)"""
    return msg.Payment(amount_yen=row.amount_yen, state=state or row.state, choice=row.choice,
                       method=row.method, paid_at=utc(row.paid_at) if row.paid_at else None,
                       refunded_at=utc(row.refunded_at) if row.refunded_at else None, online=online)


#: The provider's notifications that change something here; any other is taken and left alone.
CHECKOUT_EVENTS = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.expired"})
HANDLED = CHECKOUT_EVENTS | {"charge.refunded"}


async def payment_of(session: AsyncSession, tenant: str, application_id: str, lock: bool = False) -> PaymentRow | None:
    query = select(PaymentRow).where(PaymentRow.tenant == tenant, PaymentRow.application_id == application_id)
    return (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()


def _conflict(title: str, detail: str) -> Exception:
    return failure(ErrorCode.CONFLICT, title, detail)


class Payments:
    def __init__(self, applications: Applications, settings: PaymentSettings) -> None:
        self.applications = applications
        self.settings = settings
        self.provider = Provider(settings)

    # -- the resident pays online ------------------------------------------------------------

    async def start(self, ctx: Context, req: msg.StartPayment) -> msg.PaymentPage:
        """The provider's page for this application's fee: the open one, or a new one. Its checks
        read beside the writer (``ctx.reads``); the write locks the rows and looks again."""
        app, role = await self.applications._load(ctx, req.application_id, session=ctx.reads)
        if role != workflow.RESIDENT:
            raise failure(ErrorCode.FORBIDDEN, "Residents pay their own fees", "staff record counter payments instead")
        if not self.provider.online:
            raise _conflict("Online payment not offered", "this platform takes fees at the counter only")
        payment = await payment_of(ctx.reads, ctx.tenant, app.id)
        if payment is None or payment.state not in OWED:
            raise _conflict("Nothing to pay", f"the fee is {payment.state if payment else 'not charged'}")
        origin = _town_origin(req.return_origin, ctx.tenant)
        now = datetime.now(UTC)
        attempts = (await ctx.reads.execute(
            select(PaymentAttemptRow).where(PaymentAttemptRow.tenant == ctx.tenant, PaymentAttemptRow.application_id == app.id)
        )).scalars().all()
        open_ = [a for a in attempts if a.state == "open" and utc(a.expires_at) > now + FRESH_ENOUGH]
        if open_:
            return msg.PaymentPage(url=open_[0].url, expires_at=utc(open_[0].expires_at))
        amount, code, reference, tried = payment.amount_yen, app.code, app.reference or "", len(attempts)
        await idle(ctx.reads)
        procedure = await self.applications.procedure(ctx, code)
        await idle(ctx.session)  # the catalog's read, if it was not cached
        page = f"{origin}/applications/{req.application_id}"
        # The key names the attempt: two taps at once ask for the same page and get the same one.
        checkout = await self._call(self.provider.checkout(
            attempt=f"{ctx.tenant}:{req.application_id}:{tried}", amount_yen=amount,
            item=f"{procedure.name_ja}（{reference}）", success_url=f"{page}?paid=1", cancel_url=f"{page}?unpaid=1",
            metadata={"tenant": ctx.tenant, "application_id": req.application_id, "reference": reference},
            expires_at=now + timedelta(seconds=self.settings.window_seconds)))
        async with ctx.session.begin():
            # Two taps at once: the second waits here for the first, then finds its attempt.
            row, payment = await self._locked(ctx.session, ctx.tenant, req.application_id)
            owed = payment is not None and payment.state in OWED
            if owed and await ctx.session.get(PaymentAttemptRow, checkout.session_id) is None:
                ctx.session.add(PaymentAttemptRow(session_id=checkout.session_id, tenant=ctx.tenant, application_id=req.application_id,
                                                  url=checkout.url, state="open", created_at=now, expires_at=checkout.expires_at))
            if payment is not None and payment.state == PaymentState.EXPIRED:
                self._set(row, payment, PaymentState.AWAITING_PAYMENT, now)
            state = payment.state if payment is not None else "not charged"
        if not owed:
            # Paid (or withdrawn) while the page was being opened: that page must not take money.
            await self._call(self.provider.expire(checkout.session_id))
            raise _conflict("Nothing to pay", f"the fee is {state}")
        return msg.PaymentPage(url=checkout.url, expires_at=checkout.expires_at)

    async def confirm(self, ctx: Context, req: msg.ConfirmPayment) -> apps.ApplicationDetail:
        """Back from the provider's page: its sessions looked up there, so a paid fee shows at once."""
        app, role = await self.applications._load(ctx, req.application_id)
        opened = (await ctx.session.execute(
            select(PaymentAttemptRow.session_id).where(
                PaymentAttemptRow.tenant == ctx.tenant, PaymentAttemptRow.application_id == app.id,
                PaymentAttemptRow.state == "open")
        )).scalars().all()
        await idle(ctx.session)
        for session_id in opened:
            checkout = await self._call(self.provider.session(session_id))
            await self._checkout_changed(ctx.session, ctx.tenant, checkout)
        await idle(ctx.session)
        app, role = await self.applications._load(ctx, req.application_id)
        return await self.applications._detail(ctx, app, role)

    # -- the provider's notifications --------------------------------------------------------

    async def notification(self, ctx: Context, req: msg.ProviderNotification) -> msg.Received:
        try:
            note = self.provider.verify(req.payload, req.signature)
        except ValueError as exc:
            raise failure(ErrorCode.BAD_REQUEST, "Signature not valid", f"not the provider's notification: {exc}", [
                FieldError(field="Stripe-Signature", message_ja="署名が正しくありません。", message_en="The signature is not valid."),
            ]) from exc
        town = (note.object.get("metadata") or {}).get("tenant")
        if town is not None and town != ctx.tenant:
            raise failure(ErrorCode.BAD_REQUEST, "Another town's notification",
                          f"this notification is for {town!r}, sent to {ctx.tenant!r}")
        if note.type not in HANDLED:
            return msg.Received(event=note.id)  # taken, and nothing to do (the provider sends every kind)
        if await ctx.reads.get(ProviderEventRow, (ctx.tenant, note.id)) is not None:
            return msg.Received(event=note.id, duplicate=True)
        await idle(ctx.reads)
        if note.type in CHECKOUT_EVENTS:
            obj = note.object
            await self._checkout_changed(ctx.session, ctx.tenant, Checkout(
                session_id=obj["id"], url=obj.get("url") or "", status=obj["status"],
                expires_at=datetime.fromtimestamp(obj["expires_at"], UTC), paid=obj.get("payment_status") == "paid",
                payment_intent=obj.get("payment_intent") if isinstance(obj.get("payment_intent"), str) else None,
                metadata=dict(obj.get("metadata") or {})))
        elif note.type == "charge.refunded":
            intent = note.object.get("payment_intent")
            row = (await ctx.reads.execute(select(PaymentRow.application_id).where(
                PaymentRow.tenant == ctx.tenant, PaymentRow.payment_intent == intent))).scalar_one_or_none()
            await idle(ctx.reads)
            if row is not None:
                await self.refund(ctx.session, ctx.tenant, row)
        await idle(ctx.session)
        async with ctx.session.begin():
            if await ctx.session.get(ProviderEventRow, (ctx.tenant, note.id)) is None:
                ctx.session.add(ProviderEventRow(tenant=ctx.tenant, event_id=note.id, type=note.type[:64],
                                                 received_at=datetime.now(UTC)))
        return msg.Received(event=note.id)

    async def _checkout_changed(self, session: AsyncSession, tenant: str, checkout: Checkout) -> None:
        if checkout.paid and checkout.payment_intent:
            charge = await self._call(self.provider.charge_of(checkout.payment_intent))
            await self._settle(session, tenant, checkout, charge)
        elif checkout.status == "expired":
            await self._expired(session, tenant, checkout.session_id)

    async def _settle(self, session: AsyncSession, tenant: str, checkout: Checkout, charge: str | None) -> None:
        """A paid checkout: the payment paid and the application into the queue, once."""
        refund_after = None
        async with session.begin():
            locked = await self._attempt(session, tenant, checkout.session_id)
            if locked is None:
                log.warning("a paid checkout %s that %s never opened", checkout.session_id, tenant)
                return
            app, payment, attempt = locked
            attempt.state = "complete"
            if payment is None or payment.state not in OWED | {PaymentState.CANCELLED}:
                return  # paid already: this is the other of webhook and return, or a replay
            now = datetime.now(UTC)
            payment.method, payment.payment_intent, payment.charge, payment.paid_at = PaymentMethod.ONLINE, checkout.payment_intent, charge, now
            # Paid after it was withdrawn (the page was still open): the money goes back.
            owed = payment.state != PaymentState.CANCELLED and app.status not in DECLINED
            self._set(app, payment, PaymentState.PAID if owed else PaymentState.REFUND_PENDING, now)
            await self._ledger(session, app, LedgerKind.PAYMENT, PaymentMethod.ONLINE, payment.amount_yen, charge, PROVIDER_ACTOR, now)
            if app.status == Status.AWAITING_PAYMENT:
                self._move(session, app, Status.RECEIVED, now, "手数料のお支払いを確認しました")
            if not owed:
                refund_after = app.id
        self.applications.committed(tenant)
        if refund_after:
            await self.refund(session, tenant, refund_after)

    async def _expired(self, session: AsyncSession, tenant: str, session_id: str) -> None:
        async with session.begin():
            locked = await self._attempt(session, tenant, session_id)
            if locked is None or locked[2].state != "open":
                return
            app, payment, attempt = locked
            attempt.state = "expired"
            still_open = (await session.execute(select(func.count()).select_from(PaymentAttemptRow).where(
                PaymentAttemptRow.tenant == tenant, PaymentAttemptRow.application_id == attempt.application_id,
                PaymentAttemptRow.state == "open"))).scalar_one()
            if payment is not None and payment.state == PaymentState.AWAITING_PAYMENT and payment.choice == PaymentChoice.ONLINE and not still_open:
                self._set(app, payment, PaymentState.EXPIRED, datetime.now(UTC))

    # -- refunds and withdrawals -------------------------------------------------------------

    async def decided(self, session: AsyncSession, app: Application, to: Status, now: datetime) -> None:
        """In the transaction that rejects or withdraws ``app``: a paid fee is to be refunded
        (:meth:`after_decision` asks the provider once the move is committed), an unpaid one is
        no longer owed."""
        if not app.payment_state or to not in DECLINED:
            return
        payment = await payment_of(session, app.tenant, app.id, lock=True)  # after the application, as everywhere
        if payment is not None and payment.state == PaymentState.PAID:
            self._set(app, payment, PaymentState.REFUND_PENDING, now)
        elif payment is not None and payment.state in OWED:
            self._set(app, payment, PaymentState.CANCELLED, now)

    async def after_decision(self, session: AsyncSession, tenant: str, application_id: str) -> None:
        """After the move: close its open pages at the provider, and refund what was paid online."""
        opened = (await session.execute(select(PaymentAttemptRow.session_id).where(
            PaymentAttemptRow.tenant == tenant, PaymentAttemptRow.application_id == application_id,
            PaymentAttemptRow.state == "open"))).scalars().all()
        await idle(session)
        for session_id in opened:
            try:
                await self.provider.expire(session_id)
            except ProviderError:
                log.warning("could not close the payment page %s of %s", session_id, application_id)
        await self.refund(session, tenant, application_id)

    async def refund(self, session: AsyncSession, tenant: str, application_id: str) -> None:
        """An online payment waiting for its refund, refunded by the provider (the same refund
        however often this runs: its key is the application's). Left pending if the provider is away."""
        payment = await payment_of(session, tenant, application_id)
        due = payment is not None and payment.state == PaymentState.REFUND_PENDING and payment.method == PaymentMethod.ONLINE
        intent = payment.payment_intent if payment is not None else None
        await idle(session)
        if not due or not intent:
            return
        try:
            refund = await self.provider.refund(payment_intent=intent, key=f"refund:{tenant}:{application_id}",
                                                metadata={"tenant": tenant, "application_id": application_id})
        except ProviderError:
            log.warning("refund of %s not taken by the provider; it is tried again", application_id)
            return
        await self._refunded(session, tenant, application_id, PaymentMethod.ONLINE, refund, PROVIDER_ACTOR)

    async def _refunded(self, session: AsyncSession, tenant: str, application_id: str, method: PaymentMethod,
                        provider_reference: str | None, by: str) -> bool:
        async with session.begin():
            app, payment = await self._locked(session, tenant, application_id)
            if payment is None or payment.state != PaymentState.REFUND_PENDING:
                return False
            now = datetime.now(UTC)
            payment.refund, payment.refunded_at = provider_reference, now
            self._set(app, payment, PaymentState.REFUNDED, now)
            await self._ledger(session, app, LedgerKind.REFUND, method, -payment.amount_yen, provider_reference, by, now)
        self.applications.committed(tenant)
        return True

    # -- the counter ---------------------------------------------------------------------------

    async def record(self, ctx: Context, req: msg.CounterPayment) -> apps.ApplicationDetail:
        """A caseworker took the fee (or handed a refund back) at the desk."""
        if not ctx.principal.is_staff_of(ctx.tenant):
            raise failure(ErrorCode.FORBIDDEN, "Staff only", "only this town's staff record counter payments")
        app, role = await self.applications._load(ctx, req.application_id)
        await idle(ctx.session)
        if req.kind == LedgerKind.REFUND:
            payment = await payment_of(ctx.session, ctx.tenant, req.application_id)
            due = payment is not None and payment.state == PaymentState.REFUND_PENDING and payment.method != PaymentMethod.ONLINE
            await idle(ctx.session)
            if not due:
                raise _conflict("No refund due at the counter", "only a fee paid at the counter and now due back is refunded here")
            await self._refunded(ctx.session, ctx.tenant, req.application_id, PaymentMethod(req.method), None, ctx.principal.subject)
        else:
            async with ctx.session.begin():
                row, payment = await self._locked(ctx.session, ctx.tenant, req.application_id)
                if payment is None or payment.state not in OWED:
                    raise _conflict("Nothing to pay", f"the fee is {payment.state if payment else 'not charged'}")
                now = datetime.now(UTC)
                method = PaymentMethod(req.method)
                payment.method, payment.paid_at = method, now
                self._set(row, payment, PaymentState.PAID, now)
                await self._ledger(ctx.session, row, LedgerKind.PAYMENT, method, payment.amount_yen, None, ctx.principal.subject, now)
                if row.status == Status.AWAITING_PAYMENT:
                    self._move(ctx.session, row, Status.RECEIVED, now, "窓口で手数料を受け取りました", actor=ctx.principal.subject,
                               actor_role=workflow.STAFF, actor_name=workflow.actor_name(ctx.principal))
            self.applications.committed(ctx.tenant)
            await self.after_decision(ctx.session, ctx.tenant, req.application_id)  # its open pages closed
        app, role = await self.applications._load(ctx, req.application_id)
        return await self.applications._detail(ctx, app, role)

    async def reconciliation(self, ctx: Context, req: msg.Reconcile) -> msg.Reconciliation:
        """The day's ledger (Japan's day), for matching with the provider's settlement."""
        if not ctx.principal.is_staff_of(ctx.tenant):
            raise failure(ErrorCode.FORBIDDEN, "Staff only", "only this town's staff read its payments")
        start = datetime.combine(req.day, time(), UTC) - TOKYO_OFFSET
        rows = (await ctx.session.execute(select(LedgerRow).where(
            LedgerRow.tenant == ctx.tenant, LedgerRow.at >= start, LedgerRow.at < start + timedelta(days=1),
        ).order_by(LedgerRow.at, LedgerRow.id))).scalars().all()
        lines = [msg.LedgerLine(at=utc(r.at), reference=r.reference, application_id=r.application_id, kind=r.kind,
                                method=r.method, amount_yen=r.amount_yen, provider_reference=r.provider_reference)
                 for r in rows]
        return msg.Reconciliation(
            tenant=ctx.tenant, day=req.day, lines=lines, csv=_csv(lines),
            online_total_yen=sum(line.amount_yen for line in lines if line.method == PaymentMethod.ONLINE),
            counter_total_yen=sum(line.amount_yen for line in lines if line.method != PaymentMethod.ONLINE))

    # -- shared steps --------------------------------------------------------------------------

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except ProviderError as exc:
            raise failure(ErrorCode.UNAVAILABLE, "Payment provider unavailable",
                          f"the payment provider did not answer; nothing was charged ({exc})") from exc

    async def _locked(self, session: AsyncSession, tenant: str, application_id: str) -> tuple[Application, PaymentRow | None]:
        """The application and its payment, locked in that order (as a move of the application
        locks them), so that two writers of one application queue up instead of deadlocking."""
        app = (await session.execute(select(Application).where(
            Application.tenant == tenant, Application.id == application_id).with_for_update())).scalar_one()
        return app, await payment_of(session, tenant, application_id, lock=True)

    async def _attempt(self, session: AsyncSession, tenant: str,
                       session_id: str) -> tuple[Application, PaymentRow | None, PaymentAttemptRow] | None:
        """A checkout's application, payment and attempt, locked in that order; None if this town
        never opened it."""
        application_id = (await session.execute(select(PaymentAttemptRow.application_id).where(
            PaymentAttemptRow.session_id == session_id, PaymentAttemptRow.tenant == tenant))).scalar_one_or_none()
        if application_id is None:
            return None
        app, payment = await self._locked(session, tenant, application_id)
        attempt = await session.get(PaymentAttemptRow, session_id, with_for_update=True, populate_existing=True)
        assert attempt is not None  # attempts are never deleted
        return app, payment, attempt

    @staticmethod
    def _set(app: Application, payment: PaymentRow, state: PaymentState, now: datetime) -> None:
        payment.state, payment.updated_at = state, now
        app.payment_state = state

    async def _ledger(self, session: AsyncSession, app: Application, kind: LedgerKind, method: PaymentMethod, amount: int,
                      provider_reference: str | None, by: str, now: datetime) -> None:
        session.add(LedgerRow(tenant=app.tenant, application_id=app.id, reference=app.reference, kind=kind, method=method,
                              amount_yen=amount, provider_reference=provider_reference, recorded_by=by[:64], at=now))
        settled = msg.PaymentSettled(event_id=str(uuid.uuid4()), tenant=app.tenant, application_id=app.id, kind=kind,
                                     method=method, amount_yen=amount, at=now)
        session.add(new_event(OutboxRow, app.tenant, subjects.event(app.tenant, "payment", "settled"),
                              _ENCODER.encode(settled), settled.event_id))

    def _move(self, session: AsyncSession, app: Application, to: Status, now: datetime, comment: str, *,
              actor: str = PROVIDER_ACTOR, actor_role: str = PROVIDER_ACTOR, actor_name: str = "") -> None:
        """The application moved on by its payment (into the queue), with its history and event."""
        from_status, app.status, app.updated_at = app.status, to, now
        session.add(StatusChangeRow(tenant=app.tenant, application_id=app.id, from_status=from_status, to_status=to,
                                    actor=actor, actor_role=actor_role, actor_name=actor_name, comment=comment, at=now))
        event = apps.ApplicationStatusChanged(
            event_id=str(uuid.uuid4()), tenant=app.tenant, application_id=app.id, code=app.code,
            channel=app.channel, applicant_subject=app.applicant_subject,
            from_status=from_status, to_status=to, at=now,
            submitted_at=utc(app.submitted_at), due_on=app.due_on, reference=app.reference)
        session.add(new_event(OutboxRow, app.tenant, subjects.event(app.tenant, "application", "status_changed"),
                              _ENCODER.encode(event), event.event_id))



class RefundRetry(Background):
    """Refunds the provider could not take at once, tried again town by town."""

    name = "refund-retry"

    def __init__(self, payments: Payments, sessions: async_sessionmaker[AsyncSession], towns: Sequence[str]) -> None:
        super().__init__()
        self._payments, self._sessions, self._towns = payments, sessions, towns

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._payments.settings.retry_seconds)
            for town in self._towns:
                try:
                    async with self._sessions(info={rls.TENANT: town}) as session:
                        pending = (await session.execute(select(PaymentRow.application_id).where(
                            PaymentRow.tenant == town, PaymentRow.state == PaymentState.REFUND_PENDING,
                            PaymentRow.method == PaymentMethod.ONLINE))).scalars().all()
                        await session.rollback()
                        for application_id in pending:
                            await self._payments.refund(session, town, application_id)
                except Exception:
                    log.exception("refund retry for %s failed; again later", town)


def _town_origin(origin: str, tenant: str) -> str:
    """The portal's origin the provider's page returns to: this town's host, nothing else."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not (parts.hostname or "").startswith(f"{tenant}.") or parts.path not in ("", "/"):
        raise failure(ErrorCode.VALIDATION, "Not this town's address", "return_origin must be this town's portal", [
            FieldError(field="$.return_origin", message_ja="戻り先がこの市町村のページではありません。",
                       message_en="The return address is not this town's portal."),
        ])
    return f"{parts.scheme}://{parts.netloc}"


def _csv(lines: Sequence[msg.LedgerLine]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["日時", "受付番号", "種別", "方法", "金額（円）", "決済事業者の参照"])
    for line in lines:
        writer.writerow([(line.at + TOKYO_OFFSET).strftime("%Y-%m-%d %H:%M:%S"), line.reference or "", KIND_JA[line.kind],
                         METHOD_JA[line.method], line.amount_yen, line.provider_reference or ""])
    return out.getvalue()


def register(app: ServiceApp[Any], payments: Payments) -> None:
    app.endpoint(msg.PAY, msg.StartPayment)(payments.start)
    app.endpoint(msg.CONFIRM, msg.ConfirmPayment)(payments.confirm)
    app.endpoint(msg.NOTIFICATION, msg.ProviderNotification)(payments.notification)
    app.endpoint(msg.RECORD, msg.CounterPayment)(payments.record)
    app.endpoint(msg.RECONCILIATION, msg.Reconcile, read_only=True)(payments.reconciliation)
