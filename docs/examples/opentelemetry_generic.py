"""opentelemetry-instrumentation-asgi's middleware around an app, with OpenTelemetryRouteMiddleware
inside: its spans get microasgi's route template instead of the raw path."""

from __future__ import annotations

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.middleware.opentelemetry import OpenTelemetryRouteMiddleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient


async def order(request: Request) -> Response:
    return PlainTextResponse(f"order {request.path_params['id']}")


exporter = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))

app = OpenTelemetryMiddleware(
    MicroASGI(
        routes=[Route("/orders/{id}", order)],
        middleware=[Middleware(OpenTelemetryRouteMiddleware)],  # first: inside the span
    ),
    tracer_provider=tracer_provider,
    exclude_spans=["receive", "send"],
)


async def test_the_span_is_named_after_the_route() -> None:
    exporter.clear()
    assert (await AsyncTestClient(app).get("/orders/A-17")).text == "order A-17"
    (span,) = exporter.get_finished_spans()
    assert span.name == "GET /orders/{id}"  # without the route middleware: "GET /orders/A-17"
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/orders/{id}"
