"""Where and who: the town of the host called, and the verified principal as the services will see it."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from contracts.principal import Principal
from contracts.tenant_profile import TenantProfile
from gateway.access import Caller


@get("/api/v1/tenant", tags=["tenant"], sync_to_thread=False)
def tenant_profile(tenant: NamedDependency[TenantProfile]) -> TenantProfile:
    return tenant


@get("/api/v1/me", tags=["identity"])
async def me(caller: NamedDependency[Caller]) -> Principal:
    """The signed-in caller: subject, roles, town, assurance level and the verified identity."""
    return caller.signed_in()
