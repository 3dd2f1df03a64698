"""Who is asking: verified by the gateway, re-checked by each service."""

from __future__ import annotations

from typing import Literal

import msgspec

Role = Literal["resident", "caseworker", "tenant-admin", "council"]
STAFF_ROLES: frozenset[str] = frozenset({"caseworker", "tenant-admin"})


class Identity(msgspec.Struct, frozen=True, kw_only=True):
    """The four basic items of a My Number Card, as OIDC standard claims."""

    name: str | None = None
    address: str | None = None
    birthdate: str | None = None
    gender: str | None = None


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    roles: tuple[Role, ...] = ()
    #: The municipality of a staff member, or a resident's home town.
    tenant: str | None = None
    #: Level of assurance: ``jpki`` when verified with a My Number Card.
    acr: str | None = None
    identity: Identity | None = None

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def is_staff_of(self, tenant: str) -> bool:
        return self.tenant == tenant and any(r in STAFF_ROLES for r in self.roles)


ANONYMOUS = Principal(subject="anonymous")


def encode(principal: Principal) -> str:
    return msgspec.json.encode(principal).decode()


def decode(header: str | None) -> Principal:
    if not header:
        return ANONYMOUS
    return msgspec.json.decode(header, type=Principal)
