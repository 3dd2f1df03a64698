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
#: The question a procedure with ``delivery`` gains; its answer is ``post`` or ``counter-<n>``.
DELIVERY = "delivery"
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
    #: The answer that multiplies the fee (通数, 点数): a number or a choice of whole numbers;
    #: left blank, it counts as one. None: the fee is per application.
    fee_per: FieldName | None = None
    #: The document can be posted or collected at a counter: the town's form gains a
    #: ``delivery`` question (郵送, or 窓口で受け取る at one of the town's offices).
    delivery: bool = False

    def __post_init__(self) -> None:
        if self.delivery and any(f.name == DELIVERY for f in self.fields):
            raise ValueError(f"{self.code} asks {DELIVERY!r} itself and also has delivery = true")
        if self.fee_per is None:
            return
        counted = next((f for f in self.fields if f.name == self.fee_per), None)
        if counted is None or counted.kind not in ("number", "choice"):
            raise ValueError(f"fee_per names no number or choice field of {self.code}: {self.fee_per!r}")
        if counted.kind == "choice" and not all(c.value.isdigit() and int(c.value) >= 1 for c in counted.choices):
            raise ValueError(f"the choices of {self.code}.{self.fee_per} (fee_per) must be whole numbers from 1")
        if counted.kind == "number" and (counted.minimum is None or counted.minimum < 1 or counted.maximum is None):
            raise ValueError(f"{self.code}.{self.fee_per} (fee_per) needs a minimum of at least 1 and a maximum")


class Catalog(msgspec.Struct, frozen=True, kw_only=True):
    procedures: list[StandardProcedure]
