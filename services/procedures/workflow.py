"""Which status may follow which, and who may make each move.

Staff move applications through review; a resident may answer a request for information and
may withdraw while nothing has been decided. Reports (Open311) have a shorter path.
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts.principal import Principal

STAFF = "staff"
RESIDENT = "resident"

STANDARD: Mapping[str, Mapping[str, str]] = {
    # Its fee not yet paid online: paying moves it to received (``payments.py``), not a person.
    "awaiting_payment": {"withdrawn": RESIDENT},
    "received": {"in_review": STAFF, "rejected": STAFF, "withdrawn": RESIDENT},
    "in_review": {"needs_info": STAFF, "approved": STAFF, "rejected": STAFF, "withdrawn": RESIDENT},
    "needs_info": {"in_review": RESIDENT, "rejected": STAFF, "withdrawn": RESIDENT},
    "approved": {"issued": STAFF, "closed": STAFF},
    "issued": {"closed": STAFF},
    "rejected": {"closed": STAFF},
    "closed": {},
    "withdrawn": {},
}

REPORT: Mapping[str, Mapping[str, str]] = {
    "received": {"in_review": STAFF, "rejected": STAFF, "withdrawn": RESIDENT},
    "in_review": {"closed": STAFF, "rejected": STAFF},
    "rejected": {"closed": STAFF},
    "closed": {},
    "withdrawn": {},
}

WORKFLOWS = {"standard": STANDARD, "report": REPORT}
#: Statuses after which the town's work is done (for processing-time and overdue figures).
FINISHED = frozenset({"approved", "rejected", "issued", "closed", "withdrawn"})


def allowed(workflow: str, status: str, actor: str) -> list[str]:
    """The statuses ``actor`` (staff or resident) may move an application to from ``status``."""
    return [to for to, who in WORKFLOWS[workflow].get(status, {}).items() if who == actor]


def actor_name(principal: Principal) -> str:
    """Who acted, as the history shows them: the name their sign-in carries now (kept with the
    link, so a later change of name does not rewrite the past), else their account."""
    return (principal.identity.name if principal.identity and principal.identity.name else principal.subject)[:200]
