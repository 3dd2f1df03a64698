"""A local SMTP server that keeps every message it accepts as an ``.eml`` file (development, tests).

``aizu dev`` starts it (``aizu serve smtp-sink``) on ``AIZU_SMTP_HOST``:``AIZU_SMTP_PORT`` and points
the notifications service at it, so the mail a town would send lands in ``var/mail/`` instead of
residents' mailboxes. Tests run it on a free loopback port as the town's relay: a real SMTP
server (aiosmtpd), which can also be told to refuse an address with a given reply, the way a
relay answers ``550`` for a mailbox that does not exist or ``451`` when it is busy.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

from services.notifications.channels.mailer import SmtpSettings
from services.runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)


@dataclass
class _Refusal:
    reply: str
    #: How many more times to refuse; None: always.
    left: int | None


class MailSink:
    """The sink's aiosmtpd handler and server; ``await start()``, ``await stop()``."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.directory = directory
        self.host = host
        self.port = port
        self._server: asyncio.AbstractServer | None = None
        self._refusals: dict[str, _Refusal] = {}
        self.accepted = 0

    def refuse(self, address: str, reply: str, times: int | None = None) -> None:
        """Answer RCPT for ``address`` with ``reply`` (e.g. ``"550 5.1.1 No such mailbox"``), ``times`` times."""
        self._refusals[address.lower()] = _Refusal(reply=reply, left=times)

    async def start(self) -> int:
        """Listen; returns the port (a free one when constructed with port 0)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="aizu-smtp-sink", enable_SMTPUTF8=True, loop=loop), self.host, self.port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def messages(self) -> list[Path]:
        """The stored messages, oldest first."""
        return sorted(self.directory.glob("*.eml"))

    # aiosmtpd hooks

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        refusal = self._refusals.get(address.lower())
        if refusal is not None and (refusal.left is None or refusal.left > 0):
            if refusal.left is not None:
                refusal.left -= 1
            return refusal.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        # As a mailbox would: who it was for and who sent it, above the message as received.
        trace = f"Return-Path: <{envelope.mail_from}>\r\n" + "".join(f"Delivered-To: {r}\r\n" for r in envelope.rcpt_tos)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:12]}"
        tmp = self.directory / f".{name}.tmp"
        await asyncio.to_thread(_write, tmp, self.directory / f"{name}.eml", trace.encode() + content)
        self.accepted += 1
        return "250 Message accepted for delivery"


def _write(tmp: Path, final: Path, data: bytes) -> None:
    tmp.write_bytes(data)
    os.replace(tmp, final)  # a reader never sees half a message


async def serve_sink(stop: asyncio.Event | None = None) -> None:
    """``aizu serve smtp-sink``: listen where the services' settings send mail (``AIZU_SMTP_HOST``,
    ``AIZU_SMTP_PORT``), store it under ``AIZU_MAIL_DIR`` (unset: ``var/mail``)."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command chatter
    runtime = RuntimeSettings.from_env()
    relay = SmtpSettings.from_env(runtime)
    directory = Path(relay.mail_dir) if relay.mail_dir else runtime.var / "mail"
    sink = MailSink(directory, relay.host, relay.port)
    port = await sink.start()
    log.info("SMTP sink on %s:%d, storing mail in %s", sink.host, port, directory)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sink.stop()
