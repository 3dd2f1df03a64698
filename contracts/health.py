"""Health of the bus and of each service, as the gateway reports it."""

from __future__ import annotations

import msgspec

from contracts.broadcasts import StalledAlert


class ServiceHealth(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    instances: int


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    ready: bool
    nats: bool
    services: list[ServiceHealth]
    #: Emergency alerts past their deadline that have not reached every town's inboxes (the
    #: platform still serves: this is for the operators' alarm, not for the load balancer).
    stalled_alerts: list[StalledAlert] = []
