"""References people can read over the phone (受付番号): ``KTK-2026-000123-4``.

The town's three letters, the year of filing (in Japan), a number counted per town and year, and
a Damm check digit over year and number (it catches every single wrong digit and every swap of
two neighbours: a caseworker typing what a resident reads out finds the slip at once). The UUID
stays the application's internal id.

Numbers are given by the filer inside the batch transaction that writes the applications (one
counter row per town and year, moved by the batch's size): consecutive, none given twice, and a
batch rolled back gives its numbers back.
"""

from __future__ import annotations

import re
import unicodedata

from stdnum import damm

PATTERN = re.compile(r"^([A-Z]{3})-(\d{4})-(\d{6,})-(\d)$")


def format_reference(prefix: str, year: int, number: int) -> str:
    digits = f"{year:04d}{number:06d}"
    return f"{prefix}-{year:04d}-{number:06d}-{damm.calc_check_digit(digits)}"


def normalise_reference(text: str) -> str:
    """``ｋｔｋ－２０２６－０００１２３－４`` or `` ktk-2026-000123-4 `` as stored."""
    folded = unicodedata.normalize("NFKC", text).upper().replace(" ", "")
    return re.sub(r"[\u2010-\u2015\u2212\u30fc]", "-", folded)


def is_reference(text: str) -> bool:
    """Whether ``text`` is a well-formed reference whose check digit is right."""
    found = PATTERN.fullmatch(normalise_reference(text))
    return found is not None and damm.is_valid(found[2] + found[3] + found[4])
