"""Subject names on the bus.

Requests: ``aizu.<tenant>.<service>.<verb>``; events: ``aizu.evt.<tenant>.<aggregate>.<event>``.
The tenant is always a subject token so that NATS permissions and services can both rely on it.
"""

from __future__ import annotations

PREFIX = "aizu"
EVENTS = "evt"
AUDIT = "audit"

PROCEDURES = "procedures"
NOTIFICATIONS = "notifications"
PORTAL = "portal"
INSIGHTS = "insights"

#: Services whose readiness the gateway checks.
SERVICES: tuple[str, ...] = (PROCEDURES, NOTIFICATIONS, PORTAL, INSIGHTS)


def request(tenant: str, service: str, verb: str) -> str:
    return f"{PREFIX}.{tenant}.{service}.{verb}"


def endpoint(service: str, verb: str) -> str:
    """The subscription subject of a service endpoint: any tenant."""
    return f"{PREFIX}.*.{service}.{verb}"


def event(tenant: str, aggregate: str, name: str) -> str:
    return f"{PREFIX}.{EVENTS}.{tenant}.{aggregate}.{name}"


def audit(tenant: str, kind: str) -> str:
    return f"{PREFIX}.{AUDIT}.{tenant}.{kind}"


DEAD_LETTERS = "dlq"


def dead_letter(tenant: str, service: str, source: str) -> str:
    """What a service gave up on (a delivery, an event), kept for the town's admins to see."""
    return f"{PREFIX}.{DEAD_LETTERS}.{tenant}.{service}.{source}"


def event_tenant(subject: str) -> str:
    """The tenant token of an event subject (``aizu.evt.<tenant>.<aggregate>.<event>``); raises
    ValueError for any other shape."""
    parts = subject.split(".")
    if len(parts) != 5 or parts[0] != PREFIX or parts[1] != EVENTS or not parts[2]:
        raise ValueError(f"not an event subject: {subject!r}")
    return parts[2]


def tenant_of(subject: str) -> str:
    """The tenant token of a request subject; raises ValueError for any other shape."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or parts[1] in (EVENTS, AUDIT, DEAD_LETTERS):
        raise ValueError(f"not a request subject: {subject!r}")
    return parts[1]


def ping(service: str) -> str:
    """The nats.micro discovery subject of one service kind."""
    return f"$SRV.PING.{service}"
