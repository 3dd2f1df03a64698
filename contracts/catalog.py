"""The regional standard catalog: procedure definitions shared by all towns.

Towns do not write their own definitions; they enable standard ones and override a few
settings (fee, department, contact, extra fields) in ``tenants/<slug>.toml``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9-]{1,47}$")]
FieldName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
FieldKind = Literal["text", "number", "date", "choice", "address", "postal_code", "phone", "attachment"]
#: Where a field's value can come from without the resident typing it (once only).
PrefillSource = Literal["name", "address", "birthdate", "gender", "history"]
Assurance = Literal["aal1", "jpki"]
Category = Literal["certificates", "moving", "family", "childcare", "environment", "facilities", "roads", "pets", "tax"]


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    value: str
    label_ja: str
    label_en: str


class FieldDef(msgspec.Struct, frozen=True, kw_only=True):
    name: FieldName
    kind: FieldKind
    label_ja: str
    label_en: str
    required: bool = True
    prefill: PrefillSource | None = None
    choices: list[Choice] = []
    max_length: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    minimum: float | None = None
    maximum: float | None = None
    #: For attachments: the largest accepted file and its media types.
    max_bytes: Annotated[int, msgspec.Meta(ge=1, le=20_000_000)] | None = None
    media_types: list[str] = []
    help_ja: str = ""
    help_en: str = ""
    #: For dates: the legal window, in days from the day of filing (in Japan). A birthdate is
    #: ``to_days = 0`` (not in the future); 転出予定日, notified from 14 days before, is
    #: ``from_days = -14, to_days = 14``. None: only the calendar's bounds.
    from_days: Annotated[int, msgspec.Meta(ge=-60_000, le=3_650)] | None = None
    to_days: Annotated[int, msgspec.Meta(ge=-60_000, le=3_650)] | None = None

    def __post_init__(self) -> None:
        if self.from_days is not None and self.to_days is not None and self.from_days > self.to_days:
            raise ValueError("from_days must not be after to_days")


class StandardProcedure(msgspec.Struct, frozen=True, kw_only=True):
    code: Code
    name_ja: str
    name_en: str
    category: Category
    summary_ja: str
    summary_en: str
    assurance: Assurance = "aal1"
    fee_yen: Annotated[int, msgspec.Meta(ge=0)] = 0
    processing_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 0
    workflow: Literal["standard", "report"] = "standard"
    #: A report carries a location (Open311).
    located: bool = False
    department_ja: str = ""
    department_en: str = ""
    keywords_ja: list[str] = []
    fields: list[FieldDef] = []


class Catalog(msgspec.Struct, frozen=True, kw_only=True):
    procedures: list[StandardProcedure]
