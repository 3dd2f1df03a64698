"""Every response carries the security headers, whichever route (or none) made it."""

from __future__ import annotations

from gateway.headers import DEFAULT_HTML_POLICY, HSTS
from tests.conftest import gateway_client


async def test_every_response_is_nosniff_with_a_referrer_policy_and_no_hsts_in_development(region, nats_url):
    async with gateway_client(region, nats_url) as client:
        for path in ("/api/v1/procedures", "/api/v1/no-such-route", "/healthz", "/schema/openapi.json"):
            response = await client.get(path)
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert response.headers["referrer-policy"], path
            assert "strict-transport-security" not in response.headers, path  # plain http on a developer's machine
        docs = await client.get("/schema/swagger")
        assert docs.status_code == 200 and "frame-ancestors 'none'" in docs.headers["content-security-policy"]


async def test_production_sends_hsts_and_serves_no_docs_page(region, nats_url):
    async with gateway_client(region, nats_url, development=False, dev_issuer=False) as client:
        response = await client.get("/api/v1/procedures")
        assert response.headers["strict-transport-security"] == HSTS
        assert (await client.get("/schema/openapi.json")).status_code == 200
        docs = await client.get("/schema/swagger")  # Swagger UI would load scripts from a CDN
        assert docs.status_code == 404 and "cdn.jsdelivr" not in docs.text


def test_html_without_its_own_policy_runs_no_script_and_cannot_be_framed():
    assert "default-src 'none'" in DEFAULT_HTML_POLICY and "frame-ancestors 'none'" in DEFAULT_HTML_POLICY
    assert "script-src" not in DEFAULT_HTML_POLICY
