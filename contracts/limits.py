"""How deeply a JSON body may nest, checked before it is decoded.

A decoder recurses once per level: a 2 KB body of a thousand nested arrays exhausts the
interpreter's stack (a ``RecursionError``, a server error) before any type is checked. No request
of ours nests more than a few levels, so anything deeper than :data:`MAX_DEPTH` is refused as a
malformed body, by the gateway, where callers' bodies come in (``gateway/bodies.py``).
"""

from __future__ import annotations

import re

from contracts.errors import ErrorCode, FieldError, ServiceFailure, failure

MAX_DEPTH = 32

#: Possessive, and an unterminated string runs to the end: no backtracking on any input (a body
#: of escaped quotes made the plain pattern take time with the square of its size).
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")  # every byte but the brackets, for deletion
_EMPTY_PAIR = re.compile(rb"\[\]|\{\}")


def depth_exceeds(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether ``data`` nests arrays or objects more than ``limit`` deep.

    Brackets inside strings do not count; what is left is removed innermost pair by pair, one
    level per pass (C-speed passes, at most ``limit`` of them). Unbalanced input is left to the
    decoder to call malformed.
    """
    shape = _STRINGS.sub(b"", data).translate(None, _BRACKETS)
    for _ in range(limit):
        shape, removed = _EMPTY_PAIR.subn(b"", shape)
        if not shape or not removed:
            return False
    return bool(_EMPTY_PAIR.search(shape))


def too_deep() -> ServiceFailure:
    return failure(
        ErrorCode.BAD_REQUEST,
        "Malformed request body",
        f"the body nests more than {MAX_DEPTH} levels deep",
        [FieldError(field="$", message_ja=f"入力内容の入れ子が深すぎます（{MAX_DEPTH}段まで）。",
                    message_en=f"The body nests more than {MAX_DEPTH} levels deep.")],
    )


def check_depth(data: bytes) -> None:
    """Raise the malformed-body failure when ``data`` nests too deeply."""
    if depth_exceeds(data):
        raise too_deep()

