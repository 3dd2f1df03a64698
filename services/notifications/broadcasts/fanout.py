"""Writing one message to many residents: set-based, in chunks, each chunk with its cursor.

A chunk is one transaction: ``INSERT … SELECT`` of the inbox messages of the residents whose ``id``
lies in (cursor, upto], then ``INSERT … SELECT`` of the outbound deliveries of those among them
whose first channel after the inbox that reaches them is email or push, then the cursor moves to ``upto``. A crash
loses at most the chunk in progress, which the next attempt writes again from the committed
cursor. Ids are derived from the message's key and the resident's ``id``, and both inserts skip
rows that exist (``ON CONFLICT DO NOTHING``; the inbox also has its unique (tenant, event_id,
recipient)), so two workers on the same town, or a chunk written twice, still leave one message
and one delivery per resident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ColumnElement, DateTime, Integer, String, case, cast, exists, func, literal, null, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.notifications import DeliveryStatus, OutboundChannel
from services.notifications.broadcasts.tables import ResidentRow
from services.notifications.models import DeliveryRow, InboxRow, PreferenceRow, PushSubscriptionRow

RESIDENTS = ResidentRow.__table__
INBOX = InboxRow.__table__
DELIVERIES = DeliveryRow.__table__
PREFERENCES = PreferenceRow.__table__
SUBSCRIPTIONS = PushSubscriptionRow.__table__

#: Residents per chunk: large enough for set-based speed, small enough that a chunk commits in
#: well under a second and holds SQLite's single writer only that long.
CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Message:
    """What every resident of the selection receives."""

    #: ``event_id`` of the inbox rows: the broadcast's or the notice rule's id.
    event_id: str
    #: Short and unique per message (``b``/``n`` + 20 hex digits): the prefix of derived ids.
    key: str
    kind: str
    title_ja: str
    body_ja: str
    title_en: str
    body_en: str


def message_id(key: str, resident_id: int) -> str:
    return f"{key}.{resident_id}"


def delivery_id(key: str, resident_id: int) -> str:
    return f"{key}:{resident_id}"


def _insert(session: AsyncSession, table):  # type: ignore[no-untyped-def]
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def selection_of(tenant: str, conditions: Sequence[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    return [RESIDENTS.c.tenant == tenant, *conditions]


async def count(session: AsyncSession, tenant: str, conditions: Sequence[ColumnElement[bool]]) -> int:
    query = select(func.count()).select_from(RESIDENTS).where(*selection_of(tenant, conditions))
    return int((await session.execute(query)).scalar_one())


async def next_bound(
    session: AsyncSession, tenant: str, conditions: Sequence[ColumnElement[bool]], after: int, chunk: int = CHUNK
) -> int | None:
    """The ``id`` that ends the next chunk after ``after``; None when nobody is left."""
    where = [*selection_of(tenant, conditions), RESIDENTS.c.id > after]
    bound = (
        await session.execute(select(RESIDENTS.c.id).where(*where).order_by(RESIDENTS.c.id).offset(chunk - 1).limit(1))
    ).scalar_one_or_none()
    if bound is None:
        bound = (await session.execute(select(func.max(RESIDENTS.c.id)).where(*where))).scalar_one_or_none()
    return bound


async def write_chunk(
    session: AsyncSession,
    tenant: str,
    message: Message,
    conditions: Sequence[ColumnElement[bool]],
    after: int,
    upto: int,
    now: datetime,
    send_after: datetime,
) -> tuple[int, int]:
    """Write the chunk's inbox messages and deliveries; returns how many of each were new."""
    where = [*selection_of(tenant, conditions), RESIDENTS.c.id > after, RESIDENTS.c.id <= upto]
    rid = cast(RESIDENTS.c.id, String)
    at = literal(now, DateTime(timezone=True))
    inbox = select(
        literal(f"{message.key}.", String) + rid,
        literal(tenant, String),
        RESIDENTS.c.subject,
        literal(message.kind, String),
        literal(message.event_id, String),
        null(),
        literal(message.title_ja, String),
        literal(message.body_ja, String),
        literal(message.title_en, String),
        literal(message.body_en, String),
        at,
        null(),
    ).where(*where)
    columns = ["id", "tenant", "recipient", "kind", "event_id", "application_id",
               "title_ja", "body_ja", "title_en", "body_en", "created_at", "read_at"]
    written = await session.execute(
        _insert(session, INBOX).from_select(columns, inbox).on_conflict_do_nothing()
    )
    # As routing.plan does one by one: the first channel after the inbox that can reach the
    # resident (push: addressed to the resident, if they subscribed a browser); the ones after it
    # are the sender's fallbacks. A town's webhooks carry its own messages, not broadcasts.
    subscribed = exists().where(SUBSCRIPTIONS.c.tenant == RESIDENTS.c.tenant, SUBSCRIPTIONS.c.subject == RESIDENTS.c.subject)
    by_push = PREFERENCES.c.channels.like("inbox,push%") & subscribed
    by_email = PREFERENCES.c.email.is_not(None) & (
        PREFERENCES.c.channels.like("inbox,email%") | (PREFERENCES.c.channels.like("inbox,push,email%") & ~subscribed)
    )
    deliveries = (
        select(
            literal(f"{message.key}:", String) + rid,
            literal(tenant, String),
            literal(f"{message.key}.", String) + rid,
            case((by_push, literal(OutboundChannel.PUSH, String)), else_=literal(OutboundChannel.EMAIL, String)),
            case((by_push, RESIDENTS.c.subject), else_=PREFERENCES.c.email),
            literal(DeliveryStatus.CREATED, String),
            literal(0, Integer),
            null(),
            literal(send_after, DateTime(timezone=True)),
            at,
            at,
        )
        .select_from(RESIDENTS.join(
            PREFERENCES, (PREFERENCES.c.tenant == RESIDENTS.c.tenant) & (PREFERENCES.c.subject == RESIDENTS.c.subject)
        ))
        .where(*where, by_email | by_push)
    )
    columns = ["id", "tenant", "message_id", "channel", "address", "status", "attempts", "last_error",
               "next_attempt_at", "created_at", "updated_at"]
    queued = await session.execute(
        _insert(session, DELIVERIES).from_select(columns, deliveries).on_conflict_do_nothing()
    )
    return max(written.rowcount, 0), max(queued.rowcount, 0)


def consented() -> ColumnElement[bool]:
    return RESIDENTS.c.push_consent == literal(True, Boolean)
