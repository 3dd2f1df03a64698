"""Web push: the deployment's VAPID key (RFC 8292) and the channel that sends encrypted pushes
(RFC 8030 delivery, RFC 8291 ``aes128gcm`` message encryption) to residents' browsers.

The key pair is made once per deployment and kept as PEM under ``AIZU_VAPID_DIR`` (default
``vapid/`` in ``AIZU_VAR_DIR``); every copy of the service must share that directory (or the same file), since
browsers bind their subscriptions to the public key.

The push service's answer decides the outcome: 201/202 delivered; 404 or 410 the subscription is
gone (permanent, and the subscription is removed); 400/403/413 permanent (a push we cannot fix
by waiting); 429 and 5xx, time-outs, lost connections temporary.

Pushes go only to the known push services (``AIZU_PUSH_HOSTS``: host suffixes, comma-separated),
so a subscription cannot make the service send requests into its own network.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import http_ece
import httpx
import msgspec
from msgspec import field
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02

from contracts.notifications import DeliveryStatus, OutboundChannel
from services.notifications.delivery.outgoing import Outcome, Outgoing, PushTarget, Subscription
from services.runtime.settings import Environment, RuntimeSettings, load

log = logging.getLogger(__name__)

#: The browsers' push services (Chrome/Edge FCM, Firefox autopush, Safari/Apple, Windows WNS).
PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com", "android.googleapis.com", "push.services.mozilla.com", "push.apple.com",
    "notify.windows.com",
)
#: The push service keeps an undelivered push this long (seconds) while the device is offline.
TTL = 24 * 3600
#: Room for the push in the 4096 bytes a push service takes (after encryption's overhead).
MAX_PAYLOAD = 3000


class PushSettings(msgspec.Struct, frozen=True, kw_only=True):
    vapid_dir: str = field(default="var/vapid", name="AIZU_VAPID_DIR")
    #: The contact the push services may write to about this sender (RFC 8292 ``sub``; unset:
    #: ``mailto:noreply@`` and ``AIZU_BASE_DOMAIN``).
    contact: str = field(default="mailto:noreply@aizu.localhost", name="AIZU_VAPID_CONTACT")
    #: The push services' hosts, comma-separated.
    hosts: tuple[str, ...] = field(default=PUSH_HOSTS, name="AIZU_PUSH_HOSTS")
    #: Plain http allowed (only for a push service on loopback in tests and development).
    allow_http: bool = field(default=False, name="AIZU_PUSH_ALLOW_HTTP")
    timeout: Annotated[float, msgspec.Meta(gt=0)] = field(default=10.0, name="AIZU_PUSH_TIMEOUT")
    concurrency: Annotated[int, msgspec.Meta(ge=1)] = field(default=32, name="AIZU_PUSH_CONCURRENCY")

    @classmethod
    def from_env(cls, runtime: RuntimeSettings, env: Environment | None = None) -> PushSettings:
        return load(cls, env, defaults={"contact": f"mailto:noreply@{runtime.base_domain}",
                                        "vapid_dir": str(runtime.var / "vapid")})

    def allows(self, endpoint: str) -> bool:
        """Whether ``endpoint`` is on a known push service (and over https unless allowed otherwise)."""
        try:
            parts = urlsplit(endpoint)
            host = (parts.hostname or "").lower()
            parts.port  # noqa: B018 - a port out of range is a ValueError here, not at the first push
        except ValueError:  # not a URL (e.g. an unclosed IPv6 bracket, a port past 65535)
            return False
        if parts.scheme != "https" and not (self.allow_http and parts.scheme == "http"):
            return False
        return any(host == h or host.endswith("." + h) for h in self.hosts)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class VapidKeys:
    """The deployment's VAPID key pair, made on first use and kept as PEM."""

    FILE = "private_key.pem"

    def __init__(self, vapid: Vapid02) -> None:
        self.vapid = vapid
        point = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        self.public_key = b64url(point)

    @classmethod
    def load_or_create(cls, directory: str | Path) -> "VapidKeys":
        path = Path(directory) / cls.FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            vapid = Vapid02()
            vapid.generate_keys()
            # Written under a temporary name and renamed: two copies starting at once keep one key.
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(vapid.private_pem())
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)  # fails if another copy was first: theirs wins
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        return cls(Vapid02.from_file(str(path)))

    def authorization(self, endpoint: str, contact: str) -> str:
        parts = urlsplit(endpoint)
        claims = {"aud": f"{parts.scheme}://{parts.netloc}", "exp": int(time.time()) + 12 * 3600, "sub": contact}
        return self.vapid.sign(claims)["Authorization"]


