"""The first route through everything: gateway → NATS → procedures → database, on both backends."""

from __future__ import annotations

import pytest

from tests.conftest import gateway_client, running_procedures

PROBLEM = "application/problem+json"


async def test_each_town_gets_its_own_catalog(stack, region):
    for town in region.towns:
        response = await stack.get("/api/v1/procedures", headers={"host": f"{town.slug}.localhost:8000"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["tenant"] == town.slug
        offered = {o.code for o in town.procedures}
        expected = [p.code for p in region.catalog.procedures if p.code in offered]
        assert [item["code"] for item in body["items"]] == expected


async def test_a_town_fee_override_is_served(stack, region):
    for town in region.towns:
        for offer in town.procedures:
            if offer.fee_yen is not None:
                response = await stack.get(f"/api/v1/procedures/{offer.code}", headers={"host": f"{town.slug}.localhost"})
                assert response.json()["fee_yen"] == offer.fee_yen
                return
    pytest.fail("no town overrides a fee; the override path is untested")


async def test_procedure_detail_has_its_form(stack, region):
    response = await stack.get("/api/v1/procedures/juminhyo-copy")
    assert response.status_code == 200
    detail = response.json()
    standard = region.standard("juminhyo-copy")
    assert detail["tenant"] == "kitakata"
    assert detail["name_ja"] == standard.name_ja
    assert [f["name"] for f in detail["fields"]][: len(standard.fields)] == [f.name for f in standard.fields]
    assert detail["contact_phone"]


async def test_town_extra_fields_are_appended(stack, region):
    town = region.town("kitakata")
    offer = next(o for o in town.procedures if o.extra_fields)
    detail = (await stack.get(f"/api/v1/procedures/{offer.code}")).json()
    assert [f["name"] for f in detail["fields"]][-len(offer.extra_fields) :] == [f.name for f in offer.extra_fields]


async def test_category_filter(stack):
    body = (await stack.get("/api/v1/procedures", params={"category": "roads"})).json()
    assert body["items"] and all(item["category"] == "roads" for item in body["items"])


async def test_a_bad_category_is_a_400_naming_the_parameter(stack):
    response = await stack.get("/api/v1/procedures", params={"category": "nonsense"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "category" in response.text


async def test_unknown_procedure_is_a_404_problem(stack):
    response = await stack.get("/api/v1/procedures/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == 404 and problem["code"] == "not_found"
    assert "no-such-thing" in problem["detail"]


async def test_a_procedure_another_town_offers_but_this_one_does_not_is_404(stack, region):
    everything = {p.code for p in region.catalog.procedures}
    for town in region.towns:
        missing = everything - {o.code for o in town.procedures}
        if missing:
            code = sorted(missing)[0]
            response = await stack.get(f"/api/v1/procedures/{code}", headers={"host": f"{town.slug}.localhost"})
            assert response.status_code == 404
            return
    pytest.fail("every town offers every procedure; nothing to test")


@pytest.mark.parametrize("host", ["evil.localhost", "localhost", "kitakata.example.com", "a.kitakata.localhost", ""])
async def test_unknown_host_is_a_404_problem(stack, host):
    response = await stack.get("/api/v1/procedures", headers={"host": host})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "items" not in response.text


async def test_the_council_host_has_a_profile_but_no_catalog(stack):
    profile = await stack.get("/api/v1/tenant", headers={"host": "council.localhost"})
    assert profile.status_code == 200 and profile.json()["kind"] == "council"
    assert (await stack.get("/api/v1/procedures", headers={"host": "council.localhost"})).status_code == 404


async def test_tenant_profile(stack, region):
    body = (await stack.get("/api/v1/tenant", headers={"host": "AizuWakamatsu.localhost:8000"})).json()
    town = region.town("aizuwakamatsu")
    assert body["name_ja"] == town.name_ja and body["code"] == town.code
    assert body["branding"]["primary"] == town.branding.primary


@pytest.mark.parametrize(("proxies", "status"), [(("127.0.0.1/32",), 200), (("127.0.0.2/32",), 404), ((), 404)])
async def test_forwarded_host_is_believed_only_from_a_trusted_proxy(region, nats_url, proxies, status):
    async with gateway_client(region, nats_url, host="gateway.internal", trusted_proxies=proxies) as client:
        response = await client.get("/api/v1/tenant", headers={"x-forwarded-host": "bandai.localhost"})
    assert response.status_code == status
    if status == 200:
        assert response.json()["slug"] == "bandai"


async def test_openapi_lists_the_public_routes(stack):
    spec = (await stack.get("/schema/openapi.json")).json()
    for path in ("/api/v1/tenant", "/api/v1/procedures", "/api/v1/procedures/{code}", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    listing = spec["paths"]["/api/v1/procedures"]["get"]["responses"]["200"]
    assert "ProcedureList" in str(listing)


async def test_the_cached_catalog_serves_the_same_bytes(region, nats_url, procedures_db):
    paths = ["/api/v1/procedures", "/api/v1/procedures?category=roads", "/api/v1/procedures/juminhyo-copy"]
    async with running_procedures(nats_url, procedures_db), gateway_client(region, nats_url) as client:
        uncached = [(await client.get(p)).content for p in paths]
    async with running_procedures(nats_url, procedures_db, catalog_max_age=30):
        async with gateway_client(region, nats_url) as client:
            cached = [(await client.get(p)).content for p in paths]
            assert (await client.get("/api/v1/procedures/no-such-thing")).status_code == 404
    assert cached == uncached
