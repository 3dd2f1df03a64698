"""The whole platform served for a real browser: Debian's headless Chromium driven by Playwright.

One stack (NATS, procedures with the payment stand-in, notifications with an SMTP sink, portal,
insights, and the gateway with the development issuer) and one browser for the whole folder; each test opens its own
contexts (fresh cookies). Chromium resolves ``*.localhost`` to loopback by itself, so pages are opened at
``http://kitakata.localhost:<port>/`` exactly as a resident's browser would in development.

Nothing here skips: without Chromium or the axe-core script the tests fail and say what to install.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from contracts.tenants import Region
from services.insights import app as insights_app
from services.notifications import app as notifications_app
from services.portal import app as portal_app
from services.procedures import app as procedures_app
from services.procedures.seed import seed_catalog
from services.runtime.database import create_engine, migrate, session_factory
from gateway.devissuer.users import demo_residents
from services.notifications.broadcasts.residents import import_people
from services.notifications.channels.smtp_sink import MailSink
from services.psp_standin.server import Psp, running_psp
from services.runtime.settings import PaymentSettings
from tests import conftest as base
from tests.browser import axe

try:  # A missing package must fail the run, not skip it: say how to get it.
    from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright, expect
except ImportError as exc:  # pragma: no cover - only on a machine that skipped `make test`'s install
    raise ImportError("playwright is not installed: run `make test` (it installs the test extra)") from exc

CHROMIUM = Path("/usr/bin/chromium")
#: This machine has no network but loopback: nothing in the browser may try to phone home.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Any URL not on loopback (``*.localhost`` or 127.0.0.1).
OUTSIDE = re.compile(r"^(?!https?://([a-z0-9-]+\.)?(localhost|127\.0\.0\.1)[:/])")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
#: A page that takes longer than this on loopback is a failure worth seeing, not waiting for.
TIMEOUT_MS = 10_000


@dataclass
class BrowserStack:
    port: int
    region: Region
    #: The gateway's own test client, for setting the scene through the public API.
    api: base.GatewayClient
    #: The town's SMTP relay: every mail the notifications service sent.
    mail: MailSink
    #: The payment provider: its hosted page, its webhooks, its own record of the money.
    psp: Psp

    def url(self, host: str, path: str = "/") -> str:
        """``host`` is a town's slug or ``council``."""
        return f"http://{host}.localhost:{self.port}{path}"


