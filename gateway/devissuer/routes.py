"""HTTP for the development issuer, at the issuer URL's path (``/realms/aizu``) as Keycloak lays it out.

Errors here are OAuth JSON or HTML pages, never the gateway's problem+json: OIDC clients parse
``error``/``error_description``, and a person at the sign-in page needs words, not a status code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response, Router, get, post, route
from litestar.datastructures import Cookie
from litestar.types import Guard

from contracts.tenants import Region
from gateway.devissuer.clients import DEV_GATEWAY_SECRET
from gateway.devissuer.errors import IssuerUnavailable, OAuthError, invalid_request
from gateway.devissuer.issuer import (
    AuthorizationDenied,
    DevIssuer,
    Params,
    SignInPageError,
    page_groups,
    single,
    with_query,
)
from gateway.devissuer.keys import Clock
from gateway.devissuer.pages import (
    error_page,
    logout_confirm_page,
    logout_error_page,
    sign_in_page,
    signed_out_page,
)

JSON = "application/json"
HTML = "text/html"  # Litestar adds "; charset=utf-8"
FORM = "application/x-www-form-urlencoded"
#: Identifies the browser a sign-in page was shown to, so only that browser can complete it.
BROWSER_COOKIE = "AIZU_DEV_BROWSER"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PAGE_HEADERS = {
    **NO_STORE,
    # No script, no framing (clickjacking a one-click sign-in), no referrer carrying the code.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(msgspec.json.encode(data), status_code=status, media_type=JSON, headers=headers or NO_STORE)


def _oauth_error(exc: OAuthError) -> Response[bytes]:
    return _json(exc.body(), exc.status, {**NO_STORE, **exc.headers})


def _html(body: str, status: int = 200, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(body, status_code=status, media_type=HTML, headers=PAGE_HEADERS, cookies=cookies)


def _redirect(location: str, status: int = 302) -> Response[bytes]:
    return Response(b"", status_code=status, headers={**NO_STORE, "Location": location})


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


async def _form(request: Request[Any, Any, Any]) -> Params:
    """The body as RFC 6749 requires it: form-urlencoded, anything else is a malformed request."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        raise invalid_request(f"the body must be {FORM}")
    return await request.form()


