"""Electronic issuance (電子交付): a document signed by the town, with a printable page and QR code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

from contracts.applications import Status
from contracts.procedures import ProcedureDetail
from contracts.receipts import ReceiptClaims
from contracts.tenants import Tenant

TOKYO = ZoneInfo("Asia/Tokyo")
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)


def claims(
    *, town: Tenant, procedure: ProcedureDetail, application_id: str, applicant_name: str,
    answers: dict[str, Any], answers_sha256: str,
) -> ReceiptClaims:
    """What the document certifies: the procedure's answers as labelled in the town's form."""
    labels = {f.name: f.label_ja for f in procedure.fields if f.kind != "attachment"}
    content = {labels[name]: str(value) for name, value in answers.items() if name in labels and value not in ("", None)}
    return ReceiptClaims(
        kind="document",
        iss=f"urn:jp:lg:{town.code}",
        tenant=town.slug,
        town_name_ja=town.name_ja,
        sub=application_id,
        code=procedure.code,
        procedure_name_ja=procedure.name_ja,
        applicant_name=applicant_name,
        status=Status.ISSUED,
        iat=int(datetime.now(UTC).timestamp()),
        jti=str(uuid.uuid4()),
        answers_sha256=answers_sha256,
        content=content,
    )


def printable(document: ReceiptClaims, token: str, verify_url: str) -> str:
    qr = segno.make(token, error="m").svg_inline(scale=2, title="電子署名 QR コード / signature QR code")
    issued = datetime.fromtimestamp(document.iat, UTC).astimezone(TOKYO)
    return _TEMPLATES.get_template("document.html").render(
        claims=document,
        content=list(document.content.items()),
        issued_at=issued.strftime("%Y年%m月%d日 %H:%M（日本時間）"),
        qr=qr,
        verify_url=verify_url,
    )
