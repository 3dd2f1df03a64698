"""In-memory state of sign-ins: pending sign-in pages, authorization codes and sessions.

Development only: a restart forgets sessions (their refresh tokens are then refused, like after a
Keycloak session expiry) but not keys, which live on disk. Expired entries are swept on each change.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

from gateway.devissuer import lifetimes
from gateway.devissuer.keys import Clock


@dataclass(frozen=True, kw_only=True)
class AuthorizationRequest:
    """A validated ``auth`` request, waiting for the person to pick a user on the sign-in page."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str
    acr_values: tuple[str, ...]
    hint: str | None

    @property
    def openid(self) -> bool:
        return "openid" in self.scope.split()


@dataclass(frozen=True, kw_only=True)
class PendingSignIn:
    request: AuthorizationRequest
    #: The browser that was shown the page; only it may complete the sign-in (login CSRF).
    browser: str
    expires_at: float


@dataclass(kw_only=True)
class AuthorizationCode:
    request: AuthorizationRequest
    username: str
    sid: str
    auth_time: int
    expires_at: float
    used: bool = False


@dataclass(kw_only=True)
class Session:
    sid: str
    username: str
    client_id: str
    browser: str | None
    openid: bool
    nonce: str | None
    auth_time: int
    #: The one refresh token that may be used next; any earlier one is a replay.
    refresh_jti: str | None = None
    last_used: float = 0.0


class SignInState:
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._pending: dict[str, PendingSignIn] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._sessions: dict[str, Session] = {}
        #: Ended sessions, until every access token of theirs has expired (userinfo refuses them).
        self._ended: dict[str, float] = {}

    def _sweep(self) -> None:
        now = self._clock()
        self._pending = {k: v for k, v in self._pending.items() if v.expires_at > now}
        # A used code is kept until it expires, so a second redemption is recognised as a replay.
        self._codes = {k: v for k, v in self._codes.items() if v.expires_at > now}
        idle = lifetimes.REFRESH_TOKEN
        self._sessions = {k: s for k, s in self._sessions.items() if s.last_used + idle > now}
        self._ended = {k: t for k, t in self._ended.items() if t + lifetimes.ACCESS_TOKEN > now}

    # --- sign-in page --------------------------------------------------------------------------

    def begin(self, request: AuthorizationRequest, browser: str) -> str:
        self._sweep()
        txn = secrets.token_urlsafe(32)
        self._pending[txn] = PendingSignIn(
            request=request, browser=browser, expires_at=self._clock() + lifetimes.SIGN_IN
        )
        return txn

    def pending(self, txn: str, browser: str | None) -> PendingSignIn | None:
        self._sweep()
        found = self._pending.get(txn)
        if found is None or browser is None or not secrets.compare_digest(found.browser, browser):
            return None
        return found

    def finish(self, txn: str) -> None:
        self._pending.pop(txn, None)

    # --- codes ---------------------------------------------------------------------------------

    def issue_code(self, request: AuthorizationRequest, username: str, browser: str) -> tuple[str, Session]:
        self._sweep()
        now = self._clock()
        session = Session(
            sid=str(uuid.uuid4()),
            username=username,
            client_id=request.client_id,
            browser=browser,
            openid=request.openid,
            nonce=request.nonce,
            auth_time=int(now),
            last_used=now,
        )
        self._sessions[session.sid] = session
        code = secrets.token_urlsafe(32)
        self._codes[code] = AuthorizationCode(
            request=request,
            username=username,
            sid=session.sid,
            auth_time=int(now),
            expires_at=now + lifetimes.AUTHORIZATION_CODE,
        )
        return code, session

    def redeem_code(self, code: str) -> AuthorizationCode | None:
        """The code's record, marked used; a code already used ends its session (RFC 6749 §4.1.2)."""
        self._sweep()
        found = self._codes.get(code)
        if found is None:
            return None
        if found.used:
            self.end(found.sid)
            return None
        found.used = True
        return found

    # --- sessions ------------------------------------------------------------------------------

    def session(self, sid: str) -> Session | None:
        self._sweep()
        return self._sessions.get(sid)

    def rotate_refresh(self, session: Session, presented_jti: str | None, new_jti: str) -> bool:
        """Accept ``presented_jti`` once and make ``new_jti`` the next; a replay ends the session.

        ``presented_jti`` is ``None`` when the code was just redeemed and no refresh token exists yet.
        """
        if presented_jti is not None and presented_jti != session.refresh_jti:
            # RFC 9700 §4.14.2: a rotated-out refresh token coming back means one of the two
            # holders is not the client; end the session so neither can continue.
            self.end(session.sid)
            return False
        session.refresh_jti = new_jti
        session.last_used = self._clock()
        return True

    def end(self, sid: str) -> None:
        self._sessions.pop(sid, None)
        self._ended[sid] = self._clock()

    def ended(self, sid: str) -> bool:
        self._sweep()
        return sid in self._ended

    def sessions_of_browser(self, browser: str) -> list[str]:
        self._sweep()
        return [
            s.sid
            for s in self._sessions.values()
            if s.browser is not None and secrets.compare_digest(s.browser, browser)
        ]
