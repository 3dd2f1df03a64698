"""The endpoints: the towns' figures, their weekly trends, the open-data CSV and the charts.

parse → authorise → read each town's facts (town by town: row-level security) → figures → reply.
The regional median needs every town's figures, whoever asks; only the median leaves.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import insights as msg
from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure
from contracts.tenants import Region, Tenant
from services.insights import charts, opendata
from services.insights.access import towns_in_view
from services.insights.figures import (
    TOKYO,
    AppRow,
    DeliveryRow,
    PaymentRow,
    bounds,
    regional_median,
    town_figures,
    weeks,
)
from services.insights.models import ApplicationFact, DeliveryFact, PaymentFact
from services.runtime import rls
from services.runtime.database import utc
from services.runtime.service import Context, ServiceApp


def window(start: date | None, end: date | None) -> msg.Window:
    found, errors = msg.window_errors(start, end, datetime.now(TOKYO).date())
    if errors:
        raise ServiceFailure(ErrorEnvelope(
            code=ErrorCode.BAD_REQUEST, title="Bad window", detail=errors[0].message_en, fields=errors))
    return found


class Facts:
    """One town's facts for a window."""

    def __init__(self, apps: list[AppRow], deliveries: list[DeliveryRow], payments: list[PaymentRow]) -> None:
        self.apps = apps
        self.deliveries = deliveries
        self.payments = payments

    def between(self, start: date, end: date) -> Facts:
        lo, hi = bounds(start, end)
        return Facts([a for a in self.apps if lo <= a.submitted_at < hi],
                     [d for d in self.deliveries if lo <= d.occurred_at < hi],
                     [f for f in self.payments if lo <= f.paid_at < hi])

    def figures(self, town: Tenant, today: date) -> msg.TownFigures:
        return town_figures(town, self.apps, self.deliveries, today, self.payments)


#: Columns, not mapped objects: a council request reads every town's window of facts.
_APP_COLUMNS = (
    ApplicationFact.channel, ApplicationFact.submitted_at, ApplicationFact.due_on, ApplicationFact.standard_days,
    ApplicationFact.finished_at, ApplicationFact.finished_status, ApplicationFact.counter_visit,
    ApplicationFact.card_verified,
)


async def load(session: AsyncSession, towns: list[Tenant], span: msg.Window) -> dict[str, Facts]:
    """Each town's facts, read as that town; the session is back on its own tenant afterwards."""
    lo, hi = bounds(*span)
    found: dict[str, Facts] = {}
    own = session.info.get(rls.TENANT)
    try:
        return await _load_towns(session, towns, lo, hi, found)
    finally:
        if own is not None:
            await rls.use_tenant(session, own)


async def _load_towns(session: AsyncSession, towns: list[Tenant], lo: datetime, hi: datetime, found: dict[str, Facts]) -> dict[str, Facts]:
    for town in towns:
        await rls.use_tenant(session, town.slug)
        apps = (await session.execute(select(*_APP_COLUMNS).where(
            ApplicationFact.tenant == town.slug, ApplicationFact.submitted_at >= lo, ApplicationFact.submitted_at < hi,
        ))).all()
        deliveries = (await session.execute(select(DeliveryFact.outcome, DeliveryFact.occurred_at).where(
            DeliveryFact.tenant == town.slug, DeliveryFact.occurred_at >= lo, DeliveryFact.occurred_at < hi,
        ))).all()
        payments = (await session.execute(select(PaymentFact.online, PaymentFact.paid_at).where(
            PaymentFact.tenant == town.slug, PaymentFact.paid_at >= lo, PaymentFact.paid_at < hi,
        ))).all()
        found[town.slug] = Facts(
            [AppRow(channel=channel, submitted_at=utc(submitted), due_on=due, standard_days=standard,
                    finished_at=utc(finished) if finished else None, finished_status=status,
                    counter_visit=counter, card_verified=card)
             for channel, submitted, due, standard, finished, status, counter, card in apps],
            [DeliveryRow(outcome=o, occurred_at=utc(at)) for o, at in deliveries],
            [PaymentRow(online=online, paid_at=utc(at)) for online, at in payments],
        )
    return found


class Metrics:
    def __init__(self, region: Region) -> None:
        self.region = region

    async def _facts(self, ctx: Context, span: msg.Window) -> dict[str, Facts]:
        async with ctx.session.begin():
            return await load(ctx.session, list(self.region.towns), span)

    def _figures(self, shown: set[str], facts: dict[str, Facts], span: msg.Window) -> msg.TownsMetrics:
        today = datetime.now(TOKYO).date()
        every = [facts[t.slug].figures(t, today) for t in self.region.towns]
        return msg.TownsMetrics(
            from_=span[0], to=span[1], generated_at=datetime.now(UTC),
            towns=[f for f in every if f.town in shown], regional_median=regional_median(every),
        )

    def _trends(self, shown: set[str], facts: dict[str, Facts], span: msg.Window) -> msg.Trends:
        today = datetime.now(TOKYO).date()
        series: dict[str, list[msg.WeekFigures]] = {t.slug: [] for t in self.region.towns}
        medians: list[msg.WeekMedian] = []
        for monday, first, last in weeks(*span):
            week = []
            for town in self.region.towns:
                figures = facts[town.slug].between(first, last).figures(town, today)
                week.append(figures)
                series[town.slug].append(msg.WeekFigures(week_start=monday, figures=figures))
            medians.append(msg.WeekMedian(week_start=monday, median=regional_median(week)))
        return msg.Trends(
            from_=span[0], to=span[1], regional_median=medians,
            towns=[msg.TownTrend(town=t.slug, name_ja=t.name_ja, name_en=t.name_en, weeks=series[t.slug])
                   for t in self.region.towns if t.slug in shown],
        )

    def _shown(self, ctx: Context) -> set[str]:
        return {t.slug for t in towns_in_view(ctx, self.region)}

    async def towns(self, ctx: Context, req: msg.MetricsQuery) -> msg.TownsMetrics:
        shown, span = self._shown(ctx), window(req.from_, req.to)
        return self._figures(shown, await self._facts(ctx, span), span)

    async def towns_csv(self, ctx: Context, req: msg.MetricsQuery) -> bytes:
        """The same figures as open data: CSV, UTF-8 with a BOM (Excel), Japanese and English headers."""
        return opendata.csv_bytes(await self.towns(ctx, req))

    async def trends(self, ctx: Context, req: msg.MetricsQuery) -> msg.Trends:
        shown, span = self._shown(ctx), window(req.from_, req.to)
        return self._trends(shown, await self._facts(ctx, span), span)

    async def charts(self, ctx: Context, req: msg.GetCharts) -> msg.Charts:
        shown, span = self._shown(ctx), window(req.from_, req.to)
        facts = await self._facts(ctx, span)
        figures, trends = self._figures(shown, facts, span), self._trends(shown, facts, span)
        return msg.Charts(from_=span[0], to=span[1], lang=req.lang, charts=charts.all_charts(figures, trends, req.lang))


def register(app: ServiceApp, region: Region) -> Metrics:
    metrics = Metrics(region)
    # Read-only: on SQLite they read beside the consumers' writer; on PostgreSQL without a transaction.
    app.endpoint(msg.TOWNS, msg.MetricsQuery, read_only=True)(metrics.towns)
    app.endpoint(msg.TOWNS_CSV, msg.MetricsQuery, read_only=True)(metrics.towns_csv)
    app.endpoint(msg.TRENDS, msg.MetricsQuery, read_only=True)(metrics.trends)
    app.endpoint(msg.CHARTS, msg.GetCharts, read_only=True)(metrics.charts)
    return metrics
