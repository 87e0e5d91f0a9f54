"""OpenTelemetry server spans and HTTP metrics: ``OpenTelemetryMiddleware`` (Starlette 1.10's
names), and ``OpenTelemetryRouteMiddleware`` for ``opentelemetry-instrumentation-asgi``.

Needs the optional extra ``opentelemetry`` (``pip install microasgi[opentelemetry]``, which brings
``opentelemetry-api``); the SDK and an exporter are the application's choice.

Spans are named ``METHOD template`` (``GET /users/{id}``) with ``http.route`` set from
``microasgi.routing.get_route_template``: never a real parameter value, whatever the mounts and
``root_path``. A request no route took (404, 405) is named by its method alone, without
``http.route``, as the semantic conventions ask.
"""

from __future__ import annotations

import importlib.metadata
import re
import time
from collections.abc import Sequence

try:
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover - the error users see without the extra
    raise ImportError(
        "OpenTelemetryMiddleware needs the opentelemetry-api package. Install it with "
        "pip install 'microasgi[opentelemetry]'."
    ) from None

from microasgi._routing.templates import get_route_template
from microasgi.datastructures import URL
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["OpenTelemetryMiddleware", "OpenTelemetryRouteMiddleware"]

try:
    _VERSION: str | None = importlib.metadata.version("microasgi")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
    _VERSION = None

# SPEC: the semantic conventions' advice for http.server.request.duration, in seconds.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
# SPEC: the methods of RFC 9110 and PATCH (RFC 5789). Any other is reported as "_OTHER", with the
# original in http.request.method_original: a client must not be able to create a metric series
# per made-up method.
_KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)
# The messages that answer a request: the route is known when one of them is sent.
_ANSWERS = frozenset(
    {"http.response.start", "websocket.accept", "websocket.close", "websocket.http.response.start"}
)
_GUARD = "microasgi.opentelemetry"
# The request attributes the metrics carry (besides status, route and error, known later).
_METRIC_KEYS = ("http.request.method", "url.scheme", "network.protocol.version")
_ACTIVE_KEYS = ("http.request.method", "url.scheme")