def payload(item: Outgoing) -> bytes:
    """What the service worker shows: the Japanese title and body first, English after."""
    body = {
        "id": item.message_id, "kind": item.kind, "tenant": item.tenant,
        "title": item.title_ja, "body": item.body_ja, "title_en": item.title_en, "body_en": item.body_en,
    }
    data = json.dumps(body, ensure_ascii=False).encode()
    if len(data) > MAX_PAYLOAD:  # the inbox has it all: the push carries what fits
        body["body_en"] = ""
        body["body"] = item.body_ja[:400] + "…"
        data = json.dumps(body, ensure_ascii=False).encode()
    return data


def encrypt(data: bytes, p256dh: str, auth: str) -> bytes:
    """RFC 8291: ``aes128gcm`` with a fresh sender key per message."""
    sender = ec.generate_private_key(ec.SECP256R1())
    return http_ece.encrypt(
        data, salt=os.urandom(16), private_key=sender, dh=unb64url(p256dh), auth_secret=unb64url(auth), version="aes128gcm",
    )


def classify(status: int) -> tuple[DeliveryStatus, bool]:
    """(outcome, gone) of a push service's answer."""
    if status in (200, 201, 202):
        return DeliveryStatus.DELIVERED, False
    if status in (404, 410):
        return DeliveryStatus.PERMANENT_FAILURE, True
    if status == 429 or status >= 500 or status == 408:
        return DeliveryStatus.TEMPORARY_FAILURE, False
    return DeliveryStatus.PERMANENT_FAILURE, False


class WebPushChannel:
    name = OutboundChannel.PUSH

    def __init__(self, settings: PushSettings, keys: VapidKeys) -> None:
        self.settings = settings
        self.keys = keys
        self._client = httpx.AsyncClient(timeout=settings.timeout, follow_redirects=False)
        self._slots = asyncio.Semaphore(settings.concurrency)

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._one(item) for item in batch)))

    async def _one(self, item: Outgoing) -> Outcome:
        """One push to every browser of the resident: delivered when one took it; temporary when
        none did and one may later; else permanent."""
        subscriptions = item.target.subscriptions if isinstance(item.target, PushTarget) else ()
        if not subscriptions:
            return item.outcome(DeliveryStatus.PERMANENT_FAILURE, "no push subscription (removed)")
        data = payload(item)
        results = await asyncio.gather(*(self._push(data, s) for s in subscriptions))
        gone = tuple(s.id for s, (_, went, _) in zip(subscriptions, results, strict=True) if went)
        statuses = [status for status, _, _ in results]
        errors = "; ".join(e for _, _, e in results if e)[:500] or None
        if DeliveryStatus.DELIVERED in statuses:
            return item.outcome(DeliveryStatus.DELIVERED, None, gone=gone)
        if DeliveryStatus.TEMPORARY_FAILURE in statuses:
            return item.outcome(DeliveryStatus.TEMPORARY_FAILURE, errors, gone=gone)
        return item.outcome(DeliveryStatus.PERMANENT_FAILURE, errors, gone=gone)

    async def _push(self, data: bytes, target: Subscription) -> tuple[DeliveryStatus, bool, str | None]:
        """(status, gone, error) of one push to one subscription."""
        endpoint = target.endpoint
        if not self.settings.allows(endpoint):
            return DeliveryStatus.PERMANENT_FAILURE, True, f"not a known push service: {urlsplit(endpoint).hostname}"
        try:
            body = encrypt(data, target.p256dh, target.auth)
        except Exception as exc:  # noqa: BLE001 - a bad key from the browser: nothing will fix it
            return DeliveryStatus.PERMANENT_FAILURE, True, f"cannot encrypt for this subscription: {exc}"[:300]
        headers = {
            "TTL": str(TTL), "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream",
            "Urgency": "normal", "Authorization": self.keys.authorization(endpoint, self.settings.contact),
        }
        async with self._slots:
            try:
                reply = await self._client.post(endpoint, content=body, headers=headers)
            except httpx.HTTPError as exc:
                return DeliveryStatus.TEMPORARY_FAILURE, False, f"{type(exc).__name__}: {exc}"[:300]
        status, gone = classify(reply.status_code)
        error = None if status == DeliveryStatus.DELIVERED else f"push service answered {reply.status_code}: {reply.text[:200]}"
        return status, gone, error
