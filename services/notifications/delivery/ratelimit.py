"""Token buckets per (town, channel): how fast one town may send on one channel.

A bucket holds up to ``burst`` tokens and gains ``rate`` a second; sending one message takes one.
Limits keep a town within what its relay or the push services accept, and keep one town's
broadcast from taking every slot of a pass (the sender also shares each pass fairly, see
``sender.py``). Settings: ``AIZU_RATE_<CHANNEL>`` as ``rate,burst`` (e.g. ``AIZU_RATE_EMAIL=500,2000``);
``0`` (or unset, for channels without a default) means no limit.

Emergency alerts have buckets of their own, one per (town, channel), so that a town's
announcements having used up its bucket do not hold an alert back:
``AIZU_RATE_EMERGENCY_<CHANNEL>``, in the same form; unset, the channel's ordinary limit (a second
bucket of the same size, not the same bucket). The sender takes from it the alerts it claims ahead
of the queue, and nothing else; an alert it meets in queue order after that bucket ran dry takes an
ordinary token like any message. So a town may send at both rates together while it has alerts
to send: the relay must accept that, or the emergency limit be set lower.

A value that is not ``rate[,burst]`` stops the service from starting, naming the variable.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

#: Per town: (messages a second, burst). Webhooks go to the town's own bridge: not limited.
DEFAULTS: dict[str, tuple[float, float]] = {"email": (500.0, 2000.0), "push": (200.0, 1000.0)}
CHANNELS = ("email", "push", "webhook")


def parse_limit(name: str, value: str) -> tuple[float, float] | None:
    """``rate[,burst]`` (burst defaults to the rate) of the variable ``name``; None: no limit."""
    try:
        parts = [float(p) for p in value.split(",")]
    except ValueError:
        parts = []
    if not 1 <= len(parts) <= 2 or not all(math.isfinite(p) and p >= 0 for p in parts):
        raise ValueError(f"{name}={value!r}: expected rate[,burst] (messages a second, at most at once; 0: no limit)")
    rate, burst = parts[0], parts[-1]
    if rate == 0:
        return None
    if burst < 1:  # the bucket would never hold a whole token: the channel would stall, silently
        raise ValueError(f"{name}={value!r}: the burst must be at least 1")
    return rate, burst


def limits_from_env(
    env: Mapping[str, str], prefix: str = "AIZU_RATE_", defaults: Mapping[str, tuple[float, float]] = DEFAULTS,
) -> dict[str, tuple[float, float]]:
    """The limits the variables ``<prefix><CHANNEL>`` set (``env``: the process's environment, read
    once by the service's settings), each channel without one at its ``defaults``."""
    limits = dict(defaults)
    for channel in CHANNELS:
        name = f"{prefix}{channel.upper()}"
        value = env.get(name)
        if value is None:
            continue
        limit = parse_limit(name, value)
        if limit is None:
            limits.pop(channel, None)
        else:
            limits[channel] = limit
    return limits


def emergency_limits_from_env(
    ordinary: Mapping[str, tuple[float, float]], env: Mapping[str, str],
) -> dict[str, tuple[float, float]]:
    """``AIZU_RATE_EMERGENCY_<CHANNEL>``; a channel without one: its ``ordinary`` limit."""
    return limits_from_env(env, "AIZU_RATE_EMERGENCY_", ordinary)


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
    """Every bucket of one sender: per (town, channel), one for everything and one for emergencies."""

    def __init__(
        self, limits: Mapping[str, tuple[float, float]], emergency: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        """``emergency``: the emergency buckets' limits; None: each channel's limit in ``limits``
        (buckets of their own of the same size, as :func:`emergency_limits_from_env` gives unset)."""
        self._limits = {False: dict(limits), True: dict(limits if emergency is None else emergency)}
        self._buckets: dict[tuple[str, str, bool], TokenBucket] = {}

    def bucket(self, town: str, channel: str, emergency: bool = False) -> TokenBucket | None:
        limit = self._limits[emergency].get(channel)
        if limit is None:
            return None
        key = (town, channel, emergency)
        if key not in self._buckets:
            self._buckets[key] = TokenBucket(*limit)
        return self._buckets[key]

    def available(self, town: str, channel: str, wanted: int, emergency: bool = False) -> int:
        bucket = self.bucket(town, channel, emergency)
        return wanted if bucket is None else min(wanted, bucket.available())

    def take(self, town: str, channel: str, n: int, emergency: bool = False) -> None:
        bucket = self.bucket(town, channel, emergency)
        if bucket is not None:
            bucket.take(n)
