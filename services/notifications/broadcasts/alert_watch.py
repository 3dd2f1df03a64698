"""Watching emergency alerts: an alert late for any town's inboxes raises the alarm, and the town
offices hear of alerts that wait for a second pair of eyes.

Both go to the offices' own addresses (``[contact].email`` of each town in ``tenants/``, and the
council's) over an SMTP connection of their own, at once: not through the residents' deliveries,
the fan-out or the inbox, any of which may be what is stuck.

The alarm: a released alert whose target towns have not all had their inboxes written
``AIZU_ALERT_DEADLINE_SECONDS`` (30) after release is *stalled*. The first time, ``alarm_at`` is
recorded and every concerned office (the author's, each pending town's, the council) is mailed;
the staff console shows it on the alert; ``alert_health`` lists every stalled alert (the gateway's
``/readyz`` shows it) and the ``aizu.alerts.stalled`` gauge counts them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import broadcasts as msg
from contracts.notifications import DeliveryStatus
from contracts.tenants import COUNCIL_SLUG, Region
from services.notifications.broadcasts.tables import BroadcastRow, FanoutRow
from services.notifications.channels.mailer import EmailChannel, SmtpSettings
from services.notifications.delivery.outgoing import Outgoing
from services.runtime import rls, telemetry
from services.runtime.background import Background
from services.runtime.service import Context, ServiceApp

log = logging.getLogger(__name__)

#: Alerts older than this are not watched any more (they alarmed long before).
WATCH_WINDOW = timedelta(days=1)


class OfficeMail:
    """Mail to town offices, sent at once over a connection of its own."""

    def __init__(self, region: Region, smtp: SmtpSettings) -> None:
        self._addresses = {t.slug: t.contact.email for t in region.towns}
        self._addresses[COUNCIL_SLUG] = region.council.contact.email
        self._channel = EmailChannel(region, smtp, connections=1)
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent: list[tuple[str, str]] = []

    def send_soon(self, offices: Iterable[str], title_ja: str, body_ja: str, title_en: str, body_en: str, ref: str) -> None:
        """Send without holding up the caller (a request, the watch's loop)."""
        task = asyncio.create_task(self.send(offices, title_ja, body_ja, title_en, body_en, ref))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def send(self, offices: Iterable[str], title_ja: str, body_ja: str, title_en: str, body_en: str, ref: str) -> None:
        items = [
            Outgoing(delivery_id=f"{ref}-{office}", tenant=office, address=self._addresses[office], attempts=1,
                     title_ja=title_ja, body_ja=body_ja, title_en=title_en, body_en=body_en, kind="office")
            for office in dict.fromkeys(offices) if office in self._addresses
        ]
        for item, outcome in zip(items, await self._channel.send(items), strict=True):
            if outcome.status == DeliveryStatus.DELIVERED:
                self.sent.append((item.address, title_ja))
            else:
                log.warning("office mail to %s failed: %s (%s)", item.address, outcome.status, outcome.error)

    def approval_needed(self, row: BroadcastRow) -> None:
        """A broadcast waits for a second person: its office (a town's, or the council) is told at once."""
        what_ja, what_en = ("緊急配信", "emergency alert") if row.kind == msg.BroadcastKind.EMERGENCY else ("地域全体へのお知らせ", "region-wide announcement")
        self.send_soon(
            [row.tenant],
            f"【承認依頼】{what_ja}の承認をお願いします：{_title(row)}",
            f"{what_ja}が作成され、もう一人の承認を待っています。\n"
            "職員画面の「お知らせ・緊急配信」で内容を確かめ、承認してください。",
            f"Approval needed: {what_en} {row.title_en or row.title_ja}",
            f"An {what_en} was written and waits for a second person's approval in the staff console.",
            ref=f"approve-{row.id}",
        )

    async def begin(self, nc: object) -> None:
        """Nothing to start: mail goes over a connection opened when there is some."""

    async def stop(self) -> None:
        await self.close()

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._channel.close()


def _title(row: BroadcastRow) -> str:
    return row.title_ja if len(row.title_ja) <= 60 else row.title_ja[:59] + "…"


class AlertWatch(Background):
    name = "alert watch"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        region: Region,
        mail: OfficeMail,
        deadline: float = 30.0,
        every: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self._sessions = sessions
        self._region = region
        self._towns = [t.slug for t in region.towns]
        self._mail = mail
        self.deadline = deadline
        self._every = every
        self._clock = clock
        #: Alerts whose every town is done: never read again.
        self._complete: set[str] = set()
        self.stalled: list[msg.StalledAlert] = []
        telemetry.meter("aizu.notifications").create_observable_gauge(
            "aizu.alerts.stalled", callbacks=[self._observe], unit="{alert}",
            description="emergency alerts past their deadline that have not reached every town's inboxes",
        )

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(len(self.stalled))]

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: look again next time
                log.warning("alert watch failed (%s: %s); retrying", type(exc).__name__, exc)
            await asyncio.sleep(self._every)

    def _targets(self, row: BroadcastRow) -> list[str]:
        return list(self._towns) if row.target == msg.Target.REGION else [row.tenant]

    async def check(self) -> list[msg.StalledAlert]:
        """Look at every released alert of the last day; alarm for the newly stalled ones."""
        now = self._clock()
        stalled: list[msg.StalledAlert] = []
        for origin in [*self._towns, COUNCIL_SLUG]:
            async with self._sessions(info={rls.TENANT: origin}) as session, session.begin():
                alerts = (await session.execute(
                    select(BroadcastRow).where(
                        BroadcastRow.tenant == origin, BroadcastRow.kind == msg.BroadcastKind.EMERGENCY,
                        BroadcastRow.released_at.is_not(None), BroadcastRow.released_at >= now - WATCH_WINDOW,
                    )
                )).scalars().all()
                for row in alerts:
                    if row.id in self._complete:
                        continue
                    pending = await self._pending_towns(session, row)
                    await rls.use_tenant(session, origin)
                    if not pending:
                        self._complete.add(row.id)
                        continue
                    released = row.released_at if row.released_at.tzinfo else row.released_at.replace(tzinfo=UTC)
                    if now - released < timedelta(seconds=self.deadline):
                        continue
                    stalled.append(msg.StalledAlert(broadcast_id=row.id, origin=origin, released_at=released,
                                                    towns_pending=pending))
                    if row.alarm_at is None:
                        row.alarm_at = now
                        self._alarm(row, pending, now - released)
        self.stalled = stalled
        return stalled

    async def _pending_towns(self, session: AsyncSession, row: BroadcastRow) -> list[str]:
        pending = []
        for town in self._targets(row):
            await rls.use_tenant(session, town)
            fan = await session.get(FanoutRow, (town, row.id))
            if fan is None or fan.finished_at is None:
                pending.append(town)
        return pending

    def _alarm(self, row: BroadcastRow, pending: list[str], late: timedelta) -> None:
        names = {t.slug: t.name_ja for t in self._region.towns}
        towns_ja = "、".join(names.get(t, t) for t in pending)
        seconds = int(late.total_seconds())
        log.error("emergency alert %s of %s has not reached %s after %d s", row.id, row.tenant, ", ".join(pending), seconds)
        self._mail.send_soon(
            [row.tenant, *pending, COUNCIL_SLUG],
            f"【警報】緊急配信が届いていません：{_title(row)}",
            f"承認から{seconds}秒たっても、次の市町村の住民の受信箱に届いていません：{towns_ja}\n"
            "職員画面の「お知らせ・緊急配信」で状況を確かめ、防災無線・電話など別の手段でも周知してください。",
            f"ALARM: emergency alert not delivered: {row.title_en or row.title_ja}",
            f"{seconds} s after approval, residents' inboxes of these towns do not hold it yet: {', '.join(pending)}.\n"
            "Check its progress in the staff console and warn residents by other means too.",
            ref=f"alarm-{row.id}",
        )


def register(app: ServiceApp[Any], watch: AlertWatch, deadline: float) -> None:
    """The watch's endpoint: which towns an approved alert has not reached in time."""

    async def health(ctx: Context, req: msg.AlertHealthQuery) -> msg.AlertHealth:
        return msg.AlertHealth(stalled=watch.stalled, deadline_seconds=deadline)

    app.endpoint(msg.ALERT_HEALTH, msg.AlertHealthQuery, read_only=True)(health)
