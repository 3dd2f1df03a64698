"""Connecting to NATS with the process's settings."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError

from services.runtime.settings import BusSettings

log = logging.getLogger(__name__)


async def connect(settings: BusSettings, name: str) -> Client:
    return await nats.connect(
        servers=settings.servers,
        name=name,
        user=settings.user,
        password=settings.password,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
    )


async def disconnect(nc: Client) -> None:
    """Leave NATS on the way out: drained while connected (what is buffered is sent, replies are
    awaited); closed otherwise. A connection to a server that has gone keeps trying to reconnect
    for ever, and drain refuses it (``ConnectionReconnectingError``): left so, the process would
    not exit after SIGTERM."""
    if nc.is_connected:
        try:
            await nc.drain()
            return
        except (NatsError, asyncio.TimeoutError) as exc:
            log.warning("could not drain the NATS connection (%s); closing it", exc)
    await nc.close()
