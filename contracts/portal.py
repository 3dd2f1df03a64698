"""Messages of the portal: one page request forwarded by the gateway, one rendered page back.

The gateway keeps sessions, CSRF and cookies; the portal renders. The caller's principal travels
in the headers like on every bus message, so the portal reads other services as that caller.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from contracts.uploads import Upload

PAGE = "page"

Lang = Literal["ja", "en"]
TextSize = Literal["standard", "large"]


class Display(msgspec.Struct, frozen=True, kw_only=True):
    """How the resident chose to see the pages; kept by the gateway in cookies."""

    lang: Lang = "ja"
    text: TextSize = "standard"


class PageRequest(msgspec.Struct, frozen=True, kw_only=True):
    method: Literal["GET", "POST"]
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
    #: The query string's parameters (the first value of each).
    query: dict[str, str] = msgspec.field(default_factory=dict)
    #: A posted form's fields (every value of each), already CSRF-checked by the gateway.
    form: dict[str, list[str]] = msgspec.field(default_factory=dict)
    #: A signed-in caller's posted files, by field, already in the uploads bucket.
    files: dict[str, list[Upload]] = msgspec.field(default_factory=dict)
    display: Display = msgspec.field(default_factory=Display)
    #: To put in the forms the page renders.
    csrf_token: str = ""
    #: The address the caller reached this town at (``https://kitakata.aizu.example``; in
    #: development with the gateway's port): for links that leave the page, the receipt's QR code
    #: and the way back from the payment provider's page.
    origin: Annotated[str, msgspec.Meta(max_length=300)] = ""


class PageReply(msgspec.Struct, frozen=True, kw_only=True):
    status: int = 200
    html: str = ""
    #: ``text/html`` for pages; the portal's own script (the report map) is served the same way.
    media_type: str = "text/html"
    #: Offer the body as a file of this name (the open-data CSV) instead of showing it.
    download: str | None = None
    #: Send the browser here instead (303 See Other after a form post).
    location: str | None = None
    #: The display settings to remember, when the page changed them.
    display: Display | None = None
    #: Send this file instead of a page: a filed attachment the portal had put into the uploads
    #: bucket for the caller (too big for a bus message; the gateway reads it from the bucket).
    file: Upload | None = None
    #: The page put an unanswered question on the staff's list (the gateway counts it against
    #: the caller's ``faq_log`` limit).
    logged_question: bool = False
