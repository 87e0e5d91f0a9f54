"""OpenTelemetryMiddleware with a real exporter: OTLP over HTTP to a collector.

Needs ``pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http``. The test runs a
stand-in collector on a local port and decodes what the exporter sent it.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio.to_thread
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.middleware.opentelemetry import OpenTelemetryMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route


def telemetry(collector: str) -> tuple[TracerProvider, MeterProvider]:
    """Providers exporting to the OTLP/HTTP collector at ``collector`` (http://host:4318)."""
    resource = Resource.create({"service.name": "shop", "deployment.environment": "production"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{collector}/v1/traces"))
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{collector}/v1/metrics"), export_interval_millis=15_000
    )
    return tracer_provider, MeterProvider(resource=resource, metric_readers=[reader])


async def order(request: Request) -> Response:
    return JSONResponse({"order": request.path_params["id"]})


def build(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> MicroASGI:
    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[None]:
        yield
        # Send the last batch on the way out (shutdown blocks: run it in a worker thread).
        await anyio.to_thread.run_sync(tracer_provider.shutdown)
        await anyio.to_thread.run_sync(meter_provider.shutdown)

    return MicroASGI(
        routes=[Route("/orders/{id}", order)],
        middleware=[
            Middleware(
                OpenTelemetryMiddleware,
                excluded_urls="/health,/ready",
                tracer_provider=tracer_provider,
                meter_provider=meter_provider,
            )
        ],
        lifespan=lifespan,
    )


# In production: app = build(*telemetry("http://otel-collector:4318"))


from microasgi.testclient import AsyncTestClient  # noqa: E402 (the test, after the app)


class Collector(BaseHTTPRequestHandler):
    """A stand-in OTLP/HTTP collector: keeps every export request it is sent."""

    received: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def test_spans_reach_the_collector() -> None:
    received: list[tuple[str, bytes]] = []
    handler = type("Handler", (Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        app = build(*telemetry(f"http://127.0.0.1:{server.server_address[1]}"))
        async with AsyncTestClient(app) as client:  # runs the lifespan: shutdown flushes
            assert (await client.get("/orders/A-17")).json() == {"order": "A-17"}
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    spans = [
        span
        for path, body in received
        if path == "/v1/traces"
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    assert [span.name for span in spans] == ["GET /orders/{id}"]
    assert "/v1/metrics" in {path for path, _ in received}
