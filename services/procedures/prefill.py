"""Once only: a form's fields filled from the verified identity, so the resident states intent only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from contracts import procedures as msg
from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure, failure
from contracts.principal import Principal
from contracts.procedures import ProcedureDetail

_DETAIL = msgspec.json.Decoder(msg.ProcedureDetail)
ASSURANCE_ORDER = {"aal1": 1, "aal2": 2, "jpki": 3}
#: Prefill sources that are the four basic items of the My Number Card.
IDENTITY_SOURCES = frozenset({"name", "address", "birthdate", "gender"})


def require_assurance(principal: Principal, needed: str) -> None:
    if ASSURANCE_ORDER.get(principal.acr or "", 0) < ASSURANCE_ORDER[needed]:
        raise ServiceFailure(
            ErrorEnvelope(
                code=ErrorCode.STEP_UP,
                title="Higher assurance needed",
                detail=f"This procedure needs sign-in with the My Number Card (acr {needed!r})",
                acr_values=needed,
            )
        )


def prefilled_values(
    principal: Principal, procedure: ProcedureDetail, history: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """field name → value the resident need not type: from the verified identity, and for
    ``history`` fields from the same field of their earlier applications in this town."""
    identity = principal.identity
    values: dict[str, Any] = {}
    for field in procedure.fields:
        if field.prefill in IDENTITY_SOURCES and identity is not None:
            value = getattr(identity, field.prefill)
            if value:
                values[field.name] = value
        elif field.prefill == "history" and history and history.get(field.name) not in (None, ""):
            values[field.name] = history[field.name]
    return values


def prefill(principal: Principal, detail_json: bytes, history: Mapping[str, Any]) -> msg.PrefilledForm:
    if not principal.has_role("resident"):
        raise failure(ErrorCode.FORBIDDEN, "Residents only", "prefill is for the resident's own forms")
    detail = _DETAIL.decode(detail_json)
    require_assurance(principal, detail.assurance)
    values = prefilled_values(principal, detail, history)
    sources = {f.name: str(f.prefill) for f in detail.fields if f.name in values}
    remaining = [f.name for f in detail.fields if f.required and f.name not in values]
    return msg.PrefilledForm(code=detail.code, values=values, sources=sources, remaining_required=remaining)
