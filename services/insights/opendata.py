"""The towns' figures as open data: CSV in UTF-8 with a byte-order mark, so Excel reads the
Japanese; each header in Japanese and English ("オンライン申請率 / online_filing_rate")."""

from __future__ import annotations

import csv
import io

from contracts.insights import TownFigures, TownsMetrics

#: (field, Japanese header); the English header is the field's name.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("town", "団体"),
    ("name_ja", "団体名"),
    ("name_en", "団体名（英語）"),
    ("filings", "申請件数"),
    ("online_filings", "オンライン申請件数"),
    ("online_filing_rate", "オンライン申請率"),
    ("finished", "処理完了件数"),
    ("online_completion_rate", "オンライン完結率"),
    ("median_processing_days", "処理日数（中央値）"),
    ("standard_processing_days", "標準処理日数（中央値）"),
    ("overdue", "期限超過件数"),
    ("deliveries", "通知件数"),
    ("delivery_rate", "通知到達率"),
    ("card_verified_share", "マイナンバーカード認証率"),
    ("fees_paid", "手数料の支払件数"),
    ("paid_online_share", "手数料のオンライン支払率"),
)
#: Shown for a withheld figure, so that a reader tells it from "no data" (empty).
SUPPRESSED = "秘匿(5件未満)/suppressed(<5)"
BOM = "\ufeff"


def _cell(figures: TownFigures, field: str) -> str:
    value = getattr(figures, field)
    if value is None:
        return SUPPRESSED if field in figures.suppressed else ""
    return str(value)


def csv_bytes(metrics: TownsMetrics) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    # The window on every row (not above the header): the first row stays the header for machines.
    span = [metrics.from_.isoformat(), metrics.to.isoformat()]
    writer.writerow(["期間開始 / from", "期間終了 / to", *(f"{ja} / {field}" for field, ja in COLUMNS)])
    for figures in metrics.towns:
        writer.writerow([*span, *(_cell(figures, field) for field, _ in COLUMNS)])
    median = metrics.regional_median
    writer.writerow([*span, "region", "会津地域（中央値）", "Aizu region (median)", "", "", *(
        "" if v is None else str(v) for v in (
            median.online_filing_rate, None, median.online_completion_rate, median.median_processing_days,
            median.standard_processing_days, median.overdue, None, median.delivery_rate, median.card_verified_share,
            None, median.paid_online_share,
        )
    )])
    return out.getvalue().encode("utf-8")
