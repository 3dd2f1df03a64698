"""Signed webhooks: a town's integrations (its LINE bridge, a CRM...) receive its residents' messages.

Channel name ``webhook``, not ``line``: the platform does not know residents' LINE accounts; the
town's bridge maps the resident's subject to them, and the same signed POST serves any other
integration a town runs. A tenant admin registers a URL; the server makes the secret and shows it
once. Each POST is signed as Standard Webhooks (standardwebhooks.com) asks:

* ``webhook-id``: the delivery id (the same on every retry, so a receiver can drop copies);
* ``webhook-timestamp``: Unix seconds (a receiver refuses old ones: no replays);
* ``webhook-signature``: ``v1,`` + base64 HMAC-SHA256 with the secret's key over
  ``"<id>.<timestamp>.<body>"``.

The receiver's answer: 2xx delivered; 408/429/5xx, time-outs, lost connections temporary; other
4xx permanent (wrong URL, refused).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

import httpx
import msgspec
from sqlalchemy import delete, select

from contracts import notifications as msg
from contracts.notifications import DeliveryStatus, OutboundChannel
from contracts.errors import ErrorCode, FieldError, ServiceFailure, failure
from services.notifications import access
from services.notifications.channels import webhook_address
from services.notifications.delivery.outgoing import Outcome, Outgoing, WebhookTarget
from services.notifications.models import WebhookRow
from services.runtime.database import utc
from services.runtime.service import Context, ServiceApp

PREFIX = "whsec_"
MAX_PER_TOWN = 10
_ENCODER = msgspec.json.Encoder()


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The receiver's side (what a town's bridge does; the tests' receiver uses it too)."""
    try:
        timestamp = int(headers["webhook-timestamp"])
        wanted = sign(secret, headers["webhook-id"], timestamp, body)
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return any(hmac.compare_digest(wanted, s) for s in headers.get("webhook-signature", "").split())


class Resolved(NamedTuple):
    """Where a webhook's host resolves: the address to connect to, or why not."""

    address: str | None
    refused: str | None


async def resolve(url: str, allow_local: bool = False) -> Resolved:
    """Refuses a malformed URL, and a host with any address that is, or carries, a loopback,
    private, link-local or otherwise non-public one: a webhook must never make the service call
    into its own network (SSRF). ``allow_local``: tests' receivers on loopback."""
    try:
        host = webhook_address.parse(url).host
    except ServiceFailure:
        return Resolved(None, "(a malformed URL)")
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return Resolved(None, host)  # unresolvable: refused rather than guessed
    addresses = [ipaddress.ip_address(sockaddr[0].partition("%")[0]) for *_, sockaddr in found]
    if not allow_local and (inward := next((a for a in addresses if webhook_address.inward(a)), None)) is not None:
        return Resolved(None, str(inward))
    if not addresses:
        return Resolved(None, host)
    return Resolved(str(min(addresses, key=lambda a: a.version)), None)  # IPv4 first: not every network routes IPv6 out