def _sqlite(directory: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{directory / f'{name}.db'}"


#: Package scope, not session: the stack's services join the same queue groups and durable
#: consumers as the other tests' services would, so it must be gone before they start.
@pytest.fixture(scope="package")
async def browser_stack(nats_url: str, region: Region, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BrowserStack]:
    data = tmp_path_factory.mktemp("browser-stack")
    urls = {name: _sqlite(data, name) for name in ("procedures", "notifications", "portal", "insights")}
    for name, migrations in (
        ("procedures", procedures_app.MIGRATIONS),
        ("notifications", notifications_app.MIGRATIONS),
        ("portal", portal_app.MIGRATIONS),
        ("insights", insights_app.MIGRATIONS),
    ):
        await asyncio.to_thread(migrate, migrations, urls[name])
    engine = create_engine(urls["procedures"])
    async with session_factory(engine)() as session:
        await seed_catalog(session, region)
    await engine.dispose()

    async with AsyncExitStack() as stack:
        sink = await stack.enter_async_context(base.mail_sink(data / "mail"))
        psp = await stack.enter_async_context(running_psp("http://{tenant}.localhost/not-yet"))
        payment = PaymentSettings(api_url=psp.url, secret_key=psp.secret_key, webhook_secret=psp.webhook_secret,
                                  retry_seconds=0.5)
        await stack.enter_async_context(base.running_procedures(nats_url, urls["procedures"], payment=payment))
        await stack.enter_async_context(
            base.running_notifications(nats_url, urls["notifications"], smtp=base.smtp_to(sink), region=region)
        )
        await stack.enter_async_context(base.running_portal(nats_url, urls["portal"], region))
        await stack.enter_async_context(base.running_insights(nats_url, urls["insights"], region))
        # Pages fan out to several services; on a busy 2-core machine 2 s is too tight for that.
        gateway = await stack.enter_async_context(
            base.gateway_client(region, nats_url, timeout=10.0, payment_page_origin=psp.url))
        psp.sender.url_template = f"http://{{tenant}}.localhost:{gateway.port}/api/v1/payments/webhook"
        # As `aizu seed` does in development: the demo residents are in their towns' directories.
        engine = create_engine(urls["notifications"])
        async with session_factory(engine)() as session:
            await import_people(session, demo_residents(region, gateway.issuer))
        await engine.dispose()
        yield BrowserStack(port=gateway.port, region=region, api=gateway, mail=sink, psp=psp)


@pytest.fixture(scope="session")
def axe_source() -> str:
    try:
        return axe.script()
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    async with async_playwright() as playwright:
        # Playwright gives every launch a fresh, temporary user-data-dir of its own.
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


NewContext = Callable[..., Awaitable[BrowserContext]]


@pytest.fixture
async def new_context(browser: Browser) -> AsyncIterator[NewContext]:
    """Fresh browser contexts (own cookies), closed after the test; phone-sized unless told."""
    opened: list[BrowserContext] = []

    async def make(
        *, javascript: bool = True, viewport: dict[str, int] | None = None, locale: str = "ja-JP",
        storage_state: Any = None,
    ) -> BrowserContext:
        context = await browser.new_context(
            viewport=viewport or PHONE, locale=locale, java_script_enabled=javascript, timezone_id="Asia/Tokyo",
            storage_state=storage_state,
        )
        context.set_default_timeout(TIMEOUT_MS)
        # Nothing outside this machine answers (map tiles, say): refuse at once rather than wait.
        await context.route(OUTSIDE, lambda route: route.abort("internetdisconnected"))
        opened.append(context)
        return context

    yield make
    for context in opened:
        await context.close()


@pytest.fixture(scope="package")
def _signed_in_cookies() -> dict[tuple[str, str], Any]:
    return {}


SignedIn = Callable[..., Awaitable[Page]]


@pytest.fixture
async def signed_in(browser_stack: BrowserStack, new_context: NewContext, _signed_in_cookies: dict[tuple[str, str], Any]) -> SignedIn:
    """A page in a new context, signed in as ``username`` at ``host``.

    The first time through the real sign-in pages; after that the context starts with that
    browser session's cookies, so that only the tests about signing in pay for it each time.
    """

    async def make(username: str, host: str = "kitakata", **options: Any) -> Page:
        known = _signed_in_cookies.get((username, host))
        context = await new_context(storage_state=known, **options)
        page = await context.new_page()
        if known is None:
            await sign_in(page, browser_stack, username, host)
            _signed_in_cookies[(username, host)] = await context.storage_state()
        return page

    return make


async def sign_in(page: Page, stack: BrowserStack, username: str, host: str = "kitakata", next_path: str = "/") -> None:
    """Sign in as a person would: the portal's sign-in, the issuer's page, the user's button."""
    await page.goto(stack.url(host, f"/auth/login?next={quote(next_path)}"))
    # Each demo user is one labelled button; its name ends with the user name (so .resident is not .resident-basic).
    await page.get_by_role("button", name=re.compile(rf"{re.escape(username)}$")).click()
    await page.wait_for_url(re.compile(rf"^{re.escape(stack.url(host, ''))}"))
    await page.wait_for_load_state()


async def send(page: Page, pay: str = "counter") -> None:
    """Check your answers: send the application; where it has a fee, to be paid as ``pay`` says
    (``counter``, or ``online``: on to the provider's page)."""
    labels = {"counter": "^(窓口で支払う|Pay at the counter)$", "online": "^(オンラインで支払う|Pay online)"}
    choice = page.get_by_role("radio", name=re.compile(labels[pay]))
    if await choice.count():
        await choice.check()
    await page.get_by_role("button", name=re.compile("この内容で申請する|Send this application")).click()


async def reload_until(page: Page, url: str, shown: Locator, seconds: float = 15) -> None:
    """Open ``url`` again until ``shown`` is on it once: for what arrives through the event streams
    (an inbox message, an alert, a dashboard figure) a moment after the action that caused it."""
    for _ in range(int(seconds / 0.25)):
        await page.goto(url)
        if await shown.count() == 1:
            return
        await page.wait_for_timeout(250)
    await expect(shown).to_have_count(1)


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000, f"screenshot {path} is empty"
    return path

