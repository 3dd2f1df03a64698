"""The events the insights service reads, and how each becomes facts.

Application events (``contracts.applications``) become one row per application; delivery
outcomes (``contracts.notifications.DeliveryFinished``) one row per delivery, without its address;
fees paid (``contracts.payments.PaymentSettled``) one row per application, online or not.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.applications import FINISHED, ApplicationEvent, ApplicationStatusChanged, ApplicationSubmitted, Channel, Status
from contracts.notifications import DeliveryFinished
from contracts.payments import LedgerKind, PaymentMethod, PaymentSettled
from contracts.tenants import Region
from services.insights.models import ApplicationFact, DeliveryFact, PaymentFact
from services.runtime.database import utc

CARD = "jpki"


#: The events each consumer reads.
APPLICATION = ApplicationEvent
DELIVERY = DeliveryFinished
PAYMENT = PaymentSettled


def standard_days(region: Region, tenant: str, code: str) -> int | None:
    """The town's processing days for a procedure (its own setting, else the regional standard)."""
    town = region.town(tenant)
    offer = next((p for p in town.procedures if p.code == code), None) if town else None
    if offer is not None and offer.processing_days is not None:
        return offer.processing_days
    standard = region.standard(code)
    return standard.processing_days if standard else None


#: ``session.info`` key of the facts a batch already read: application id → fact (None: none yet).
KNOWN = "insights.facts"


async def prefetch_applications(
    session: AsyncSession, tenant: str, events: list[ApplicationSubmitted | ApplicationStatusChanged]
) -> None:
    """Read the facts of a batch's applications in one query, so applying each event reads none."""
    ids = {e.application_id for e in events}
    rows = (await session.execute(select(ApplicationFact).where(
        ApplicationFact.tenant == tenant, ApplicationFact.application_id.in_(ids)))).scalars()
    known: dict[str, ApplicationFact | None] = dict.fromkeys(ids)
    known.update({r.application_id: r for r in rows})
    session.info[KNOWN] = known


async def apply_application(
    session: AsyncSession, region: Region, event: ApplicationSubmitted | ApplicationStatusChanged
) -> None:
    """Merge one application event into its facts; the events may come in any order."""
    now = datetime.now(UTC)
    known: dict[str, ApplicationFact | None] | None = session.info.get(KNOWN)
    if known is not None and event.application_id in known:
        fact = known[event.application_id]
    else:
        fact = await session.get(ApplicationFact, (event.tenant, event.application_id))
    submitted_at = event.at if isinstance(event, ApplicationSubmitted) else event.submitted_at
    if fact is None:
        fact = ApplicationFact(
            tenant=event.tenant, application_id=event.application_id, code=event.code, channel=event.channel,
            submitted_at=submitted_at.astimezone(UTC), due_on=event.due_on,
            standard_days=standard_days(region, event.tenant, event.code), finished_at=None, finished_status=None,
            counter_visit=event.channel == Channel.COUNTER, card_verified=None, updated_at=now,
        )
        session.add(fact)
        if known is not None:
            known[event.application_id] = fact
    fact.updated_at = now
    if event.due_on is not None:
        fact.due_on = event.due_on
    if isinstance(event, ApplicationSubmitted):
        fact.submitted_at = event.at.astimezone(UTC)
        if event.channel == Channel.ONLINE and event.applicant_acr is not None:
            fact.card_verified = event.applicant_acr == CARD
        return
    if event.counter_visit:
        fact.counter_visit = True
    if event.to_status in FINISHED:
        at = event.at.astimezone(UTC)
        if fact.finished_at is None or at < utc(fact.finished_at):
            fact.finished_at, fact.finished_status = at, event.to_status


async def apply_delivery(session: AsyncSession, event: DeliveryFinished) -> None:
    # merge: a delivery reported again under another event id keeps one row, its latest outcome.
    await session.merge(DeliveryFact(
        tenant=event.tenant, delivery_id=event.delivery_id, channel=event.channel, kind=event.kind,
        outcome=event.outcome, occurred_at=event.occurred_at.astimezone(UTC),
    ))


async def apply_payment(session: AsyncSession, event: PaymentSettled) -> None:
    """A fee paid: how (online or at the counter) and when, once per application (the first
    payment; a refund later changes nothing about how the fee was paid)."""
    if event.kind != LedgerKind.PAYMENT or await session.get(PaymentFact, (event.tenant, event.application_id)) is not None:
        return
    session.add(PaymentFact(tenant=event.tenant, application_id=event.application_id, online=event.method == PaymentMethod.ONLINE,
                            paid_at=event.at.astimezone(UTC)))
