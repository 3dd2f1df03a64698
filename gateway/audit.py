"""The gateway's audit records: refused cross-town attempts, sign-ins and sign-outs.

Records go to the AIZU_AUDIT JetStream stream (append-only, no delete, no purge) and the
publish waits for the stream's acknowledgement, so a request is not answered before its
record is stored.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request
from nats.js import JetStreamContext
from opentelemetry import trace

from contracts import subjects
from contracts.audit import AuditKind, AuditRecord
from contracts.principal import Principal


def trace_id(request: Request[Any, Any, Any]) -> str | None:
    """The trace this request belongs to: our own span's, else the caller's ``traceparent``."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        return format(context.trace_id, "032x")
    parts = request.headers.get("traceparent", "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


class AuditLog:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def record(
        self,
        kind: AuditKind,
        tenant: str,
        principal: Principal,
        request: Request[Any, Any, Any],
        detail: str = "",
    ) -> None:
        record = AuditRecord(
            at=datetime.now(UTC),
            kind=kind,
            tenant=tenant,
            actor=principal.subject,
            actor_tenant=principal.tenant,
            roles=principal.roles,
            action=f"{request.method} {request.url.path}",
            detail=detail,
            trace_id=trace_id(request),
        )
        await self.js.publish(
            subjects.audit(tenant, kind),
            msgspec.json.encode(record),
            headers={"Nats-Msg-Id": str(uuid.uuid4())},
        )
