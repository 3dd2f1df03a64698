"""Server-rendered SVG charts of the figures: no script, nothing fetched, readable without colour.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and described by its ``<desc>``,
with every value written as text beside its bar or point, and comes with its data as a table
(the alternative a screen reader or a printout uses). Colours: dark blue bars (#1f4e79, 8.9:1 on
white) and near-black text (#1a1a1a), above the 3:1 and 4.5:1 that WCAG 2.2 AA asks of graphics
and text; the regional median is a dashed line, told apart by its pattern and its label too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from contracts.insights import Chart, ChartTable, Lang, TownFigures, TownsMetrics, Trends
from services.runtime.catalogue import Catalogue

BAR = "#1f4e79"
TEXT = "#1a1a1a"
MEDIAN = "#8a3b00"
GRID = "#767676"
LABEL_W, BAR_W, VALUE_W, ROW_H, TOP, BOTTOM = 130, 330, 210, 26, 44, 30
WIDTH = LABEL_W + BAR_W + VALUE_W

WORDS = Catalogue(Path(__file__).parent / "locale")


def _w(key: str, lang: Lang) -> str:
    return WORDS.text(key, lang)


def _name(f: TownFigures, lang: Lang) -> str:
    return f.name_ja if lang == "ja" else f.name_en


def _pct(v: float) -> str:
    return f"{v * 100:.1f}%"


def _shown(f: TownFigures, field: str, fmt: Callable[[float], str], lang: Lang) -> str:
    value = getattr(f, field)
    if value is not None:
        return fmt(value)
    return _w("suppressed", lang) if field in f.suppressed else _w("nodata", lang)


def _svg(chart_id: str, title: str, desc: str, height: int, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" style="max-width:{WIDTH}px" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="sans-serif" font-size="13">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>'
        f'<text x="8" y="22" font-size="15" font-weight="bold" fill="{TEXT}">{escape(title)}</text>'
        + "".join(body) + "</svg>"
    )


def bar_chart(
    chart_id: str, field: str, metrics: TownsMetrics, lang: Lang, *, scale: float = 1.0,
    fmt: Callable[[float], str] = _pct, marker: str | None = None,
) -> Chart:
    """One bar a town; ``marker``: a second figure drawn as a tick on each bar (e.g. the standard)."""
    title = _w(field, lang)
    towns = metrics.towns
    median = getattr(metrics.regional_median, field)
    top = max([scale, *(v for t in towns for v in (getattr(t, field), getattr(t, marker) if marker else None) if v)])
    height = TOP + ROW_H * len(towns) + BOTTOM
    body: list[str] = []
    # Values in their own column right of the bars: no bar, tick or median line crosses them.
    values_x = LABEL_W + BAR_W + 8
    for i, town in enumerate(towns):
        y = TOP + i * ROW_H
        value = getattr(town, field)
        if i % 2 == 0:
            body.append(f'<rect x="0" y="{y}" width="{WIDTH}" height="{ROW_H}" fill="#f2f2f2"/>')
        body.append(f'<text x="{LABEL_W - 8}" y="{y + 17}" text-anchor="end" fill="{TEXT}">{escape(_name(town, lang))}</text>')
        if value is not None:
            body.append(f'<rect x="{LABEL_W}" y="{y + 5}" width="{BAR_W * value / top:.1f}" height="{ROW_H - 10}" fill="{BAR}"/>')
        label = _shown(town, field, fmt, lang)
        if marker and getattr(town, marker) is not None:
            x = LABEL_W + BAR_W * getattr(town, marker) / top
            body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y + 1}" y2="{y + ROW_H - 1}" stroke="{TEXT}" stroke-width="3"/>')
            label += f" ({_w('standard', lang)} {fmt(getattr(town, marker))})"
        body.append(f'<text x="{values_x}" y="{y + 17}" fill="{TEXT}">{escape(label)}</text>')
    if median is not None:
        x = LABEL_W + BAR_W * median / top
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 4}" y2="{height - BOTTOM + 4}" stroke="{MEDIAN}" '
                    f'stroke-width="2" stroke-dasharray="6 4"/>')
        body.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" fill="{MEDIAN}">'
                    f'{escape(_w("median", lang))} {escape(fmt(median))}</text>')
    parts = [f"{_name(t, lang)}: {_shown(t, field, fmt, lang)}" for t in towns]
    median_text = f"{_w('median', lang)}: {fmt(median) if median is not None else _w('nodata', lang)}"
    desc = ("、".join(parts) + "。" + median_text) if lang == "ja" else ("; ".join(parts) + ". " + median_text)
    rows = [[_name(t, lang), _shown(t, field, fmt, lang)] + ([_shown(t, marker, fmt, lang)] if marker else []) for t in towns]
    rows.append([_w("median", lang), fmt(median) if median is not None else _w("nodata", lang)]
                + ([_shown_median(metrics, marker, fmt, lang)] if marker else []))
    columns = [_w("town", lang), title] + ([_w("standard", lang)] if marker else [])
    return Chart(id=chart_id, title=title, svg=_svg(chart_id, title, desc, height, body),
                 table=ChartTable(caption=title, columns=columns, rows=rows))


def _shown_median(metrics: TownsMetrics, field: str, fmt: Callable[[float], str], lang: Lang) -> str:
    value = getattr(metrics.regional_median, field)
    return fmt(value) if value is not None else _w("nodata", lang)


def trend_chart(chart_id: str, trends: Trends, lang: Lang) -> Chart:
    """The regional median by week, with the town's own line when one town is in view."""
    title = _w("trend", lang)
    weeks = [w.week_start for w in trends.regional_median]
    lines: list[tuple[str, list[float | None], str, str]] = [
        (_w("median", lang), [w.median.online_filing_rate for w in trends.regional_median], MEDIAN, "6 4")]
    if len(trends.towns) <= 3:
        for town in trends.towns:
            name = town.name_ja if lang == "ja" else town.name_en
            lines.append((name, [w.figures.online_filing_rate for w in town.weeks], BAR, ""))
    plot_h, left, plot_w = 200, 60, WIDTH - 60 - 40
    height = TOP + plot_h + 60 + 18 * len(lines)
    step = plot_w / max(len(weeks) - 1, 1)
    body: list[str] = []
    for tick in (0.0, 0.5, 1.0):
        y = TOP + plot_h * (1 - tick)
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="0.5"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">{_pct(tick)}</text>')
    for i, week in enumerate(weeks):
        if len(weeks) <= 8 or i % max(len(weeks) // 6, 1) == 0 or i == len(weeks) - 1:
            body.append(f'<text x="{left + i * step:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" '
                        f'fill="{TEXT}">{week.month}/{week.day}</text>')
    for n, (name, values, colour, dash) in enumerate(lines):
        points = [(left + i * step, TOP + plot_h * (1 - v)) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"'
                        + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        for x, y in points:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
        legend_y = TOP + plot_h + 44 + 18 * n
        body.append(f'<line x1="{left}" x2="{left + 30}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{colour}" '
                    f'stroke-width="2.5"' + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        body.append(f'<text x="{left + 38}" y="{legend_y}" fill="{TEXT}">{escape(name)}</text>')
    def cell(v: float | None) -> str:
        return _pct(v) if v is not None else "—"
    rows = [[w.isoformat(), *(cell(values[i]) for _, values, _, _ in lines)] for i, w in enumerate(weeks)]
    desc = "; ".join(f"{name}: " + ", ".join(f"{w.isoformat()} {cell(values[i])}" for i, w in enumerate(weeks))
                     for name, values, _, _ in lines)
    return Chart(id=chart_id, title=title, svg=_svg(chart_id, title, desc, height, body),
                 table=ChartTable(caption=title, columns=[_w("week", lang), *(n for n, _, _, _ in lines)], rows=rows))


def all_charts(metrics: TownsMetrics, trends: Trends, lang: Lang) -> list[Chart]:
    def days(v: float) -> str:
        return WORDS.text("days", lang, value=f"{v:g}")

    return [
        bar_chart("online-filing-rate", "online_filing_rate", metrics, lang),
        bar_chart("online-completion-rate", "online_completion_rate", metrics, lang),
        bar_chart("processing-days", "median_processing_days", metrics, lang, scale=1.0, fmt=days,
                  marker="standard_processing_days"),
        bar_chart("delivery-rate", "delivery_rate", metrics, lang),
        bar_chart("card-verified-share", "card_verified_share", metrics, lang),
        bar_chart("paid-online-share", "paid_online_share", metrics, lang),
        trend_chart("online-filing-trend", trends, lang),
    ]

