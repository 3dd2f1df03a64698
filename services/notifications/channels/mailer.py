"""Email: the channel that sends claimed deliveries through the town's SMTP relay.

The sender (``sender.py``) claims due deliveries and hands this channel its share; it sends them
over a few SMTP connections at once, each reused for many messages, and says per message:

* accepted by the relay: ``delivered``;
* a 4xx reply, a lost connection, a time-out: ``temporary-failure`` (the sender retries later);
* a 5xx reply (no such mailbox, refused content): ``permanent-failure`` at once;
* the relay unreachable: the whole rest of the part ``temporary-failure`` (no message waits out
  its own time-out against a relay that is down).

A message whose outcome was lost (the sender died) is claimed again after the lease: the relay
may get it twice, with the same Message-ID, which mail systems use to spot the copy.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Annotated
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import aiosmtplib
import msgspec
from msgspec import field

from contracts.notifications import DeliveryStatus, OutboundChannel
from contracts.tenants import Region
from services.runtime.settings import Environment, RuntimeSettings, load, Settings
from services.notifications.delivery.outgoing import Outcome, Outgoing

log = logging.getLogger(__name__)
TOKYO = ZoneInfo("Asia/Tokyo")

#: Seconds before each further attempt after a temporary failure; one more attempt than delays.
RETRY_BACKOFF: tuple[float, ...] = (60, 300, 1800, 7200)


class SmtpSettings(Settings, kw_only=True):
    """The relay the town's mail goes through (in development the sink of ``aizu serve smtp-sink``)."""

    host: str = field(default="127.0.0.1", name="AIZU_SMTP_HOST")
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = field(default=2525, name="AIZU_SMTP_PORT")
    username: str | None = field(default=None, name="AIZU_SMTP_USER")
    password: str | None = field(default=None, name="AIZU_SMTP_PASSWORD")
    #: None: STARTTLS when the relay offers it; True: required; False: never.
    starttls: bool | None = field(default=None, name="AIZU_SMTP_STARTTLS")
    #: The envelope and From address; ``{tenant}`` becomes the town's slug (unset:
    #: ``noreply@{tenant}.`` and ``AIZU_BASE_DOMAIN``).
    sender: str = field(default="noreply@{tenant}.localhost", name="AIZU_SMTP_FROM")
    timeout: Annotated[float, msgspec.Meta(gt=0)] = field(default=10.0, name="AIZU_SMTP_TIMEOUT")
    #: Seconds between a message's attempts, comma-separated.
    retry_backoff: tuple[Annotated[float, msgspec.Meta(ge=0)], ...] = field(default=RETRY_BACKOFF, name="AIZU_SMTP_RETRY_SECONDS")
    #: Connections a batch is sent over at once, each reused for its share.
    connections: Annotated[int, msgspec.Meta(ge=1)] = field(default=8, name="AIZU_SMTP_CONNECTIONS")
    #: Where the development sink stores what it is sent (None: ``var/mail``).
    mail_dir: str | None = field(default=None, name="AIZU_MAIL_DIR")

    @classmethod
    def from_env(cls, runtime: RuntimeSettings, env: Environment | None = None) -> SmtpSettings:
        return load(cls, env, defaults={"sender": f"noreply@{{tenant}}.{runtime.base_domain}"})


def message_id(delivery_id: str, sender: str) -> str:
    """The same for every attempt at one delivery, and a valid msg-id (RFC 5322 §3.6.4): a
    delivery id may hold characters an id may not (a broadcast's ``key:resident``), so it is
    named by a UUID derived from it."""
    return f"<{uuid.uuid5(uuid.NAMESPACE_URL, 'aizu:delivery:' + delivery_id)}@{sender.partition('@')[2] or 'aizu'}>"


