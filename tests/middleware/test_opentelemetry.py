"""``OpenTelemetryMiddleware`` and ``OpenTelemetryRouteMiddleware``, checked with the SDK's in-memory
span exporter and metric reader."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware as GenericMiddleware
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.middleware import Middleware as StarletteMiddleware
from starlette.middleware.opentelemetry import (
    OpenTelemetryMiddleware as StarletteOpenTelemetryMiddleware,
)
from starlette.routing import Route as StarletteRoute

from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.middleware import Middleware
from microasgi.middleware.opentelemetry import (
    OpenTelemetryMiddleware,
    OpenTelemetryRouteMiddleware,
)
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Mount, Route, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send
from microasgi.websockets import WebSocket


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def span(self) -> ReadableSpan:
        (span,) = self.finished()
        return span

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Telemetry(spans, reader, tracer_provider, meter_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()


async def user(request: Request) -> Response:
    return PlainTextResponse(f"user {request.path_params['id']}")


async def boom(request: Request) -> Response:
    raise RuntimeError("boom")


async def unavailable(request: Request) -> Response:
    return PlainTextResponse("down", status_code=503)


async def teapot(request: Request) -> Response:
    raise HTTPException(418)


async def files(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("a file")(scope, receive, send)


ROUTES = [
    Route("/users/{id:int}", user),
    Route("/boom", boom),
    Route("/unavailable", unavailable),
    Route("/teapot", teapot),
    Mount("/api/{version}", routes=[Route("/users/{id:int}", user, methods=["GET"])]),
    Mount("/static", app=files),
]


def traced_app(telemetry: Telemetry, **options: Any) -> MicroASGI:
    return MicroASGI(
        routes=ROUTES,
        middleware=[
            Middleware(
                OpenTelemetryMiddleware,
                tracer_provider=telemetry.tracer_provider,
                meter_provider=telemetry.meter_provider,
                **options,
            )
        ],
    )


async def test_a_span_per_request_named_after_the_route(telemetry: Telemetry) -> None:
    client = AsyncTestClient(traced_app(telemetry), root_path="/prefix")
    response = await client.get(
        "/prefix/users/3?x=1", headers={"user-agent": "tests/1.0", "host": "example.org:8080"}
    )
    assert response.text == "user 3"
    span = telemetry.span()
    assert span.name == "GET /users/{id}"
    assert span.kind is SpanKind.SERVER
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "microasgi"
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": "/prefix/users/3",
        "url.scheme": "http",
        "url.query": "x=1",
        "server.address": "example.org",
        "server.port": 8080,
        "network.protocol.version": "1.1",
        "client.address": "testclient",
        "user_agent.original": "tests/1.0",
        "http.response.status_code": 200,
        "http.route": "/users/{id}",
    }
    assert span.status.status_code is StatusCode.UNSET


async def test_the_route_never_holds_a_parameter_value(telemetry: Telemetry) -> None:
    client = AsyncTestClient(traced_app(telemetry), root_path="/t/acme")
    assert (await client.get("/t/acme/api/v2/users/7")).text == "user 7"
    span = telemetry.span()
    assert span.name == "GET /api/{version}/users/{id}"
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/api/{version}/users/{id}"


async def test_a_mounted_app_is_named_by_its_prefix(telemetry: Telemetry) -> None:
    client = AsyncTestClient(traced_app(telemetry))
    assert (await client.get("/static/css/site.css")).text == "a file"
    assert telemetry.span().name == "GET /static"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("POST", "/api/v1/users/1", 405),
        ("GET", "/api/v1/nowhere", 404),
    ],
)
async def test_no_route_is_named_by_the_method_alone(
    telemetry: Telemetry, method: str, path: str, status: int
) -> None:
    client = AsyncTestClient(traced_app(telemetry))
    assert (await client.request(method, path)).status_code == status
    span = telemetry.span()
    assert span.name == method
    assert span.attributes is not None
    assert "http.route" not in span.attributes
    assert span.attributes["http.response.status_code"] == status
    assert span.status.status_code is StatusCode.UNSET  # a 4xx is the client's error
    (point,) = telemetry.points("http.server.request.duration")
    assert "http.route" not in point.attributes


async def test_an_unknown_method_is_other(telemetry: Telemetry) -> None:
    client = AsyncTestClient(traced_app(telemetry))
    await client.request("PURGE", "/users/1")
    span = telemetry.span()
    assert span.name == "HTTP"
    assert span.attributes is not None
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "PURGE"


async def test_a_lowercase_method_is_reported_with_its_original(telemetry: Telemetry) -> None:
    app = OpenTelemetryMiddleware(
        MicroASGI(routes=ROUTES), tracer_provider=telemetry.tracer_provider
    )
    scope = {
        "type": "http",
        "method": "get",
        "path": "/users/1",
        "headers": [],
        "query_string": b"",
    }
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    span = telemetry.span()
    assert span.attributes is not None
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.request.method_original"] == "get"
    # Without a Host header or server, no server.address; without a client, no client.address.
    assert "server.address" not in span.attributes
    assert "client.address" not in span.attributes


async def test_a_server_error_response_marks_the_span(telemetry: Telemetry) -> None:
    client = AsyncTestClient(traced_app(telemetry))
    assert (await client.get("/unavailable")).status_code == 503
    span = telemetry.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "503"
    (point,) = telemetry.points("http.server.request.duration")
    assert point.attributes["error.type"] == "503"


async def test_an_http_exception_is_an_answer_not_an_error(telemetry: Telemetry) -> None:
    client = AsyncTestClient(traced_app(telemetry))
    assert (await client.get("/teapot")).status_code == 418
    span = telemetry.span()
    assert span.name == "GET /teapot"
    assert span.status.status_code is StatusCode.UNSET
    assert not span.events


async def test_an_exception_is_recorded_and_raised(telemetry: Telemetry) -> None:
    client = AsyncTestClient(traced_app(telemetry))
    with pytest.raises(RuntimeError, match="boom"):
        await client.get("/boom")
    span = telemetry.span()
    assert span.name == "GET /boom"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "RuntimeError"
    assert span.attributes["http.route"] == "/boom"
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "RuntimeError"
    (point,) = telemetry.points("http.server.request.duration")
    assert point.attributes["error.type"] == "RuntimeError"
    assert "http.response.status_code" not in point.attributes  # the 500 is sent further out


async def test_wrapping_the_whole_app_sees_the_500(telemetry: Telemetry) -> None:
    app = OpenTelemetryMiddleware(
        MicroASGI(routes=ROUTES),
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
    )
    client = AsyncTestClient(app, raise_server_exceptions=False)
    assert (await client.get("/boom")).status_code == 500
    span = telemetry.span()
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 500
    assert span.attributes["error.type"] == "RuntimeError"


async def test_request_metrics(telemetry: Telemetry) -> None:
    seen: list[list[Any]] = []

    async def watched(request: Request) -> Response:
        seen.append(telemetry.points("http.server.active_requests"))
        return PlainTextResponse("ok")

    app = MicroASGI(
        routes=[Route("/items/{id}", watched)],
        middleware=[
            Middleware(
                OpenTelemetryMiddleware,
                tracer_provider=telemetry.tracer_provider,
                meter_provider=telemetry.meter_provider,
            )
        ],
    )
    client = AsyncTestClient(app)
    await client.get("/items/1")
    await client.get("/items/2")
    (active,) = seen[0]  # while the first request ran
    assert active.value == 1
    assert dict(active.attributes) == {"http.request.method": "GET", "url.scheme": "http"}
    (after,) = telemetry.points("http.server.active_requests")
    assert after.value == 0
    (point,) = telemetry.points("http.server.request.duration")
    assert isinstance(point, HistogramDataPoint)
    assert point.count == 2
    assert dict(point.attributes or {}) == {
        "http.request.method": "GET",
        "url.scheme": "http",
        "network.protocol.version": "1.1",
        "http.response.status_code": 200,
        "http.route": "/items/{id}",
    }
    assert list(point.explicit_bounds) == [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    ]  # fmt: skip


async def test_a_streamed_response_is_measured_to_its_end(telemetry: Telemetry) -> None:
    ended: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b"one "
        yield b"two"
        # The span must still be open here, after the last chunk was produced.
        assert not telemetry.finished()
        ended.append(time.time_ns())

    async def stream(request: Request) -> Response:
        return StreamingResponse(chunks())

    app = MicroASGI(
        routes=[Route("/stream", stream)],
        middleware=[Middleware(OpenTelemetryMiddleware, tracer_provider=telemetry.tracer_provider)],
    )
    assert (await AsyncTestClient(app).get("/stream")).text == "one two"
    span = telemetry.span()
    assert span.end_time is not None
    assert span.end_time >= ended[0]


async def test_a_websocket_session_is_one_span_to_its_end(telemetry: Telemetry) -> None:
    ended: list[int] = []

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.receive_text()
        assert not telemetry.finished()
        ended.append(time.time_ns())

    app = MicroASGI(
        routes=[Mount("/rooms", routes=[WebSocketRoute("/{room}", echo)])],
        middleware=[
            Middleware(
                OpenTelemetryMiddleware,
                tracer_provider=telemetry.tracer_provider,
                meter_provider=telemetry.meter_provider,
            )
        ],
    )
    async with AsyncTestClient(app).websocket_connect("/rooms/lobby") as ws:
        await ws.send_text("hi")
        assert await ws.receive_text() == "hi"
        await ws.send_text("bye")
    span = telemetry.span()
    assert span.name == "GET /rooms/{room}"
    assert span.attributes is not None
    assert span.attributes["url.scheme"] == "ws"
    assert span.attributes["http.response.status_code"] == 101
    assert span.attributes["http.route"] == "/rooms/{room}"
    assert span.end_time is not None
    assert span.end_time >= ended[0]
    # Sessions are spans only: no request metrics.
    assert telemetry.points("http.server.request.duration") == []


async def test_a_websocket_refused_before_accept_is_a_403(telemetry: Telemetry) -> None:
    async def refuse(websocket: WebSocket) -> None:
        await websocket.close()

    app = OpenTelemetryMiddleware(
        MicroASGI(routes=[WebSocketRoute("/ws", refuse)]),
        tracer_provider=telemetry.tracer_provider,
    )
    with pytest.raises(Exception):  # noqa: B017, PT011 - the test client's refusal
        async with AsyncTestClient(app).websocket_connect("/ws"):
            pass  # pragma: no cover
    span = telemetry.span()
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 403


async def test_the_incoming_trace_context_is_the_parent(telemetry: Telemetry) -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    parent = "b7ad6b7169203331"
    client = AsyncTestClient(traced_app(telemetry))
    await client.get("/users/1", headers={"traceparent": f"00-{trace_id}-{parent}-01"})
    span = telemetry.span()
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == parent


@pytest.mark.parametrize("excluded", ["/health, /metrics$", ["/health", "/metrics$"]])
async def test_excluded_urls(telemetry: Telemetry, excluded: Any) -> None:
    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = MicroASGI(
        routes=[Route("/health", ok), Route("/metrics", ok), Route("/other", ok)],
        middleware=[
            Middleware(
                OpenTelemetryMiddleware,
                excluded_urls=excluded,
                tracer_provider=telemetry.tracer_provider,
            )
        ],
    )
    client = AsyncTestClient(app)
    for path in ("/health", "/metrics", "/other"):
        assert (await client.get(path)).text == "ok"
    assert [span.name for span in telemetry.finished()] == ["GET /other"]


async def test_an_empty_exclusion_string_excludes_nothing(telemetry: Telemetry) -> None:
    await AsyncTestClient(traced_app(telemetry, excluded_urls="")).get("/users/1")
    assert telemetry.span().name == "GET /users/{id}"


async def test_a_no_op_tracer_provider_turns_it_off() -> None:
    app = MicroASGI(
        routes=ROUTES,
        middleware=[
            Middleware(OpenTelemetryMiddleware, tracer_provider=trace.NoOpTracerProvider())
        ],
    )
    assert (await AsyncTestClient(app).get("/users/1")).text == "user 1"


async def test_nested_twice_makes_one_span(telemetry: Telemetry) -> None:
    inner = traced_app(telemetry)
    outer = MicroASGI(
        routes=[Mount("/inner", app=inner)],
        middleware=[Middleware(OpenTelemetryMiddleware, tracer_provider=telemetry.tracer_provider)],
    )
    assert (await AsyncTestClient(outer).get("/inner/users/2")).text == "user 2"
    assert [span.name for span in telemetry.finished()] == ["GET /inner/users/{id}"]


async def test_the_global_providers_by_default(telemetry: Telemetry) -> None:
    # No provider given: the global ones (here the API's defaults, which record nothing).
    app = MicroASGI(routes=ROUTES, middleware=[Middleware(OpenTelemetryMiddleware)])
    assert (await AsyncTestClient(app).get("/users/1")).text == "user 1"
    assert telemetry.finished() == []


async def test_lifespan_passes_through(telemetry: Telemetry) -> None:
    started: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        started.append(True)
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    wrapped = OpenTelemetryMiddleware(app, tracer_provider=telemetry.tracer_provider)
    async with AsyncTestClient(wrapped):
        pass
    assert started == [True]
    assert telemetry.finished() == []


# --- opentelemetry-instrumentation-asgi, with the route middleware ---------------------------


def generic_app(telemetry: Telemetry) -> GenericMiddleware:
    app = MicroASGI(routes=ROUTES, middleware=[Middleware(OpenTelemetryRouteMiddleware)])
    return GenericMiddleware(
        app,
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        exclude_spans=["receive", "send"],
    )


async def test_the_generic_middleware_gets_the_route(telemetry: Telemetry) -> None:
    client = AsyncTestClient(generic_app(telemetry), root_path="/t/acme")
    assert (await client.get("/t/acme/api/v2/users/5")).text == "user 5"
    span = telemetry.span()
    assert span.name == "GET /api/{version}/users/{id}"
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/api/{version}/users/{id}"


async def test_the_generic_middleware_names_a_404_by_its_method(telemetry: Telemetry) -> None:
    client = AsyncTestClient(generic_app(telemetry))
    assert (await client.get("/no/such/page")).status_code == 404
    span = telemetry.span()
    assert span.name == "GET"  # not "GET /no/such/page": one series, not one per path
    assert span.attributes is not None
    assert "http.route" not in span.attributes


async def test_the_generic_middleware_gets_the_route_of_a_failed_request(
    telemetry: Telemetry,
) -> None:
    client = AsyncTestClient(generic_app(telemetry), raise_server_exceptions=False)
    assert (await client.get("/boom")).status_code == 500
    span = telemetry.span()
    assert span.name == "GET /boom"


async def test_the_generic_middleware_gets_the_route_of_a_websocket(telemetry: Telemetry) -> None:
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())

    app = GenericMiddleware(
        MicroASGI(
            routes=[WebSocketRoute("/ws/{room}", echo)],
            middleware=[Middleware(OpenTelemetryRouteMiddleware)],
        ),
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        exclude_spans=["receive", "send"],
    )
    async with AsyncTestClient(app).websocket_connect("/ws/lobby") as ws:
        await ws.send_text("hi")
        assert await ws.receive_text() == "hi"
    span = telemetry.span()
    assert span.name == "GET /ws/{room}"


async def test_the_route_middleware_passes_lifespan_through(telemetry: Telemetry) -> None:
    app = MicroASGI(routes=ROUTES, middleware=[Middleware(OpenTelemetryRouteMiddleware)])
    async with AsyncTestClient(app) as client:
        assert (await client.get("/users/4")).text == "user 4"


async def test_the_route_middleware_without_a_span_changes_nothing() -> None:
    app = MicroASGI(routes=ROUTES, middleware=[Middleware(OpenTelemetryRouteMiddleware)])
    assert (await AsyncTestClient(app).get("/users/4")).text == "user 4"


async def test_messages_before_the_answer_and_a_host_without_port(telemetry: Telemetry) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.debug", "info": {}})  # no status yet
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request"}  # pragma: no cover

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"host", b"example.org")],
        "query_string": b"",
    }
    await OpenTelemetryMiddleware(app, tracer_provider=telemetry.tracer_provider)(
        scope, receive, send
    )
    assert [message["type"] for message in sent] == [
        "http.response.debug",
        "http.response.start",
        "http.response.body",
    ]
    span = telemetry.span()
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 204
    assert span.attributes["server.address"] == "example.org"
    assert "server.port" not in span.attributes  # neither the Host header nor the scope says
    assert "network.protocol.version" not in span.attributes


# --- the same telemetry as Starlette 1.10's middleware ---------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/users/3?x=1", {"user-agent": "tests/1.0", "host": "example.org:8080"}),
        ("GET", "/nowhere", {}),  # 404: named by the method
        ("GET", "/unavailable", {"host": "example.org"}),  # 5xx: error.type, status ERROR
        ("DELETE", "/gone", {}),  # a 4xx: the client's error
        ("get", "/users/4", {}),  # a lowercase method, reported with its original
    ],
)
async def test_spans_as_starlette_names_them(
    telemetry: Telemetry, method: str, path: str, headers: dict[str, str]
) -> None:
    async def gone(request: Any) -> Response:
        return PlainTextResponse("gone", status_code=410)

    endpoints = [("/users/{id:int}", user), ("/unavailable", unavailable), ("/gone", gone)]
    theirs = Starlette(
        routes=[StarletteRoute(p, e, methods=["GET", "DELETE"]) for p, e in endpoints],
        middleware=[
            StarletteMiddleware(
                StarletteOpenTelemetryMiddleware, tracer_provider=telemetry.tracer_provider
            )
        ],
    )
    ours = MicroASGI(
        routes=[Route(p, e, methods=["GET", "DELETE"]) for p, e in endpoints],
        middleware=[Middleware(OpenTelemetryMiddleware, tracer_provider=telemetry.tracer_provider)],
    )
    statuses = []
    for app in (theirs, ours):
        response = await AsyncTestClient(app).request(method, path, headers=headers)
        statuses.append(response.status_code)
    starlette_span, our_span = telemetry.finished()
    assert statuses[0] == statuses[1]
    assert our_span.name == starlette_span.name
    assert our_span.kind is starlette_span.kind is SpanKind.SERVER
    assert dict(our_span.attributes or {}) == dict(starlette_span.attributes or {})
    assert our_span.status.status_code is starlette_span.status.status_code
