"""Browser sign-in: the authorization-code flow with PKCE, ending in an HttpOnly session cookie.

The tokens stay on the server (in the session store); the browser holds only an opaque session
id. ``/auth/login`` starts the flow at the OpenID provider, ``/auth/callback`` finishes it, and
``POST /auth/logout`` (CSRF-checked like every form post) ends both the session and the
provider's session.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from keycloak.exceptions import KeycloakError
from litestar import Request, get, post
from litestar.datastructures import Cookie, State
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect

from contracts.principal import Principal
from contracts.tenant_profile import TenantProfile
from gateway.access import Caller
from gateway.ratelimit import limited
from gateway import principals
from gateway.session_store import MAX_AGE as SESSION_MAX_AGE
from gateway.tokens import InvalidToken

PENDING = "signin"
#: The session's key and the cookie that together tie a signed-in session to the browser that signed in.
BINDING = "binding"
BINDING_COOKIE = "aizu_auth"
#: How long a started sign-in may take before its state is refused.
FLOW_SECONDS = 600


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _callback_url(request: Request[Any, Any, Any], state: State) -> str:
    return f"{state.settings.public_scheme}://{state.resolver.host_of(request)}/auth/callback"


def safe_next(target: str | None) -> str:
    """Only a path on this host: never an open redirect to somewhere else."""
    if (not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc
            # Browsers read "/\\host" as "//host"; control characters have no place in a path.
            or "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)):
        return "/"
    return target


@get("/auth/login", tags=["sign-in"], include_in_schema=False, guards=[limited("signin")])
async def login(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[TenantProfile],
    next: FromQuery[str] = "/",
    acr: FromQuery[str | None] = None,
) -> Redirect:
    if acr is not None and acr not in ("aal1", "aal2", "jpki"):
        raise ClientException(detail="acr must be one of aal1, aal2, jpki")
    verifier, challenge = _pkce()
    flow = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24), "verifier": verifier,
            "next": safe_next(next), "started": time.time()}
    request.set_session({PENDING: flow})
    url = await state.verifier.oidc.a_auth_url(
        redirect_uri=_callback_url(request, state),
        scope="openid profile",
        state=flow["state"],
        nonce=flow["nonce"],
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    if acr:
        url += "&acr_values=" + quote(acr)
    return Redirect(url, status_code=302)


@get("/auth/callback", tags=["sign-in"], include_in_schema=False, guards=[limited("signin")])
async def callback(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[TenantProfile],
    code: Annotated[str, QueryParameter(name="code")],
    returned_state: Annotated[str, QueryParameter(name="state")],
) -> Redirect:
    flow = (request.session or {}).get(PENDING)
    if not flow or not secrets.compare_digest(str(flow.get("state")), returned_state):
        raise ClientException(detail="This sign-in was not started here, or has already finished")
    if time.time() - flow["started"] > FLOW_SECONDS:
        raise ClientException(detail="This sign-in took too long; please start again")
    try:
        tokens = await state.verifier.oidc.a_token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=_callback_url(request, state),
            code_verifier=flow["verifier"],
        )
        claims = await state.verifier.verify(tokens["access_token"])
        await state.verifier.check_id_token(tokens["id_token"], nonce=flow["nonce"])
    except (KeycloakError, InvalidToken, KeyError) as exc:
        raise NotAuthorizedException(detail="Sign-in failed at the identity provider") from exc
    principal = principals.from_claims(claims)
    # A fresh session after sign-in: nothing from before it carries over. The session keeps the id
    # the browser brought, so the signed-in session is also bound to a new secret cookie: a session
    # id planted in a victim's browser (fixation) is worth nothing without it.
    binding = secrets.token_urlsafe(32)
    request.clear_session()
    request.set_session(
        {
            "access_token": tokens["access_token"],
            "refresh_token": tokens.get("refresh_token"),
            "id_token": tokens["id_token"],
            "expires_at": time.time() + int(tokens.get("expires_in", 300)),
            BINDING: binding,
        }
    )
    await state.audit.record("sign_in", tenant.slug, principal, request)
    cookie = Cookie(key=BINDING_COOKIE, value=binding, httponly=True, samesite="lax", path="/",
                    secure=not state.settings.development, max_age=SESSION_MAX_AGE)
    return Redirect(flow["next"], status_code=303, cookies=[cookie])


@post("/auth/logout", tags=["sign-in"], include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any], state: State, tenant: NamedDependency[TenantProfile]) -> Redirect:
    session = request.session or {}
    refresh = session.get("refresh_token")
    if session.get("access_token"):
        try:
            principal = principals.from_claims(await state.verifier.verify(session["access_token"]))
            await state.audit.record("sign_out", tenant.slug, principal, request)
        except InvalidToken:
            pass  # an expired session still ends
    if refresh:
        try:
            await state.verifier.oidc.a_logout(refresh)
        except KeycloakError:
            pass  # the provider's session may already be gone; ours ends regardless
    request.clear_session()
    return Redirect("/", status_code=303, cookies=[Cookie(key=BINDING_COOKIE, value="", max_age=0, path="/")])


@get("/auth/me", tags=["sign-in"], include_in_schema=False)
async def session_principal(caller: NamedDependency[Caller]) -> Principal:
    """Who the browser session belongs to (401 when it has none): the pages' view of the caller."""
    return caller.signed_in()
