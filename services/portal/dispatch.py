"""The ``page`` endpoint: find the page for a path, check who may see it, render it.

A service's refusal (not signed in, another town's staff, a bad answer) becomes a page in the
reader's language with the right status, never a stack trace or a blank screen.
"""

from __future__ import annotations

from typing import Any

from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure
from contracts.portal import PAGE, PageReply, PageRequest
from contracts.principal import ANONYMOUS
from contracts.tenants import Council, Tenant
from services.portal.pages import news
from services.portal.routing import Routes
from services.portal.view import Page, Site
from services.runtime.client import BusClient
from services.runtime.service import Context, ServiceApp

def _refusal(page: Page, audience: str) -> PageReply | None:
    """Who may see a page of this audience; None when the caller may. (The host's kind was
    settled by the route's match: council pages exist only at the council's host.)"""
    if audience in ("resident", "staff", "council") and not page.signed_in:
        return page.problem(ErrorEnvelope(code=ErrorCode.UNAUTHENTICATED, title="Sign-in needed"), 401)
    forbidden = ErrorEnvelope(code=ErrorCode.FORBIDDEN, title="Forbidden", detail=page.t("forbidden_heading"))
    if audience == "resident" and not page.has_role("resident"):
        return page.problem(forbidden, 403)
    if audience == "staff" and not page.is_staff:
        return page.problem(forbidden, 403)
    if audience == "council" and not page.has_role("council"):
        return page.problem(forbidden, 403)
    return None


def register(app: ServiceApp[Any], routes: Routes, site: Site, bus: BusClient) -> None:
    region = site.region
    places: dict[str, Tenant | Council] = {t.slug: t for t in region.towns}
    places[region.council.slug] = region.council

    @app.endpoint(PAGE, PageRequest)
    async def page(ctx: Context, req: PageRequest) -> PageReply:
        tenant = places.get(ctx.tenant)
        if tenant is None:
            raise ServiceFailure(ErrorEnvelope(code=ErrorCode.NOT_FOUND, title="No such town"))
        principal = None if ctx.principal == ANONYMOUS else ctx.principal
        found = routes.match(req.method, req.path, council=isinstance(tenant, Council))
        view = Page(req, tenant, principal, found[1] if found else {}, bus, site, ctx)
        if found is None:
            return view.not_found()
        route, params = found
        if "__method__" in params:
            return view.render("not_found.html", status=405)
        refused = _refusal(view, route.audience or "")
        if refused is not None:
            return refused
        try:
            await news.decorate(view)
            return await route.handler(view)
        except ServiceFailure as exc:
            return view.problem(exc)
