"""Which status may follow which, and who may make each move.

Staff move applications through review; a resident may answer a request for information and
may withdraw while nothing has been decided. Reports (Open311) have a shorter path.
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts.applications import Status
from contracts.principal import Principal

STAFF = "staff"
RESIDENT = "resident"

S = Status
STANDARD: Mapping[Status, Mapping[Status, str]] = {
    # Its fee not yet paid online: paying moves it to received (``payments.py``), not a person.
    S.AWAITING_PAYMENT: {S.WITHDRAWN: RESIDENT},
    S.RECEIVED: {S.IN_REVIEW: STAFF, S.REJECTED: STAFF, S.WITHDRAWN: RESIDENT},
    S.IN_REVIEW: {S.NEEDS_INFO: STAFF, S.APPROVED: STAFF, S.REJECTED: STAFF, S.WITHDRAWN: RESIDENT},
    S.NEEDS_INFO: {S.IN_REVIEW: RESIDENT, S.REJECTED: STAFF, S.WITHDRAWN: RESIDENT},
    S.APPROVED: {S.ISSUED: STAFF, S.CLOSED: STAFF},
    S.ISSUED: {S.CLOSED: STAFF},
    S.REJECTED: {S.CLOSED: STAFF},
    S.CLOSED: {},
    S.WITHDRAWN: {},
}

REPORT: Mapping[Status, Mapping[Status, str]] = {
    S.RECEIVED: {S.IN_REVIEW: STAFF, S.REJECTED: STAFF, S.WITHDRAWN: RESIDENT},
    S.IN_REVIEW: {S.CLOSED: STAFF, S.REJECTED: STAFF},
    S.REJECTED: {S.CLOSED: STAFF},
    S.CLOSED: {},
    S.WITHDRAWN: {},
}

WORKFLOWS = {"standard": STANDARD, "report": REPORT}


def allowed(workflow: str, status: Status, actor: str) -> list[Status]:
    """The statuses ``actor`` (staff or resident) may move an application to from ``status``."""
    return [to for to, who in WORKFLOWS[workflow].get(status, {}).items() if who == actor]


def actor_name(principal: Principal) -> str:
    """Who acted, as the history shows them: the name their sign-in carries now (kept with the
    link, so a later change of name does not rewrite the past), else their account."""
    return (principal.identity.name if principal.identity and principal.identity.name else principal.subject)[:200]
