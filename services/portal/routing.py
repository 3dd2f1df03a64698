"""Which page handler serves a path: patterns like ``/procedures/{code}``, matched in order."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contracts.portal import PageReply
    from services.portal.view import Page

Handler = Callable[["Page"], Awaitable["PageReply"]]

#: What a ``{name}`` in a pattern may match: one path segment of safe characters.
_SEGMENT = r"(?P<{}>[A-Za-z0-9_.:-]{{1,128}})"


@dataclass(frozen=True, slots=True)
class Route:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    handler: Handler
    #: Who may see it: None for anyone at a town's host; "resident" or "staff" of the town;
    #: "council" at the council's host; "any" at either host (display settings, assets).
    audience: str | None

    def serves(self, council: bool) -> bool:
        """Whether the route exists at this kind of host (a town's, or the council's)."""
        return self.audience == "any" or (self.audience == "council") == council


class Routes:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def page(self, path: str, *, methods: tuple[str, ...] = ("GET",), audience: str | None = None) -> Callable[[Handler], Handler]:
        regex = "".join(
            _SEGMENT.format(part[1:-1]) if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{\w+\})", path)
        )
        pattern = re.compile(f"^{regex}/?$" if path != "/" else "^/$")

        def register(fn: Handler) -> Handler:
            self._routes.append(Route(pattern, frozenset(methods), fn, audience))
            return fn

        return register

    def include(self, other: Routes) -> None:
        self._routes.extend(other._routes)

    def match(self, method: str, path: str, council: bool = False) -> tuple[Route, dict[str, str]] | None:
        """The route and its path parameters; a known path with the wrong method gives the route
        with ``{"__method__": ...}`` so the caller can answer 405."""
        wrong_method: tuple[Route, dict[str, str]] | None = None
        for route in self._routes:
            if not route.serves(council):
                continue
            found = route.pattern.match(path)
            if found is None:
                continue
            if method in route.methods:
                return route, found.groupdict()
            wrong_method = wrong_method or (route, {"__method__": method})
        return wrong_method
