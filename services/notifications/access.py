"""Who may do what here, re-checked against the tenant of the subject (never trusted from the gateway alone)."""

from __future__ import annotations

from contracts.errors import ErrorCode, failure
from contracts.principal import Principal
from services.runtime.service import Context


def resident(ctx: Context) -> Principal:
    """A resident: their own inbox and preferences in the town of the subject, nobody else's."""
    if not ctx.principal.has_role("resident"):
        raise failure(ErrorCode.FORBIDDEN, "Residents only", "the inbox and preferences are a resident's own")
    return ctx.principal


def staff(ctx: Context) -> Principal:
    if not ctx.principal.is_staff_of(ctx.tenant):
        raise failure(ErrorCode.FORBIDDEN, "This town's staff only", f"only staff of {ctx.tenant} may do this")
    return ctx.principal


def tenant_admin(ctx: Context) -> Principal:
    principal = staff(ctx)
    if not principal.has_role("tenant-admin"):
        raise failure(ErrorCode.FORBIDDEN, "Tenant admins only", f"only a tenant admin of {ctx.tenant} may do this")
    return principal
