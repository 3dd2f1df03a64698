"""The JetStream streams of the platform, declared once and created idempotently at start-up."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from contracts import subjects

#: Domain events of every service, kept a week for consumers that fall behind.
EVENTS = StreamConfig(
    name="AIZU_EVENTS",
    subjects=[f"{subjects.PREFIX}.{subjects.EVENTS}.>"],
    retention=RetentionPolicy.LIMITS,
    storage=StorageType.FILE,
    max_age=7 * 24 * 3600,
    duplicate_window=120,
)

#: The audit log: append-only, kept ten years (a town's retention rule for access records).
AUDIT = StreamConfig(
    name="AIZU_AUDIT",
    subjects=[f"{subjects.PREFIX}.{subjects.AUDIT}.>"],
    retention=RetentionPolicy.LIMITS,
    storage=StorageType.FILE,
    max_age=10 * 365 * 24 * 3600,
    deny_delete=True,
    deny_purge=True,
    duplicate_window=120,
)


#: What services gave up on (deliveries, events), kept 30 days for the towns' admins to look into.
DEAD_LETTERS = StreamConfig(
    name="AIZU_DEAD_LETTERS",
    subjects=[f"{subjects.PREFIX}.{subjects.DEAD_LETTERS}.>"],
    retention=RetentionPolicy.LIMITS,
    storage=StorageType.FILE,
    max_age=30 * 24 * 3600,
    duplicate_window=120,
)


async def ensure(js: JetStreamContext, *configs: StreamConfig, replicas: int) -> None:
    """Create the streams that are missing, with ``replicas`` copies (the settings'
    ``AIZU_STREAM_REPLICAS``: 3 on the production cluster, 1 on a single development server)."""
    for config in configs:
        config.num_replicas = replicas
        try:
            await js.add_stream(config)
        except BadRequestError:
            # Exists with other settings (e.g. created by an operator with more replicas): keep it.
            await js.stream_info(config.name)
