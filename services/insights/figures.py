"""The figures, computed from one town's facts for a window: pure functions, no database.

Suppression: a count from 1 to ``MINIMUM_COUNT - 1`` is withheld (zero is shown: it describes
nobody). A rate is withheld when its numerator or denominator is withheld, since the rate and the
other count would reveal it; a median is withheld when fewer than ``MINIMUM_COUNT`` values make it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from contracts.applications import Channel, Status
from contracts.insights import MINIMUM_COUNT, RegionalMedian, TownFigures
from contracts.notifications import Outcome
from contracts.tenants import Tenant

TOKYO = ZoneInfo("Asia/Tokyo")
#: Fewer towns than this publishing a figure: no regional median (it would be one town's value).
MEDIAN_MIN_TOWNS = 3
MEDIAN_FIELDS = (
    "online_filing_rate", "online_completion_rate", "median_processing_days", "standard_processing_days",
    "overdue", "delivery_rate", "card_verified_share", "paid_online_share",
)


@dataclass(frozen=True, slots=True)
class AppRow:
    channel: str
    submitted_at: datetime
    due_on: date | None
    standard_days: int | None
    finished_at: datetime | None
    finished_status: str | None
    counter_visit: bool
    card_verified: bool | None


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    outcome: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentRow:
    online: bool
    paid_at: datetime


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The window's instants: from 00:00 in Tokyo on ``start`` to 00:00 the day after ``end``."""
    return (
        datetime.combine(start, time(), TOKYO).astimezone(UTC),
        datetime.combine(end + timedelta(days=1), time(), TOKYO).astimezone(UTC),
    )


def tokyo_date(at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(TOKYO).date()


def working_days(start: date, end: date) -> int:
    """Weekdays after ``start`` up to ``end``: how the procedures count their processing days."""
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days += 1
    return days


class _Publisher:
    """Withholds small counts, and whatever would reveal them, noting each by name."""

    def __init__(self) -> None:
        self.suppressed: list[str] = []

    @staticmethod
    def small(n: int) -> bool:
        return 0 < n < MINIMUM_COUNT

    def count(self, name: str, n: int) -> int | None:
        if self.small(n):
            self.suppressed.append(name)
            return None
        return n

    def rate(self, name: str, numerator: int, denominator: int) -> float | None:
        if denominator == 0:
            return None  # nothing to measure: no data, not withheld
        if self.small(numerator) or self.small(denominator):
            self.suppressed.append(name)
            return None
        return round(numerator / denominator, 4)

    def median(self, name: str, values: Sequence[float]) -> float | None:
        if not values:
            return None
        if len(values) < MINIMUM_COUNT:
            self.suppressed.append(name)
            return None
        return round(statistics.median(values), 1)


def town_figures(
    town: Tenant, apps: Iterable[AppRow], deliveries: Iterable[DeliveryRow], today: date,
    payments: Iterable[PaymentRow] = (),
) -> TownFigures:
    """``apps``: filings submitted in the window; ``deliveries``: those finished in it;
    ``payments``: fees paid in it."""
    apps = list(apps)
    deliveries = list(deliveries)
    payments = list(payments)
    online = [a for a in apps if a.channel == Channel.ONLINE]
    finished = [a for a in apps if a.finished_at is not None and a.finished_status != Status.WITHDRAWN]
    completed_online = [a for a in finished if a.channel == Channel.ONLINE and not a.counter_visit]
    days = [float(working_days(tokyo_date(a.submitted_at), tokyo_date(a.finished_at))) for a in finished if a.finished_at]
    standards = [float(a.standard_days) for a in finished if a.standard_days is not None]
    overdue = [a for a in apps if a.due_on is not None and a.finished_status != Status.WITHDRAWN
               and (tokyo_date(a.finished_at) if a.finished_at else today) > a.due_on]
    delivered = [d for d in deliveries if d.outcome == Outcome.DELIVERED]
    assured = [a for a in online if a.card_verified is not None]
    card = [a for a in assured if a.card_verified]
    p = _Publisher()
    return TownFigures(
        town=town.slug, name_ja=town.name_ja, name_en=town.name_en,
        filings=p.count("filings", len(apps)),
        online_filings=p.count("online_filings", len(online)),
        online_filing_rate=p.rate("online_filing_rate", len(online), len(apps)),
        finished=p.count("finished", len(finished)),
        online_completion_rate=p.rate("online_completion_rate", len(completed_online), len(finished)),
        median_processing_days=p.median("median_processing_days", days),
        standard_processing_days=p.median("standard_processing_days", standards),
        overdue=p.count("overdue", len(overdue)),
        deliveries=p.count("deliveries", len(deliveries)),
        delivery_rate=p.rate("delivery_rate", len(delivered), len(deliveries)),
        card_verified_share=p.rate("card_verified_share", len(card), len(assured)),
        fees_paid=p.count("fees_paid", len(payments)),
        paid_online_share=p.rate("paid_online_share", sum(1 for f in payments if f.online), len(payments)),
        suppressed=p.suppressed,
    )


def regional_median(towns: Sequence[TownFigures]) -> RegionalMedian:
    """Each figure's median over the towns that publish it."""
    values: dict[str, float | None] = {}
    counted: dict[str, int] = {}
    for name in MEDIAN_FIELDS:
        published = [float(v) for t in towns if (v := getattr(t, name)) is not None]
        counted[name] = len(published)
        values[name] = round(statistics.median(published), 4) if len(published) >= MEDIAN_MIN_TOWNS else None
    return RegionalMedian(**values, towns=counted)  # type: ignore[arg-type]


def weeks(start: date, end: date) -> list[tuple[date, date, date]]:
    """(Monday of the week, first day, last day) of each week the window touches, cut to it."""
    found = []
    monday = start - timedelta(days=start.weekday())
    while monday <= end:
        found.append((monday, max(monday, start), min(monday + timedelta(days=6), end)))
        monday += timedelta(days=7)
    return found
