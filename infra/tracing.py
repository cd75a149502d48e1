"""Traces (OpenTelemetry): with OTEL_EXPORTER_OTLP_ENDPOINT set, every Temporal client call,
workflow and activity becomes a span (temporalio.contrib.opentelemetry), sent over OTLP/HTTP to
the collector under OTEL_SERVICE_NAME. Imported only when tracing is on: the OpenTelemetry SDK
is not light, and most processes never need it.
"""

from __future__ import annotations

from functools import lru_cache

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from core.settings import Settings


def tracing_interceptors(settings: Settings) -> list[Interceptor]:
    """The tracing interceptor when OTEL_EXPORTER_OTLP_ENDPOINT is set, else none."""
    endpoint = settings.otel_exporter_otlp_endpoint
    if endpoint is None:
        return []
    tracer = tracer_provider(endpoint, settings.otel_service_name).get_tracer("smsdesk")
    return [TracingInterceptor(tracer)]


@lru_cache
def tracer_provider(endpoint: str, service_name: str) -> TracerProvider:
    """One provider per process and collector: spans are batched and sent over OTLP/HTTP."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider
