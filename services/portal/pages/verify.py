"""「受付証を確かめる」: anyone, signed in or not, checks a receipt or issued document at a town's host.

The check is the one ``POST /api/v1/verify`` makes (procedures' ``verify`` verb, asked as the caller):
any town's host checks any Aizu town's receipt against the keys of the town that issued it, and
the page says which town that was. The receipt pages show the receipt as a QR code of this page's
address carrying the receipt (``/verify?r=<compact JWS>``), so a phone's camera opens the answer;
the same text can be pasted into the form.

Measured: a receipt is about 850 characters (990 with two attachments' hashes), its URL 40 more:
a QR code of version 24–26 at error level M (121–129 modules), which a phone reads from a screen
or a printout of a few centimetres.
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, urlsplit

import segno
from markupsafe import Markup

from contracts import receipts
from contracts.errors import ErrorCode, ServiceFailure
from contracts.portal import PageReply
from contracts.subjects import PROCEDURES
from contracts.tenants import Region
from services.portal.routing import Pages, ThisPage
from services.portal.view import ENVIRONMENT, Page

pages = Pages()

PATH = "/verify"
#: The query parameter that carries the receipt when the page is opened from the QR code.
PARAM = "r"
#: A receipt is about 1,000 characters and an issued document a few thousand; anything much
#: longer is not one, and is refused before anybody decodes it.
MAX_CHARS = 50_000
#: The three base64url parts of a compact JWS.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_SPACE = re.compile(r"\s+")
#: What the service says (``services/procedures/receipts.py``), in words for the reader.
_REASONS = {
    "not a signed receipt or document": "verify_not_receipt",
    "signed with a key no Aizu town uses": "verify_unknown_key",
    "the signature does not match: the content was changed": "verify_changed",
    "the key belongs to another town": "verify_wrong_town",
}


def check_url(origin: str, token: str) -> str | None:
    """The address a receipt's QR code opens: this page at the town the caller reached
    (``PageRequest.origin``), carrying the receipt; None when that is not known."""
    return f"{origin}{PATH}?{PARAM}={token}" if origin else None


def receipt_qr(token: str, page: Page) -> Markup:
    """The receipt as an inline SVG QR code, named for screen readers (a template filter)."""
    title = page.t("receipt_qr_title")
    svg = segno.make(check_url(page.request.origin, token) or token, error="m").svg_inline(
        scale=2, border=4, dark="#000", light="#fff", title=title, svgclass="qr"
    )
    # The reader's name for it, and a size that fits a phone yet stays large enough to scan.
    named = str(Markup(' role="img" aria-label="{}" style="width:100%;max-width:18rem;height:auto"').format(title))
    return Markup(svg.replace("<svg ", f"<svg{named} ", 1))


ENVIRONMENT.filters["receipt_qr"] = receipt_qr


def token_of(text: str) -> str | None:
    """The compact JWS in what was pasted: the receipt's text (line breaks and spaces a copy may
    add are dropped), or the address its QR code opens."""
    squeezed = _SPACE.sub("", text)
    if _COMPACT.fullmatch(squeezed):
        return squeezed
    carried = parse_qs(urlsplit(squeezed).query).get(PARAM, [""])[0]
    return carried if _COMPACT.fullmatch(carried) else None


def names_a_key(token: str) -> bool:
    """Whether the JWS header is a JSON object naming its key by a string. The procedures service
    fails (500) on a key id of another type, so such a paste is refused here as unreadable."""
    head = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, RecursionError):  # not base64url, not UTF-8, not JSON, nested beyond reason
        return False
    return isinstance(header, dict) and isinstance(header.get("kid"), str)


@pages.page(PATH, methods=("GET", "POST"))
async def verify(page: ThisPage) -> PageReply:
    """The form; the answer for what was posted, or for the receipt the QR code's address carries."""
    pasted = page.field("receipt") if page.request.method == "POST" else page.query(PARAM)
    if page.request.method == "GET" and not pasted:
        return page.render("verify.html", status=200, pasted="", result=None, problem=None)
    if len(pasted) > MAX_CHARS:
        # Not echoed back: a page of 100 KB of someone's paste helps nobody.
        return page.render("verify.html", status=413, pasted="", result=None,
                           problem=page.t("verify_too_long", limit=f"{MAX_CHARS:,}"))
    token = token_of(pasted)
    if token is None or not names_a_key(token):
        return page.render("verify.html", status=422, pasted=pasted, result=None, problem=page.t("verify_not_receipt"))
    try:
        checked = await page.fetch(PROCEDURES, receipts.VERIFY, receipts.VerifyRequest(token=token), receipts.Verification)
    except ServiceFailure as exc:
        if exc.envelope.code is not ErrorCode.VALIDATION:
            raise  # the service is away or failed: the problem page says to try again later
        return page.render("verify.html", status=422, pasted=pasted, result=None, problem=page.t("verify_unverifiable"))
    if not checked.valid or checked.claims is None:
        words = _REASONS.get(checked.reason, "verify_unverifiable")
        return page.render("verify.html", status=422, pasted=pasted, result=None, problem=page.t(words))
    region: Region = page.site.region
    claims = checked.claims
    issuer = region.town(claims.tenant)
    standard = region.standard(claims.code)
    return page.render(
        "verify.html",
        status=200,
        pasted=token,
        result=checked,
        problem=None,
        claims=claims,
        issuer=page.pick(claims.town_name_ja, issuer.name_en if issuer else ""),
        procedure=page.pick(claims.procedure_name_ja, standard.name_en if standard else ""),
        issued_at=page.local_time(checked.issued_at),
        elsewhere=claims.tenant != page.tenant.slug,
        content=list(claims.content.items()),
    )

