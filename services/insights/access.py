"""Who may read the figures, re-checked against the tenant of the subject.

At ``council`` (the council's host): council members, every town. At a town: that town's tenant
admins, their own town only (with the regional median). Residents and caseworkers: nobody.
"""

from __future__ import annotations

from contracts.errors import ErrorCode, failure
from contracts.tenants import COUNCIL_SLUG, Region, Tenant
from services.runtime.service import Context


def towns_in_view(ctx: Context, region: Region) -> list[Tenant]:
    principal = ctx.principal
    if ctx.tenant == COUNCIL_SLUG:
        if not principal.has_role("council"):
            raise failure(ErrorCode.FORBIDDEN, "The regional council only", "the towns' figures are for the council")
        return list(region.towns)
    town = region.town(ctx.tenant)
    if town is None:
        raise failure(ErrorCode.NOT_FOUND, "No such town", f"no town {ctx.tenant!r}")
    if not (principal.is_staff_of(ctx.tenant) and principal.has_role("tenant-admin")):
        raise failure(ErrorCode.FORBIDDEN, "Tenant admins only", f"only a tenant admin of {ctx.tenant} sees its figures")
    return [town]
