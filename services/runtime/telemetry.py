"""OpenTelemetry set up once per process, and W3C trace context carried in NATS headers.

There is no contrib instrumentation for NATS, so propagation is done here: the gateway injects
``traceparent`` into the request headers, the service extracts it and opens its span as a child.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services.runtime.settings import TelemetrySettings

_PROPAGATOR = TraceContextTextMapPropagator()
_configured = False


def setup(service_name: str, settings: TelemetrySettings) -> None:
    """Install a tracer and meter provider, once per process.

    With ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, spans and metrics go to that collector; with
    ``OTEL_TRACES_EXPORTER=console`` they are printed; otherwise the no-op API stays in place,
    which costs nearly nothing on the hot path.
    """
    global _configured
    if _configured:
        return
    _configured = True
    if not settings.exporting:
        return
    resource = Resource.create({"service.name": settings.service_name or service_name})
    provider = TracerProvider(resource=resource)
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        metrics.set_meter_provider(
            MeterProvider(resource=resource, metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())])
        )
    else:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)


def recording() -> bool:
    """Whether a real tracer provider is installed (by :func:`setup` or by a test)."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def inject(headers: MutableMapping[str, str]) -> None:
    """Write the current trace context into outgoing NATS headers."""
    _PROPAGATOR.inject(headers)


def extract(headers: Mapping[str, str] | None) -> Context:
    """The trace context an incoming NATS message carries (empty when it carries none)."""
    return _PROPAGATOR.extract(headers or {})


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def meter(name: str) -> metrics.Meter:
    return metrics.get_meter(name)
