"""Announcements and emergency alerts: written by a tenant admin, approved by a second one.

The notifications service decides who may write and who may approve (never the author, for an
alert); this page shows its list, its forms, and its refusals on the fields they are about. A
released alert can be corrected or cancelled (a new alert, approved like the first); each
broadcast has a page of its own that follows its progress town by town and channel by channel,
refreshing itself while it is sent (no JavaScript needed).
"""

from __future__ import annotations

from datetime import datetime

from contracts import broadcasts as casts
from contracts.errors import ErrorCode, ServiceFailure
from contracts.portal import PageReply
from contracts.subjects import NOTIFICATIONS
from services.portal.routing import Pages, Segment, ThisPage
from services.portal.view import TOKYO, Page, field_errors, local

pages = Pages()

TEXT_FIELDS = ("title_ja", "body_ja", "title_en", "body_en")
REQUIRED = ("title_ja", "body_ja")
#: A refusal shown on the page itself; anything else (the service down…) is the problem page.
SHOWN = (ErrorCode.VALIDATION, ErrorCode.BAD_REQUEST, ErrorCode.FORBIDDEN, ErrorCode.CONFLICT, ErrorCode.NOT_FOUND)
#: Seconds between refreshes of a broadcast's page while it is being sent.
REFRESH_SECONDS = 3


def _ends_at(text: str) -> datetime | None:
    """``datetime-local`` input (``2026-12-03T18:00``), read as Tokyo time."""
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO) if text else None


def _new_broadcast(page: Page) -> tuple[casts.NewBroadcast | None, dict[str, str], dict[str, object]]:
    """The posted form as a new broadcast; blank texts are named here all at once, the rest by the service."""
    values: dict[str, object] = {name: page.field(name).replace("\r\n", "\n") for name in TEXT_FIELDS}
    values.update(kind=page.field("kind"), target=page.field("target") or casts.Target.TOWN, districts=page.fields("districts"),
                  ends_at=page.field("ends_at"), corrects=page.field("corrects"), cancels=page.field("cancels"))
    errors = {name: page.t("staff_fill_in") for name in REQUIRED if not values[name]}
    if bool(values["title_en"]) != bool(values["body_en"]):
        errors["body_en" if values["title_en"] else "title_en"] = page.t("staff_broadcast_english_pair")
    if not values["kind"]:
        errors["kind"] = page.t("staff_fill_in")
    try:
        ends_at = _ends_at(str(values["ends_at"]))
    except ValueError:
        errors["ends_at"] = page.t("staff_broadcast_ends_at_bad")
    if errors:
        return None, errors, values
    return casts.NewBroadcast(  # type: ignore[arg-type]  # the service checks kind and target
        kind=values["kind"], target=values["target"], districts=values["districts"],
        title_ja=values["title_ja"], body_ja=values["body_ja"], title_en=values["title_en"], body_en=values["body_en"],
        ends_at=ends_at, corrects=values["corrects"] or None, cancels=values["cancels"] or None,
    ), {}, values


def _revision_values(page: Page, items: list[casts.Broadcast]) -> dict[str, object]:
    """The form filled from the alert a correction (``?corrects=``) or cancellation (``?cancels=``) is about."""
    for how in ("corrects", "cancels"):
        wanted = page.query(how)
        original = next((b for b in items if b.id == wanted), None)
        if original is None:
            continue
        if how == "corrects":
            return {how: original.id, "kind": casts.BroadcastKind.EMERGENCY, "title_ja": f"【訂正】{original.title_ja}",
                    "body_ja": original.body_ja, "title_en": original.title_en and f"Correction: {original.title_en}",
                    "body_en": original.body_en}
        return {how: original.id, "kind": casts.BroadcastKind.EMERGENCY, "title_ja": f"【取消】{original.title_ja}",
                "body_ja": page.t("staff_broadcast_cancel_body"),
                "title_en": original.title_en and f"Cancelled: {original.title_en}",
                "body_en": original.title_en and "The emergency alert above has been cancelled."}
    return {}


async def _render(page: Page, status: int = 200, errors: dict[str, str] | None = None,
                  values: dict[str, object] | None = None, refused: str = "") -> PageReply:
    can_write = page.has_role("tenant-admin")
    # The service lists broadcasts to the town's admins only; a caseworker is told so, not refused.
    listed = await page.fetch(NOTIFICATIONS, casts.BROADCASTS, casts.ListBroadcasts(), casts.BroadcastList) if can_write else None
    items = listed.items if listed else []
    if values is None:
        values = _revision_values(page, items)
    revised = next((b for b in items if b.id in (values.get("corrects"), values.get("cancels"))), None)
    return page.render(
        "staff/broadcasts.html", status=status, items=items, errors=errors or {}, values=values,
        refused=refused, can_write=can_write, districts=getattr(page.tenant, "districts", []),
        done=page.query("done"), local=local, revised=revised,
    )


@pages.page("/staff/broadcasts", methods=("GET", "POST"), audience="staff")
async def broadcasts(page: ThisPage) -> PageReply:
    if page.request.method == "GET":
        return await _render(page)
    new, errors, values = _new_broadcast(page)
    if new is None:
        return await _render(page, 422, errors, values)
    try:
        made = await page.fetch(NOTIFICATIONS, casts.BROADCAST, new, casts.Broadcast)
    except ServiceFailure as exc:
        if exc.envelope.code not in (ErrorCode.VALIDATION, ErrorCode.BAD_REQUEST, ErrorCode.CONFLICT) or not exc.envelope.fields:
            raise
        return await _render(page, exc.status, field_errors(exc, page.lang), values)
    done = "pending" if made.status == casts.BroadcastStatus.PENDING_APPROVAL else "sent"
    return page.redirect(f"/staff/broadcasts?done={done}#broadcast-{made.id}")


@pages.page("/staff/broadcasts/{id:str}", audience="staff")
async def broadcast(page: ThisPage, id: Segment) -> PageReply:
    if not page.has_role("tenant-admin"):
        return await _render(page)
    shown = await page.fetch(NOTIFICATIONS, casts.GET_BROADCAST, casts.GetBroadcast(id=id), casts.Broadcast)
    names = {t.slug: (t.name_ja, t.name_en) for t in page.site.region.towns}
    refresh = REFRESH_SECONDS if shown.status == casts.BroadcastStatus.SENDING else None
    return page.render("staff/broadcast.html", b=shown, names=names, refresh=refresh, local=local)


@pages.page("/staff/broadcasts/{id:str}/approve", methods=("POST",), audience="staff")
async def approve(page: ThisPage, id: Segment) -> PageReply:
    request = casts.ApproveBroadcast(id=id, zero_recipients_reason=page.field("zero_recipients_reason"))
    try:
        approved = await page.fetch(NOTIFICATIONS, casts.APPROVE_BROADCAST, request, casts.Broadcast)
    except ServiceFailure as exc:
        if exc.envelope.code not in SHOWN:
            raise
        refusal = exc.envelope.fields[0].message_en if page.lang == "en" and exc.envelope.fields else (
            exc.envelope.fields[0].message_ja if exc.envelope.fields else exc.envelope.detail or exc.envelope.title)
        return await _render(page, exc.status, refused=refusal)
    return page.redirect(f"/staff/broadcasts/{approved.id}?done=approved")
