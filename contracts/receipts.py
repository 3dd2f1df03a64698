"""Signed receipts and issued documents (電子交付), and their verification."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

KEYS = "keys"
VERIFY = "verify"

Kind = Literal["receipt", "document"]


class ReceiptClaims(msgspec.Struct, frozen=True, kw_only=True):
    """What a receipt or document says; the JWS signature covers every byte of it."""

    kind: Kind
    iss: str
    tenant: str
    town_name_ja: str
    sub: str
    code: str
    procedure_name_ja: str
    applicant_name: str
    status: str
    iat: int
    jti: str
    #: SHA-256 of the answers as submitted and of each attachment: changing either breaks the match.
    answers_sha256: str
    attachments_sha256: list[str] = []
    #: For an issued document: its content (e.g. the certificate's text) as it was issued.
    content: dict[str, str] = {}


class GetKeys(msgspec.Struct, frozen=True, kw_only=True):
    pass


class VerifyRequest(msgspec.Struct, frozen=True, kw_only=True):
    token: str


class Verification(msgspec.Struct, frozen=True, kw_only=True):
    valid: bool
    reason: str = ""
    kind: Kind | None = None
    tenant: str | None = None
    town_name_ja: str | None = None
    issued_at: datetime | None = None
    claims: ReceiptClaims | None = None