def issuer_router(
    region: Region,
    issuer_url: str,
    key_dir: Path | str,
    *,
    development: bool,
    client_secret: str = DEV_GATEWAY_SECRET,
    clock: Clock = time.time,
    token_guards: Sequence[Guard] = (),
) -> Router:
    """The built-in issuer's routes, mounted at ``issuer_url``'s path. Development only.

    ``key_dir`` holds ``keys.json``; ``clock`` lets tests move time;
    ``token_guards`` guard the token endpoint (the gateway's rate limit).
    """
    if not development:
        raise IssuerUnavailable(
            "the built-in OIDC issuer runs only in development (AIZU_ENV=development); "
            "in production tokens come from Keycloak's realm 'aizu' (deploy/keycloak/)"
        )
    issuer = DevIssuer(region, issuer_url, key_dir, client_secret=client_secret, clock=clock)
    base = urlsplit(issuer.issuer_url).path.rstrip("/")
    if not base:
        raise ValueError(f"issuer URL {issuer_url!r} needs a path such as /realms/aizu")
    auth_path = f"{base}/protocol/openid-connect/auth"
    logout_path = f"{base}/protocol/openid-connect/logout"
    secure_cookie = issuer.issuer_url.startswith("https://")

    def browser_cookie(value: str) -> Cookie:
        return Cookie(key=BROWSER_COOKIE, value=value, path=base, httponly=True, samesite="lax", secure=secure_cookie)

    def logout_csrf(browser: str) -> str:
        return hmac.new(issuer.form_secret, b"logout:" + browser.encode(), hashlib.sha256).hexdigest()

    def start_sign_in(request: Request[Any, Any, Any], params: Params) -> Response[Any]:
        try:
            auth_request = issuer.authorization_request(params)
        except SignInPageError as exc:
            return _html(error_page(exc.ja, exc.en), 400)
        except AuthorizationDenied as denied:
            return _redirect(denied.location)
        browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(24)
        txn = issuer.state.begin(auth_request, browser)
        page = sign_in_page(
            action=auth_path,
            txn=txn,
            client_id=auth_request.client_id,
            groups=page_groups(issuer, issuer.users_for(auth_request)),
            jpki_only=auth_request.acr_values == ("jpki",),
        )
        return _html(page, cookies=[browser_cookie(browser)])

    @get("/.well-known/openid-configuration", sync_to_thread=False)
    def openid_configuration() -> Response[bytes]:
        return _json(issuer.discovery(), headers={"Cache-Control": "no-cache"})

    @get("/protocol/openid-connect/auth", sync_to_thread=False)
    def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        return start_sign_in(request, request.query_params)

    @post("/protocol/openid-connect/auth", status_code=303)
    async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await request.form()
        if "txn" not in form:
            return start_sign_in(request, form)  # OIDC Core §3.1.2.1: the request may be POSTed
        try:
            location = issuer.complete_sign_in(
                single(form, "txn"),
                request.cookies.get(BROWSER_COOKIE),
                single(form, "username"),
                cancel=bool(single(form, "cancel")),
            )
        except SignInPageError as exc:
            return _html(error_page(exc.ja, exc.en), 400)
        except OAuthError as exc:
            return _html(error_page("リクエストが正しくありません。", exc.description), 400)
        # 303: the browser must GET the client's callback, not re-POST the form to it.
        return _redirect(location, 303)

    @post("/protocol/openid-connect/token", status_code=200, guards=list(token_guards))
    async def token(request: Request[Any, Any, Any]) -> Response[bytes]:
        try:
            form = await _form(request)
            client = issuer.authenticate_client(request.headers.get("authorization"), form)
            return _json(issuer.token(client, form))
        except OAuthError as exc:
            return _oauth_error(exc)

    @get("/protocol/openid-connect/certs", sync_to_thread=False)
    def certs() -> Response[bytes]:
        # Verifiers refetch on an unknown kid, so a short cache never hides a rotation for long.
        return _json(issuer.keys.jwks(), headers={"Cache-Control": "no-cache"})

    @route("/protocol/openid-connect/userinfo", http_method=["GET", "POST"], status_code=200)
    async def userinfo(request: Request[Any, Any, Any]) -> Response[bytes]:
        try:
            access_token = _bearer(request.headers.get("authorization"))
            if access_token is None and request.method == "POST":
                access_token = single(await _form(request), "access_token")  # RFC 6750 §2.2
            return _json(issuer.userinfo(access_token))
        except OAuthError as exc:
            return _oauth_error(exc)

    @route("/protocol/openid-connect/logout", http_method=["GET", "POST"], status_code=200)
    async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
        browser = request.cookies.get(BROWSER_COOKIE)
        try:
            params: Params = request.query_params if request.method == "GET" else await _form(request)
            refresh_token = single(params, "refresh_token") if request.method == "POST" else None
            if refresh_token is not None:
                # python-keycloak's logout(): a client ending its session with its refresh token.
                client = issuer.authenticate_client(request.headers.get("authorization"), params)
                issuer.logout_with_refresh_token(client, refresh_token)
                return Response(b"", status_code=204, headers=NO_STORE)
            hint, client_id = single(params, "id_token_hint"), single(params, "client_id")
            back, state = single(params, "post_logout_redirect_uri"), single(params, "state")
            confirmed = request.method == "POST" and single(params, "confirm") is not None
            csrf = single(params, "csrf") or ""
        except OAuthError as exc:
            if request.method == "POST" and exc.error in ("invalid_client", "invalid_grant"):
                return _oauth_error(exc)
            return _html(logout_error_page("ログアウトの要求が正しくありません。", exc.description), 400)
        try:
            if hint is not None:
                location = issuer.logout_by_id_token(hint, client_id, back, state)
                return _redirect(location) if location else _html(signed_out_page())
            if back is not None and client_id not in issuer.clients:
                raise SignInPageError(
                    "ログアウトの要求が正しくありません。", "Missing parameters: id_token_hint or client_id"
                )
            issuer.check_post_logout_uri(back)
        except SignInPageError as exc:
            return _html(logout_error_page(exc.ja, exc.en), 400)
        # Without a hint nothing shows which session is meant: ask the person, in their browser
        # (a bare GET must not sign anyone out, or any page could do it with an <img>).
        if confirmed and browser and hmac.compare_digest(csrf, logout_csrf(browser)):
            issuer.logout_browser(browser)
            return _redirect(with_query(back, {"state": state})) if back else _html(signed_out_page())
        browser = browser or secrets.token_urlsafe(24)
        hidden = {
            k: v for k, v in (("client_id", client_id), ("post_logout_redirect_uri", back), ("state", state)) if v
        }
        page = logout_confirm_page(action=logout_path, csrf=logout_csrf(browser), hidden=hidden)
        return _html(page, cookies=[browser_cookie(browser)])

    return Router(
        path=base,
        route_handlers=[openid_configuration, authorize, sign_in, token, certs, userinfo, logout],
        include_in_schema=False,
    )
