"""The OpenAPI document is honest: Schemathesis, against the live gateway and every service, as four
callers, finds no server error and no response the document does not describe.

Checks: every check of Schemathesis's CLI except ``positive_data_acceptance``: a request the schema
allows may still be refused for what no JSON Schema can say (a reference's check digit, the answers a
procedure asks for, a push service we know), and that refusal is a 422 naming the field. So each
response's status, content type, headers and body must be documented; invalid input must be
refused; a route that declares a bearer token must refuse a request without one; nothing may answer
500. No traceback may be logged by the gateway or a service meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from pathlib import Path

import msgspec
import pytest

from gateway.routes.table import ROUTES
from tests.conftest import GatewayClient, gateway_client, running_insights, running_notifications, running_portal, running_procedures

ST = Path(sys.executable).parent / "st"
CALLERS = [None, "kitakata.resident", "kitakata.caseworker", "kitakata.admin"]
#: Examples per operation and phase: enough for every operation's edges, a minute per caller at most.
EXAMPLES = "12"

postgres = pytest.mark.parametrize(
    ("procedures_db", "notifications_db", "portal_db", "insights_db"), [("postgres",) * 4], indirect=True
)


@pytest.fixture
async def everything(nats_url: str, procedures_db: str, notifications_db: str, portal_db: str, insights_db: str, region) -> GatewayClient:
    async with running_procedures(nats_url, procedures_db), running_notifications(nats_url, notifications_db):
        async with running_portal(nats_url, portal_db, region), running_insights(nats_url, insights_db, region):
            async with gateway_client(region, nats_url, host="kitakata.localhost") as client:
                yield client


@postgres
@pytest.mark.parametrize("caller", CALLERS, ids=[c or "anonymous" for c in CALLERS])
async def test_the_live_api_answers_as_its_openapi_says(
    everything: GatewayClient, caller: str | None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    headers = ["-H", "Host: kitakata.localhost"]
    if caller:
        headers += ["-H", f"Authorization: Bearer {everything.token(caller)}"]
    caplog.set_level(logging.ERROR)
    process = await asyncio.create_subprocess_exec(
        str(ST), "run", f"http://127.0.0.1:{everything.port}/schema/openapi.json", *headers,
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--phases", "examples,coverage,fuzzing", "--max-examples", EXAMPLES, "--seed", "20261204",
        "--workers", "1", "--request-timeout", "10",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-20_000:]
    assert " passed" in text and "generated" in text, text[-5_000:]
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [f"{r.name}: {r.getMessage()}" for r in tracebacks]


async def test_options_lists_every_method_of_a_path(stack: GatewayClient) -> None:
    """Litestar 2 listed only the first handler's methods (GET /api/v1/broadcasts was missing)."""
    for path, methods in {"/api/v1/broadcasts": "GET, OPTIONS, POST", "/api/v1/notice-rules": "GET, OPTIONS, POST",
                          "/open311/v2/requests.json": "GET, OPTIONS, POST", "/api/v1/procedures": "GET, OPTIONS"}.items():
        answer = await stack.options(path)
        assert answer.status_code == 204 and answer.headers["allow"] == methods, (path, answer.headers)


async def test_errors_and_sign_in_are_documented(stack: GatewayClient) -> None:
    document = (await stack.get("/schema/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    submit = document["paths"]["/api/v1/applications"]["post"]
    assert submit["security"] == [{"bearer": []}]
    assert {"400", "401", "403", "404", "409", "413", "422", "500", "503", "504"} <= submit["responses"].keys()
    assert submit["responses"]["422"]["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    catalog = document["paths"]["/api/v1/procedures"]["get"]
    assert catalog["security"] == [] and "401" not in catalog["responses"]
    report = document["paths"]["/open311/v2/requests.json"]["post"]["responses"]["400"]["content"]
    assert report["application/json"]["schema"]["items"] == {"$ref": "#/components/schemas/Open311Error"}
    ready = document["paths"]["/readyz"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]
    assert ready == {"$ref": "#/components/schemas/Readiness"}
    assert '"securitySchemes"' in (await stack.get("/schema/swagger")).text  # the docs page embeds the same


async def test_every_declared_route_documents_its_contracts(stack: GatewayClient) -> None:
    """The routes of gateway/routes/table.py: each 2xx response's schema is the reply contract the
    row names, each body's the body contract, each GET's query the request's fields with their bounds."""
    document = (await stack.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert len(ROUTES) >= 30

    def ref(struct: type) -> dict[str, str]:
        assert struct.__name__ in schemas, struct
        return {"$ref": f"#/components/schemas/{struct.__name__}"}

    for route in ROUTES:
        path = re.sub(r"{(\w+):str}", r"{\1}", route.path)
        operation = document["paths"][path][route.method.lower()]
        reply = operation["responses"][str(route.status)]["content"]["application/json"]["schema"]
        assert reply == ref(route.reply), (route.name, reply)
        if route.body is not None:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            expected = ref(route.body)
            assert body == expected or expected in body.get("oneOf", []), (route.name, body)
        if route.method == "GET":
            query = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
            fields = {f.name for f in msgspec.structs.fields(route.request)} - set(route.path_fields.values()) - set(route.path_params)
            assert set(query) == fields, (route.name, set(query), fields)
    limit = {p["name"]: p for p in document["paths"]["/api/v1/inbox"]["get"]["parameters"]}["limit"]["schema"]
    assert (limit.get("minimum"), limit.get("maximum")) == (1, 200), limit  # the contract's own bounds


async def test_a_path_value_the_contract_refuses_is_named_as_the_path_names_it(stack: GatewayClient) -> None:
    """An id longer than the contract allows is refused before the bus, under the URL's own name."""
    staff = {**stack.as_user("kitakata.admin")}
    refused = await stack.delete(f"/api/v1/webhooks/{'x' * 40}", headers=staff)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "webhook_id"
    other_town = await stack.delete(f"/api/v1/webhooks/{'x' * 40}", headers=stack.as_user("aizuwakamatsu.admin"))
    assert other_town.status_code == 403
