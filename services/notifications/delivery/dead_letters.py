"""Dead letters of the notifications service: kept in the stream AIZU_DEAD_LETTERS, shown to the
town's admins.

Deliveries that failed every attempt go there through the outbox (with their last state); events
the consumer could not handle in any attempt are published by the consumer itself (the database
may be what failed). The list reads the town's subject only, ``aizu.dlq.<town>.notifications.>``,
with a short-lived consumer of the stream, oldest first.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from contracts import notifications as msg
from contracts import subjects
from services.notifications import access
from services.runtime import streams
from services.runtime.service import Context, ServiceApp

log = logging.getLogger(__name__)
_DECODER = msgspec.json.Decoder(msg.DeadLetter)


async def read(js: JetStreamContext, tenant: str, limit: int) -> list[msg.DeadLetter]:
    subject = subjects.dead_letter(tenant, subjects.NOTIFICATIONS, ">")
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, filter_subject=subject,
        inactive_threshold=30.0, mem_storage=True,
    )
    sub = await js.pull_subscribe(subject, stream=streams.DEAD_LETTERS.name, config=config)
    letters: list[msg.DeadLetter] = []
    try:
        info = await sub.consumer_info()
        wanted = min(limit, info.num_pending)
        while len(letters) < wanted:
            try:
                batch = await sub.fetch(wanted - len(letters), timeout=2.0)
            except (TimeoutError, asyncio.TimeoutError):
                break
            for m in batch:
                try:
                    letters.append(_DECODER.decode(m.data))
                except msgspec.DecodeError:
                    log.warning("unreadable dead letter on %s", m.subject)
    finally:
        try:
            await sub.unsubscribe()
        except Exception:  # noqa: BLE001 - the consumer goes away on its own when inactive
            pass
    return letters


def register(app: ServiceApp[Any], js: JetStreamContext) -> None:
    @app.endpoint(msg.DEAD_LETTERS, msg.ListDeadLetters, read_only=True)
    async def list_dead_letters(ctx: Context, req: msg.ListDeadLetters) -> msg.DeadLetterList:
        access.tenant_admin(ctx)
        return msg.DeadLetterList(items=await read(js, ctx.tenant, req.limit))