def compose(item: Outgoing, town_name: str, settings: SmtpSettings) -> EmailMessage:
    """The mail: the Japanese subject, the Japanese text first and the English after it."""
    sender = settings.sender.format(tenant=item.tenant)
    message = EmailMessage()
    message["From"] = Address(display_name=town_name, addr_spec=sender)
    message["To"] = item.address
    message["Subject"] = item.title_ja
    message["Date"] = format_datetime(datetime.now(TOKYO))
    message["Message-ID"] = message_id(item.delivery_id, sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the town
    message.set_content(f"{item.body_ja}\n\n――――――――――\n{item.title_en}\n\n{item.body_en}\n", cte="base64")
    message["Content-Language"] = "ja, en"  # after set_content, which replaces every Content-* header
    return message


def classify(exc: BaseException) -> tuple[DeliveryStatus, str]:
    """(status, reason) of a failed send: a 5xx reply is permanent, anything else may pass later."""
    code: int | None = None
    text = str(exc)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        code, text = first.code, f"{first.code} {first.message}"
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        code, text = exc.code, f"{exc.code} {exc.message}"
    elif isinstance(exc, ValueError):
        return DeliveryStatus.PERMANENT_FAILURE, f"unusable address: {exc}"
    reason = f"{type(exc).__name__}: {text}"[:500]
    if code is not None and 500 <= code < 600:
        return DeliveryStatus.PERMANENT_FAILURE, reason
    return DeliveryStatus.TEMPORARY_FAILURE, reason


class EmailChannel:
    """Sends a batch of email over ``connections`` SMTP connections at once (by default the
    settings'), each reused for its share and kept open for the next batch."""

    name = OutboundChannel.EMAIL

    def __init__(self, region: Region, settings: SmtpSettings, connections: int | None = None) -> None:
        self._names = {t.slug: t.name_ja for t in region.towns}
        self.settings = settings
        self._connections = max(1, connections or settings.connections)
        self._idle: list[aiosmtplib.SMTP] = []

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for smtp in idle:
            await _close(smtp)

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        if not batch:
            return []
        size = -(-len(batch) // self._connections)
        parts = [batch[i:i + size] for i in range(0, len(batch), size)]
        results = await asyncio.gather(*(self._send(list(part)) for part in parts))
        return [o for part in results for o in part]

    async def _send(self, batch: list[Outgoing]) -> list[Outcome]:
        """Send ``batch`` over one connection, opened again whenever the relay closed it.

        When the relay cannot be reached at all, the rest of the batch waits for its next attempt
        instead of each message waiting out its own time-out.
        """
        outcomes: list[Outcome] = []
        smtp: aiosmtplib.SMTP | None = self._idle.pop() if self._idle else None
        try:
            for position, item in enumerate(batch):
                try:
                    message = compose(item, self._names.get(item.tenant, item.tenant), self.settings)
                except (ValueError, TypeError) as exc:  # e.g. a line break in a header: it never will send
                    outcomes.append(item.outcome(DeliveryStatus.PERMANENT_FAILURE, f"cannot compose: {exc}"[:500]))
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
                            outcomes.extend(rest.outcome(DeliveryStatus.TEMPORARY_FAILURE, reason) for rest in batch[position:])
                            return outcomes
                    try:
                        await smtp.send_message(message)
                    except aiosmtplib.SMTPServerDisconnected:
                        smtp = None
                        if reused:
                            continue  # the relay dropped an idle connection: once more on a new one
                        outcomes.append(item.outcome(DeliveryStatus.TEMPORARY_FAILURE, "SMTPServerDisconnected: relay closed the connection"))
                    except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
                        status, reason = classify(exc)
                        if not isinstance(exc, (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused)):
                            smtp = await _close(smtp)  # the connection is in doubt: a fresh one for the next
                        outcomes.append(item.outcome(status, reason))
                    else:
                        outcomes.append(item.outcome(DeliveryStatus.DELIVERED))
                    break
        except BaseException:
            smtp = await _close(smtp)
            raise
        finally:
            if smtp is not None and smtp.is_connected:
                self._idle.append(smtp)  # for the next batch: no new connection and greeting per batch
        return outcomes

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.host, port=s.port, timeout=s.timeout, start_tls=s.starttls,
            username=s.username, password=s.password, local_hostname="aizu-notifications",
        )
        await smtp.connect()
        return smtp


async def _close(smtp: aiosmtplib.SMTP | None) -> None:
    if smtp is None or not smtp.is_connected:
        return None
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        smtp.close()
    return None
