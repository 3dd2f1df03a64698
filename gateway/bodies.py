"""Request bodies are checked against the input policy before anything decodes them."""

from __future__ import annotations

from typing import Any

from litestar import Request

from contracts.limits import check_depth, too_deep


class CheckedRequest(Request[Any, Any, Any]):
    """A request whose JSON body is refused, as a malformed-body problem, when it nests deeper
    than the contracts allow: before decoding, so no body can exhaust the decoder's stack."""

    async def json(self) -> Any:
        check_depth(await self.body())
        try:
            return await super().json()
        except RecursionError:  # deep and unbalanced: the shape check leaves it to the decoder
            raise too_deep() from None
