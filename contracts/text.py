"""The input policy for text: what a person may type into any field, in one place.

* :func:`line`: one line (a name, a title, a question) — no control characters at all.
* :func:`paragraph`: text that may run over lines (a comment, a body) — newlines and tabs, no
  other control characters.
* :func:`name`: a person's or a file's name — a line without the invisible characters that turn
  text around (bidi controls: ``report\u202egpj.exe`` shows as ``reportexe.jpg``).

NUL and the other C0/C1 controls never have a place in what residents and staff write: they break
mail headers, CSV exports and terminals. The patterns are checked by msgspec at every boundary
(gateway, bus, portal), and :func:`explain` gives a person's words for a failed one in Japanese
and English, so every channel says the same thing.

Names are compared and stored in Unicode NFC (:func:`nfc`), so ``が`` typed as one code point or
as か + ゙ is one name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

import msgspec

_C0_C1 = "\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029"
_C0_C1_BUT_LINES = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u2028\\u2029"
_BIDI = "\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"

# ``$(?!\n)``: in Python a plain ``$`` also matches just before a final newline.
LINE = f"^[^{_C0_C1}]*$(?!\\n)"
PARAGRAPH = f"^[^{_C0_C1_BUT_LINES}]*$"
NAME = f"^[^{_C0_C1}{_BIDI}]*$(?!\\n)"

#: A failed pattern, as a person reads it: (Japanese, English).
_EXPLAINED: dict[str, tuple[str, str]] = {
    LINE: ("改行や制御文字は使えません。", "Line breaks and control characters are not allowed."),
    PARAGRAPH: ("制御文字は使えません。", "Control characters are not allowed."),
    NAME: ("改行、制御文字、文字の向きを変える記号は使えません。",
           "Line breaks, control characters and direction-changing marks are not allowed."),
}


def line(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length, pattern=LINE)]


def paragraph(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length, pattern=PARAGRAPH)]


def name(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length, pattern=NAME)]


def explain(message: str) -> tuple[str, str] | None:
    """A person's words for msgspec's message about one of these patterns, else None."""
    for pattern, words in _EXPLAINED.items():
        if f"matching regex {pattern!r}" in message:
            return words
    return None


def is_name(text: str) -> bool:
    """Whether ``text`` passes :data:`NAME` (for names checked outside a Struct: file names)."""
    return re.fullmatch(NAME, text) is not None


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
