"""OpenTelemetryMiddleware in an application: spans named after the route, and HTTP metrics.

The providers are set up once, at start; here with the SDK's in-memory exporter and reader so the
test can look at what was recorded (production code passes an OTLP exporter instead).
"""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.middleware.opentelemetry import OpenTelemetryMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Mount, Route


def providers(exporter: SpanExporter, reader: MetricReader) -> tuple[TracerProvider, MeterProvider]:
    """The tracer and meter providers, sending what they record to ``exporter`` and ``reader``."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider, MeterProvider(metric_readers=[reader])


async def user(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["id"]})


def build(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> MicroASGI:
    return MicroASGI(
        routes=[Mount("/api/{version}", routes=[Route("/users/{id:int}", user)])],
        middleware=[
            Middleware(
                OpenTelemetryMiddleware,
                excluded_urls="/health",
                tracer_provider=tracer_provider,
                meter_provider=meter_provider,
            )
        ],
    )


from microasgi.testclient import AsyncTestClient  # noqa: E402 (the test, after the app)


async def test_spans_and_metrics() -> None:
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider, meter_provider = providers(exporter, reader)
    client = AsyncTestClient(build(tracer_provider, meter_provider))
    assert (await client.get("/api/v2/users/7")).json() == {"id": 7}
    assert (await client.get("/api/v2/nobody")).status_code == 404

    found, missing = exporter.get_finished_spans()
    assert found.name == "GET /api/{version}/users/{id}"  # never /api/v2/users/7
    assert found.attributes is not None
    assert found.attributes["http.route"] == "/api/{version}/users/{id}"
    assert found.attributes["http.response.status_code"] == 200
    assert missing.name == "GET"  # no route: the method alone, no http.route
    assert missing.attributes is not None
    assert "http.route" not in missing.attributes

    data = reader.get_metrics_data()
    assert data is not None
    names = {m.name for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics}
    assert names == {"http.server.request.duration", "http.server.active_requests"}
    tracer_provider.shutdown()
    meter_provider.shutdown()
