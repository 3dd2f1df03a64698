"""axe-core on every portal page, in Japanese and in English: no serious or critical violation.

Each page is opened as the person who uses it (anyone, a card-verified resident, a caseworker,
the council) and must answer 200 with its ``lang`` set; a page that is missing fails here too,
rather than passing axe as an empty 404. Every failing page is reported at once.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Page, expect

from tests.browser import axe
from tests.browser.conftest import BrowserStack, DESKTOP, NewContext, SignedIn, send

PUBLIC = [
    "/",
    "/procedures",
    "/procedures?q=住民票",
    "/procedures?q=存在しないことば",
    "/procedures/juminhyo-copy",
    "/faq",
    "/faq?q=ごみの出し方",
    "/report",
    "/report/road-damage",
    "/settings",
]
RESIDENT = [
    "/",
    "/procedures/juminhyo-copy",
    "/applications",
    "/applications/{id}",
    "/applications/{id}?received=1",
    "/applications/{id}/receipt",
    "/counter-code",
    "/inbox",
    "/preferences",
    "/report/road-damage",
]
STAFF = [
    "/staff",
    "/staff?status=received&channel=online",
    "/staff/applications/{id}",
    "/staff/counter",
    "/staff/counter/juminhyo-copy",
    "/staff/procedures",
    "/staff/templates",
    "/staff/faq",
]
#: What a town's administrator writes: broadcasts, templates, and the town against the region.
ADMIN = [
    "/staff/broadcasts",
    "/staff/templates",
    "/staff/metrics",
]
COUNCIL = ["/"]


async def file_application(page: Page, stack: BrowserStack) -> str:
    """Submit 住民票の写し as the signed-in resident; the application's id."""
    await page.goto(stack.url("kitakata", "/procedures/juminhyo-copy"))
    await page.get_by_role("button", name=re.compile("次へ|Continue")).click()
    await send(page)
    await expect(page).to_have_url(re.compile(r"/applications/[^/?]+\?received=1"))
    found = re.search(r"/applications/([^/?]+)", page.url)
    assert found is not None
    return found.group(1)


def with_lang(path: str, lang: str) -> str:
    if lang == "ja":
        return path
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


async def _audit(page: Page, stack: BrowserStack, host: str, paths: list[str], lang: str, source: str,
                 problems: list[str]) -> None:
    for path in paths:
        url = stack.url(host, with_lang(path, lang))
        response = await page.goto(url)
        status = response.status if response is not None else None
        if status != 200:
            problems.append(f"{host} {path} [{lang}]: HTTP {status}")
            continue
        declared = await page.locator("html").get_attribute("lang")
        if declared != lang:
            problems.append(f"{host} {path} [{lang}]: <html lang={declared!r}>")
        failing = axe.blocking(await axe.violations(page, source))
        if failing:
            problems.append(f"{host} {path} [{lang}]:\n{axe.describe(failing)}")


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_every_portal_page_passes_axe(
    browser_stack: BrowserStack, new_context: NewContext, signed_in: SignedIn, axe_source: str, lang: str
) -> None:
    problems: list[str] = []
    anyone = await (await new_context()).new_page()
    resident = await signed_in("kitakata.resident")
    application = await file_application(resident, browser_stack)
    staff = await signed_in("kitakata.caseworker")
    admin = await signed_in("kitakata.admin")
    council = await signed_in("council.member", host="council", viewport=DESKTOP)
    # One browser tab per person, side by side: the pages render while axe runs in another tab.
    await asyncio.gather(
        _audit(anyone, browser_stack, "kitakata", PUBLIC, lang, axe_source, problems),
        _audit(resident, browser_stack, "kitakata", [p.format(id=application) for p in RESIDENT], lang, axe_source, problems),
        _audit(staff, browser_stack, "kitakata", [p.format(id=application) for p in STAFF], lang, axe_source, problems),
        _audit(admin, browser_stack, "kitakata", ADMIN, lang, axe_source, problems),
        _audit(council, browser_stack, "council", COUNCIL, lang, axe_source, problems),
    )
    assert not problems, f"{len(problems)} page(s) failed:\n" + "\n".join(sorted(problems))


async def test_the_sign_in_page_passes_axe(browser_stack: BrowserStack, new_context: NewContext, axe_source: str) -> None:
    """The development issuer's page: what a resident sees when signing in on `make dev`."""
    page = await (await new_context()).new_page()
    await page.goto(browser_stack.url("kitakata", "/auth/login?next=/"))
    await expect(page.get_by_role("button", name=re.compile(r"kitakata\.resident$"))).to_be_visible()
    await axe.check(page, axe_source, "the development issuer's sign-in page")


async def test_the_not_found_page_passes_axe(browser_stack: BrowserStack, new_context: NewContext, axe_source: str) -> None:
    page = await (await new_context()).new_page()
    response = await page.goto(browser_stack.url("kitakata", "/no-such-page"))
    assert response is not None and response.status == 404
    await axe.check(page, axe_source, "not found")


async def test_the_axe_check_fails_on_a_page_with_violations(new_context: NewContext, axe_source: str) -> None:
    """The check can fail: an unlabelled field and a button without a name are reported."""
    page = await (await new_context()).new_page()
    await page.set_content('<html><body><form><input type="text"><button></button></form></body></html>')
    with pytest.raises(AssertionError) as failed:
        await axe.check(page, axe_source, "a broken page")
    assert "button-name" in str(failed.value) and "label" in str(failed.value)
