"""The caller of a route: verified principal, the town of the host, and the checks routes make.

A route asks for ``caller: Caller`` and states its rule (``await caller.staff()``); a refusal that
crosses towns is written to the audit log before the 403 leaves.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from contracts.principal import ANONYMOUS, Principal, Role
from contracts.tenant_profile import TenantProfile
from gateway import principals
from gateway.audit import AuditLog
from gateway.tokens import InvalidToken, TokenVerifier

class Caller:
    def __init__(self, principal: Principal, tenant: TenantProfile, request: Request[Any, Any, Any], audit: AuditLog) -> None:
        self.principal = principal
        self.tenant = tenant
        self._request = request
        self._audit = audit

    async def _deny(self, reason: str, *, cross_town: bool) -> PermissionDeniedException:
        if cross_town:
            await self._audit.record("denied", self.tenant.slug, self.principal, self._request, reason)
        return PermissionDeniedException(detail=reason)

    def signed_in(self) -> Principal:
        return principals.require_signed_in(self.principal)

    async def resident(self) -> Principal:
        """A resident, in any town's portal: they see only their own records there."""
        principal = self.signed_in()
        if not principal.has_role("resident"):
            raise await self._deny("Only residents may use this route", cross_town=False)
        return principal

    async def staff(self, *roles: Role) -> Principal:
        """A caseworker or tenant admin (or one of ``roles``) of the town whose host was called."""
        principal = self.signed_in()
        allowed = roles or ("caseworker", "tenant-admin")
        if not any(principal.has_role(r) for r in allowed):
            raise await self._deny("This route is for the town's staff", cross_town=False)
        if principal.tenant != self.tenant.slug:
            raise await self._deny(
                f"staff of {principal.tenant} may not act in {self.tenant.slug}", cross_town=True
            )
        return principal

    async def resident_or_staff(self) -> Principal:
        """A resident (the service limits them to their own records) or this town's staff."""
        principal = self.signed_in()
        if principal.has_role("resident"):
            return principal
        return await self.staff()

    async def council(self) -> Principal:
        principal = self.signed_in()
        if not principal.has_role("council"):
            raise await self._deny("This route is for the regional council", cross_town=False)
        return principal


class CallerProvider:
    """Litestar dependency: builds the ``Caller`` from a bearer token or the browser session."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier

    async def _session_token(self, request: Request[Any, Any, Any]) -> str | None:
        session = request.scope.get("session")
        if not isinstance(session, dict) or not session.get("access_token"):
            return None
        if not secrets.compare_digest(str(session.get("binding", "")), request.cookies.get("aizu_auth", "")):
            return None  # the session id without the browser's binding cookie: not the one who signed in
        if session.get("expires_at", 0) < time.time() + 10 and session.get("refresh_token"):
            try:
                tokens = await self.verifier.refresh(session["refresh_token"])
            except InvalidToken:
                request.clear_session()
                return None
            session.update(
                access_token=tokens["access_token"],
                refresh_token=tokens.get("refresh_token", session["refresh_token"]),
                expires_at=time.time() + int(tokens.get("expires_in", 300)),
            )
            request.set_session(session)
        return str(session["access_token"])

    async def principal(self, request: Request[Any, Any, Any]) -> Principal:
        token = principals.bearer(request)
        if token is None:
            # The browser session (pages only: /api takes bearer tokens, so no CSRF exposure there).
            token = await self._session_token(request)
            if token is None:
                return ANONYMOUS
        try:
            return principals.from_claims(await self.verifier.verify(token))
        except InvalidToken as exc:
            raise NotAuthorizedException(
                detail="The access token is not valid",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from exc

    async def __call__(self, request: Request[Any, Any, Any], tenant: NamedDependency[TenantProfile]) -> Caller:
        return Caller(await self.principal(request), tenant, request, request.app.state.audit)
