"""The staff's reconciliation of fees: a day's payments and refunds, online and at the counter,
to lay beside the payment provider's settlement, and as CSV."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from contracts import payments
from contracts.portal import PageReply
from contracts.subjects import PROCEDURES
from services.portal.routing import Pages, ThisPage
from services.portal.view import Page, local

TOKYO = ZoneInfo("Asia/Tokyo")
pages = Pages()


def _day(page: Page) -> tuple[date, str | None]:
    """The day asked for (Japan's today by default), and the reader's error if it is no date."""
    today = datetime.now(TOKYO).date()
    asked = page.query("day")
    if not asked:
        return today, None
    try:
        return date.fromisoformat(asked[:10]), None
    except ValueError:
        return today, page.t("staff_payments_bad_day")


@pages.page("/staff/payments", audience="staff")
async def reconciliation(page: ThisPage) -> PageReply:
    day, error = _day(page)
    report = await page.fetch(PROCEDURES, payments.RECONCILIATION, payments.Reconcile(day=day), payments.Reconciliation)
    return page.render("staff/payments.html", status=422 if error else 200, report=report, error=error, local=local)


@pages.page("/staff/payments.csv", audience="staff")
async def reconciliation_csv(page: ThisPage) -> PageReply:
    day, _ = _day(page)
    report = await page.fetch(PROCEDURES, payments.RECONCILIATION, payments.Reconcile(day=day), payments.Reconciliation)
    return PageReply(html=report.csv, media_type="text/csv; charset=utf-8",
                     download=f"payments-{page.tenant.slug}-{day.isoformat()}.csv")
