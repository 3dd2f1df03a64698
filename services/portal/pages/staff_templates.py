"""The town's message templates: every staff member reads them, its tenant admins change them.

The notifications service checks each saved text (an unknown or missing placeholder is refused
with the placeholder named); this page puts that refusal on the field it is about.
"""

from __future__ import annotations

from contracts import notifications as notes
from contracts.errors import ErrorCode, ServiceFailure
from contracts.portal import PageReply
from contracts.subjects import NOTIFICATIONS
from services.portal.view import local
from services.portal.routing import Pages, ThisPage
from services.portal.view import field_errors

pages = Pages()

TEXT_FIELDS = ("title_ja", "body_ja", "title_en", "body_en")


def anchor(kind: str) -> str:
    """An id-safe name for a kind (``application.submitted`` → ``tpl-application-submitted``)."""
    return "tpl-" + kind.replace(".", "-")


@pages.page("/staff/templates", methods=("GET", "POST"), audience="staff")
async def templates(page: ThisPage) -> PageReply:
    errors: dict[str, str] = {}
    posted_kind = ""
    posted: dict[str, str] = {}
    if page.request.method == "POST":
        posted_kind = page.field("kind")
        # Browsers post textarea lines as CRLF; the template keeps plain newlines.
        posted = {name: page.field(name).replace("\r\n", "\n") for name in TEXT_FIELDS}
        try:
            await page.fetch(NOTIFICATIONS, notes.PUT_TEMPLATE, notes.PutTemplate(kind=posted_kind, **posted), notes.Template)
        except ServiceFailure as exc:
            if exc.envelope.code is not ErrorCode.VALIDATION or not exc.envelope.fields:
                raise
            errors = field_errors(exc, page.lang)
        else:
            return page.redirect(f"/staff/templates?saved=1#{anchor(posted_kind)}")
    listed = await page.fetch(NOTIFICATIONS, notes.TEMPLATES, notes.ListTemplates(), notes.TemplateList)
    return page.render(
        "staff/templates.html", status=422 if errors else 200, items=listed.items, errors=errors,
        posted_kind=posted_kind, posted=posted, text_fields=TEXT_FIELDS, anchor=anchor,
        can_edit=page.has_role("tenant-admin"), saved=bool(page.query("saved")), local=local,
    )
