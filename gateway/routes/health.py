"""Liveness and readiness, answered at any host (probes use the pod address)."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State

from contracts import subjects
from contracts.health import Readiness, ServiceHealth


@get("/healthz", sync_to_thread=False, include_in_schema=True, tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", tags=["health"])
async def readyz(state: State) -> Response[Readiness]:
    bus = state.bus
    nats_ok = bus.nc.is_connected
    services = [ServiceHealth(name=s, instances=await bus.instances(s) if nats_ok else 0) for s in subjects.SERVICES]
    ready = nats_ok and all(s.instances > 0 for s in services)
    return Response(Readiness(ready=ready, nats=nats_ok, services=services), status_code=200 if ready else 503)