def pinned(url: str, address: str) -> tuple[str, str]:
    """``url`` with its host replaced by the checked ``address``, and the Host header it had.

    The POST goes to the address that was checked, not to a second lookup of the name, which an
    attacker's DNS could answer differently (DNS rebinding). TLS still verifies the certificate
    against the name (sent as SNI). The name is in A-labels (``xn--…``): headers are ASCII."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    at = "[" + address + "]" if ":" in address else address
    host = webhook_address.parse(url).host
    name = f"[{host}]" if ":" in host else host
    return urlunsplit(parts._replace(netloc=at + port)), f"{name}{port}"


def shape(row: WebhookRow) -> msg.Webhook:
    return msg.Webhook(id=row.id, url=row.url, description=row.description, created_at=utc(row.created_at), created_by=row.created_by)


async def add_webhook(ctx: Context, req: msg.AddWebhook, allow_http: bool = False) -> msg.WebhookCreated:
    principal = access.tenant_admin(ctx)
    webhook_address.parse(req.url)
    if not allow_http and not req.url.startswith("https://"):  # the message and signature travel in it
        raise failure(ErrorCode.VALIDATION, "HTTPS only", "a webhook URL must be https", [
            FieldError(field="$.url", message_ja="連携先の URL は https で始まる必要があります。",
                       message_en="The webhook URL must start with https://."),
        ])
    if not allow_http and (refused := (await resolve(req.url)).refused) is not None:
        raise failure(ErrorCode.VALIDATION, "Not a public address", f"the webhook's host is {refused}", [
            FieldError(field="$.url", message_ja="連携先はインターネット上の公開されたアドレスにしてください。",
                       message_en="The webhook must be at a public internet address."),
        ])
    session = ctx.session
    async with session.begin():
        count = len((await session.execute(select(WebhookRow.id).where(WebhookRow.tenant == ctx.tenant))).all())
        if count >= MAX_PER_TOWN:
            raise failure(ErrorCode.VALIDATION, "Too many webhooks", f"a town has at most {MAX_PER_TOWN}", [
                FieldError(field="$.url", message_ja=f"連携先は{MAX_PER_TOWN}件までです。",
                           message_en=f"A town has at most {MAX_PER_TOWN} webhooks."),
            ])
        row = WebhookRow(
            id=str(uuid.uuid4()), tenant=ctx.tenant, url=req.url, description=req.description, secret=new_secret(),
            created_by=principal.subject, created_at=datetime.now(UTC),
        )
        session.add(row)
    return msg.WebhookCreated(webhook=shape(row), secret=row.secret)


async def list_webhooks(ctx: Context, _req: msg.ListWebhooks) -> msg.WebhookList:
    access.tenant_admin(ctx)
    rows = (await ctx.session.execute(
        select(WebhookRow).where(WebhookRow.tenant == ctx.tenant).order_by(WebhookRow.created_at)
    )).scalars().all()
    return msg.WebhookList(items=[shape(r) for r in rows])


async def delete_webhook(ctx: Context, req: msg.DeleteWebhook) -> msg.Removed:
    access.tenant_admin(ctx)
    session = ctx.session
    async with session.begin():
        result = await session.execute(delete(WebhookRow).where(WebhookRow.tenant == ctx.tenant, WebhookRow.id == req.id))
    return msg.Removed(removed=bool(result.rowcount))


def register(app: ServiceApp, allow_http: bool = False) -> None:
    """``allow_http``: plain-http URLs too (``AIZU_WEBHOOK_ALLOW_HTTP=1``; development and tests only)."""

    @app.endpoint(msg.ADD_WEBHOOK, msg.AddWebhook)
    async def add(ctx: Context, req: msg.AddWebhook) -> msg.WebhookCreated:
        return await add_webhook(ctx, req, allow_http)

    app.endpoint(msg.WEBHOOKS, msg.ListWebhooks, read_only=True)(list_webhooks)
    app.endpoint(msg.DELETE_WEBHOOK, msg.DeleteWebhook)(delete_webhook)


def classify(status: int) -> DeliveryStatus:
    if 200 <= status < 300:
        return DeliveryStatus.DELIVERED
    if status in (408, 429) or status >= 500:
        return DeliveryStatus.TEMPORARY_FAILURE
    return DeliveryStatus.PERMANENT_FAILURE


class WebhookChannel:
    name = OutboundChannel.WEBHOOK

    def __init__(self, timeout: float = 10.0, concurrency: int = 32, allow_local: bool = False) -> None:
        """``allow_local``: tests' receivers on loopback (``AIZU_WEBHOOK_ALLOW_HTTP``)."""
        # No kept-alive connections: they are pooled by address, so a town's POST could ride on a
        # connection whose certificate was checked for another town's host at the same address.
        self._client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self._allow_local = allow_local
        self._slots = asyncio.Semaphore(concurrency)

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._one(item) for item in batch)))

    async def _one(self, item: Outgoing) -> Outcome:
        target = item.target
        if not isinstance(target, WebhookTarget):
            return item.outcome(DeliveryStatus.PERMANENT_FAILURE, "webhook removed by the town")
        # Checked again at each send: the name may have been pointed inward since it was added.
        address, refused = await resolve(target.url, self._allow_local)
        if address is None:
            return item.outcome(DeliveryStatus.PERMANENT_FAILURE, f"webhook host does not resolve to a public address: {refused}")
        url, host = pinned(target.url, address)
        body = _ENCODER.encode(msg.WebhookMessage(
            delivery_id=item.delivery_id, tenant=item.tenant, recipient=item.recipient, kind=item.kind,
            title_ja=item.title_ja, body_ja=item.body_ja, title_en=item.title_en, body_en=item.body_en,
        ))
        timestamp = int(time.time())
        headers = {
            "host": host,
            "content-type": "application/json",
            "webhook-id": item.delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(target.secret, item.delivery_id, timestamp, body),
        }
        async with self._slots:
            try:
                reply = await self._client.post(
                    url, content=body, headers=headers,
                    extensions={"sni_hostname": webhook_address.parse(target.url).host}
                )
            except httpx.HTTPError as exc:
                return item.outcome(DeliveryStatus.TEMPORARY_FAILURE, f"{type(exc).__name__}: {exc}"[:500])
        status = classify(reply.status_code)
        return item.outcome(status, None if status == DeliveryStatus.DELIVERED else f"receiver answered {reply.status_code}")
