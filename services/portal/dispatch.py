"""The ``page`` endpoint: the bus's page requests, answered by the portal's in-process Litestar app.

The gateway keeps HTTP (sessions, CSRF, cookies, forms, files); here Litestar routes the path,
checks who may see the page (the routes' guards) and calls its handler. A service's refusal (not
signed in, another town's staff, a bad answer) becomes a page in the reader's language with the
right status, never a stack trace or a blank screen.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response
from litestar.di import Provide
from litestar.exceptions import (
    MethodNotAllowedException, NotAuthorizedException, NotFoundException, PermissionDeniedException, ValidationException,
)
from litestar.types import Scope

from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure
from contracts.portal import PAGE, PageReply, PageRequest
from contracts.principal import ANONYMOUS
from contracts.tenants import Council, Tenant
from services.portal.pages import news
from services.portal.routing import COUNCIL, TOWN, Pages, page_of
from services.portal.view import Page, Site
from services.runtime.client import BusClient
from services.runtime.service import Context, ServiceApp

Request_ = Request[Any, Any, Any]


def _answer(request: Request_, reply: PageReply) -> Response[PageReply]:
    return Response(reply)


def _refused(request: Request_, exc: Exception) -> Response[PageReply]:
    page = page_of(request)
    if isinstance(exc, NotAuthorizedException):
        return _answer(request, page.problem(ErrorEnvelope(code=ErrorCode.UNAUTHENTICATED, title="Sign-in needed"), 401))
    forbidden = ErrorEnvelope(code=ErrorCode.FORBIDDEN, title="Forbidden", detail=page.t("forbidden_heading"))
    return _answer(request, page.problem(forbidden, 403))


def _failed(request: Request_, exc: ServiceFailure) -> Response[PageReply]:
    return _answer(request, page_of(request).problem(exc))


def _no_page(request: Request_, exc: Exception) -> Response[PageReply]:
    # A path parameter that is no id (its pattern refused it) is no page either.
    status = 405 if isinstance(exc, MethodNotAllowedException) else 404
    return _answer(request, page_of(request).render("not_found.html", status=status))


def _broken(request: Request_, exc: Exception) -> Response[bytes]:
    # Raised again by the endpoint, so the bus reports (and counts) it as the service's error.
    request.scope["state"]["error"] = exc
    return Response(b"", status_code=500)


def _page(request: Request_) -> Page:
    return page_of(request)


async def _decorate(request: Request_) -> None:
    """The town's news and alerts in force: the banner on every page a reader may see."""
    await news.decorate(page_of(request))


def build(pages: Pages) -> Litestar:
    return Litestar(
        route_handlers=pages.routers(),
        dependencies={"page": Provide(_page, sync_to_thread=False)},
        before_request=_decorate,
        exception_handlers={
            ServiceFailure: _failed,
            NotAuthorizedException: _refused, PermissionDeniedException: _refused,
            NotFoundException: _no_page, MethodNotAllowedException: _no_page, ValidationException: _no_page,
            Exception: _broken,
        },
        openapi_config=None,
        logging_config=None,
    )


async def _serve(app: Litestar, method: str, path: str, page: Page) -> bytes:
    state: dict[str, Any] = {"page": page}
    scope: Scope = {  # type: ignore[typeddict-item]
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http",
        "method": method, "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [], "client": None, "server": None, "state": state,
    }
    body = bytearray()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, send)  # type: ignore[arg-type]
    if "error" in state:
        raise state["error"]
    return bytes(body)


def register(app: ServiceApp[Any], pages: Pages, site: Site, bus: BusClient) -> None:
    region = site.region
    places: dict[str, Tenant | Council] = {t.slug: t for t in region.towns}
    places[region.council.slug] = region.council
    web = build(pages)

    @app.endpoint(PAGE, PageRequest)
    async def page(ctx: Context, req: PageRequest) -> bytes:
        tenant = places.get(ctx.tenant)
        if tenant is None:
            raise ServiceFailure(ErrorEnvelope(code=ErrorCode.NOT_FOUND, title="No such town"))
        principal = None if ctx.principal == ANONYMOUS else ctx.principal
        view = Page(req, tenant, principal, bus, site, ctx)
        return await _serve(web, req.method, (COUNCIL if isinstance(tenant, Council) else TOWN) + req.path, view)
