"""Messages of the procedures service."""

from __future__ import annotations

import msgspec

from contracts.catalog import Assurance, Category, FieldDef

LIST = "list"
GET = "get"
PREFILL = "prefill"


class ListProcedures(msgspec.Struct, frozen=True, kw_only=True):
    category: Category | None = None


class GetProcedure(msgspec.Struct, frozen=True, kw_only=True):
    code: str


class ProcedureSummary(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name_ja: str
    name_en: str
    category: Category
    summary_ja: str
    summary_en: str
    assurance: Assurance
    fee_yen: int
    processing_days: int
    located: bool


class ProcedureList(msgspec.Struct, frozen=True, kw_only=True):
    tenant: str
    items: list[ProcedureSummary]


class ProcedureDetail(ProcedureSummary, frozen=True, kw_only=True):
    """A procedure as one town offers it: the summary, the town's settings and the form."""

    tenant: str
    workflow: str
    department_ja: str
    department_en: str
    contact_phone: str
    keywords_ja: list[str]
    fields: list[FieldDef]
    #: The answer that multiplies ``fee_yen`` (通数, 点数); None: the fee is per application.
    fee_per: str | None = None


class Prefill(msgspec.Struct, frozen=True, kw_only=True):
    code: str


class PrefilledForm(msgspec.Struct, frozen=True, kw_only=True):
    """A form's fields filled from what the town already knows (once only)."""

    code: str
    #: field name → value, for every field the resident need not type.
    values: dict[str, str | int | float]
    #: field name → where its value came from (``name``, ``address``, …, ``history``).
    sources: dict[str, str]
    #: required fields still to be answered; empty means the resident can submit as is.
    remaining_required: list[str]
