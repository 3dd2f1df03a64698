"""Announcements and emergency alerts: written by a tenant admin, approved by a second one.

The notifications service decides who may write and who may approve (never the author, for an
alert); this page shows its list, its forms, and its refusals on the fields they are about.
"""

from __future__ import annotations

from contracts import broadcasts as casts
from contracts.errors import ErrorCode, ServiceFailure
from contracts.portal import PageReply
from contracts.subjects import NOTIFICATIONS
from services.portal.pages import staff_words  # noqa: F401 (words register on import)
from services.portal.pages.resident import local
from services.portal.routing import Routes
from services.portal.view import Page, field_errors

routes = Routes()

TEXT_FIELDS = ("title_ja", "body_ja", "title_en", "body_en")
#: A refusal shown on the page itself; anything else (the service down…) is the problem page.
SHOWN = (ErrorCode.VALIDATION, ErrorCode.BAD_REQUEST, ErrorCode.FORBIDDEN, ErrorCode.CONFLICT, ErrorCode.NOT_FOUND)


def _new_broadcast(page: Page) -> tuple[casts.NewBroadcast | None, dict[str, str], dict[str, object]]:
    """The posted form as a new broadcast; blank texts are named here all at once, the rest by the service."""
    values: dict[str, object] = {name: page.field(name).replace("\r\n", "\n") for name in TEXT_FIELDS}
    values.update(kind=page.field("kind"), target=page.field("target") or "town", districts=page.fields("districts"))
    errors = {name: page.t("staff_fill_in") for name in TEXT_FIELDS if not values[name]}
    if not values["kind"]:
        errors["kind"] = page.t("staff_fill_in")
    if errors:
        return None, errors, values
    return casts.NewBroadcast(**values), {}, values  # type: ignore[arg-type]  # the service checks kind and target


async def _render(page: Page, status: int = 200, errors: dict[str, str] | None = None,
                  values: dict[str, object] | None = None, refused: str = "") -> PageReply:
    can_write = page.has_role("tenant-admin")
    # The service lists broadcasts to the town's admins only; a caseworker is told so, not refused.
    listed = await page.fetch(NOTIFICATIONS, casts.BROADCASTS, casts.ListBroadcasts(), casts.BroadcastList) if can_write else None
    return page.render(
        "staff/broadcasts.html", status=status, items=listed.items if listed else [], errors=errors or {}, values=values or {},
        refused=refused, can_write=can_write, districts=getattr(page.tenant, "districts", []),
        done=page.query("done"), local=local,
    )


@routes.page("/staff/broadcasts", methods=("GET", "POST"), audience="staff")
async def broadcasts(page: Page) -> PageReply:
    if page.request.method == "GET":
        return await _render(page)
    new, errors, values = _new_broadcast(page)
    if new is None:
        return await _render(page, 422, errors, values)
    try:
        made = await page.fetch(NOTIFICATIONS, casts.BROADCAST, new, casts.Broadcast)
    except ServiceFailure as exc:
        if exc.envelope.code not in (ErrorCode.VALIDATION, ErrorCode.BAD_REQUEST) or not exc.envelope.fields:
            raise
        return await _render(page, exc.status, field_errors(exc, page.lang), values)
    done = "pending" if made.status == "pending-approval" else "sent"
    return page.redirect(f"/staff/broadcasts?done={done}#broadcast-{made.id}")


@routes.page("/staff/broadcasts/{id}/approve", methods=("POST",), audience="staff")
async def approve(page: Page) -> PageReply:
    try:
        approved = await page.fetch(NOTIFICATIONS, casts.APPROVE_BROADCAST, casts.ApproveBroadcast(id=page.params["id"]), casts.Broadcast)
    except ServiceFailure as exc:
        if exc.envelope.code not in SHOWN:
            raise
        return await _render(page, exc.status, refused=exc.envelope.detail or exc.envelope.title)
    return page.redirect(f"/staff/broadcasts?done=approved#broadcast-{approved.id}")
