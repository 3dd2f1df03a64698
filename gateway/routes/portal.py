"""The portal's pages: every path that is not an API, sign-in or machine route is a page.

The gateway keeps what belongs to the browser (the session, CSRF, display cookies) and forwards
the request to the portal service as one bus message; the portal renders the HTML.
"""

from __future__ import annotations

import functools

from typing import Any

import msgspec
from litestar import Request, Response, route
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.exceptions import ClientException, NotFoundException
from litestar.response import Redirect
from litestar.utils.scope.state import ScopeState

from contracts import portal as msg
from contracts.principal import ANONYMOUS
from contracts.subjects import PORTAL
from contracts.uploads import Upload
from gateway.access import Caller
from gateway.ratelimit import client_address, log_header, logged
from gateway.uploads import PAGE_BODY_LIMIT, content_disposition, file_response, limit_forms, put_files

LANG_COOKIE = "aizu_lang"
TEXT_COOKIE = "aizu_text"
#: A year: display settings are not personal data, and an elderly resident should set them once.
DISPLAY_MAX_AGE = 365 * 24 * 3600
#: Prefixes that are never pages: an unknown API path is a JSON 404, not the portal's.
NOT_PAGES = ("/api/", "/realms/", "/open311/", "/schema", "/auth/")
#: Security headers for HTML: no framing, no inline script but our own, no referrer leaking paths.
#: Forms post to the portal itself, and lead on to the payment provider's page (a fee).
POLICY = (
    "default-src 'self'; img-src 'self' data: https://tile.openstreetmap.org; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'{payment}; base-uri 'none'"
)


@functools.cache
def page_headers(payment_origin: str | None) -> dict[str, str]:
    return {
        "Content-Security-Policy": POLICY.format(payment=f" {payment_origin}" if payment_origin else ""),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


_REPLY = msgspec.json.Decoder(msg.PageReply)
#: A page may take this many times the gateway's request timeout (the portal's reads are shorter).
PAGE_TIMEOUT_FACTOR = 3


def _display(request: Request[Any, Any, Any]) -> msg.Display:
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    text = request.cookies.get(TEXT_COOKIE)
    return msg.Display(lang="en" if lang == "en" else "ja", text="large" if text == "large" else "standard")


def _cookies(display: msg.Display | None, secure: bool) -> list[Cookie]:
    if display is None:
        return []
    return [
        Cookie(key=LANG_COOKIE, value=display.lang, max_age=DISPLAY_MAX_AGE, samesite="lax", httponly=True, secure=secure, path="/"),
        Cookie(key=TEXT_COOKIE, value=display.text, max_age=DISPLAY_MAX_AGE, samesite="lax", httponly=True, secure=secure, path="/"),
    ]


async def _posted(request: Request[Any, Any, Any], state: State, caller: Caller) -> tuple[dict[str, list[str]], dict[str, list[Upload]]]:
    """A posted form's fields, and its files put into the uploads bucket (signed-in callers only)."""
    posted = await request.form()
    form = {key: [v for v in posted.getall(key) if isinstance(v, str)] for key in posted if key != "_csrf_token"}
    if sum(len(v) for values in form.values() for v in values) > state.settings.max_body_bytes:
        raise ClientException(status_code=413, detail=f"a form's text may be at most {state.settings.max_body_bytes} bytes")
    multipart = request.content_type[0] == "multipart/form-data"
    files: dict[str, list[Upload]] = {}
    if multipart and caller.principal != ANONYMOUS:
        files = await put_files(state.uploads, caller.tenant.slug, caller.principal, posted)
    return {k: v for k, v in form.items() if v}, files


@route(
    ["/", "/{path:path}"],
    http_method=[HttpMethod.GET, HttpMethod.POST],
    include_in_schema=False,
    request_max_body_size=PAGE_BODY_LIMIT,
    middleware=[limit_forms],
)
async def page(request: Request[Any, Any, Any], state: State, caller: NamedDependency[Caller]) -> Response[Any]:
    if request.url.path.startswith(NOT_PAGES):
        raise NotFoundException(detail=f"No route {request.url.path}")
    form: dict[str, list[str]] = {}
    files: dict[str, list[Upload]] = {}
    headers: dict[str, str] = {}
    if request.method == HttpMethod.POST and caller.principal == ANONYMOUS:
        await state.limiter.check("anonymous_post", client_address(request))
    if request.method == HttpMethod.POST:
        form, files = await _posted(request, state, caller)
    elif request.url.path == "/faq" and request.query_params.get("q"):
        await state.limiter.check("faq", client_address(request))
        headers = await log_header(request)
    token = ScopeState.from_scope(request.scope).csrf_token
    query = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    page_request = msg.PageRequest(
        method="POST" if request.method == HttpMethod.POST else "GET",
        path=request.url.path[:512] or "/",
        query=query,
        form=form,
        files=files,
        display=_display(request),
        csrf_token=token if isinstance(token, str) else "",
        origin=f"{state.settings.public_scheme}://{state.resolver.host_of(request)}"[:300],
    )
    principal = None if caller.principal == ANONYMOUS else caller.principal
    # A page reads several services one after another, each within the portal's own timeout;
    # the gateway waits longer, so a slow service still ends as the portal's page, not a JSON 504.
    data = await state.bus.request(caller.tenant.slug, PORTAL, msg.PAGE, msgspec.json.encode(page_request), principal,
                                   headers=headers, timeout=state.bus.timeout * PAGE_TIMEOUT_FACTOR)
    reply = _REPLY.decode(data)
    if reply.logged_question and not headers:
        await logged(request)
    display = reply.display
    if display is None and request.query_params.get("lang") in ("ja", "en") and request.cookies.get(LANG_COOKIE) != page_request.display.lang:
        display = page_request.display  # the language link: remembered, so the next page stays in it
    cookies = _cookies(display, secure=not state.settings.development)
    headers = page_headers(state.settings.payment_page_origin)
    if reply.location is not None:
        return Redirect(reply.location, status_code=303, cookies=cookies, headers=headers)
    if reply.file is not None and principal is not None:
        return await file_response(state.uploads, caller.tenant.slug, principal, reply.file)
    if not reply.media_type.startswith("text/html"):
        headers = {**headers, "Cache-Control": "public, max-age=3600"}
    if reply.download is not None:
        headers = {**page_headers(state.settings.payment_page_origin), "Content-Disposition": content_disposition("attachment", reply.download)}
    return Response(reply.html, status_code=reply.status, media_type=reply.media_type, cookies=cookies, headers=headers)
