"""A town's catalog: the regional standard definitions with the town's overrides applied."""

from __future__ import annotations

from collections.abc import Iterator

from contracts.catalog import StandardProcedure
from contracts.procedures import ProcedureDetail, ProcedureSummary
from contracts.tenants import ProcedureOffer, Region, Tenant


def detail(town: Tenant, standard: StandardProcedure, offer: ProcedureOffer) -> ProcedureDetail:
    return ProcedureDetail(
        tenant=town.slug,
        code=standard.code,
        name_ja=standard.name_ja,
        name_en=standard.name_en,
        category=standard.category,
        summary_ja=standard.summary_ja,
        summary_en=standard.summary_en,
        assurance=standard.assurance,
        fee_yen=standard.fee_yen if offer.fee_yen is None else offer.fee_yen,
        processing_days=standard.processing_days if offer.processing_days is None else offer.processing_days,
        located=standard.located,
        workflow=standard.workflow,
        department_ja=offer.department_ja or standard.department_ja,
        department_en=offer.department_en or standard.department_en,
        contact_phone=offer.contact_phone or town.contact.phone,
        keywords_ja=standard.keywords_ja,
        fields=[*standard.fields, *offer.extra_fields],
    )


def summary(d: ProcedureDetail) -> ProcedureSummary:
    return ProcedureSummary(**{name: getattr(d, name) for name in ProcedureSummary.__struct_fields__})


def town_catalog(region: Region, town: Tenant) -> Iterator[ProcedureDetail]:
    """The town's offers in catalog order (the regional order keeps towns comparable)."""
    offers = {o.code: o for o in town.procedures}
    for standard in region.catalog.procedures:
        offer = offers.get(standard.code)
        if offer is not None:
            yield detail(town, standard, offer)
