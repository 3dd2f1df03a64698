"""The FAQ: residents' questions answered through the same Japanese search as the catalog, and
for the town's staff the questions that found no good answer (what to write next)."""

from __future__ import annotations

from collections import defaultdict

import msgspec

from contracts.errors import ServiceFailure
from contracts.portal import PageReply
from services.portal import faq
from services.portal.routing import Pages, ThisPage
from services.portal.view import field_errors

pages = Pages()


@pages.page("/faq")
async def questions(page: ThisPage) -> PageReply:
    q = page.query("q")
    if q:
        try:
            found = await faq.answer(page.context, page.site.faq, q, page.site.faq_new_per_day)  # type: ignore[arg-type]
        except ServiceFailure as exc:
            if not exc.envelope.fields:
                raise
            return page.render("faq.html", status=400, q=q, results=None, errors=field_errors(exc, page.lang), topics={})
        shown = page.render("faq.html", q=q, results=found, errors={}, topics={})
        return msgspec.structs.replace(shown, logged_question=not found.answered)
    topics: dict[str, list] = defaultdict(list)
    for shown in page.site.faq.entries(page.tenant.slug):
        topics[shown.entry.category].append(shown)
    return page.render("faq.html", q="", results=None, errors={}, topics=dict(topics))


@pages.page("/staff/faq", audience="staff")
async def unanswered(page: ThisPage) -> PageReply:
    listed = await faq.unanswered(page.context, limit=200)  # type: ignore[arg-type]
    return page.render("staff/faq.html", items=listed.items)
