"""``OPTIONS`` that lists every method of a path.

Litestar 2 answers ``OPTIONS`` on a path served by several handlers with the methods of the first
one registered only (litestar-org/litestar#4169, fixed in 3.0), so ``Allow`` left out GET or POST.
A path with more than one handler gets an ``OPTIONS`` handler of its own, registered first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from litestar import Response
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler


def _answer(allow: str) -> Callable[[], Response[None]]:
    def options() -> Response[None]:
        return Response(None, status_code=204, headers={"Allow": allow})

    return options


def with_options(handlers: list[Any]) -> list[Any]:
    methods: dict[str, set[str]] = defaultdict(set)
    count: dict[str, int] = defaultdict(int)
    for handler in handlers:
        if isinstance(handler, HTTPRouteHandler):
            for path in handler.paths:
                methods[path] |= set(handler.http_methods)
                count[path] += 1
    own = [
        HTTPRouteHandler(path=path, http_method=[HttpMethod.OPTIONS], include_in_schema=False, sync_to_thread=False)(
            _answer(", ".join(sorted(methods[path] | {"OPTIONS"})))
        )
        for path in methods
        if count[path] > 1 and "OPTIONS" not in methods[path]
    ]
    return [*own, *handlers]
