"""A resident's channels in one town: the inbox always, then the others in the order they chose."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import notifications as msg
from contracts.errors import ErrorCode, FieldError, failure
from services.notifications import access
from services.notifications.models import PreferenceRow
from services.runtime.service import Context, ServiceApp

INBOX_ONLY = msg.Preferences(channels=[msg.Channel.INBOX], email=None)


def normalised(prefs: msg.Preferences) -> msg.Preferences:
    """The inbox first (always on), each channel once; refuses email without an address."""
    if len(set(prefs.channels)) != len(prefs.channels):
        raise failure(ErrorCode.VALIDATION, "A channel is listed twice", "list each channel once", [
            FieldError(field="$.channels", message_ja="同じ連絡方法が重複しています。", message_en="A channel is listed twice."),
        ])
    if msg.Channel.EMAIL in prefs.channels and not prefs.email:
        raise failure(ErrorCode.VALIDATION, "Email needs an address", "the email channel needs an email address", [
            FieldError(field="$.email", message_ja="メールで受け取るにはメールアドレスが必要です。",
                       message_en="An email address is needed to receive email."),
        ])
    channels = [msg.Channel.INBOX, *(c for c in prefs.channels if c != msg.Channel.INBOX)]
    return msg.Preferences(channels=channels, email=prefs.email)


def from_row(row: PreferenceRow | None) -> msg.Preferences:
    if row is None:
        return INBOX_ONLY
    return msg.Preferences(channels=[msg.Channel(c) for c in row.channels.split(",")], email=row.email)


async def of(session: AsyncSession, tenant: str, subject: str) -> msg.Preferences:
    return from_row(await session.get(PreferenceRow, (tenant, subject)))


async def get_preferences(ctx: Context, _req: msg.GetPreferences) -> msg.Preferences:
    principal = access.resident(ctx)
    return await of(ctx.session, ctx.tenant, principal.subject)


async def set_preferences(ctx: Context, req: msg.Preferences) -> msg.Preferences:
    principal = access.resident(ctx)
    prefs = normalised(req)
    session = ctx.session
    try:
        async with session.begin():
            row = await session.get(PreferenceRow, (ctx.tenant, principal.subject), with_for_update=True)
            if row is None:
                row = PreferenceRow(tenant=ctx.tenant, subject=principal.subject)
                session.add(row)
            row.channels, row.email, row.updated_at = ",".join(prefs.channels), prefs.email, datetime.now(UTC)
    except IntegrityError as exc:  # the same resident saved twice at once
        raise failure(ErrorCode.CONFLICT, "Saved twice at once", "read your preferences again and retry") from exc
    return prefs


def register(app: ServiceApp) -> None:
    app.endpoint(msg.PREFERENCES, msg.GetPreferences, read_only=True)(get_preferences)
    app.endpoint(msg.SET_PREFERENCES, msg.Preferences)(set_preferences)
