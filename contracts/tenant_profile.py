"""The public profile of a town (or the council), as ``GET /api/v1/tenant`` shows it."""

from __future__ import annotations

import msgspec

from contracts.tenants import Branding, Contact


class TenantProfile(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    kind: str
    name_ja: str
    name_en: str
    code: str | None
    contact: Contact
    branding: Branding
