"""The shared figures: the council's dashboard of all towns side by side (at the council's host),
and a tenant admin's view of their town against the regional median (in the staff console).

The insights service computes and renders (SVG charts with their data tables); it also decides
who may see what. Nothing here is personal data, and counts under 5 arrive already withheld.
"""

from __future__ import annotations

from datetime import date

import msgspec

from contracts import insights as ins
from contracts.errors import ErrorCode, ErrorEnvelope, FieldError, ServiceFailure
from contracts.portal import PageReply
from contracts.subjects import INSIGHTS
from services.portal.routing import Pages, ThisPage
from services.portal.view import Page, field_errors

pages = Pages()

COLUMNS = (
    ("filings", "col_filings", "count"),
    ("online_filing_rate", "col_online_rate", "rate"),
    ("online_completion_rate", "col_completion", "rate"),
    ("median_processing_days", "col_days", "days"),
    ("standard_processing_days", "col_standard", "days"),
    ("overdue", "col_overdue", "count"),
    ("delivery_rate", "col_delivery", "rate"),
    ("card_verified_share", "col_card", "rate"),
    ("paid_online_share", "col_paid_online", "rate"),
)


def _window(page: Page) -> tuple[ins.MetricsQuery, dict[str, str]]:
    """The window from the form; a date that does not parse is named on its field."""
    errors: dict[str, str] = {}
    values: dict[str, date | None] = {}
    for name in ("from", "to"):
        raw = page.query(name)
        try:
            values[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[name] = page.t("metrics_date_format")
            values[name] = None
    return msgspec.convert({"from": values["from"], "to": values["to"]}, ins.MetricsQuery), errors


def shown(value: float | int | None, kind: str, suppressed: bool, page: Page) -> str:
    if value is None:
        return page.t("withheld") if suppressed else "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "days":
        return f"{value:.1f}"
    return f"{value:,}"


async def _figures(page: Page) -> PageReply:
    query, errors = _window(page)
    if errors:
        metrics, charts = None, None
    else:
        try:
            metrics = await page.fetch(INSIGHTS, ins.TOWNS, query, ins.TownsMetrics)
            charts = await page.fetch(INSIGHTS, ins.CHARTS, ins.GetCharts(from_=query.from_, to=query.to, lang=page.lang), ins.Charts)
        except ServiceFailure as exc:
            if not exc.envelope.fields:
                raise
            errors, metrics, charts = field_errors(exc, page.lang), None, None
    return page.render(
        "metrics.html", status=400 if errors else 200, metrics=metrics, charts=charts, errors=errors,
        columns=COLUMNS, shown=shown, query=query,
        csv=f"/metrics.csv?from={page.query('from')}&to={page.query('to')}",
    )


@pages.page("/", audience="council")
async def dashboard(page: ThisPage) -> PageReply:
    return await _figures(page)


@pages.page("/staff/metrics", audience="staff")
async def town_against_median(page: ThisPage) -> PageReply:
    return await _figures(page)


@pages.page("/metrics.csv", audience="council")
async def open_data(page: ThisPage) -> PageReply:
    query, errors = _window(page)
    if errors:
        raise ServiceFailure(ErrorEnvelope(
            code=ErrorCode.BAD_REQUEST, title="Bad window",
            fields=[FieldError(field=f"$.{k}", message_ja=v, message_en=v) for k, v in errors.items()],
        ))
    data = await page.bus.request(page.tenant.slug, INSIGHTS, ins.TOWNS_CSV, msgspec.json.encode(query), page.principal)
    return PageReply(html=data.decode("utf-8"), media_type="text/csv", download="aizu-towns-metrics.csv")

