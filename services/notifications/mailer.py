"""Email: the sender that drains queued deliveries to the town's SMTP relay.

Each pass claims due deliveries town by town (row-level security: one town per step, as the
outbox relay does), marks them ``sending`` and commits, sends them over one SMTP connection, then
records each outcome town by town:

* accepted by the relay: ``delivered``;
* a 4xx reply, a lost connection, a time-out: ``temporary-failure``, tried again after the next
  delay of ``retry_backoff``; after the last one, ``permanent-failure``;
* a 5xx reply (no such mailbox, refused content): ``permanent-failure`` at once;
* the relay unreachable: the whole rest of the batch ``temporary-failure`` (no message waits out
  its own time-out against a relay that is down).

Stopping lets the pass in progress finish (bounded by the SMTP time-out). A sender that dies
between claiming and recording leaves rows ``sending``; after ``lease_seconds`` another pass
claims them again. The relay may then get the message twice (at least once, with the
same Message-ID, which mail systems use to spot the copy); it never gets none.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import aiosmtplib
import msgspec
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.tenants import Region
from services.notifications.models import DeliveryRow, InboxRow
from services.runtime import rls

log = logging.getLogger(__name__)
TOKYO = ZoneInfo("Asia/Tokyo")

#: Seconds before each further attempt after a temporary failure; one more attempt than delays.
RETRY_BACKOFF: tuple[float, ...] = (60, 300, 1800, 7200)
DUE = ("created", "temporary-failure")


class SmtpSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The relay the town's mail goes through (in development the sink of ``aizu serve smtp-sink``)."""

    host: str = "127.0.0.1"
    port: int = 2525
    username: str | None = None
    password: str | None = None
    #: None: STARTTLS when the relay offers it; True: required; False: never.
    starttls: bool | None = None
    #: The envelope and From address; ``{tenant}`` becomes the town's slug.
    sender: str = "noreply@{tenant}.localhost"
    timeout: float = 10.0
    retry_backoff: tuple[float, ...] = RETRY_BACKOFF

    @classmethod
    def from_env(cls) -> "SmtpSettings":
        starttls = os.environ.get("AIZU_SMTP_STARTTLS", "").strip().lower()
        base = os.environ.get("AIZU_BASE_DOMAIN", "localhost")
        backoff = os.environ.get("AIZU_SMTP_RETRY_SECONDS")
        return cls(
            host=os.environ.get("AIZU_SMTP_HOST", "127.0.0.1"),
            port=int(os.environ.get("AIZU_SMTP_PORT", "2525")),
            username=os.environ.get("AIZU_SMTP_USER") or None,
            password=os.environ.get("AIZU_SMTP_PASSWORD") or None,
            starttls={"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}.get(starttls),
            sender=os.environ.get("AIZU_SMTP_FROM", f"noreply@{{tenant}}.{base}"),
            timeout=float(os.environ.get("AIZU_SMTP_TIMEOUT", "10")),
            retry_backoff=tuple(float(s) for s in backoff.split(",")) if backoff else RETRY_BACKOFF,
        )


@dataclass(frozen=True, slots=True)
class Outgoing:
    delivery_id: str
    tenant: str
    address: str
    attempts: int
    title_ja: str
    body_ja: str
    title_en: str
    body_en: str


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: str
    tenant: str
    attempts: int
    #: ``delivered``, ``temporary-failure`` or ``permanent-failure``.
    status: str
    error: str | None = None


def compose(item: Outgoing, town_name: str, settings: SmtpSettings) -> EmailMessage:
    """The mail: the Japanese subject, the Japanese text first and the English after it."""
    sender = settings.sender.format(tenant=item.tenant)
    message = EmailMessage()
    message["From"] = Address(display_name=town_name, addr_spec=sender)
    message["To"] = item.address
    message["Subject"] = item.title_ja
    message["Date"] = format_datetime(datetime.now(TOKYO))
    message["Message-ID"] = f"<{item.delivery_id}@{sender.partition('@')[2] or 'aizu'}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the town
    message.set_content(f"{item.body_ja}\n\n――――――――――\n{item.title_en}\n\n{item.body_en}\n", cte="base64")
    message["Content-Language"] = "ja, en"  # after set_content, which replaces every Content-* header
    return message


def classify(exc: BaseException) -> tuple[str, str]:
    """(status, reason) of a failed send: a 5xx reply is permanent, anything else may pass later."""
    code: int | None = None
    text = str(exc)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        code, text = first.code, f"{first.code} {first.message}"
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        code, text = exc.code, f"{exc.code} {exc.message}"
    elif isinstance(exc, ValueError):
        return "permanent-failure", f"unusable address: {exc}"
    reason = f"{type(exc).__name__}: {text}"[:500]
    if code is not None and 500 <= code < 600:
        return "permanent-failure", reason
    return "temporary-failure", reason


class Mailer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        region: Region,
        settings: SmtpSettings,
        batch: int = 100,
        poll_seconds: float = 1.0,
        lease_seconds: float | None = None,
    ) -> None:
        """``lease_seconds``: how long a claimed delivery stays ``sending`` before another pass may
        claim it again; by default longer than a batch can take with every message timing out."""
        self._sessions = sessions
        self._names = {t.slug: t.name_ja for t in region.towns}
        self._towns: tuple[str, ...] = tuple(self._names)
        self.settings = settings
        self._batch = batch
        self._poll = poll_seconds
        self._lease = timedelta(seconds=lease_seconds or max(300.0, batch * settings.timeout * 1.5))
        self._wake = asyncio.Event()
        self._dirty: set[str] = set()
        self._everyone = True
        self._task: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._stopping = False
        self.sent = 0

    def notify(self, tenant: str | None = None) -> None:
        """Deliveries were queued (for ``tenant``): send soon rather than at the next poll."""
        if tenant is None or tenant not in self._names:
            self._everyone = True
        else:
            self._dirty.add(tenant)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notifications-mailer")

    async def stop(self) -> None:
        """Finish the pass in progress (claimed mail is sent and recorded), then stop."""
        for timer in self._timers:
            timer.cancel()
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self.settings.timeout + 5)
        except TimeoutError:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll)
            except TimeoutError:
                self._everyone = True
            self._wake.clear()
            towns = None if self._everyone else sorted(self._dirty)
            self._everyone, self._dirty = False, set()
            try:
                while not self._stopping and await self.drain_once(towns):
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: rows stay queued, the next poll retries
                log.warning("mail sender failed (%s: %s); retrying", type(exc).__name__, exc)
                log.debug("mail sender failure", exc_info=True)
                self._everyone = True
                await asyncio.sleep(self._poll)

    async def drain_once(self, towns: Sequence[str] | None = None) -> int:
        """Claim, send and record one batch (of ``towns``, default all); returns how many were tried."""
        claimed = await self._claim(self._towns if towns is None else towns)
        if not claimed:
            return 0
        outcomes = await self._send(claimed)
        await self._record(outcomes)
        return len(claimed)

    async def _claim(self, towns: Iterable[str]) -> list[Outgoing]:
        now = datetime.now(UTC)
        claimed: list[Outgoing] = []
        async with self._sessions() as session, session.begin():
            postgres = session.bind.dialect.name == "postgresql"
            for town in towns:
                if len(claimed) >= self._batch:
                    break
                await rls.use_tenant(session, town)
                due = or_(
                    and_(DeliveryRow.status.in_(DUE), DeliveryRow.next_attempt_at <= now),
                    and_(DeliveryRow.status == "sending", DeliveryRow.updated_at < now - self._lease),
                )
                query = (
                    select(DeliveryRow, InboxRow)
                    .join(InboxRow, and_(InboxRow.tenant == DeliveryRow.tenant, InboxRow.id == DeliveryRow.message_id))
                    .where(DeliveryRow.tenant == town, due)
                    .order_by(DeliveryRow.next_attempt_at)
                    .limit(self._batch - len(claimed))
                )
                if postgres:
                    query = query.with_for_update(skip_locked=True, of=DeliveryRow)  # copies share the work
                for delivery, message in (await session.execute(query)).all():
                    delivery.status, delivery.attempts, delivery.updated_at = "sending", delivery.attempts + 1, now
                    claimed.append(Outgoing(
                        delivery_id=delivery.id, tenant=town, address=delivery.address, attempts=delivery.attempts,
                        title_ja=message.title_ja, body_ja=message.body_ja,
                        title_en=message.title_en, body_en=message.body_en,
                    ))
        return claimed

    async def _send(self, batch: list[Outgoing]) -> list[Outcome]:
        """Send ``batch`` over one connection, opened again whenever the relay closed it.

        When the relay cannot be reached at all, the rest of the batch waits for its next attempt
        instead of each message waiting out its own time-out.
        """
        outcomes: list[Outcome] = []
        smtp: aiosmtplib.SMTP | None = None
        try:
            for position, item in enumerate(batch):
                try:
                    message = compose(item, self._names.get(item.tenant, item.tenant), self.settings)
                except (ValueError, TypeError) as exc:  # e.g. a line break in a header: it never will send
                    outcomes.append(self._failed(item, "permanent-failure", f"cannot compose: {exc}"[:500]))
                    continue
                for reused in (True, False):
                    if smtp is not None and not smtp.is_connected:
                        smtp = None  # e.g. after a 421, which closes the channel
                    reused = reused and smtp is not None
                    if smtp is None:
                        try:
                            smtp = await self._connect()
                        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                            reason = f"relay unreachable: {classify(exc)[1]}"[:500]
                            outcomes.extend(self._failed(rest, "temporary-failure", reason) for rest in batch[position:])
                            return outcomes
                    try:
                        await smtp.send_message(message)
                    except aiosmtplib.SMTPServerDisconnected:
                        smtp = None
                        if reused:
                            continue  # the relay dropped an idle connection: once more on a new one
                        outcomes.append(self._failed(item, "temporary-failure", "SMTPServerDisconnected: relay closed the connection"))
                    except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
                        status, reason = classify(exc)
                        if not isinstance(exc, (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused)):
                            smtp = await _close(smtp)  # the connection is in doubt: a fresh one for the next
                        outcomes.append(self._failed(item, status, reason))
                    else:
                        outcomes.append(Outcome(item.delivery_id, item.tenant, item.attempts, "delivered"))
                    break
        finally:
            await _close(smtp)
        return outcomes

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.host, port=s.port, timeout=s.timeout, start_tls=s.starttls,
            username=s.username, password=s.password, local_hostname="aizu-notifications",
        )
        await smtp.connect()
        return smtp

    def _failed(self, item: Outgoing, status: str, reason: str) -> Outcome:
        if status == "temporary-failure" and item.attempts > len(self.settings.retry_backoff):
            status, reason = "permanent-failure", f"{reason} (gave up after {item.attempts} attempts)"
        log.info("delivery %s of %s: %s (%s)", item.delivery_id, item.tenant, status, reason)
        return Outcome(item.delivery_id, item.tenant, item.attempts, status, reason)

    async def _record(self, outcomes: list[Outcome]) -> None:
        now = datetime.now(UTC)
        by_town: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in outcomes:
            by_town[outcome.tenant].append(outcome)
        async with self._sessions() as session, session.begin():
            for town, group in by_town.items():
                await rls.use_tenant(session, town)
                for o in group:
                    values: dict[str, object] = {"status": o.status, "updated_at": now}
                    if o.status == "temporary-failure":
                        delay = self.settings.retry_backoff[o.attempts - 1]
                        values["next_attempt_at"] = now + timedelta(seconds=delay)
                        self._wake_later(delay, town)
                    else:
                        values["next_attempt_at"] = None
                    if o.error is not None:
                        values["last_error"] = o.error
                    await session.execute(
                        update(DeliveryRow)
                        .where(DeliveryRow.tenant == town, DeliveryRow.id == o.delivery_id, DeliveryRow.status == "sending")
                        .values(**values)
                        .execution_options(synchronize_session=False)
                    )
        self.sent += sum(o.status == "delivered" for o in outcomes)

    def _wake_later(self, delay: float, town: str) -> None:
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def wake() -> None:
            self._timers.discard(timer)  # type: ignore[arg-type]
            self.notify(town)

        timer = loop.call_later(delay + 0.01, wake)
        self._timers.add(timer)


async def _close(smtp: aiosmtplib.SMTP | None) -> None:
    if smtp is None or not smtp.is_connected:
        return None
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        smtp.close()
    return None
