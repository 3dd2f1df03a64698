"""A posted form as a service's answers, and the catalog reads the forms are drawn from: shared
by the residents' form, the check-your-answers step, the reply to the town, reports and the
counter."""

from __future__ import annotations

from typing import Any

from contracts import procedures as procs
from contracts.catalog import FieldDef
from contracts.subjects import PROCEDURES
from contracts.uploads import MAX_FILENAME_CHARS, Upload
from services.portal.view import Page


async def catalog(page: Page) -> list[procs.ProcedureSummary]:
    listed = await page.fetch(PROCEDURES, procs.LIST, procs.ListProcedures(), procs.ProcedureList)
    return listed.items


async def procedure(page: Page, code: str) -> procs.ProcedureDetail:
    return await page.fetch(PROCEDURES, procs.GET, procs.GetProcedure(code=code), procs.ProcedureDetail)


#: Hidden fields that keep a file attached by an earlier post of the same form (its upload's id
#: and name), so a resident correcting another answer does not have to attach it again.
KEPT_ID, KEPT_NAME = "__upload", "__filename"


def attached(page: Page, fields: list[FieldDef]) -> dict[str, Upload]:
    """The file of each attachment field: the one posted now, else the one kept from before."""
    attached: dict[str, Upload] = {}
    for f in fields:
        if f.kind != "attachment":
            continue
        if posted := page.request.files.get(f.name):
            attached[f.name] = posted[0]
        elif kept := page.field(f.name + KEPT_ID):
            attached[f.name] = Upload(id=kept[:64], filename=page.field(f.name + KEPT_NAME)[:MAX_FILENAME_CHARS], media_type="", size=0)
    return attached


def answers(page: Page, fields: list[FieldDef], attached: dict[str, Upload] | None = None) -> dict[str, Any]:
    """The posted form as the service's answers: blank fields left out, numbers as numbers,
    attachments as the uploads the gateway made of them."""
    answers: dict[str, Any] = {name: {"upload": upload.id} for name, upload in (attached or {}).items()}
    for f in fields:
        if f.kind == "attachment":
            continue
        value = page.field(f.name)
        if not value:
            continue
        if f.kind == "number":
            try:
                answers[f.name] = int(value) if value.lstrip("-").isdigit() else float(value)
            except ValueError:
                answers[f.name] = value  # the service names the field and says why
        else:
            answers[f.name] = value
    return answers
