"""A town's catalog: the regional standard definitions with the town's overrides applied."""

from __future__ import annotations

from collections.abc import Iterator

from contracts.catalog import DELIVERY, Choice, FieldDef, StandardProcedure
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
        fields=[*standard.fields, *offer.extra_fields, *([delivery(town)] if standard.delivery else [])],
        fee_per=standard.fee_per,
    )


def delivery(town: Tenant) -> FieldDef:
    """How the resident receives the document: by post to their registered address, or at one of
    the town's counters, named with its address and hours so they know where and when to go."""
    counters = [
        Choice(value=f"counter-{n}", label_ja=f"窓口で受け取る：{o.name_ja}（{o.address_ja}、{o.hours_ja}）" if o.hours_ja
               else f"窓口で受け取る：{o.name_ja}（{o.address_ja}）",
               label_en=f"Collect at the counter: {o.name_en} ({o.address_ja})")
        for n, o in enumerate(town.pickup_offices(), start=1)
    ]
    return FieldDef(
        name=DELIVERY, kind="choice", label_ja="受け取り方法", label_en="How to receive it", required=False,
        choices=[Choice(value="post", label_ja="郵送（住民登録地あて）", label_en="By post (to your registered address)"), *counters],
        help_ja="選択しない場合は郵送です。窓口で受け取るときは、本人確認書類をお持ちください。",
        help_en="If left empty, it is posted. To collect it at a counter, bring proof of identity.",
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
