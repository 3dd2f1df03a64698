"""Residents' push subscriptions, and the deployment's public VAPID key their browsers need."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from contracts import notifications as msg
from contracts.errors import ErrorCode, failure, field_failure
from services.notifications import access
from services.notifications.channels.webpush import PushSettings, VapidKeys, unb64url
from services.notifications.models import PushSubscriptionRow
from services.runtime.database import utc
from services.runtime.service import Context, ServiceApp

#: Browsers per resident and town; the oldest goes when a new one comes past it.
MAX_PER_RESIDENT = 10


def _field(path: str, ja: str, en: str) -> Exception:
    return field_failure(ErrorCode.VALIDATION, path, ja, en)


def checked(req: msg.PushSubscription, settings: PushSettings) -> None:
    """The keys must be what RFC 8291 says (a P-256 point, a 16-byte secret); the endpoint a push service."""
    if not settings.allows(req.endpoint):
        raise _field("$.endpoint", "対応していないプッシュサービスです。", "The endpoint is not a known push service.")
    try:
        point = unb64url(req.keys.p256dh)
    except ValueError:
        point = b""
    if len(point) != 65 or point[0] != 4:
        raise _field("$.keys.p256dh", "p256dh が正しくありません。", "p256dh must be an uncompressed P-256 public key.")
    try:
        secret = unb64url(req.keys.auth)
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise _field("$.keys.auth", "auth が正しくありません。", "auth must be 16 bytes (base64url).")


def register(app: ServiceApp, settings: PushSettings, keys: VapidKeys) -> None:
    @app.endpoint(msg.PUSH_KEY, msg.GetPushKey, read_only=True)
    async def push_key(_ctx: Context, _req: msg.GetPushKey) -> msg.PushKey:
        return msg.PushKey(public_key=keys.public_key)

    @app.endpoint(msg.PUT_PUSH_SUBSCRIPTION, msg.PushSubscription)
    async def put_subscription(ctx: Context, req: msg.PushSubscription) -> msg.PushSubscriptionSaved:
        principal = access.resident(ctx)
        checked(req, settings)
        session = ctx.session
        now = datetime.now(UTC)
        try:
            async with session.begin():
                row = (await session.execute(select(PushSubscriptionRow).where(
                    PushSubscriptionRow.tenant == ctx.tenant, PushSubscriptionRow.subject == principal.subject,
                    PushSubscriptionRow.endpoint == req.endpoint,
                ))).scalar_one_or_none()
                if row is None:
                    mine = (await session.execute(
                        select(PushSubscriptionRow.id)
                        .where(PushSubscriptionRow.tenant == ctx.tenant, PushSubscriptionRow.subject == principal.subject)
                        .order_by(PushSubscriptionRow.created_at.desc())
                    )).scalars().all()
                    if len(mine) >= MAX_PER_RESIDENT:
                        await session.execute(delete(PushSubscriptionRow).where(PushSubscriptionRow.id.in_(mine[MAX_PER_RESIDENT - 1:])))
                    row = PushSubscriptionRow(
                        id=str(uuid.uuid4()), tenant=ctx.tenant, subject=principal.subject, endpoint=req.endpoint,
                        p256dh=req.keys.p256dh, auth=req.keys.auth, created_at=now,
                    )
                    session.add(row)
                else:  # the browser renewed its keys
                    row.p256dh, row.auth = req.keys.p256dh, req.keys.auth
        except IntegrityError as exc:
            raise failure(ErrorCode.CONFLICT, "Saved twice at once", "retry") from exc
        return msg.PushSubscriptionSaved(id=row.id, endpoint=row.endpoint, created_at=utc(row.created_at))

    @app.endpoint(msg.DELETE_PUSH_SUBSCRIPTION, msg.RemovePushSubscription)
    async def delete_subscription(ctx: Context, req: msg.RemovePushSubscription) -> msg.Removed:
        principal = access.resident(ctx)
        session = ctx.session
        async with session.begin():
            result = await session.execute(delete(PushSubscriptionRow).where(
                PushSubscriptionRow.tenant == ctx.tenant, PushSubscriptionRow.subject == principal.subject,
                PushSubscriptionRow.endpoint == req.endpoint,
            ))
        return msg.Removed(removed=bool(result.rowcount))
