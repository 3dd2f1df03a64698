"""What the gateway does when the bus or a service fails: a problem, never a stack trace."""

from __future__ import annotations

import time

import msgspec
import nats
import pytest

from contracts import headers as h
from contracts.errors import HTTP_STATUS, ErrorCode, ErrorEnvelope
from tests.conftest import (
    gateway_client,
    running_insights,
    running_notifications,
    running_portal,
    running_procedures,
    same_backend,
)

PROBLEM = "application/problem+json"


async def test_no_service_running_is_a_503_problem_with_retry_after(region, nats_url):
    async with gateway_client(region, nats_url) as client:
        response = await client.get("/api/v1/procedures")
    assert response.status_code == 503 and int(response.headers["retry-after"]) > 0
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "unavailable"
    assert "Traceback" not in response.text


async def test_a_service_that_does_not_answer_is_a_504_within_the_timeout(region, nats_url):
    nc = await nats.connect(nats_url)

    async def swallow(msg) -> None:
        """Receives every request and answers none."""

    await nc.subscribe("aizu.*.procedures.list", cb=swallow)
    await nc.flush()
    try:
        async with gateway_client(region, nats_url, timeout=0.5) as client:
            started = time.monotonic()
            response = await client.get("/api/v1/procedures")
            elapsed = time.monotonic() - started
    finally:
        await nc.close()
    assert response.status_code == 504
    assert response.json()["code"] == "timeout"
    assert "may have been applied" in response.json()["detail"] and "Idempotency-Key" in response.json()["detail"]
    assert elapsed < 2.0


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        (b"{not json", ErrorCode.BAD_REQUEST, "$"),
        (b'{"code": 5}', ErrorCode.VALIDATION, "$.code"),
        (b"[]", ErrorCode.VALIDATION, "$"),
    ],
)
async def test_malformed_json_on_the_bus_gets_an_envelope(nats_url, procedures_db, payload, code, field):
    async with running_procedures(nats_url, procedures_db):
        nc = await nats.connect(nats_url)
        try:
            reply = await nc.request("aizu.kitakata.procedures.get", payload, timeout=2)
        finally:
            await nc.close()
    assert reply.headers[h.SERVICE_ERROR_CODE] == str(HTTP_STATUS[code])  # nats.micro: a status; ours in the body
    envelope = msgspec.json.decode(reply.data, type=ErrorEnvelope)
    assert envelope.code is code
    assert envelope.fields[0].field == field


async def test_an_unreadable_principal_header_is_refused(nats_url, procedures_db):
    async with running_procedures(nats_url, procedures_db):
        nc = await nats.connect(nats_url)
        try:
            reply = await nc.request(
                "aizu.kitakata.procedures.list", b"{}", timeout=2, headers={h.PRINCIPAL: "{forged"}
            )
        finally:
            await nc.close()
    assert reply.headers[h.SERVICE_ERROR_CODE] == "401"


@same_backend
async def test_health_and_readiness(region, nats_url, procedures_db, notifications_db, portal_urls, insights_urls):
    async with gateway_client(region, nats_url, host="127.0.0.1:8000") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        not_ready = await client.get("/readyz")
        assert not_ready.status_code == 503 and not_ready.json()["ready"] is False
        async with running_procedures(nats_url, procedures_db), running_portal(nats_url, portal_urls["sqlite"], region):
            some_missing = await client.get("/readyz")
            async with running_notifications(nats_url, notifications_db, caught_up=False):
                async with running_insights(nats_url, insights_urls["sqlite"], region, caught_up=False):
                    ready = await client.get("/readyz")
    assert some_missing.status_code == 503
    assert ready.status_code == 200
    assert ready.json()["services"] == [
        {"name": name, "instances": 1} for name in ("procedures", "notifications", "portal", "insights")
    ]


async def test_a_body_over_the_limit_is_a_413_problem(region, nats_url):
    async with gateway_client(region, nats_url, max_body_bytes=1000) as client:
        response = await client.post(
            "/api/v1/applications",
            content=b'{"code":"juminhyo-copy","answers":{"purpose":"' + b"x" * 2000 + b'"}}',
            headers={**client.as_user("kitakata.resident"), "idempotency-key": "limit-test-0001",
                     "content-type": "application/json"},
        )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)
