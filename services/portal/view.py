"""A page being rendered: the request, the town, the caller, and how to read other services.

Handlers receive a ``Page`` and return ``page.render(...)`` or ``page.redirect(...)``. Every read
of another service goes over the bus as the caller (their principal in the headers), so the
services' own rules decide what the caller may see; the portal adds none of its own data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo
from urllib.parse import urlencode

import jinja2
import msgspec

from contracts.errors import ErrorEnvelope, ServiceFailure
from contracts.portal import Display, PageReply, PageRequest
from contracts.principal import Principal
from contracts.tenants import Council, Region, Tenant
from contracts.uploads import FILE_KINDS
from services.portal.faq_base import FaqBase
from services.runtime.catalogue import Catalogue
from services.runtime.client import BusClient
from services.runtime.service import Context

T = TypeVar("T")

TEMPLATES = Path(__file__).parent / "templates"
#: The portal's own words, plain language, short sentences, no jargon: locale/<lang>/LC_MESSAGES/
#: messages.po, Japanese first (see services/runtime/catalogue.py). Words that come from a service
#: (a procedure's name, a message) carry their own ja/en pair.
WORDS = Catalogue(Path(__file__).parent / "locale")
TOKYO = ZoneInfo("Asia/Tokyo")


def local(when: datetime | None, lang: str) -> str:
    """A time as residents read it: Tokyo time, Japanese style first."""
    if when is None:
        return ""
    t = when.astimezone(TOKYO)
    return t.strftime("%Y年%m月%d日 %H:%M") if lang == "ja" else t.strftime("%d %b %Y %H:%M")

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    enable_async=False,
)
#: An attachment field's accepted types as people know them: "JPEG/PNG/PDF".
ENVIRONMENT.filters["file_kinds"] = lambda types: "/".join(FILE_KINDS.get(t, t) for t in types)
#: A form with a file field is sent as multipart/form-data.
ENVIRONMENT.filters["takes_files"] = lambda fields: any(f.kind == "attachment" for f in fields)
ENVIRONMENT.filters["megabytes"] = lambda size: f"{(size or 0) / 1_000_000:g} MB"
ENVIRONMENT.filters["kilobytes"] = lambda size: f"{max(1, round((size or 0) / 1000)):,} KB"


@dataclass(frozen=True)
class Site:
    """What every page may read beside its request: the region and its FAQ."""

    region: Region
    faq: FaqBase
    #: New unanswered questions a town keeps a day (``PortalSettings.faq_new_per_day``).
    faq_new_per_day: int


class Page:
    def __init__(
        self,
        request: PageRequest,
        tenant: Tenant | Council,
        principal: Principal | None,
        bus: BusClient,
        site: Site,
        context: Context | None = None,
    ) -> None:
        self.request = request
        self.tenant = tenant
        self.principal = principal
        self.bus = bus
        self.site = site
        #: The portal's own request context (its database session, for the FAQ's log).
        self.context = context
        self.lang = request.display.lang
        #: The town's news as read for this page, and its emergency alerts in force: the banner on
        #: every page (see pages/news.py).
        self.news: Any = None
        self.alerts: list[Any] = []
        #: Broadcasts of this town that wait for this admin's approval: the console's prompt.
        self.awaiting_approval = 0

    # --- who is asking -------------------------------------------------------------------------

    @property
    def is_council(self) -> bool:
        return isinstance(self.tenant, Council)

    @property
    def signed_in(self) -> bool:
        return self.principal is not None

    def has_role(self, role: str) -> bool:
        return self.principal is not None and self.principal.has_role(role)  # type: ignore[arg-type]

    @property
    def is_staff(self) -> bool:
        return self.principal is not None and self.principal.is_staff_of(self.tenant.slug)

    # --- words -------------------------------------------------------------------------------

    def t(self, key: str, **values: Any) -> str:
        return WORDS.text(key, self.lang, **values)

    def local_time(self, when: datetime | None) -> str:
        return local(when, self.lang)

    def pick(self, ja: str, en: str) -> str:
        """The English text in English, when there is one; Japanese otherwise."""
        return en if self.lang == "en" and en else ja

    # --- the request ---------------------------------------------------------------------------

    def field(self, name: str, default: str = "") -> str:
        values = self.request.form.get(name)
        return values[0].strip() if values else default

    def fields(self, name: str) -> list[str]:
        return [v.strip() for v in self.request.form.get(name, [])]

    def query(self, name: str, default: str = "") -> str:
        return self.request.query.get(name, default).strip()

    def lang_switch_url(self) -> str:
        """This page in the other language, keeping its query (a search stays a search)."""
        query = {k: v for k, v in self.request.query.items() if k != "lang"}
        query["lang"] = "ja" if self.lang == "en" else "en"
        return "?" + urlencode(query)

    def sign_in_url(self, acr: str | None = None) -> str:
        params = {"next": self.request.path}
        if acr:
            params["acr"] = acr
        return "/auth/login?" + urlencode(params)

    # --- other services ------------------------------------------------------------------------

    async def fetch(self, service: str, verb: str, message: msgspec.Struct | None, reply_type: type[T], headers: dict[str, str] | None = None) -> T:
        return await self.bus.fetch(self.tenant.slug, service, verb, message, reply_type, self.principal, headers)

    # --- replies -------------------------------------------------------------------------------

    def render(self, template: str, status: int = 200, display: Display | None = None, **values: Any) -> PageReply:
        html = ENVIRONMENT.get_template(template).render(page=self, t=self.t, pick=self.pick, **values)
        return PageReply(status=status, html=html, display=display)

    def redirect(self, location: str, display: Display | None = None) -> PageReply:
        return PageReply(location=location, display=display)

    def problem(self, failure: ServiceFailure | ErrorEnvelope, status: int | None = None) -> PageReply:
        """A service's refusal as a page that says what happened in the reader's language."""
        envelope = failure.envelope if isinstance(failure, ServiceFailure) else failure
        code = status or (failure.status if isinstance(failure, ServiceFailure) else 400)
        return self.render("problem.html", status=code, envelope=envelope, code=code)

    def not_found(self) -> PageReply:
        return self.render("not_found.html", status=404)


def field_errors(failure: ServiceFailure, lang: str) -> dict[str, str]:
    """A service's field errors by form field name (``$.answers.postal_code`` → ``postal_code``)."""
    found: dict[str, str] = {}
    for error in failure.envelope.fields:
        name = error.field.removeprefix("$.").removeprefix("answers.").split(".")[0].split("[")[0] or "$"
        found.setdefault(name, error.message_en if lang == "en" else error.message_ja)
    return found
