"""The notifications service's settings, read from the environment once, when the process starts."""

from __future__ import annotations

import os
from typing import Annotated

import msgspec
from msgspec import field

from services.notifications.broadcasts import fanout
from services.notifications.channels.mailer import SmtpSettings
from services.notifications.channels.webpush import PushSettings
from services.notifications.delivery.ratelimit import DEFAULTS, emergency_limits_from_env, limits_from_env
from services.runtime.settings import Environment, RuntimeSettings, load

Limit = tuple[float, float]


class NotificationsSettings(msgspec.Struct, frozen=True, kw_only=True):
    runtime: RuntimeSettings = RuntimeSettings()
    smtp: SmtpSettings = SmtpSettings()
    push: PushSettings = PushSettings()
    #: Per town and channel, (messages a second, burst): ``AIZU_RATE_<CHANNEL>`` (``ratelimit.py``).
    rate_limits: dict[str, Limit] = field(default_factory=lambda: dict(DEFAULTS))
    #: The emergency alerts' own buckets: ``AIZU_RATE_EMERGENCY_<CHANNEL>``, unset: the ordinary limit.
    emergency_rate_limits: dict[str, Limit] = field(default_factory=lambda: dict(DEFAULTS))
    #: Webhooks to receivers over plain http on loopback (tests only).
    webhook_allow_http: bool = field(default=False, name="AIZU_WEBHOOK_ALLOW_HTTP")
    #: Residents per fan-out chunk of a broadcast.
    broadcast_chunk: Annotated[int, msgspec.Meta(ge=1)] = field(default=fanout.CHUNK, name="AIZU_BROADCAST_CHUNK")
    #: How long after approval an alert may take to reach every town's inboxes before the alarm.
    alert_deadline: Annotated[float, msgspec.Meta(gt=0)] = field(default=30.0, name="AIZU_ALERT_DEADLINE_SECONDS")
    #: How often the sender looks for due messages when nothing woke it.
    sender_poll_seconds: Annotated[float, msgspec.Meta(gt=0)] = field(default=1.0, name="AIZU_SENDER_POLL_SECONDS")

    @classmethod
    def from_env(cls, env: Environment | None = None) -> NotificationsSettings:
        env = os.environ if env is None else env
        runtime = RuntimeSettings.from_env(env)
        limits = limits_from_env(env)
        return load(cls, env, runtime=runtime, smtp=SmtpSettings.from_env(runtime, env),
                    push=PushSettings.from_env(runtime, env), rate_limits=limits,
                    emergency_rate_limits=emergency_limits_from_env(limits, env))