class OpenTelemetryMiddleware:
    """Create OpenTelemetry server spans and HTTP server metrics for incoming requests.

    A span of kind ``SERVER`` covers each request, from the first byte the app sees to the end of
    the response (a streamed one to its last chunk), and each websocket session to its end. Its
    parent is the trace context the client sent (``traceparent``, through the configured
    propagator). It is named ``METHOD template`` once routing is done (``GET /users/{id}``; the
    method alone when no route took the request) and carries the semantic conventions'
    attributes: ``http.request.method``, ``url.path``, ``url.scheme``, ``url.query``,
    ``server.address``, ``server.port``, ``network.protocol.version``, ``client.address``,
    ``user_agent.original``, ``http.response.status_code`` and ``http.route``. A websocket is the
    ``GET`` it upgrades: its status is 101 when accepted, 403 when closed before that.

    Errors are recorded: an exception leaving the app becomes an ``exception`` event, sets
    ``error.type`` to its class name and the span's status to ERROR (and is re-raised); a 5xx
    response sets ``error.type`` to the status code and the status to ERROR.

    Metrics, for HTTP requests: ``http.server.request.duration`` (a histogram, in seconds, with
    the conventions' buckets; attributes ``http.request.method``, ``url.scheme``,
    ``network.protocol.version``, ``http.response.status_code``, ``http.route``, ``error.type``)
    and ``http.server.active_requests`` (an up-down counter; ``http.request.method``,
    ``url.scheme``). Websocket sessions are spans only: their hours-long durations would swamp
    request latencies (``opentelemetry-instrumentation-asgi`` leaves them out too).

    Args:
        app: the ASGI app to wrap.
        excluded_urls: regular expressions searched in the full request URL; a request that
            matches one gets no span and no metrics. A comma-separated string or a sequence.
        tracer_provider: the tracer provider; default the global one. A ``NoOpTracerProvider``
            turns the middleware off.
        meter_provider: the meter provider; default the global one.

    Raises:
        re.error: a pattern of ``excluded_urls`` is not a valid regular expression.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        excluded_urls: str | Sequence[str] = (),
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self.app = app
        if isinstance(excluded_urls, str):
            excluded_urls = [part.strip() for part in excluded_urls.split(",") if part.strip()]
        self._excluded_urls = tuple(re.compile(pattern) for pattern in excluded_urls)
        self._tracer_provider = tracer_provider or trace.get_tracer_provider()
        self._tracer = self._tracer_provider.get_tracer("microasgi", _VERSION)
        meter = (meter_provider or metrics.get_meter_provider()).get_meter("microasgi", _VERSION)
        self._duration = meter.create_histogram(
            "http.server.request.duration",
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._active = meter.create_up_down_counter(
            "http.server.active_requests",
            unit="{request}",
            description="Number of active HTTP server requests.",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if (
            scope_type not in ("http", "websocket")
            or scope.get(_GUARD)
            or isinstance(self._tracer_provider, trace.NoOpTracerProvider)
        ):
            await self.app(scope, receive, send)
            return
        url = URL(scope=scope)
        if self._excluded_urls and any(p.search(str(url)) for p in self._excluded_urls):
            await self.app(scope, receive, send)
            return
        # Set on the scope itself, so the same middleware again further in (on a mounted app)
        # adds no second span; removed on the way out.
        scope[_GUARD] = True
        try:
            await self._traced(scope, receive, send, url)
        finally:
            del scope[_GUARD]

    async def _traced(self, scope: Scope, receive: Receive, send: Send, url: URL) -> None:
        is_http = scope["type"] == "http"
        method, original = _method(scope)
        headers: dict[str, list[str]] = {}
        for key, value in scope.get("headers", ()):
            headers.setdefault(key.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        attributes = _request_attributes(scope, url, method, original, headers)
        # The metrics' attributes: the conventions' low-cardinality subset.
        measured = {key: attributes[key] for key in _METRIC_KEYS if key in attributes}
        active = {key: attributes[key] for key in _ACTIVE_KEYS}
        name = "HTTP" if method == "_OTHER" else method
        start = time.perf_counter()
        if is_http:
            self._active.add(1, active)
        with self._tracer.start_as_current_span(
            name, context=propagate.extract(headers), kind=SpanKind.SERVER, attributes=attributes
        ) as span:

            async def send_with_telemetry(message: Message) -> None:
                if "http.response.status_code" not in measured:
                    code = _status_of(message)
                    if code is not None:
                        measured["http.response.status_code"] = code
                        span.set_attribute("http.response.status_code", code)
                        if code >= 500:
                            measured["error.type"] = str(code)
                            span.set_attribute("error.type", str(code))
                            span.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, send_with_telemetry)
            except Exception as exc:
                measured["error.type"] = type(exc).__qualname__
                span.set_attribute("error.type", measured["error.type"])
                raise
            finally:
                template = _name_span(span, scope, name)
                if is_http:
                    self._active.add(-1, active)
                    if template is not None:
                        measured["http.route"] = template
                    self._duration.record(max(time.perf_counter() - start, 0.0), measured)


class OpenTelemetryRouteMiddleware:
    """Give the server span of another instrumentation the route: ``http.route`` and the name
    ``METHOD template`` (the method alone when no route took the request).

    For ``opentelemetry-instrumentation-asgi``, whose ``OpenTelemetryMiddleware`` names spans by
    the raw path (``GET /users/3``) because it cannot see microasgi's routes: wrap the app with
    it as usual and add this one inside, as the first of the app's middleware. It changes the
    span that is current while the app runs, when the response starts (the route is known then,
    and that instrumentation ends its span with the response's last message), or when the app
    returns or raises without answering.

    That instrumentation's metrics are recorded from attributes it gathers before the app runs,
    so they stay without ``http.route``; ``OpenTelemetryMiddleware`` of this module records it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        named = False
        method, _ = _method(scope)
        name = "HTTP" if method == "_OTHER" else method

        async def send_naming_span(message: Message) -> None:
            nonlocal named
            if not named and message["type"] in _ANSWERS:
                named = True
                _name_span(trace.get_current_span(), scope, name)
            await send(message)

        try:
            await self.app(scope, receive, send_naming_span)
        finally:
            if not named:
                _name_span(trace.get_current_span(), scope, name)


def _request_attributes(
    scope: Scope, url: URL, method: str, original: str | None, headers: dict[str, list[str]]
) -> dict[str, str | int]:
    """The semantic conventions' attributes of the request, known before the app runs."""
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.path": scope.get("path", ""),
        "url.scheme": scope.get("scheme") or ("http" if scope["type"] == "http" else "ws"),
    }
    if original is not None:
        attributes["http.request.method_original"] = original
    if url.query:
        attributes["url.query"] = url.query
    if url.hostname is not None:
        attributes["server.address"] = url.hostname
        server = scope.get("server")
        port = url.port if url.port is not None else server[1] if server else None
        if port is not None:
            attributes["server.port"] = port
    if scope.get("http_version"):
        attributes["network.protocol.version"] = scope["http_version"]
    client = scope.get("client")
    if client:
        attributes["client.address"] = client[0]
    if headers.get("user-agent"):
        attributes["user_agent.original"] = headers["user-agent"][0]
    return attributes


def _method(scope: Scope) -> tuple[str, str | None]:
    """The method to report (``_OTHER`` for an unknown one) and the original if it differs."""
    original: str = scope.get("method", "GET")  # a websocket is the GET it upgrades
    method = original.upper()
    if method not in _KNOWN_METHODS:
        return "_OTHER", original
    return method, None if method == original else original


def _status_of(message: Message) -> int | None:
    """The HTTP status a message answers the request with, if it does."""
    kind = message["type"]
    if kind in ("http.response.start", "websocket.http.response.start"):
        code: int = message["status"]
        return code
    if kind == "websocket.accept":
        return 101
    if kind == "websocket.close":
        return 403  # SPEC: a close before accept is answered with 403 (after, nothing is sent)
    return None


def _name_span(span: trace.Span, scope: Scope, method: str) -> str | None:
    """Name ``span`` after the route and set ``http.route``; return the template."""
    template = get_route_template(scope)
    if span.is_recording():
        if template is None:
            span.update_name(method)
        else:
            span.update_name(f"{method} {template}")
            span.set_attribute("http.route", template)
    return template
