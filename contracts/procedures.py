"""Messages of the procedures service."""

from __future__ import annotations

import msgspec

from contracts.catalog import Assurance, Category, FieldDef

LIST = "list"
GET = "get"


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


class ProcedureDetail(msgspec.Struct, frozen=True, kw_only=True):
    tenant: str
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
    workflow: str
    department_ja: str
    department_en: str
    contact_phone: str
    keywords_ja: list[str]
    fields: list[FieldDef]
