"""The town's news and its emergency alerts, read from the notifications service.

Alerts in force show as a banner on every page of the town, read for each page (an alert must
show the moment it is approved, on every portal copy; the read is one indexed query); an admin's
console pages say when a broadcast waits for their approval. Pages still render while the
notifications service is away, without them.
"""

from __future__ import annotations

import logging

from contracts import broadcasts as casts
from contracts.errors import ErrorCode, ServiceFailure
from contracts.subjects import NOTIFICATIONS
from services.portal.view import Page

log = logging.getLogger(__name__)

_AWAY = (ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT)


async def _news(page: Page) -> casts.News | None:
    try:
        return await page.fetch(NOTIFICATIONS, casts.NEWS, casts.ListNews(limit=10), casts.News)
    except ServiceFailure as exc:
        if exc.envelope.code not in _AWAY:
            raise
        log.warning("page of %s without news: %s", page.tenant.slug, exc)
        return None


async def for_home(page: Page) -> list[casts.NewsItem]:
    """The recent news (the banner of alerts comes with every page)."""
    found = page.news or await _news(page)
    return found.items if found else []


async def decorate(page: Page) -> None:
    """What every page of a town shows besides its own content."""
    if page.is_council:
        return
    page.news = await _news(page)
    page.alerts = page.news.alerts if page.news else []
    if page.request.path.startswith("/staff") and page.is_staff and page.has_role("tenant-admin"):
        try:
            listed = await page.fetch(NOTIFICATIONS, casts.BROADCASTS, casts.ListBroadcasts(limit=50), casts.BroadcastList)
        except ServiceFailure as exc:
            if exc.envelope.code not in _AWAY:
                raise
            return
        me = page.principal.subject if page.principal else ""
        page.awaiting_approval = sum(1 for b in listed.items if b.status == casts.BroadcastStatus.PENDING_APPROVAL and b.author != me)
