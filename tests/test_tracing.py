"""One request, one trace: the gateway's span and the service's span share a trace id."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.conftest import gateway_client, running_procedures


def _exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_gateway_and_service_spans_share_one_trace(region, nats_url, procedures_db):
    exporter = _exporter()
    async with running_procedures(nats_url, procedures_db), gateway_client(region, nats_url, tracing=True) as client:
        response = await client.get("/api/v1/procedures/juminhyo-copy")
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    service = [s for s in spans if s.name == "procedures.get"]
    gateway = [s for s in spans if s.kind == trace.SpanKind.SERVER and s.name.startswith("GET")]
    assert len(service) == 1 and gateway, [s.name for s in spans]
    trace_ids = {s.context.trace_id for s in gateway}
    assert service[0].context.trace_id in trace_ids
    assert service[0].parent is not None
    assert service[0].parent.span_id in {s.context.span_id for s in spans}
    assert service[0].attributes["messaging.destination.name"] == "aizu.kitakata.procedures.get"
