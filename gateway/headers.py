"""Security headers on every response the gateway sends, whoever made it.

Each route may set its own (the portal's pages their CSP with our scripts and the map tiles, a
filed file ``sandbox``); what a route leaves out is filled in here, as the last step before a
response starts (Litestar's ``before_send``, which also sees responses no route made: a 404, a
framework error), so nothing is ever framable or sniffable:

* ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy`` on everything;
* on HTML without a policy of its own, a CSP that allows no script, no framing and no other
  origin (an issued document's print styles are inline);
* HSTS outside development: the portal is only ever served over HTTPS there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

#: HTML whose route set no policy: nothing runs, nothing frames it, styles may be inline.
DEFAULT_HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
#: The development API docs (Swagger UI from its CDN); production serves no docs page.
DOCS_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'unsafe-inline' "
    "https://cdn.jsdelivr.net; img-src 'self' data: https://cdn.jsdelivr.net; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HSTS = "max-age=63072000; includeSubDomains"
DOCS_PATH = "/schema/swagger"


def security_headers(development: bool) -> Callable[[Message, Scope], Awaitable[None]]:
    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if (headers.get("Content-Type") or "").startswith("text/html"):
            docs = development and (scope["path"].rstrip("/") == "/schema" or scope["path"].startswith(DOCS_PATH))
            headers.setdefault("Content-Security-Policy", DOCS_POLICY if docs else DEFAULT_HTML_POLICY)
        if not development:
            headers.setdefault("Strict-Transport-Security", HSTS)

    return before_send
