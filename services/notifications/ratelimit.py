"""Token buckets per (town, channel): how fast one town may send on one channel.

A bucket holds up to ``burst`` tokens and gains ``rate`` a second; sending one message takes one.
Limits keep a town within what its relay or the push services accept, and keep one town's
broadcast from taking every slot of a pass (the sender also shares each pass fairly, see
``sender.py``). Settings: ``AIZU_RATE_<CHANNEL>`` as ``rate,burst`` (e.g. ``AIZU_RATE_EMAIL=500,2000``);
``0`` (or unset, for channels without a default) means no limit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

#: Per town: (messages a second, burst). Webhooks go to the town's own bridge: not limited.
DEFAULTS: dict[str, tuple[float, float]] = {"email": (500.0, 2000.0), "push": (200.0, 1000.0)}


def limits_from_env(env: Mapping[str, str] | None = None) -> dict[str, tuple[float, float]]:
    env = os.environ if env is None else env
    limits = dict(DEFAULTS)
    for channel in ("email", "push", "webhook"):
        value = env.get(f"AIZU_RATE_{channel.upper()}")
        if value is None:
            continue
        parts = [float(p) for p in value.split(",")]
        if parts[0] <= 0:
            limits.pop(channel, None)
        else:
            limits[channel] = (parts[0], parts[1] if len(parts) > 1 else parts[0])
    return limits


class TokenBucket:
    __slots__ = ("rate", "burst", "tokens", "_at")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self._at = burst, time.monotonic()

    def available(self) -> int:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now
        return int(self.tokens)

    def take(self, n: int) -> None:
        self.tokens -= n

    def wait_for_one(self) -> float:
        """Seconds until one token is there."""
        return max(0.0, (1 - self.tokens) / self.rate)


class Limits:
    """Every (town, channel) bucket of one sender."""

    def __init__(self, limits: Mapping[str, tuple[float, float]]) -> None:
        self._limits = dict(limits)
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def bucket(self, town: str, channel: str) -> TokenBucket | None:
        if channel not in self._limits:
            return None
        key = (town, channel)
        if key not in self._buckets:
            self._buckets[key] = TokenBucket(*self._limits[channel])
        return self._buckets[key]

    def available(self, town: str, channel: str, wanted: int) -> int:
        bucket = self.bucket(town, channel)
        return wanted if bucket is None else min(wanted, bucket.available())

    def take(self, town: str, channel: str, n: int) -> None:
        bucket = self.bucket(town, channel)
        if bucket is not None:
            bucket.take(n)
