"""Audit records: who did (or was refused) what, in which town, when, under which trace."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

AuditKind = Literal["denied", "sign_in", "sign_out", "staff_read"]


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    kind: AuditKind
    #: The town whose data or host was involved.
    tenant: str
    actor: str
    actor_tenant: str | None = None
    roles: tuple[str, ...] = ()
    action: str
    detail: str = ""
    trace_id: str | None = None
