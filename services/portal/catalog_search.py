"""Searching a town's procedures by the words residents type."""

from __future__ import annotations

from contracts.procedures import ProcedureSummary


def search(town: str, items: list[ProcedureSummary], query: str) -> list[ProcedureSummary]:
    q = query.strip().lower()
    return [p for p in items if q in p.name_ja or q in p.name_en.lower() or q in p.summary_ja]
