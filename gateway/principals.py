"""Who is calling: the verified token's claims as a ``Principal``, and the rules on routes.

The gateway decides what it can from the token alone (a role, the town, the assurance level) and
forwards the principal in a header; each service checks again against the tenant in the subject.
"""

from __future__ import annotations

from typing import Any, get_args

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from contracts.principal import ANONYMOUS, Identity, Principal, Role

KNOWN_ROLES: frozenset[str] = frozenset(get_args(Role))


def from_claims(claims: dict[str, Any]) -> Principal:
    roles = tuple(r for r in claims.get("realm_access", {}).get("roles", []) if r in KNOWN_ROLES)
    organization = claims.get("organization")
    # Keycloak 26 emits the organization claim as a list of aliases, or as a map alias → attributes.
    orgs = list(organization) if isinstance(organization, (list, dict)) else []
    tenant = orgs[0] if len(orgs) == 1 else claims.get("tenant")
    address = claims.get("address")
    identity = Identity(
        name=claims.get("name"),
        address=address.get("formatted") if isinstance(address, dict) else address,
        birthdate=claims.get("birthdate"),
        gender=claims.get("gender"),
    )
    return Principal(
        subject=str(claims["sub"]),
        roles=roles,  # type: ignore[arg-type]
        tenant=tenant,
        acr=claims.get("acr"),
        identity=identity if any((identity.name, identity.address, identity.birthdate, identity.gender)) else None,
    )


def bearer(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException(
            detail="Authorization must be a Bearer token", headers={"WWW-Authenticate": 'Bearer error="invalid_request"'}
        )
    return token.strip()


def require_signed_in(principal: Principal) -> Principal:
    if principal is ANONYMOUS or principal.subject == ANONYMOUS.subject:
        raise NotAuthorizedException(detail="Sign-in required", headers={"WWW-Authenticate": 'Bearer realm="aizu"'})
    return principal
