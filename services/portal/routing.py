"""The portal's pages: Litestar route handlers, collected by the page modules and served in-process.

A page module declares its pages with :meth:`Pages.page`; the handler reads like any Litestar
handler (``async def detail(page: ThisPage, code: Segment) -> PageReply``): Litestar matches the path
and its parameters, answers 404 and 405, and runs the audience's guard. ``dispatch.py`` feeds it
the requests the bus brings. A town's pages and the council's are two routers (``/town``,
``/council``): the same path may be another page at the council's host (``/``: its dashboard).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import Router, route
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import Parameter
from litestar.types import Guard

from services.portal.view import Page

#: The page being answered: every handler's first parameter (the dispatcher makes it).
ThisPage = NamedDependency[Page]
#: A path parameter: one segment of safe characters (anything else is no page: 404).
Segment = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
#: Who may see a page: None for anyone at a town's host; "resident" or "staff" of the town;
#: "council" at the council's host; "any" at either host (display settings, assets).
Audience = Literal["resident", "staff", "council", "any"] | None
TOWN, COUNCIL = "/town", "/council"


def page_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Page:
    """The page being answered, made by the dispatcher before Litestar routes it."""
    return connection.scope["state"]["page"]  # type: ignore[no-any-return]


def _signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> Page:
    page = page_of(connection)
    if not page.signed_in:
        raise NotAuthorizedException()
    return page


def resident(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    if not _signed_in(connection, handler).has_role("resident"):
        raise PermissionDeniedException()


def staff(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    if not _signed_in(connection, handler).is_staff:
        raise PermissionDeniedException()


def council(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    if not _signed_in(connection, handler).has_role("council"):
        raise PermissionDeniedException()


GUARDS: dict[Audience, list[Guard]] = {
    None: [], "any": [], "resident": [resident], "staff": [staff], "council": [council],
}


@dataclass(frozen=True, slots=True)
class _Declared:
    path: str
    methods: tuple[str, ...]
    audience: Audience
    handler: Callable[..., Awaitable[Any]]


class Pages:
    def __init__(self) -> None:
        self._pages: list[_Declared] = []

    def page(
        self, path: str, *, methods: tuple[str, ...] = ("GET",), audience: Audience = None,
    ) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
        def register(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            self._pages.append(_Declared(path, methods, audience, fn))
            return fn

        return register

    def include(self, other: Pages) -> None:
        self._pages.extend(other._pages)

    def routers(self) -> list[Router]:
        """The town's router and the council's; a page for "any" host is in both."""
        def handlers(at_council: bool) -> list[Any]:
            return [
                route(p.path, http_method=list(p.methods), guards=GUARDS[p.audience])(p.handler)
                for p in self._pages if p.audience == "any" or (p.audience == "council") == at_council
            ]

        return [Router(TOWN, route_handlers=handlers(False)), Router(COUNCIL, route_handlers=handlers(True))]
