"""Messages of the insights service: the towns' shared figures (KPIs), their trends and charts.

Every figure is an aggregate over a window of dates (Asia/Tokyo, both ends included). No
message here carries personal data. A count from 1 to ``MINIMUM_COUNT - 1`` is never published:
the figure is null and its name is listed in ``suppressed`` (a rate is withheld when its
numerator or its denominator is such a count, since the rate and the other would reveal it).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

import msgspec

from contracts.errors import FieldError

# Verbs of the insights service (aizu.<tenant>.insights.<verb>; the council asks as tenant "council").
TOWNS = "towns"
TOWNS_CSV = "towns_csv"
TRENDS = "trends"
CHARTS = "charts"

#: Counts below this are suppressed in every output.
MINIMUM_COUNT = 5
#: The longest window one request may ask for (days).
MAX_WINDOW_DAYS = 731
#: The earliest date a window may name (before any online filing in Japan).
EARLIEST = date(2000, 1, 1)
#: Without ``from``: this many days up to ``to`` (13 weeks).
DEFAULT_WINDOW_DAYS = 91

Lang = Literal["ja", "en"]


class MetricsQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A window of dates; both ends included. Left out: the 13 weeks up to today."""

    from_: date | None = msgspec.field(default=None, name="from")
    to: date | None = None


class GetCharts(msgspec.Struct, frozen=True, kw_only=True):
    from_: date | None = msgspec.field(default=None, name="from")
    to: date | None = None
    #: The language of the charts' titles, labels and tables.
    lang: Lang = "ja"


class TownFigures(msgspec.Struct, frozen=True, kw_only=True):
    """One town's figures for the window. Null with the name in ``suppressed``: fewer than 5."""

    town: str
    name_ja: str
    name_en: str
    #: Filings submitted in the window, online and at the counter.
    filings: int | None
    online_filings: int | None
    #: online filings / all filings.
    online_filing_rate: float | None
    #: Filings of the window that are finished (withdrawn ones left out).
    finished: int | None
    #: Finished online without a visit to the counter / all finished filings.
    online_completion_rate: float | None
    #: Days from submission to the first finished status (median), and the standard days of the
    #: same procedures (median), so the two compare like with like.
    median_processing_days: float | None
    standard_processing_days: float | None
    #: Filings past their due date: still open after it, or finished after it.
    overdue: int | None
    #: Deliveries (email, …) that finished in the window, and the share delivered.
    deliveries: int | None
    delivery_rate: float | None
    #: Online filings by residents verified with a My Number Card / online filings whose
    #: assurance is known: the card-verified share of residents using the portal.
    card_verified_share: float | None
    #: Fees paid in the window (online or at the counter), and the share paid online.
    fees_paid: int | None = None
    paid_online_share: float | None = None
    #: Names of the figures withheld because a count was under ``MINIMUM_COUNT``.
    suppressed: list[str] = []


class RegionalMedian(msgspec.Struct, frozen=True, kw_only=True):
    """The median over the towns of each figure they publish (withheld ones left out)."""

    online_filing_rate: float | None
    online_completion_rate: float | None
    median_processing_days: float | None
    standard_processing_days: float | None
    overdue: float | None
    delivery_rate: float | None
    card_verified_share: float | None
    paid_online_share: float | None = None
    #: How many towns published each figure (name → towns); fewer than 3 makes the median null.
    towns: dict[str, int] = {}


class TownsMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """The council sees every town; a tenant admin sees their own town. Both see the median."""

    from_: date = msgspec.field(name="from")
    to: date
    generated_at: datetime
    minimum_count: int = MINIMUM_COUNT
    towns: list[TownFigures]
    regional_median: RegionalMedian


class WeekFigures(msgspec.Struct, frozen=True, kw_only=True):
    #: Monday of the week (Asia/Tokyo); the first and last weeks are cut to the window.
    week_start: date
    figures: TownFigures


class TownTrend(msgspec.Struct, frozen=True, kw_only=True):
    town: str
    name_ja: str
    name_en: str
    weeks: list[WeekFigures]


class WeekMedian(msgspec.Struct, frozen=True, kw_only=True):
    week_start: date
    median: RegionalMedian


class Trends(msgspec.Struct, frozen=True, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date
    minimum_count: int = MINIMUM_COUNT
    towns: list[TownTrend]
    regional_median: list[WeekMedian]


class ChartTable(msgspec.Struct, frozen=True, kw_only=True):
    """The chart's data as a table: the text alternative to show beside (or instead of) it."""

    caption: str
    columns: list[str]
    rows: list[list[str]]


class Chart(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    #: An inline ``<svg role="img">`` with ``<title>`` and ``<desc>``; no script, no external refs.
    svg: str
    table: ChartTable


class Charts(msgspec.Struct, frozen=True, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date
    lang: Lang
    charts: list[Chart]


Window = tuple[date, date]


def window_errors(
    start: date | None, end: date | None, today: date, prefix: str = "$."
) -> tuple[Window, list[FieldError]]:
    """The window a query asks for, and what is wrong with it (each fault names its field:
    ``$.from`` in a bus message, ``from`` as a query parameter with ``prefix=""``)."""
    errors: list[FieldError] = []
    for name, value in (("from", start), ("to", end)):
        if value is not None and not (EARLIEST <= value <= today + timedelta(days=366)):
            errors.append(FieldError(field=f"{prefix}{name}", message_ja=f"日付は{EARLIEST.isoformat()}から1年先までにしてください。",
                                     message_en=f"{name} must be between {EARLIEST.isoformat()} and a year from today"))
    if errors:
        return (today, today), errors
    end = end or today
    start = start or end - timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    if start > end:
        errors.append(FieldError(field=f"{prefix}from", message_ja="開始日が終了日より後になっています。",
                                 message_en="from is after to"))
    elif (end - start).days + 1 > MAX_WINDOW_DAYS:
        errors.append(FieldError(field=f"{prefix}from", message_ja=f"期間は{MAX_WINDOW_DAYS}日以内にしてください。",
                                 message_en=f"the window may span at most {MAX_WINDOW_DAYS} days"))
    return (start, end), errors

