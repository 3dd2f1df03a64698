"""Connecting to NATS with the process's settings."""

from __future__ import annotations

import nats
from nats.aio.client import Client

from services.runtime.settings import BusSettings


async def connect(settings: BusSettings, name: str) -> Client:
    return await nats.connect(
        servers=settings.servers,
        name=name,
        user=settings.user,
        password=settings.password,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
    )
