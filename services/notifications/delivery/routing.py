"""Which deliveries a message gets: the resident's first outbound channel that can reach them,
and on a permanent failure the next one (fallback).

Addresses per channel: ``email`` the resident's address; ``push`` the resident's subject (one
delivery reaches every browser they subscribed; none subscribed: no push); ``webhook`` each of
the town's integrations. A message falls back only when every delivery on the failed channel has failed
for good, and never to an address it already tried.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import notifications as msg
from contracts.notifications import DeliveryStatus, OutboundChannel
from services.notifications.delivery import preferences
from services.notifications.models import DeliveryRow, PushSubscriptionRow, WebhookRow


async def addresses(session: AsyncSession, tenant: str, recipient: str, channel: OutboundChannel, prefs: msg.Preferences) -> list[str]:
    if channel == OutboundChannel.EMAIL:
        return [prefs.email] if prefs.email else []
    if channel == OutboundChannel.PUSH:
        query = select(PushSubscriptionRow.id).where(
            PushSubscriptionRow.tenant == tenant, PushSubscriptionRow.subject == recipient).limit(1)
        return [recipient] if (await session.execute(query)).first() is not None else []
    if channel == OutboundChannel.WEBHOOK:
        query = select(WebhookRow.id).where(WebhookRow.tenant == tenant).order_by(WebhookRow.created_at)
        return list((await session.execute(query)).scalars())
    return []


def _row(tenant: str, message_id: str, channel: OutboundChannel, address: str, now: datetime) -> DeliveryRow:
    return DeliveryRow(
        id=str(uuid.uuid4()), tenant=tenant, message_id=message_id, channel=channel, address=address,
        status=DeliveryStatus.CREATED, attempts=0, last_error=None, next_attempt_at=now, created_at=now, updated_at=now,
    )


async def plan(
    session: AsyncSession, tenant: str, recipient: str, message_id: str, now: datetime, after: OutboundChannel | None = None,
) -> list[DeliveryRow]:
    """Add the deliveries of the first channel (from ``after`` on, itself included, when given)
    that has an address not yet tried for this message; returns them (none: the inbox alone)."""
    prefs = await preferences.of(session, tenant, recipient)
    outbound = [OutboundChannel(c) for c in prefs.channels if c != msg.Channel.INBOX]
    if after is not None:
        if after not in outbound:
            return []  # the resident changed their channels since: go on with none rather than guess
        outbound = outbound[outbound.index(after):]
        tried_rows = await session.execute(
            select(DeliveryRow.channel, DeliveryRow.address)
            .where(DeliveryRow.tenant == tenant, DeliveryRow.message_id == message_id)
        )
        tried = {(c, a) for c, a in tried_rows.all()}
    else:
        tried = set()
    for channel in outbound:
        fresh = [a for a in await addresses(session, tenant, recipient, channel, prefs) if (channel, a) not in tried]
        if fresh:
            rows = [_row(tenant, message_id, channel, a, now) for a in fresh]
            session.add_all(rows)
            return rows
    return []


async def falls_back(session: AsyncSession, tenant: str, message_id: str, channel: str, failed_id: str) -> bool:
    """Whether every other delivery of the message on ``channel`` has failed for good too."""
    query = select(DeliveryRow.id).where(
        DeliveryRow.tenant == tenant, DeliveryRow.message_id == message_id, DeliveryRow.channel == channel,
        DeliveryRow.id != failed_id, DeliveryRow.status != DeliveryStatus.PERMANENT_FAILURE,
    ).limit(1)
    return (await session.execute(query)).first() is None
