"""Liveness and readiness, answered at any host (probes use the pod address)."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from contracts import broadcasts, subjects
from contracts.errors import ServiceFailure
from contracts.health import Readiness, ServiceHealth
from contracts.principal import ANONYMOUS
from contracts.tenants import COUNCIL_SLUG


@get("/healthz", sync_to_thread=False, include_in_schema=True, tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", tags=["health"], responses={
    503: ResponseSpec(data_container=Readiness, description="Not ready: NATS or a service is missing", generate_examples=False)})
async def readyz(state: State) -> Response[Readiness]:
    bus = state.bus
    nats_ok = bus.nc.is_connected
    services = [ServiceHealth(name=s, instances=await bus.instances(s) if nats_ok else 0) for s in subjects.SERVICES]
    ready = nats_ok and all(s.instances > 0 for s in services)
    stalled: list[broadcasts.StalledAlert] = []
    if nats_ok and any(s.name == subjects.NOTIFICATIONS and s.instances for s in services):
        try:
            health = await bus.fetch(COUNCIL_SLUG, subjects.NOTIFICATIONS, broadcasts.ALERT_HEALTH,
                                     broadcasts.AlertHealthQuery(), broadcasts.AlertHealth, ANONYMOUS)
            stalled = health.stalled
        except ServiceFailure:
            pass  # readiness is about copies answering; the alert watch's own alarm still goes out
    readiness = Readiness(ready=ready, nats=nats_ok, services=services, stalled_alerts=stalled)
    return Response(readiness, status_code=200 if ready else 503)
