"""Health of the bus and of each service, as the gateway reports it."""

from __future__ import annotations

import msgspec


class ServiceHealth(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    instances: int


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    ready: bool
    nats: bool
    services: list[ServiceHealth]
