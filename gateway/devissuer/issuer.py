"""The OpenID Provider's rules, apart from HTTP: what each endpoint accepts, refuses and returns.

``routes.py`` turns requests into calls here and the results back into responses; everything a
client can get wrong is decided in this module and answered with the OAuth error Keycloak would give.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from contracts.tenants import Region
from gateway.devissuer import errors
from gateway.devissuer.clients import Client, GrantType, dev_clients, post_logout_uri_allowed, redirect_uri_allowed
from gateway.devissuer.errors import OAuthError
from gateway.devissuer.keys import Clock, KeyStore
from gateway.devissuer.sessions import AuthorizationRequest, PendingSignIn, SignInState
from gateway.devissuer.tokens import InvalidToken, TokenMinter, TokenResponse, UserGrant, identity_claims
from gateway.devissuer.users import ACR_VALUES, DemoUser, demo_users

GRANT_TYPES: tuple[GrantType, ...] = ("authorization_code", "refresh_token", "client_credentials")
#: RFC 7636 §4.1: 43–128 unreserved characters; an S256 challenge is always 43.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
CLAIMS_SUPPORTED = (
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "azp",
    "sid",
    "at_hash",
    "preferred_username",
    "name",
    "address",
    "birthdate",
    "gender",
    "tenant",
    "organization",
    "realm_access",
)


class Params(Protocol):
    """Query or form parameters (Litestar's MultiDict and FormMultiDict both fit)."""

    def getall(self, key: str, default: Any = ...) -> list[Any]: ...


class SignInPageError(Exception):
    """Shown to the person, never redirected: the client or redirect URI cannot be trusted with it."""

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(en)
        self.ja = ja
        self.en = en


class AuthorizationDenied(Exception):
    """Sent back to the client's redirect URI as ``error``/``error_description`` (RFC 6749 §4.1.2.1)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def single(params: Params, name: str) -> str | None:
    """One parameter's value; RFC 6749 §3.1 forbids repeating one."""
    values = [v for v in params.getall(name, []) if isinstance(v, str)]
    if len(values) > 1:
        raise errors.invalid_request(f"parameter {name} given more than once")
    return values[0] if values and values[0] != "" else None


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class DevIssuer:
    def __init__(
        self,
        region: Region,
        issuer_url: str,
        key_dir: Path | str,
        *,
        client_secret: str,
        clock: Clock = time.time,
    ) -> None:
        self.issuer_url = issuer_url.rstrip("/")
        self.region = region
        self.clock = clock
        self.keys = KeyStore(key_dir, clock)
        self.users = demo_users(region, self.issuer_url)
        self.clients = dev_clients(client_secret)
        self.minter = TokenMinter(self.issuer_url, self.keys, self.users, clock)
        self.state = SignInState(clock)
        #: Per-process secret for the logout confirmation form; a restart just asks again.
        self.form_secret = secrets.token_bytes(32)

    def endpoint(self, name: str) -> str:
        return f"{self.issuer_url}/protocol/openid-connect/{name}"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer_url,
            "authorization_endpoint": self.endpoint("auth"),
            "token_endpoint": self.endpoint("token"),
            "jwks_uri": self.endpoint("certs"),
            "userinfo_endpoint": self.endpoint("userinfo"),
            "end_session_endpoint": self.endpoint("logout"),
            "grant_types_supported": list(GRANT_TYPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "userinfo_signing_alg_values_supported": ["none"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "acr_values_supported": list(ACR_VALUES),
            "scopes_supported": ["openid", "profile", "email", "address"],
            "claims_supported": list(CLAIMS_SUPPORTED),
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "authorization_response_iss_parameter_supported": True,
            "frontchannel_logout_supported": False,
            "backchannel_logout_supported": False,
        }

    # --- authorization endpoint ----------------------------------------------------------------

    def authorization_request(self, params: Params) -> AuthorizationRequest:
        """Validate ``auth``: page errors until the redirect URI is trusted, redirected errors after."""
        try:
            client_id = single(params, "client_id")
            redirect_uri = single(params, "redirect_uri")
        except OAuthError as exc:
            raise SignInPageError("リクエストが正しくありません。", exc.description) from exc
        client = self.clients.get(client_id or "")
        if client is None:
            raise SignInPageError("このアプリケーションは登録されていません。", f"Unknown client {client_id!r}")
        if redirect_uri is None or not redirect_uri_allowed(redirect_uri):
            raise SignInPageError("戻り先のアドレスが登録されていません。", f"Invalid redirect_uri {redirect_uri!r}")
        state = None
        try:
            state = single(params, "state")
            if single(params, "request") is not None:
                raise OAuthError("request_not_supported", "request objects are not supported")
            if single(params, "request_uri") is not None:
                raise OAuthError("request_uri_not_supported", "request_uri is not supported")
            response_type = single(params, "response_type")
            if response_type is None:
                raise OAuthError("invalid_request", "Missing parameter: response_type")
            if response_type != "code":
                raise OAuthError("unsupported_response_type", "only response_type=code is supported")
            if "authorization_code" not in client.grant_types:
                raise OAuthError("unauthorized_client", "client may not use the authorization code flow")
            if single(params, "response_mode") not in (None, "query"):
                raise OAuthError("invalid_request", "only response_mode=query is supported")
            challenge = single(params, "code_challenge")
            method = single(params, "code_challenge_method")
            # PKCE for every client, confidential ones too (RFC 9700 §2.1.1): the realm requires S256.
            if challenge is None:
                raise OAuthError("invalid_request", "Missing parameter: code_challenge (PKCE S256 is required)")
            if method != "S256":
                raise OAuthError("invalid_request", "Invalid parameter: code_challenge_method (only S256)")
            if not _CHALLENGE.match(challenge):
                raise OAuthError("invalid_request", "Invalid parameter: code_challenge")
            if "none" in (single(params, "prompt") or "").split():
                # There is no single sign-on here: every sign-in shows the page.
                raise OAuthError("login_required", "a sign-in page must be shown")
            acr_values = tuple(v for v in (single(params, "acr_values") or "").split() if v in ACR_VALUES)
            hint = single(params, "login_hint") or single(params, "kc_idp_hint")
            scope, nonce = single(params, "scope") or "", single(params, "nonce")
        except OAuthError as exc:
            location = with_query(
                redirect_uri,
                {"error": exc.error, "error_description": exc.description, "state": state, "iss": self.issuer_url},
            )
            raise AuthorizationDenied(location) from exc
        return AuthorizationRequest(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scope=scope,
            state=state,
            nonce=nonce,
            code_challenge=challenge,
            acr_values=acr_values,
            hint=hint.strip().lower() if hint else None,
        )

    def users_for(self, request: AuthorizationRequest) -> list[DemoUser]:
        """Users the page offers: those meeting ``acr_values``, narrowed to a user or town hint."""
        users = [u for u in self.users.values() if u.satisfies(request.acr_values)]
        if request.hint:
            named = [u for u in users if u.username == request.hint]
            town = [u for u in users if u.group == request.hint]
            users = named or town or users
        return users

    def pending(self, txn: str | None, browser: str | None) -> PendingSignIn:
        found = self.state.pending(txn or "", browser)
        if found is None:
            raise SignInPageError(
                "サインインの有効期限が切れました。アプリからもう一度お試しください。",
                "This sign-in has expired or was opened in another browser; please start again from the app.",
            )
        return found

    def complete_sign_in(self, txn: str | None, browser: str | None, username: str | None, cancel: bool) -> str:
        """Where to send the browser after the sign-in page: a code, or ``access_denied``."""
        pending = self.pending(txn, browser)
        request = pending.request
        back = {"state": request.state, "iss": self.issuer_url}
        if cancel:
            self.state.finish(txn or "")
            return with_query(
                request.redirect_uri, {"error": "access_denied", "error_description": "sign-in cancelled", **back}
            )
        if username not in {u.username for u in self.users_for(request)}:
            raise SignInPageError(
                "選択された利用者ではサインインできません。", f"User {username!r} cannot sign in here"
            )
        self.state.finish(txn or "")
        code, session = self.state.issue_code(request, username or "", pending.browser)
        return with_query(request.redirect_uri, {"code": code, "session_state": session.sid, **back})

    # --- token endpoint ------------------------------------------------------------------------

    def authenticate_client(self, authorization: str | None, form: Params) -> Client:
        """client_secret_basic, client_secret_post, or a public client's bare ``client_id``."""
        body_id, body_secret = single(form, "client_id"), single(form, "client_secret")
        client_id, secret = body_id, body_secret
        if authorization and authorization[:6].lower() == "basic ":
            if body_secret is not None:
                raise errors.invalid_request("use one client authentication method, not two")
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise errors.invalid_client("malformed Basic credentials") from exc
            raw_id, sep, raw_secret = decoded.partition(":")
            if not sep:
                raise errors.invalid_client("malformed Basic credentials")
            # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            if body_id is not None and body_id != client_id:
                raise errors.invalid_client("client_id does not match the authenticated client")
        if client_id is None:
            raise errors.invalid_client("client authentication required")
        client = self.clients.get(client_id)
        if client is None:
            raise errors.invalid_client(f"unknown client {client_id!r}")
        if not client.public and not client.secret_matches(secret):
            raise errors.invalid_client("invalid client credentials")
        return client

    def token(self, client: Client, form: Params) -> TokenResponse:
        grant_type = single(form, "grant_type")
        if grant_type is None:
            raise errors.invalid_request("Missing parameter: grant_type")
        if grant_type not in GRANT_TYPES:
            raise OAuthError("unsupported_grant_type", f"grant type {grant_type!r} is not supported")
        if grant_type not in client.grant_types:
            raise OAuthError("unauthorized_client", f"client {client.client_id} may not use {grant_type}")
        if grant_type == "authorization_code":
            return self._redeem_code(client, form)
        if grant_type == "refresh_token":
            return self._refresh(client, form)
        return self.minter.service_account_token(client.client_id)

    def _redeem_code(self, client: Client, form: Params) -> TokenResponse:
        code, redirect_uri, verifier = single(form, "code"), single(form, "redirect_uri"), single(form, "code_verifier")
        if code is None:
            raise errors.invalid_request("Missing parameter: code")
        if redirect_uri is None:
            raise errors.invalid_request("Missing parameter: redirect_uri")
        record = self.state.redeem_code(code)
        if record is None:
            raise errors.invalid_grant("Code not valid (unknown, expired or already used)")
        request = record.request
        failure = None
        if request.client_id != client.client_id:
            failure = "Code was issued to another client"
        elif request.redirect_uri != redirect_uri:
            failure = "Incorrect redirect_uri"
        elif verifier is None:
            failure = "PKCE code verifier not specified"
        elif not _VERIFIER.match(verifier):
            failure = "PKCE code verifier is malformed"
        elif not secrets.compare_digest(s256(verifier), request.code_challenge):
            failure = "PKCE verification failed"
        if failure is not None:
            # The code is spent either way, and the sign-in it came from is abandoned.
            self.state.end(record.sid)
            raise errors.invalid_grant(failure)
        session = self.state.session(record.sid)
        if session is None:
            raise errors.invalid_grant("Session not active")
        grant = UserGrant(
            user=self.users[record.username],
            client_id=client.client_id,
            sid=record.sid,
            openid=request.openid,
            nonce=request.nonce,
            auth_time=record.auth_time,
        )
        response, jti = self.minter.issue(grant)
        self.state.rotate_refresh(session, None, jti)
        return response

    def _refresh(self, client: Client, form: Params) -> TokenResponse:
        token = single(form, "refresh_token")
        if token is None:
            raise errors.invalid_request("Missing parameter: refresh_token")
        try:
            claims = self.minter.verify(token, "Refresh")
        except InvalidToken as exc:
            raise errors.invalid_grant("Invalid refresh token") from exc
        if claims.get("azp") != client.client_id:
            raise errors.invalid_grant("Token client and authorized client don't match")
        session = self.state.session(str(claims.get("sid")))
        if session is None or session.client_id != client.client_id:
            raise errors.invalid_grant("Session not active")
        grant = UserGrant(
            user=self.users[session.username],
            client_id=client.client_id,
            sid=session.sid,
            openid=session.openid,
            nonce=session.nonce,
            auth_time=session.auth_time,
        )
        response, jti = self.minter.issue(grant)
        if not self.state.rotate_refresh(session, str(claims.get("jti")), jti):
            raise errors.invalid_grant("Refresh token already used; the session has been ended")
        return response

    # --- userinfo and logout -------------------------------------------------------------------

    def userinfo(self, access_token: str | None) -> dict[str, Any]:
        if not access_token:
            raise OAuthError(
                "invalid_request", "Bearer token missing", 401, {"WWW-Authenticate": 'Bearer realm="aizu"'}
            )
        try:
            claims = self.minter.verify(access_token, "Bearer")
        except InvalidToken as exc:
            raise errors.invalid_token("Token verification failed") from exc
        sid = claims.get("sid")
        if sid is not None and self.state.ended(str(sid)):
            raise errors.invalid_token("Session has ended")
        user = self.users.get(str(claims.get("preferred_username")))
        if user is None or user.subject != claims.get("sub"):
            # A service account: it has no profile beyond its name.
            return {"sub": claims["sub"], "preferred_username": claims.get("preferred_username")}
        return {"sub": user.subject, **identity_claims(user)}

    def logout_with_refresh_token(self, client: Client, refresh_token: str) -> None:
        """python-keycloak's ``logout``: the client ends its own session by its refresh token."""
        try:
            claims = self.minter.verify(refresh_token, "Refresh")
        except InvalidToken as exc:
            raise errors.invalid_grant("Invalid refresh token") from exc
        if claims.get("azp") != client.client_id:
            raise errors.invalid_grant("Token client and authorized client don't match")
        self.state.end(str(claims.get("sid")))

    def logout_by_id_token(
        self, id_token_hint: str, client_id: str | None, post_logout_redirect_uri: str | None, state: str | None
    ) -> str | None:
        """RP-initiated logout with ``id_token_hint``; where to send the browser, if anywhere."""
        try:
            claims = self.minter.verify(id_token_hint, "ID", check_expiry=False)
        except InvalidToken as exc:
            raise SignInPageError("ログアウトの要求が正しくありません。", "Invalid id_token_hint") from exc
        if client_id is not None and client_id != claims.get("aud"):
            raise SignInPageError("ログアウトの要求が正しくありません。", "client_id does not match id_token_hint")
        self.check_post_logout_uri(post_logout_redirect_uri)
        self.state.end(str(claims.get("sid")))
        return with_query(post_logout_redirect_uri, {"state": state}) if post_logout_redirect_uri else None

    def check_post_logout_uri(self, uri: str | None) -> None:
        if uri is not None and not post_logout_uri_allowed(uri):
            raise SignInPageError("戻り先のアドレスが登録されていません。", "Invalid post_logout_redirect_uri")

    def logout_browser(self, browser: str | None) -> None:
        """Confirmed logout without a hint: every session this browser signed in."""
        for sid in self.state.sessions_of_browser(browser or ""):
            self.state.end(sid)


def page_groups(issuer: DevIssuer, users: Sequence[DemoUser]) -> list[tuple[str, str, str, list[DemoUser]]]:
    """``(slug, name_ja, name_en, users)`` per town in the region's order, then the council."""
    names = [(t.slug, t.name_ja, t.name_en) for t in issuer.region.towns]
    council = issuer.region.council
    names.append((council.slug, council.name_ja, council.name_en))
    groups = []
    for slug, ja, en in names:
        members = [u for u in users if u.group == slug]
        if members:
            groups.append((slug, ja, en, members))
    return groups
