"""Rate limits that hold however many copies of the gateway run: GCRA state in a NATS KV bucket.

Each limit is a policy (``count`` requests per ``seconds``) applied per client address (an IPv6
client's /64). The state of a key is one number, its theoretical arrival time (GCRA, the
generic cell rate algorithm): a request is allowed while that time is at most one period ahead of
now, and moves it on by ``seconds / count``. Updates are compare-and-set on the key's revision, so
two copies answering the same flood count every request once: the limit is the region's, not a
process's. The bucket's max age drops keys idle longer than the longest period.

A refused request is a 429 problem with ``Retry-After``. Policies come from the settings
(``AIZU_RATE_LIMIT_<NAME>=count/seconds``); :data:`DEFAULTS` otherwise.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import TooManyRequestsException
from litestar.handlers import BaseRouteHandler
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.errors import Error as NatsError
from nats.js.errors import BadRequestError, KeyNotFoundError, KeyWrongLastSequenceError

from contracts import headers as h

BUCKET = "aizu_rate_limits"
log = logging.getLogger(__name__)

#: (requests, seconds) per key.
DEFAULTS: dict[str, tuple[int, int]] = {
    "signin": (30, 60),  # sign-in starts and callbacks, per address
    "token": (60, 60),  # the development issuer's token endpoint, per address (Keycloak guards accounts)
    "anonymous_post": (30, 60),  # forms posted without signing in, and receipt checks, per address
    "faq": (60, 60),  # FAQ searches, per address
    "faq_log": (20, 3600),  # unanswered questions one address may add to the staff's list
}


class Refused(Exception):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, policies: Mapping[str, tuple[int, int]]) -> None:
        unknown = sorted(set(policies) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"no rate-limit policy named {', '.join(unknown)} (known: {', '.join(DEFAULTS)})")
        self.policies = {**DEFAULTS, **policies}
        self._kv: Any = None

    async def open(self, js: JetStreamContext, replicas: int = 1) -> None:
        longest = max(seconds for _, seconds in self.policies.values())
        config = KeyValueConfig(bucket=BUCKET, ttl=2 * longest, history=1, storage=StorageType.MEMORY, replicas=replicas)
        try:
            self._kv = await js.create_key_value(config)
        except BadRequestError:  # made with other settings by another copy or release: use it
            self._kv = await js.key_value(BUCKET)

    async def take(self, policy: str, key: str, count_it: bool = True) -> None:
        """Count one request of ``key`` against ``policy``; :class:`Refused` when over the limit.
        ``count_it=False``: only whether one more would be allowed (nothing is written).

        When the bucket cannot be reached the request is let through, and logged: a limit that
        fails closed would turn a NATS hiccup into nobody being able to sign in.
        """
        count, seconds = self.policies[policy]
        interval = seconds / count
        name = f"{policy}.{hashlib.sha256(key.encode()).hexdigest()[:40]}"  # any key is a valid KV token
        try:
            for _ in range(10):  # lost a compare-and-set to another copy: read again
                if await self._try(name, interval, seconds, count_it):
                    return
        except NatsError as exc:
            log.warning("rate limit %s not checked: %s", policy, exc)
            return
        raise Refused(interval)  # contended beyond reason: refuse rather than count nothing

    async def _try(self, name: str, interval: float, seconds: int, count_it: bool) -> bool:
        """One compare-and-set; False when another copy moved the key first."""
        now = time.time()
        try:
            entry = await self._kv.get(name)
            revision, tat = entry.revision, float(entry.value or b"0")
        except KeyNotFoundError:
            revision, tat = None, 0.0
        moved = max(tat, now) + interval
        if moved - now > seconds + 1e-9:
            raise Refused(moved - now - seconds)
        if not count_it:
            return True
        value = repr(moved).encode()
        try:
            if revision is None:
                await self._kv.create(name, value)
            else:
                await self._kv.update(name, value, last=revision)
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            return False
        return True

    async def allows(self, policy: str, key: str) -> bool:
        try:
            await self.take(policy, key)
        except Refused:
            return False
        return True

    async def check(self, policy: str, key: str) -> None:
        """:meth:`take`, refused as a 429 problem that says when to try again."""
        try:
            await self.take(policy, key)
        except Refused as refused:
            wait = max(1, math.ceil(refused.retry_after))
            raise TooManyRequestsException(
                detail=f"too many requests: try again in {wait} s", headers={"Retry-After": str(wait)}
            ) from None


async def log_header(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, str]:
    """The bus header of a FAQ search: whether an unanswered question of this caller may be
    logged. Only asked here; :func:`logged` counts it once the search says it logged one, so
    answered searches (most of them, from many residents behind one carrier's address) cost
    nothing."""
    try:
        await connection.app.state.limiter.take("faq_log", client_address(connection), count_it=False)
    except Refused:
        return {h.LOG_UNANSWERED: "0"}
    return {}


async def logged(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """An unanswered question of this caller went onto the staff's list: count it."""
    await connection.app.state.limiter.allows("faq_log", client_address(connection))


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """Whom a limit counts: the address, and for IPv6 its /64 (one subscriber's whole prefix:
    rotating through it is free)."""
    address = connection.app.state.resolver.client_address(connection)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else address


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def limited(policy: str) -> Guard:
    """A route guard: ``policy`` per client address."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        await connection.app.state.limiter.check(policy, client_address(connection))

    guard.rate_policy = policy  # type: ignore[attr-defined]
    return guard


def policy_of(guard: object) -> str | None:
    """The policy of a guard made by :func:`limited` (the OpenAPI documents its 429)."""
    return getattr(guard, "rate_policy", None)
