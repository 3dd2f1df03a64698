"""The council's dashboard and a tenant admin's view of their town, rendered by the portal from
the insights service's figures and charts. Real nats-server and services, SQLite."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest

from contracts.tenants import Region
from tests.conftest import GatewayClient, gateway_client, running_insights, running_portal, running_procedures

pytestmark = pytest.mark.parametrize(("procedures_db", "insights_db", "portal_db"), [("sqlite",) * 3], indirect=True)

COUNCIL = {"host": "council.localhost"}


@pytest.fixture
async def site(nats_url: str, procedures_db: str, insights_db: str, portal_db: str, region: Region) -> AsyncIterator[GatewayClient]:
    async with running_procedures(nats_url, procedures_db), running_portal(nats_url, portal_db, region):
        async with gateway_client(region, nats_url) as client:
            # Enough filings in 喜多方市 that its counts are published (under 5 is withheld).
            for _ in range(6):
                sent = await client.post(
                    "/api/v1/applications", json={"code": "juminhyo-copy", "answers": {}},
                    headers={**client.as_user("kitakata.resident"), "idempotency-key": f"metrics-{uuid.uuid4()}"},
                )
                assert sent.status_code == 201, sent.text
            async with running_insights(nats_url, insights_db, region):
                yield client


def row_of(html: str, town: str) -> list[str]:
    found = re.search(rf'<tr><th scope="row">{town}</th>(.*?)</tr>', html)
    assert found, f"no row for {town}"
    return re.findall(r"<td>(.*?)</td>", found.group(1))


async def test_the_council_sees_every_town_side_by_side(site: GatewayClient) -> None:
    page = await site.get("/", headers={**COUNCIL, **site.as_user("council.member")})
    assert page.status_code == 200
    assert page.text.count('<tr><th scope="row">') >= 14  # 13 towns and the regional median
    filings = row_of(page.text, "喜多方市")[0].replace(",", "")
    assert filings.isdigit() and int(filings) >= 6
    assert 'role="img"' in page.text and "<svg " in page.text and "<title" in page.text
    csv = await site.get("/metrics.csv", headers={**COUNCIL, **site.as_user("council.member")})
    assert csv.status_code == 200 and csv.headers["content-disposition"].startswith("attachment")
    assert csv.content.startswith("\ufeff".encode()) and "喜多方市" in csv.text
    english = await site.get("/", params={"lang": "en"}, headers={**COUNCIL, **site.as_user("council.member")})
    assert '<tr><th scope="row">Kitakata City</th>' in english.text


async def test_a_bad_window_is_named_on_its_field(site: GatewayClient) -> None:
    page = await site.get("/", params={"from": "2026-13-01"}, headers={**COUNCIL, **site.as_user("council.member")})
    assert page.status_code == 400 and 'id="error-from"' in page.text
    backwards = await site.get("/", params={"from": "2026-11-01", "to": "2026-10-01"}, headers={**COUNCIL, **site.as_user("council.member")})
    assert backwards.status_code == 400 and 'href="#from"' in backwards.text


async def test_only_council_members_see_the_dashboard(site: GatewayClient) -> None:
    assert (await site.get("/", headers=COUNCIL)).status_code == 401
    for user in ("kitakata.admin", "kitakata.resident"):
        refused = await site.get("/", headers={**COUNCIL, **site.as_user(user)})
        assert refused.status_code == 403, user
        assert "喜多方市</th><td>" not in refused.text
    # At a town's host "/" is the town's home page, never the dashboard.
    home = await site.get("/", headers=site.as_user("council.member"))
    assert "喜多方市のオンライン窓口" in home.text


async def test_a_tenant_admin_sees_their_town_against_the_regional_median(site: GatewayClient) -> None:
    page = await site.get("/staff/metrics", headers=site.as_user("kitakata.admin"))
    assert page.status_code == 200
    assert row_of(page.text, "喜多方市") and row_of(page.text, "地域の中央値")
    assert '<th scope="row">会津若松市</th>' not in page.text
    assert (await site.get("/staff/metrics", headers=site.as_user("kitakata.caseworker"))).status_code == 403
    assert (await site.get("/staff/metrics", headers=site.as_user("aizuwakamatsu.admin"))).status_code == 403
