"""``BaseHTTPMiddleware``: Starlette's ``dispatch(request, call_next)``, without its flaws.

The first part tests what Starlette's version gets wrong (context variables, streaming, background
tasks, the body, disconnects, errors) and the rest of the API; the second part is Starlette's own
suite for it (tests/middleware/test_base.py), ported, with each changed expectation saying why.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import AsyncExitStack, aclosing
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from anyio.abc import TaskStatus

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.exceptions import HTTPException
from microasgi.middleware import Middleware
from microasgi.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from microasgi.requests import ClientDisconnect, Request
from microasgi.responses import FileResponse, PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Route, WebSocketRoute
from microasgi.testclient import TestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send
from microasgi.websockets import WebSocket

TestClientFactory = Callable[..., TestClient]


def http_scope(method: str = "GET", path: str = "/", **extra: Any) -> Scope:
    """A complete ``http`` scope, as a server sends it."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    scope.update(extra)
    return scope


class Wire:
    """The server's side of one request, driven by hand.

    ``receive`` hands out ``incoming`` (by default an empty body), then waits until the response
    is complete or the client leaves (``leave()``) and answers ``http.disconnect``. ``send``
    records each message; after ``leave()`` it raises ``OSError``, as a server does from ASGI
    2.4 (``quiet=True``: it does nothing, as before 2.4).
    """

    def __init__(self, *incoming: Message, quiet: bool = False) -> None:
        self.incoming = list(incoming) or [{"type": "http.request", "body": b""}]
        self.sent: list[Message] = []
        self.received: list[Message] = []
        self.done = anyio.Event()
        self.gone = False
        self.quiet = quiet

    async def receive(self) -> Message:
        if self.incoming:
            message = self.incoming.pop(0)
        else:
            if not self.done.is_set():  # a server answers at once once the client has gone
                await self.done.wait()
            message = {"type": "http.disconnect"}
        self.received.append(message)
        return message

    async def send(self, message: Message) -> None:
        if self.gone:
            if self.quiet:
                return
            raise OSError("the client has gone")
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.done.set()

    def leave(self) -> None:
        self.gone = True
        self.done.set()

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    def header(self, name: bytes) -> bytes | None:
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        return dict(start["headers"]).get(name)


async def passthrough(request: Request, call_next: RequestResponseEndpoint) -> Response:
    return await call_next(request)


def wrapped(*routes: Route, dispatch: Any = passthrough, **options: Any) -> MicroASGI:
    """An app with ``routes`` behind one ``BaseHTTPMiddleware(dispatch=...)``."""
    return MicroASGI(
        routes=list(routes),
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=dispatch)],
        **options,
    )


# --- 1. context variables cross call_next both ways ------------------------------------------

var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")


async def test_a_value_set_in_dispatch_reaches_the_endpoint() -> None:
    seen: list[str] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        var.set("set by dispatch")
        return await call_next(request)

    async def endpoint(request: Request) -> Response:
        seen.append(var.get())
        return PlainTextResponse("ok")

    wire = Wire()
    await wrapped(Route("/", endpoint), dispatch=dispatch)(http_scope(), wire.receive, wire.send)
    assert seen == ["set by dispatch"]


async def test_a_value_set_by_the_endpoint_is_seen_by_dispatch_after_call_next() -> None:
    seen: list[str] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        var.set("set by dispatch")
        response = await call_next(request)
        seen.append(var.get())
        return response

    async def endpoint(request: Request) -> Response:
        var.set("set by endpoint")
        return PlainTextResponse("ok")

    wire = Wire()
    await wrapped(Route("/", endpoint), dispatch=dispatch)(http_scope(), wire.receive, wire.send)
    assert seen == ["set by endpoint"]
    assert wire.body == b"ok"


async def test_values_set_by_a_failing_endpoint_are_seen_where_call_next_raises() -> None:
    seen: list[str] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        try:
            return await call_next(request)
        except LookupError:
            seen.append(var.get())
            return PlainTextResponse("recovered")

    async def endpoint(request: Request) -> Response:
        var.set("set before failing")
        raise LookupError("boom")

    wire = Wire()
    await wrapped(Route("/", endpoint), dispatch=dispatch)(http_scope(), wire.receive, wire.send)
    assert seen == ["set before failing"]
    assert wire.body == b"recovered"


async def test_values_cross_several_stacked_middlewares() -> None:
    seen: list[tuple[str, str]] = []
    outer: contextvars.ContextVar[str] = contextvars.ContextVar("outer", default="unset")

    class Outer(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            outer.set("outer")
            response = await call_next(request)
            seen.append(("outer after", var.get()))
            return response

    class Inner(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            seen.append(("inner before", outer.get()))
            response = await call_next(request)
            seen.append(("inner after", var.get()))
            return response

    async def endpoint(request: Request) -> Response:
        seen.append(("endpoint", outer.get()))
        var.set("endpoint")
        return PlainTextResponse("ok")

    app = MicroASGI(
        routes=[Route("/", endpoint)], middleware=[Middleware(Outer), Middleware(Inner)]
    )
    wire = Wire()
    await app(http_scope(), wire.receive, wire.send)
    assert seen == [
        ("inner before", "outer"),
        ("endpoint", "outer"),
        ("inner after", "endpoint"),
        ("outer after", "endpoint"),
    ]


async def test_a_variable_unchanged_by_the_app_keeps_dispatch_s_later_value() -> None:
    # Only what the app changed is copied back: dispatch's own later changes are not undone.
    other: contextvars.ContextVar[str] = contextvars.ContextVar("other", default="unset")
    seen: list[str] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        other.set("before")
        response = await call_next(request)
        seen.append(other.get())
        return response

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("ok")

    wire = Wire()
    await wrapped(Route("/", endpoint), dispatch=dispatch)(http_scope(), wire.receive, wire.send)
    assert seen == ["before"]


# --- 2. the response streams ---------------------------------------------------------------


async def test_each_chunk_reaches_the_client_before_the_next_is_produced() -> None:
    events: list[str] = []
    first_chunk_out = anyio.Event()

    async def endpoint(request: Request) -> Response:
        async def chunks() -> AsyncGenerator[bytes, None]:
            events.append("produce 1")
            yield b"1"
            await first_chunk_out.wait()  # would wait forever if chunk 1 were held back
            events.append("produce 2")
            yield b"2"

        return StreamingResponse(chunks())

    wire = Wire()

    async def send(message: Message) -> None:
        await wire.send(message)
        if message.get("body") == b"1":
            events.append("client got 1")
            first_chunk_out.set()

    with anyio.fail_after(5):
        await wrapped(Route("/", endpoint))(http_scope(), wire.receive, send)
    assert events == ["produce 1", "client got 1", "produce 2"]
    assert wire.body == b"12"


async def test_a_slow_client_holds_the_producer_back() -> None:
    produced: list[int] = []
    release = anyio.Event()
    checked = anyio.Event()

    async def endpoint(request: Request) -> Response:
        async def chunks() -> AsyncGenerator[bytes, None]:
            for number in range(10):
                produced.append(number)
                yield b"x"

        return StreamingResponse(chunks())

    wire = Wire()

    async def slow_send(message: Message) -> None:
        if message.get("body") == b"x" and not release.is_set():
            checked.set()
            await release.wait()
        await wire.send(message)

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(wrapped(Route("/", endpoint)), http_scope(), wire.receive, slow_send)
        await checked.wait()
        for _ in range(20):
            await anyio.lowlevel.checkpoint()  # let the producer run ahead, if it could
        # One chunk at the client, one taken from the producer and waiting: nothing buffered.
        assert produced == [0, 1]
        release.set()
    assert wire.body == b"x" * 10


# --- 3. background tasks run after the response, never cancelled --------------------------


async def test_the_endpoint_s_background_task_runs_after_the_response_and_completes() -> None:
    events: list[str] = []
    wire = Wire()

    async def background() -> None:
        events.append(f"background starts, response complete: {wire.done.is_set()}")
        for _ in range(10):
            await anyio.lowlevel.checkpoint()  # a cancelled task would stop at one of these
        events.append("background ends")

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("ok", background=BackgroundTask(background))

    await wrapped(Route("/", endpoint))(http_scope(), wire.receive, wire.send)
    assert events == ["background starts, response complete: True", "background ends"]


async def test_a_streaming_response_s_background_task_runs_after_its_last_chunk() -> None:
    events: list[str] = []
    wire = Wire()

    async def background() -> None:
        events.append(f"background, body sent: {wire.body!r}")

    async def endpoint(request: Request) -> Response:
        async def chunks() -> AsyncGenerator[bytes, None]:
            yield b"a"
            yield b"b"

        return StreamingResponse(chunks(), background=BackgroundTask(background))

    await wrapped(Route("/", endpoint))(http_scope(), wire.receive, wire.send)
    assert events == ["background, body sent: b'ab'"]


# --- 4. the body is read by dispatch and again by the endpoint -------------------------------


@pytest.mark.parametrize(
    ("reader", "content", "content_type"),
    [
        ("body", b'{"a": 1}', "application/json"),
        ("json", b'{"a": 1}', "application/json"),
        ("form", b"a=1&b=2", "application/x-www-form-urlencoded"),
        (
            "form",
            b'--X\r\ncontent-disposition: form-data; name="a"\r\n\r\n1\r\n--X--\r\n',
            "multipart/form-data; boundary=X",
        ),
    ],
)
def test_the_body_read_in_dispatch_is_read_again_by_the_endpoint(
    test_client_factory: TestClientFactory, reader: str, content: bytes, content_type: str
) -> None:
    async def read(request: Request) -> str:
        if reader == "body":
            return (await request.body()).decode()
        if reader == "json":
            return json.dumps(await request.json())
        return json.dumps(dict(await request.form()))

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        in_dispatch = await read(request)
        response = await call_next(request)
        response.headers["x-dispatch"] = in_dispatch
        return response

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(await read(request))

    client = test_client_factory(wrapped(Route("/", endpoint, methods=["POST"]), dispatch=dispatch))
    response = client.post("/", content=content, headers={"content-type": content_type})
    assert response.status_code == 200
    assert response.text == response.headers["x-dispatch"]
    assert response.text in ('{"a": 1}', '{"a": "1", "b": "2"}', '{"a": "1"}')


async def test_the_body_is_replayed_to_an_app_over_another_receive() -> None:
    # A plain middleware between wraps receive: the endpoint's Request is over another
    # callable, so it cannot share dispatch's reader; the body is replayed to it instead.
    bodies: list[bytes] = []

    def receive_wrapper(app: ASGIApp) -> ASGIApp:
        async def wrapped_app(scope: Scope, receive: Receive, send: Send) -> None:
            async def wrapped_receive() -> Message:
                return await receive()

            await app(scope, wrapped_receive, send)

        return wrapped_app

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        bodies.append(await request.body())
        return await call_next(request)

    async def endpoint(request: Request) -> Response:
        bodies.append(await request.body())
        return PlainTextResponse("ok")

    app = MicroASGI(
        routes=[Route("/", endpoint, methods=["POST"])],
        middleware=[
            Middleware(BaseHTTPMiddleware, dispatch=dispatch),
            Middleware(receive_wrapper),
        ],
    )
    wire = Wire(
        {"type": "http.request", "body": b"he", "more_body": True},
        {"type": "http.request", "body": b"llo"},
    )
    await app(http_scope("POST"), wire.receive, wire.send)
    assert bodies == [b"hello", b"hello"]
    assert wire.body == b"ok"


async def test_a_raw_app_receives_the_body_dispatch_read_then_the_disconnect() -> None:
    received: list[Message] = []

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(await receive())
        await Response("ok")(scope, receive, send)
        received.append(await receive())

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await request.body()
        return await call_next(request)

    wire = Wire({"type": "http.request", "body": b"hi"})
    await BaseHTTPMiddleware(raw_app, dispatch)(http_scope("POST"), wire.receive, wire.send)
    assert received == [
        {"type": "http.request", "body": b"hi", "more_body": False},
        {"type": "http.disconnect"},
    ]


async def test_messages_set_aside_by_is_disconnected_reach_the_app_in_order() -> None:
    received: list[bytes] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        assert not await request.is_disconnected()  # takes the first chunk, keeps it
        return await call_next(request)

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            received.append(message["body"])
            if not message.get("more_body"):
                break
        await Response("ok")(scope, receive, send)

    wire = Wire(
        {"type": "http.request", "body": b"a", "more_body": True},
        {"type": "http.request", "body": b"b"},
    )
    await BaseHTTPMiddleware(raw_app, dispatch)(http_scope("POST"), wire.receive, wire.send)
    assert received == [b"a", b"b"]


async def test_a_body_taken_by_the_app_is_readable_by_dispatch_afterwards() -> None:
    # The app reads receive itself; the whole body came in one message, so dispatch keeps it.
    seen: list[bytes] = []

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await Response("ok")(scope, receive, send)

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        seen.append(await request.body())
        return response

    wire = Wire({"type": "http.request", "body": b"whole"})
    await BaseHTTPMiddleware(raw_app, dispatch)(http_scope("POST"), wire.receive, wire.send)
    assert seen == [b"whole"]


async def test_a_disconnect_seen_by_the_app_makes_dispatch_s_read_raise() -> None:
    outcomes: list[str] = []

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "http.disconnect"
        await Response("ok")(scope, receive, send)

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        with pytest.raises(ClientDisconnect):
            await request.body()
        outcomes.append("raised")
        return response

    wire = Wire({"type": "http.disconnect"})
    await BaseHTTPMiddleware(raw_app, dispatch)(http_scope("POST"), wire.receive, wire.send)
    assert outcomes == ["raised"]


# --- 5. a client disconnect reaches the endpoint ---------------------------------------------


async def test_the_endpoint_sees_the_client_leave() -> None:
    # Sends after the client left do nothing (ASGI < 2.4), and the body is unread, so the
    # response has no watcher of its own: only the endpoint's polling can notice.
    wire = Wire({"type": "http.request", "body": b"body"}, quiet=True)
    polled: list[bool] = []
    stopped = anyio.Event()

    async def endpoint(request: Request) -> Response:
        async def chunks() -> AsyncGenerator[bytes, None]:
            try:
                while True:
                    disconnected = await request.is_disconnected()
                    polled.append(disconnected)
                    if disconnected:
                        return
                    yield b"tick"
            finally:
                stopped.set()

        return StreamingResponse(chunks())

    async def send(message: Message) -> None:
        await wire.send(message)
        if message.get("body") == b"tick":
            wire.leave()  # the client goes after the first chunk

    scope = http_scope("POST", headers=[(b"host", b"testserver"), (b"content-length", b"4")])
    with anyio.fail_after(5):
        await wrapped(Route("/", endpoint, methods=["POST"]))(scope, wire.receive, send)
    assert stopped.is_set()
    assert polled == [False, True]


async def test_a_streaming_response_stops_when_the_client_leaves() -> None:
    # The response's own watcher reads receive: the disconnect reaches it through the middleware.
    wire = Wire()
    stopped = anyio.Event()
    started = anyio.Event()

    async def endpoint(request: Request) -> Response:
        async def forever() -> AsyncGenerator[bytes, None]:
            try:
                started.set()
                while True:
                    yield b"tick"
                    await anyio.sleep_forever()
            finally:
                stopped.set()

        return StreamingResponse(forever())

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(wrapped(Route("/", endpoint)), http_scope(), wire.receive, wire.send)
        await started.wait()
        wire.leave()
        with anyio.fail_after(5):
            await stopped.wait()


# --- 6. an endpoint's error surfaces as itself ----------------------------------------------


def test_an_endpoint_error_reaches_the_server_error_handler_as_itself(
    test_client_factory: TestClientFactory,
) -> None:
    handled: list[BaseException] = []

    async def endpoint(request: Request) -> Response:
        raise KeyError("missing")

    async def on_error(request: Request, exc: Exception) -> Response:
        handled.append(exc)
        return PlainTextResponse("handled", status_code=500)

    app = wrapped(Route("/", endpoint), exception_handlers={500: on_error})
    response = test_client_factory(app, raise_server_exceptions=False).get("/")
    assert response.text == "handled"
    assert type(handled[0]) is KeyError


def test_an_endpoint_error_reaches_the_app_s_exception_handlers(
    test_client_factory: TestClientFactory,
) -> None:
    async def endpoint(request: Request) -> Response:
        raise HTTPException(418, "teapot")

    async def on_value_error(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"value error: {exc}", status_code=422)

    async def failing(request: Request) -> Response:
        raise ValueError("bad")

    app = wrapped(
        Route("/", endpoint),
        Route("/value", failing),
        exception_handlers={ValueError: on_value_error},
    )
    client = test_client_factory(app)
    assert client.get("/").status_code == 418
    response = client.get("/value")
    assert (response.status_code, response.text) == (422, "value error: bad")


@pytest.mark.parametrize("where", ["before the response", "while streaming", "in the background"])
async def test_an_error_is_raised_as_itself_not_in_a_group(where: str) -> None:
    async def fail() -> None:
        raise ValueError(where)

    async def endpoint(request: Request) -> Response:
        if where == "before the response":
            await fail()

        async def chunks() -> AsyncGenerator[bytes, None]:
            yield b"ok"
            if where == "while streaming":
                await fail()

        return StreamingResponse(
            chunks(), background=BackgroundTask(fail) if where == "in the background" else None
        )

    wire = Wire()
    with pytest.raises(ValueError, match=where) as caught:
        await BaseHTTPMiddleware(Route("/", endpoint), passthrough)(
            http_scope(), wire.receive, wire.send
        )
    assert type(caught.value) is ValueError


async def test_an_exception_keeps_the_context_and_cause_the_endpoint_gave_it() -> None:
    async def endpoint(request: Request) -> Response:
        try:
            raise KeyError("inner")
        except KeyError:
            raise ValueError("outer")  # noqa: B904 (the implicit context is what is tested)

    wire = Wire()
    with pytest.raises(ValueError, match="outer") as caught:
        await BaseHTTPMiddleware(Route("/", endpoint), passthrough)(
            http_scope(), wire.receive, wire.send
        )
    assert isinstance(caught.value.__context__, KeyError)
    assert caught.value.__cause__ is None


# --- the rest of the API -----------------------------------------------------------------------


def test_dispatch_is_a_method_or_a_function(test_client_factory: TestClientFactory) -> None:
    class Tagging(BaseHTTPMiddleware):
        def __init__(self, app: ASGIApp, tag: str) -> None:
            super().__init__(app)
            self.tag = tag

        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            response = await call_next(request)
            response.headers["x-tag"] = self.tag
            return response

    async def tag_function(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["x-function"] = "yes"
        return response

    app = MicroASGI(
        routes=[Route("/", lambda request: PlainTextResponse("ok"))],
        middleware=[Middleware(Tagging, tag="method")],
    )
    app.add_middleware(BaseHTTPMiddleware, dispatch=tag_function)
    response = test_client_factory(app).get("/")
    assert (response.text, response.headers["x-tag"], response.headers["x-function"]) == (
        "ok",
        "method",
        "yes",
    )


def test_dispatch_may_answer_without_calling_the_app(
    test_client_factory: TestClientFactory,
) -> None:
    called: list[str] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        return PlainTextResponse("from dispatch", status_code=403)

    async def endpoint(request: Request) -> Response:
        called.append("endpoint")
        return PlainTextResponse("ok")

    response = test_client_factory(wrapped(Route("/", endpoint), dispatch=dispatch)).get("/")
    assert (response.status_code, response.text) == (403, "from dispatch")
    assert called == []


def test_dispatch_edits_the_headers_without_touching_a_reused_response(
    test_client_factory: TestClientFactory,
) -> None:
    shared = PlainTextResponse("shared")

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["x-foo"] = "bar"
        response.set_cookie("seen", "1")
        return response

    client = test_client_factory(wrapped(Route("/", lambda request: shared), dispatch=dispatch))
    for _ in range(2):
        response = client.get("/")
        assert response.headers["x-foo"] == "bar"
        assert response.headers.getlist("x-foo") == ["bar"]
        assert response.cookies["seen"] == "1"
    assert "x-foo" not in shared.headers


@pytest.mark.parametrize("framework", ["microasgi", "starlette"])
def test_an_http_exception_from_dispatch_goes_where_starlette_sends_it(
    test_client_factory: TestClientFactory, framework: str
) -> None:
    # In Starlette it passes the exception middleware (which sits inside the user middleware)
    # and reaches the server error layer: a 500, or the 500 handler, which gets it.
    async def dispatch(request: Request, call_next: Any) -> Any:
        raise HTTPException(403, "nope")

    async def on_500(request: Any, exc: Exception) -> Any:
        return PlainTextResponse(f"500 handler got {type(exc).__name__}", status_code=500)

    if framework == "microasgi":
        plain: Any = wrapped(dispatch=dispatch)
        handled: Any = wrapped(dispatch=dispatch, exception_handlers={500: on_500})
    else:
        from starlette.applications import Starlette
        from starlette.middleware import Middleware as StarletteMiddleware
        from starlette.middleware.base import BaseHTTPMiddleware as StarletteBase
        from starlette.responses import PlainTextResponse as StarlettePlainText

        async def starlette_on_500(request: Any, exc: Exception) -> Any:
            return StarlettePlainText(f"500 handler got {type(exc).__name__}", status_code=500)

        starlette_dispatch: Any = dispatch
        layers = [StarletteMiddleware(StarletteBase, dispatch=starlette_dispatch)]
        plain = Starlette(middleware=layers)
        handled = Starlette(middleware=layers, exception_handlers={500: starlette_on_500})
    response = test_client_factory(plain, raise_server_exceptions=False).get("/")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    response = test_client_factory(handled, raise_server_exceptions=False).get("/")
    assert (response.status_code, response.text) == (500, "500 handler got HTTPException")


async def test_a_response_dispatch_drops_does_not_keep_the_app_running() -> None:
    events: list[str] = []

    async def endpoint(request: Request) -> Response:
        async def forever() -> AsyncGenerator[bytes, None]:
            try:
                while True:
                    yield b"chunk"
            finally:
                events.append("producer closed")

        return StreamingResponse(forever())

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await call_next(request)
        return PlainTextResponse("instead")

    # A POST with a body nobody reads: the streaming response has no disconnect watcher and
    # relies on send raising, which is what a dropped response's send does.
    wire = Wire({"type": "http.request", "body": b"unread", "more_body": True})
    with anyio.fail_after(5):
        await wrapped(Route("/", endpoint, methods=["POST"]), dispatch=dispatch)(
            http_scope("POST"), wire.receive, wire.send
        )
    assert wire.body == b"instead"
    assert events == ["producer closed"]


async def test_closing_the_body_iterator_stops_the_app_before_dispatch_returns() -> None:
    events: list[str] = []
    closed = anyio.Event()

    async def endpoint(request: Request) -> Response:
        async def forever() -> AsyncGenerator[bytes, None]:
            try:
                while True:
                    yield b"chunk"
            finally:
                events.append("producer closed")
                closed.set()

        return StreamingResponse(forever())

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        body = response.body_iterator  # type: ignore[attr-defined]
        assert isinstance(body, AsyncGenerator)
        assert await body.__anext__() == b"chunk"
        await body.aclose()
        await closed.wait()  # the app stops while dispatch is still running
        events.append("dispatch goes on")
        return PlainTextResponse("instead")

    wire = Wire()
    with anyio.fail_after(5):
        await wrapped(Route("/", endpoint), dispatch=dispatch)(
            http_scope(), wire.receive, wire.send
        )
    assert events == ["producer closed", "dispatch goes on"]
    assert wire.body == b"instead"


async def test_a_dispatch_failure_after_call_next_cancels_the_app() -> None:
    cancelled = anyio.Event()

    async def endpoint(request: Request) -> Response:
        async def forever() -> AsyncGenerator[bytes, None]:
            try:
                yield b"first"
                await anyio.sleep_forever()
                yield b"never"  # pragma: no cover
            finally:
                cancelled.set()

        return StreamingResponse(forever())

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        body = response.body_iterator  # type: ignore[attr-defined]
        assert isinstance(body, AsyncGenerator)
        await body.__anext__()
        raise RuntimeError("dispatch failed")

    wire = Wire()
    with anyio.fail_after(5), pytest.raises(RuntimeError, match="dispatch failed"):
        await BaseHTTPMiddleware(Route("/", endpoint), dispatch)(
            http_scope(), wire.receive, wire.send
        )
    assert cancelled.is_set()


async def test_call_next_without_a_response_raises() -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    outcomes: list[str] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        try:
            await call_next(request)
        except RuntimeError as exc:
            outcomes.append(str(exc))
        return PlainTextResponse("fallback")

    wire = Wire()
    await BaseHTTPMiddleware(silent, dispatch)(http_scope(), wire.receive, wire.send)
    assert outcomes == ["No response returned."]


async def test_call_next_runs_the_app_once() -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await call_next(request)
        return await call_next(request)

    wire = Wire()
    with pytest.raises(RuntimeError, match="already called"):
        await BaseHTTPMiddleware(PlainTextResponse("ok"), dispatch)(
            http_scope(), wire.receive, wire.send
        )


async def test_a_dispatch_returning_no_response_is_told_what_to_return() -> None:
    async def dispatch(request: Request, call_next: Any) -> Any:
        await call_next(request)

    wire = Wire()
    with pytest.raises(TypeError, match=r"dispatch must return a response, got None\. Return"):
        await BaseHTTPMiddleware(PlainTextResponse("ok"), dispatch)(
            http_scope(), wire.receive, wire.send
        )


async def test_a_subclass_without_dispatch_says_how_to_write_one() -> None:
    class Forgotten(BaseHTTPMiddleware):
        pass

    wire = Wire()
    with pytest.raises(NotImplementedError, match=r"Forgotten has no dispatch: override"):
        await Forgotten(PlainTextResponse("ok"))(http_scope(), wire.receive, wire.send)


def test_a_dispatch_that_is_not_callable_is_refused_at_construction() -> None:
    with pytest.raises(TypeError, match=r"dispatch must be an async function .* got 'nope'"):
        BaseHTTPMiddleware(PlainTextResponse("ok"), dispatch="nope")  # type: ignore[arg-type]


@pytest.mark.parametrize("scope_type", ["websocket", "lifespan"])
async def test_other_scopes_pass_straight_through(scope_type: str) -> None:
    seen: list[tuple[Scope, Receive, Send]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    async def dispatch(request: Request, call_next: Any) -> Any:
        raise AssertionError("dispatch is for http only")  # pragma: no cover

    scope: Scope = {"type": scope_type}
    wire = Wire()
    await BaseHTTPMiddleware(app, dispatch)(scope, wire.receive, wire.send)
    assert seen == [(scope, wire.receive, wire.send)]


async def test_messages_before_the_start_go_out_and_debug_info_follows_the_response() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]})
        await send({"type": "http.response.debug", "info": {"template": "x.html"}})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.push", "path": "/b.css", "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    wire = Wire()
    await BaseHTTPMiddleware(app, passthrough)(http_scope(), wire.receive, wire.send)
    assert [m["type"] for m in wire.sent] == [
        "http.response.early_hint",
        "http.response.debug",
        "http.response.start",
        "http.response.push",
        "http.response.body",
        "http.response.body",
    ]
    assert wire.sent[1]["info"] == {"template": "x.html"}
    assert wire.body == b"ok"


async def test_trailers_follow_the_body() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await send({"type": "http.response.body", "body": b"data", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        await send({"type": "http.response.trailers", "headers": [(b"x-sum", b"1")]})

    wire = Wire()
    await BaseHTTPMiddleware(app, passthrough)(http_scope(), wire.receive, wire.send)
    assert wire.sent[0]["trailers"] is True
    assert [(m["type"], m.get("body"), m.get("more_body")) for m in wire.sent[1:]] == [
        ("http.response.body", b"data", True),
        ("http.response.body", b"", False),
        ("http.response.trailers", None, None),
    ]


async def test_a_replaced_body_iterator_may_yield_text_and_views() -> None:
    async def replacement() -> AsyncGenerator[str | bytes | memoryview, None]:
        yield "é"
        yield memoryview(b"!")

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.body_iterator = replacement()  # type: ignore[attr-defined]
        return response

    wire = Wire()
    await BaseHTTPMiddleware(PlainTextResponse("original"), dispatch)(
        http_scope(), wire.receive, wire.send
    )
    assert wire.body == "é!".encode()


async def test_a_replaced_body_iterator_yielding_something_else_is_refused() -> None:
    async def replacement() -> AsyncGenerator[Any, None]:
        yield 42

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.body_iterator = replacement()  # type: ignore[attr-defined]
        return response

    wire = Wire()
    with pytest.raises(
        TypeError, match="must yield str, bytes, memoryview or ASGI messages, got int"
    ):
        await BaseHTTPMiddleware(PlainTextResponse("x"), dispatch)(
            http_scope(), wire.receive, wire.send
        )


@pytest.mark.parametrize(
    "gone_at", ["http.response.debug", "http.response.start", "http.response.body"]
)
async def test_a_client_gone_mid_response_ends_it_quietly(gone_at: str) -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.debug", "info": {}})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": b"x", "more_body": True})
        except OSError:
            events.append("app told to stop")

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.background = BackgroundTask(events.append, "background ran")
        return response

    wire = Wire()

    async def send(message: Message) -> None:
        if message["type"] == gone_at:
            wire.leave()
        await wire.send(message)

    with anyio.fail_after(5):
        await BaseHTTPMiddleware(app, dispatch)(http_scope(), wire.receive, send)
    assert sorted(events) == ["app told to stop", "background ran"]


@pytest.mark.parametrize("in_task_group", [False, True])
async def test_an_app_that_lets_the_send_error_escape_ends_quietly(in_task_group: bool) -> None:
    # A raw app that does not catch the OSError of its dropped response's send (alone, or
    # wrapped in an exception group by the app's task group) has not failed.
    finished: list[str] = []

    async def send_body(send: Send) -> None:
        try:
            await send({"type": "http.response.body", "body": b"never read", "more_body": True})
        finally:
            finished.append("app ended")

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if in_task_group:
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(send_body, send)
        else:
            await send_body(send)

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await call_next(request)
        return PlainTextResponse("instead")

    wire = Wire()
    await BaseHTTPMiddleware(raw_app, dispatch)(http_scope(), wire.receive, wire.send)
    assert wire.body == b"instead"
    assert finished == ["app ended"]


async def test_a_response_the_app_left_unfinished_is_ended_as_starlette_does() -> None:
    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})

    wire = Wire()
    await BaseHTTPMiddleware(raw_app, passthrough)(http_scope(), wire.receive, wire.send)
    assert wire.body == b"part"
    assert wire.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_the_app_s_receive_stands_for_the_server_s() -> None:
    # Request compares receive channels with ==, to share the body reader of a scope.
    checks: list[bool] = []
    wire = Wire()

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        checks.extend([receive == receive, receive == wire.receive, wire.receive == receive])
        checks.append(hash(receive) == hash(wire.receive))
        other: object = wire.send
        checks.append(receive == other)
        await Response("ok")(scope, receive, send)

    await BaseHTTPMiddleware(raw_app, passthrough)(http_scope(), wire.receive, wire.send)
    assert checks == [True, True, True, True, False]


async def test_stacked_middlewares_hand_a_raw_app_the_body_read_by_the_outer_one() -> None:
    received: list[Message] = []

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(await receive())
        received.append(await receive())
        await Response("ok")(scope, receive, send)

    async def reads_body(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await request.body()
        return await call_next(request)

    app = BaseHTTPMiddleware(BaseHTTPMiddleware(raw_app, passthrough), reads_body)
    wire = Wire(
        {"type": "http.request", "body": b"he", "more_body": True},
        {"type": "http.request", "body": b"y"},
    )
    wire.done.set()  # the server answers the disconnect at once
    await app(http_scope("POST"), wire.receive, wire.send)
    assert received == [
        {"type": "http.request", "body": b"hey", "more_body": False},
        {"type": "http.disconnect"},
    ]


async def test_messages_of_other_types_reach_the_app_untouched() -> None:
    # A server may grow message types; they pass through, and the body reader is not moved.
    received: list[Message] = []
    later: list[bytes] = []

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(await receive())
        await Response("ok")(scope, receive, send)

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        later.append(await request.body())
        return response

    wire = Wire({"type": "http.something.new"}, {"type": "http.request", "body": b"body"})
    await BaseHTTPMiddleware(raw_app, dispatch)(http_scope("POST"), wire.receive, wire.send)
    assert received == [{"type": "http.something.new"}]
    assert later == [b"body"]


async def test_a_client_gone_before_the_trailers_ends_the_response_quietly() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await send({"type": "http.response.body", "body": b"data", "more_body": True})
        try:
            await send({"type": "http.response.trailers", "headers": []})
        except OSError:
            pass

    wire = Wire()

    async def send(message: Message) -> None:
        if message.get("body") == b"":
            wire.leave()
        await wire.send(message)

    await BaseHTTPMiddleware(app, passthrough)(http_scope(), wire.receive, send)
    assert [m["type"] for m in wire.sent] == ["http.response.start", "http.response.body"]


async def test_a_replaced_iterator_without_aclose_is_left_as_it_is_when_the_client_goes() -> None:
    class Chunks:
        def __aiter__(self) -> Chunks:
            return self

        async def __anext__(self) -> bytes:
            return b"x"

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        await response.body_iterator.aclose()  # type: ignore[attr-defined]
        response.body_iterator = Chunks()  # type: ignore[attr-defined]
        return response

    wire = Wire()

    async def send(message: Message) -> None:
        if message.get("body") == b"x":
            wire.leave()
        await wire.send(message)

    with anyio.fail_after(5):
        await BaseHTTPMiddleware(PlainTextResponse("a"), dispatch)(http_scope(), wire.receive, send)
    assert [m["type"] for m in wire.sent] == ["http.response.start"]


def test_dispatch_may_read_the_whole_response_and_send_a_copy(
    test_client_factory: TestClientFactory,
) -> None:
    # The pattern of logging middleware: drain body_iterator, answer with a new Response.
    logged: list[bytes] = []
    events: list[str] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        body = b""
        async for chunk in response.body_iterator:  # type: ignore[attr-defined]
            body += chunk
        logged.append(body)
        return Response(body, response.status_code, dict(response.headers))

    async def endpoint(request: Request) -> Response:
        async def chunks() -> AsyncGenerator[bytes, None]:
            yield b"one "
            yield b"two"

        task = BackgroundTask(events.append, "background")
        return StreamingResponse(chunks(), status_code=201, background=task)

    client = test_client_factory(wrapped(Route("/", endpoint), dispatch=dispatch))
    response = client.get("/")
    assert (response.status_code, response.text) == (201, "one two")
    assert logged == [b"one two"]
    assert events == ["background"]


def test_dispatch_may_stream_the_body_through_a_response_of_its_own(
    test_client_factory: TestClientFactory,
) -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)

        async def upper() -> AsyncGenerator[bytes, None]:
            async for chunk in response.body_iterator:  # type: ignore[attr-defined]
                yield chunk.upper()

        return StreamingResponse(upper(), response.status_code, dict(response.headers))

    async def endpoint(request: Request) -> Response:
        async def chunks() -> AsyncGenerator[bytes, None]:
            yield b"one "
            yield b"two"

        return StreamingResponse(chunks(), media_type="text/plain")

    response = test_client_factory(wrapped(Route("/", endpoint), dispatch=dispatch)).get("/")
    assert (response.status_code, response.text) == (200, "ONE TWO")


# =============================================================================================
# Starlette's suite for BaseHTTPMiddleware, ported (starlette tests/middleware/test_base.py).


class CustomMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["Custom-Header"] = "Example"
        return response


def homepage(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Homepage")


def exc(request: Request) -> None:
    raise Exception("Exc")


def exc_stream(request: Request) -> StreamingResponse:
    return StreamingResponse(_generate_faulty_stream())


def _generate_faulty_stream() -> Generator[bytes, None, None]:
    yield b"Ok"
    raise Exception("Faulty Stream")


class NoResponse:
    def __init__(self, scope: Scope, receive: Receive, send: Send):
        pass

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        pass


async def websocket_endpoint(session: WebSocket) -> None:
    await session.accept()
    await session.send_text("Hello, world!")
    await session.close()


app = MicroASGI(
    routes=[
        Route("/", endpoint=homepage),
        Route("/exc", endpoint=exc),
        Route("/exc-stream", endpoint=exc_stream),
        Route("/no-response", endpoint=NoResponse),
        WebSocketRoute("/ws", endpoint=websocket_endpoint),
    ],
    middleware=[Middleware(CustomMiddleware)],
)


def test_custom_middleware(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(app)
    response = client.get("/")
    assert response.headers["Custom-Header"] == "Example"

    with pytest.raises(Exception, match=r"^Exc$") as ctx:
        response = client.get("/exc")
    assert str(ctx.value) == "Exc"

    with pytest.raises(Exception, match=r"^Faulty Stream$") as ctx:
        response = client.get("/exc-stream")
    assert str(ctx.value) == "Faulty Stream"

    with pytest.raises(RuntimeError):
        response = client.get("/no-response")

    with client.websocket_connect("/ws") as session:
        text = session.receive_text()
        assert text == "Hello, world!"


def test_state_data_across_multiple_middlewares(
    test_client_factory: TestClientFactory,
) -> None:
    expected_value1 = "foo"
    expected_value2 = "bar"

    class aMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            request.state.foo = expected_value1
            response = await call_next(request)
            return response

    class bMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            request.state.bar = expected_value2
            response = await call_next(request)
            response.headers["X-State-Foo"] = request.state.foo
            return response

    class cMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            response = await call_next(request)
            response.headers["X-State-Bar"] = request.state.bar
            return response

    def homepage(request: Request) -> PlainTextResponse:
        return PlainTextResponse("OK")

    app = MicroASGI(
        routes=[Route("/", homepage)],
        middleware=[
            Middleware(aMiddleware),
            Middleware(bMiddleware),
            Middleware(cMiddleware),
        ],
    )

    client = test_client_factory(app)
    response = client.get("/")
    assert response.text == "OK"
    assert response.headers["X-State-Foo"] == expected_value1
    assert response.headers["X-State-Bar"] == expected_value2


def test_app_middleware_argument(test_client_factory: TestClientFactory) -> None:
    def homepage(request: Request) -> PlainTextResponse:
        return PlainTextResponse("Homepage")

    app = MicroASGI(routes=[Route("/", homepage)], middleware=[Middleware(CustomMiddleware)])

    client = test_client_factory(app)
    response = client.get("/")
    assert response.headers["Custom-Header"] == "Example"


def test_fully_evaluated_response(test_client_factory: TestClientFactory) -> None:
    # Test for https://github.com/encode/starlette/issues/1022
    class CustomMiddleware(BaseHTTPMiddleware):
        async def dispatch(
            self, request: Request, call_next: RequestResponseEndpoint
        ) -> PlainTextResponse:
            await call_next(request)
            return PlainTextResponse("Custom")

    app = MicroASGI(middleware=[Middleware(CustomMiddleware)])

    client = test_client_factory(app)
    response = client.get("/does_not_exist")
    assert response.text == "Custom"


ctxvar: contextvars.ContextVar[str] = contextvars.ContextVar("ctxvar")


class CustomMiddlewareWithoutBaseHTTPMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctxvar.set("set by middleware")
        await self.app(scope, receive, send)
        assert ctxvar.get() == "set by endpoint"


class CustomMiddlewareUsingBaseHTTPMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        ctxvar.set("set by middleware")
        resp = await call_next(request)
        assert ctxvar.get() == "set by endpoint"
        return resp


# Starlette marks the second case xfail ("BaseHTTPMiddleware creates a TaskGroup which copies
# the context and erases any changes to it made within the TaskGroup"): here both pass.
@pytest.mark.parametrize(
    "middleware_cls",
    [CustomMiddlewareWithoutBaseHTTPMiddleware, CustomMiddlewareUsingBaseHTTPMiddleware],
)
def test_contextvars(test_client_factory: TestClientFactory, middleware_cls: Any) -> None:
    # this has to be an async endpoint because Starlette calls run_in_threadpool
    # on sync endpoints which has it's own set of peculiarities w.r.t propagating
    # contextvars (it propagates them forwards but not backwards)
    async def homepage(request: Request) -> PlainTextResponse:
        assert ctxvar.get() == "set by middleware"
        ctxvar.set("set by endpoint")
        return PlainTextResponse("Homepage")

    app = MicroASGI(middleware=[Middleware(middleware_cls)], routes=[Route("/", homepage)])

    client = test_client_factory(app)
    response = client.get("/")
    assert response.status_code == 200, response.content


# The scopes below are Starlette's, plus "headers": the router reads the Host header.
MINIMAL_SCOPE: Scope = {"type": "http", "version": "3", "method": "GET", "path": "/", "headers": []}


async def test_run_background_tasks_even_if_client_disconnects() -> None:
    # test for https://github.com/encode/starlette/issues/1438
    response_complete = anyio.Event()
    background_task_run = anyio.Event()

    async def sleep_and_set() -> None:
        # Starlette sleeps 0.1 s here to give the middleware a chance to cancel the task;
        # waiting for the response to be complete does it without a sleep.
        await response_complete.wait()
        background_task_run.set()

    async def endpoint_with_background_task(_: Request) -> PlainTextResponse:
        return PlainTextResponse(background=BackgroundTask(sleep_and_set))

    app = MicroASGI(
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=passthrough)],
        routes=[Route("/", endpoint_with_background_task)],
    )

    async def receive() -> Message:
        raise NotImplementedError("Should not be called!")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            if not message.get("more_body", False):  # pragma: no branch
                response_complete.set()

    await app(dict(MINIMAL_SCOPE), receive, send)

    assert background_task_run.is_set()


def test_run_background_tasks_raise_exceptions(test_client_factory: TestClientFactory) -> None:
    # test for https://github.com/encode/starlette/issues/2625

    async def sleep_and_set() -> None:
        await anyio.lowlevel.checkpoint()
        raise ValueError("TEST")

    async def endpoint_with_background_task(_: Request) -> PlainTextResponse:
        return PlainTextResponse(background=BackgroundTask(sleep_and_set))

    app = MicroASGI(
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=passthrough)],
        routes=[Route("/", endpoint_with_background_task)],
    )

    client = test_client_factory(app)
    with pytest.raises(ValueError, match="TEST"):
        client.get("/")


def test_exception_can_be_caught(test_client_factory: TestClientFactory) -> None:
    async def error_endpoint(_: Request) -> None:
        raise ValueError("TEST")

    async def catches_error(request: Request, call_next: RequestResponseEndpoint) -> Response:
        try:
            return await call_next(request)
        except ValueError as exc:
            return PlainTextResponse(content=str(exc), status_code=400)

    app = MicroASGI(
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=catches_error)],
        routes=[Route("/", error_endpoint)],
    )

    client = test_client_factory(app)
    response = client.get("/")
    assert response.status_code == 400
    assert response.text == "TEST"


async def test_do_not_block_on_background_tasks() -> None:
    events: list[str | Message] = []
    both_sent = anyio.Event()

    async def sleep_and_set() -> None:
        events.append("Background task started")
        # Starlette sleeps 0.1 s; waiting until both responses are out does the same job.
        await both_sent.wait()
        events.append("Background task finished")

    async def endpoint_with_background_task(_: Request) -> PlainTextResponse:
        return PlainTextResponse(content="Hello", background=BackgroundTask(sleep_and_set))

    app = MicroASGI(
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=passthrough)],
        routes=[Route("/", endpoint_with_background_task)],
    )

    async def receive() -> Message:
        raise NotImplementedError("Should not be called!")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            events.append(message)
            if sum(1 for event in events if isinstance(event, dict)) == 4:
                both_sent.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(app, dict(MINIMAL_SCOPE), receive, send)
        tg.start_soon(app, dict(MINIMAL_SCOPE), receive, send)

    # Starlette's order interleaves the two requests as its tasks happen to run; what matters
    # (and what this checks) is that each background task starts after its response is sent,
    # and that neither request waits for the other's background task.
    bodies = [event for event in events if isinstance(event, dict)]
    assert (
        bodies
        == [
            {"body": b"Hello", "more_body": True, "type": "http.response.body"},
            {"body": b"", "more_body": False, "type": "http.response.body"},
        ]
        * 2
    )
    assert events.index("Background task started") > events.index(bodies[1])
    assert events[-2:] == ["Background task finished", "Background task finished"]


async def test_run_context_manager_exit_even_if_client_disconnects() -> None:
    # test for https://github.com/encode/starlette/issues/1678#issuecomment-1172916042
    response_complete = anyio.Event()
    context_manager_exited = anyio.Event()

    async def sleep_and_set() -> None:
        # Starlette sleeps 0.1 s to give the middleware a chance to cancel us.
        await response_complete.wait()
        context_manager_exited.set()

    class ContextManagerMiddleware:
        def __init__(self, app: ASGIApp):
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async with AsyncExitStack() as stack:
                stack.push_async_callback(sleep_and_set)
                await self.app(scope, receive, send)

    async def simple_endpoint(_: Request) -> PlainTextResponse:
        return PlainTextResponse(background=BackgroundTask(sleep_and_set))

    app = MicroASGI(
        middleware=[
            Middleware(BaseHTTPMiddleware, dispatch=passthrough),
            Middleware(ContextManagerMiddleware),
        ],
        routes=[Route("/", simple_endpoint)],
    )

    async def receive() -> Message:
        raise NotImplementedError("Should not be called!")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            if not message.get("more_body", False):  # pragma: no branch
                response_complete.set()

    await app(dict(MINIMAL_SCOPE), receive, send)

    assert context_manager_exited.is_set()


def test_app_receives_http_disconnect_while_sending_if_discarded(
    test_client_factory: TestClientFactory,
) -> None:
    class DiscardingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: Any) -> PlainTextResponse:
            # As a matter of ordering, this test targets the case where the downstream
            # app response is discarded while it is sending a response body.
            # We need to wait for the downstream app to begin sending a response body
            # before sending the middleware response that will overwrite the downstream
            # response.
            downstream_app_response = await call_next(request)
            body_generator = downstream_app_response.body_iterator
            try:
                await body_generator.__anext__()
            finally:
                await body_generator.aclose()

            return PlainTextResponse("Custom")

    async def downstream_app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        async with anyio.create_task_group() as task_group:

            async def cancel_on_disconnect(
                *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
            ) -> None:
                task_status.started()
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":  # pragma: no branch
                        task_group.cancel_scope.cancel()
                        break

            # Using start instead of start_soon to ensure that
            # cancel_on_disconnect is scheduled by the event loop
            # before we start returning the body
            await task_group.start(cancel_on_disconnect)

            # Starlette's guard against an endless loop is a 0.2 s timeout; this one only
            # fails a broken run. Here the dropped response's send raises OSError (as a
            # server's does once the client has gone), which ends the loop: it is caught here
            # as a server's error would be by a response.
            with anyio.fail_after(5):
                try:
                    while True:
                        await send(
                            {"type": "http.response.body", "body": b"chunk ", "more_body": True}
                        )
                except* OSError:
                    pass

    app = DiscardingMiddleware(downstream_app)

    client = test_client_factory(app)
    response = client.get("/does_not_exist")
    assert response.text == "Custom"


def test_app_receives_http_disconnect_after_sending_if_discarded(
    test_client_factory: TestClientFactory,
) -> None:
    class DiscardingMiddleware(BaseHTTPMiddleware):
        async def dispatch(
            self, request: Request, call_next: RequestResponseEndpoint
        ) -> PlainTextResponse:
            await call_next(request)
            return PlainTextResponse("Custom")

    received: list[Message] = []

    async def downstream_app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        # Here the dropped response's send raises OSError once the middleware's response is
        # out, as a server's does once the client has gone; the app then hears the disconnect.
        try:
            await send({"type": "http.response.body", "body": b"first chunk, ", "more_body": True})
            await send({"type": "http.response.body", "body": b"second chunk", "more_body": True})
        except OSError:
            pass
        message = await receive()
        received.append(message)
        assert message["type"] == "http.disconnect"

    app = DiscardingMiddleware(downstream_app)

    client = test_client_factory(app)
    response = client.get("/does_not_exist")
    assert response.text == "Custom"
    assert received == [{"type": "http.disconnect"}]


def test_read_request_stream_in_app_after_middleware_calls_stream(
    test_client_factory: TestClientFactory,
) -> None:
    async def homepage(request: Request) -> PlainTextResponse:
        expected = [b""]
        async for chunk in request.stream():
            assert chunk == expected.pop(0)
        assert expected == []
        return PlainTextResponse("Homepage")

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            expected = [b"a", b""]
            async for chunk in request.stream():
                assert chunk == expected.pop(0)
            assert expected == []
            return await call_next(request)

    app = MicroASGI(
        routes=[Route("/", homepage, methods=["POST"])],
        middleware=[Middleware(ConsumingMiddleware)],
    )

    client: TestClient = test_client_factory(app)
    response = client.post("/", content=b"a")
    assert response.status_code == 200


def test_read_request_stream_in_app_after_middleware_calls_body(
    test_client_factory: TestClientFactory,
) -> None:
    async def homepage(request: Request) -> PlainTextResponse:
        expected = [b"a", b""]
        async for chunk in request.stream():
            assert chunk == expected.pop(0)
        assert expected == []
        return PlainTextResponse("Homepage")

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            assert await request.body() == b"a"
            return await call_next(request)

    app = MicroASGI(
        routes=[Route("/", homepage, methods=["POST"])],
        middleware=[Middleware(ConsumingMiddleware)],
    )

    client: TestClient = test_client_factory(app)
    response = client.post("/", content=b"a")
    assert response.status_code == 200


def test_read_request_body_in_app_after_middleware_calls_stream(
    test_client_factory: TestClientFactory,
) -> None:
    async def homepage(request: Request) -> PlainTextResponse:
        assert await request.body() == b""
        return PlainTextResponse("Homepage")

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            expected = [b"a", b""]
            async for chunk in request.stream():
                assert chunk == expected.pop(0)
            assert expected == []
            return await call_next(request)

    app = MicroASGI(
        routes=[Route("/", homepage, methods=["POST"])],
        middleware=[Middleware(ConsumingMiddleware)],
    )

    client: TestClient = test_client_factory(app)
    response = client.post("/", content=b"a")
    assert response.status_code == 200


def test_read_request_body_in_app_after_middleware_calls_body(
    test_client_factory: TestClientFactory,
) -> None:
    async def homepage(request: Request) -> PlainTextResponse:
        assert await request.body() == b"a"
        return PlainTextResponse("Homepage")

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            assert await request.body() == b"a"
            return await call_next(request)

    app = MicroASGI(
        routes=[Route("/", homepage, methods=["POST"])],
        middleware=[Middleware(ConsumingMiddleware)],
    )

    client: TestClient = test_client_factory(app)
    response = client.post("/", content=b"a")
    assert response.status_code == 200


def test_read_request_stream_in_dispatch_after_app_calls_stream(
    test_client_factory: TestClientFactory,
) -> None:
    async def homepage(request: Request) -> PlainTextResponse:
        expected = [b"a", b""]
        async for chunk in request.stream():
            assert chunk == expected.pop(0)
        assert expected == []
        return PlainTextResponse("Homepage")

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            resp = await call_next(request)

            async def drain() -> None:
                async for _ in request.stream():
                    raise AssertionError("should not be called")  # pragma: no cover

            with pytest.raises(RuntimeError, match="Stream consumed"):
                await drain()
            return resp

    app = MicroASGI(
        routes=[Route("/", homepage, methods=["POST"])],
        middleware=[Middleware(ConsumingMiddleware)],
    )

    client: TestClient = test_client_factory(app)
    response = client.post("/", content=b"a")
    assert response.status_code == 200


def test_read_request_stream_in_dispatch_after_app_calls_body(
    test_client_factory: TestClientFactory,
) -> None:
    async def homepage(request: Request) -> PlainTextResponse:
        assert await request.body() == b"a"
        return PlainTextResponse("Homepage")

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            resp = await call_next(request)
            # Starlette raises "Stream consumed" here; the body the endpoint read is shared,
            # so dispatch reads it too (design decision 3: middleware and endpoint both read).
            assert [chunk async for chunk in request.stream()] == [b"a", b""]
            return resp

    app = MicroASGI(
        routes=[Route("/", homepage, methods=["POST"])],
        middleware=[Middleware(ConsumingMiddleware)],
    )

    client: TestClient = test_client_factory(app)
    response = client.post("/", content=b"a")
    assert response.status_code == 200


async def test_read_request_stream_in_dispatch_wrapping_app_calls_body() -> None:
    # The streams left with `break` are closed with aclosing(): trio reports async generators
    # left to the garbage collector, which the warnings-as-errors setting turns into failures.
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        async with aclosing(request.stream()) as stream:
            async for chunk in stream:  # pragma: no branch
                assert chunk == b"2"
                break
        await Response()(scope, receive, send)

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            expected = b"1"
            response: Response | None = None
            async with aclosing(request.stream()) as stream:
                async for chunk in stream:  # pragma: no branch
                    assert chunk == expected
                    if expected == b"1":
                        response = await call_next(request)
                        expected = b"3"
                    else:
                        break
            assert response is not None
            return response

    async def rcv() -> AsyncGenerator[Message, None]:
        yield {"type": "http.request", "body": b"1", "more_body": True}
        yield {"type": "http.request", "body": b"2", "more_body": True}
        yield {"type": "http.request", "body": b"3"}
        raise AssertionError(  # pragma: no cover
            "Should not be called, no need to poll for disconnect"
        )

    sent: list[Message] = []

    async def send(msg: Message) -> None:
        sent.append(msg)

    app: ASGIApp = endpoint
    app = ConsumingMiddleware(app)

    rcv_stream = rcv()

    await app({"type": "http"}, rcv_stream.__anext__, send)

    assert sent == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"0")],
        },
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]

    await rcv_stream.aclose()


def test_read_request_stream_in_dispatch_after_app_calls_body_with_middleware_calling_body_before_call_next(
    test_client_factory: TestClientFactory,
) -> None:
    async def homepage(request: Request) -> PlainTextResponse:
        assert await request.body() == b"a"
        return PlainTextResponse("Homepage")

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            assert await request.body() == b"a"  # this buffers the request body in memory
            resp = await call_next(request)
            async for chunk in request.stream():
                if chunk:  # pragma: no branch
                    assert chunk == b"a"
            return resp

    app = MicroASGI(
        routes=[Route("/", homepage, methods=["POST"])],
        middleware=[Middleware(ConsumingMiddleware)],
    )

    client: TestClient = test_client_factory(app)
    response = client.post("/", content=b"a")
    assert response.status_code == 200


def test_read_request_body_in_dispatch_after_app_calls_body_with_middleware_calling_body_before_call_next(
    test_client_factory: TestClientFactory,
) -> None:
    async def homepage(request: Request) -> PlainTextResponse:
        assert await request.body() == b"a"
        return PlainTextResponse("Homepage")

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            assert await request.body() == b"a"  # this buffers the request body in memory
            resp = await call_next(request)
            assert await request.body() == b"a"  # no problem here
            return resp

    app = MicroASGI(
        routes=[Route("/", homepage, methods=["POST"])],
        middleware=[Middleware(ConsumingMiddleware)],
    )

    client: TestClient = test_client_factory(app)
    response = client.post("/", content=b"a")
    assert response.status_code == 200


async def test_read_request_disconnected_client() -> None:
    """If we receive a disconnect message when the downstream ASGI
    app calls receive() the Request instance passed into the dispatch function
    should get marked as disconnected.
    The downstream ASGI app should not get a ClientDisconnect raised,
    instead if should just receive the disconnect message.
    """

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        msg = await receive()
        assert msg["type"] == "http.disconnect"
        await Response()(scope, receive, send)

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            response = await call_next(request)
            disconnected = await request.is_disconnected()
            assert disconnected is True
            return response

    scope = {"type": "http", "method": "POST", "path": "/"}

    async def receive() -> AsyncGenerator[Message, None]:
        yield {"type": "http.disconnect"}
        raise AssertionError("Should not be called, would hang")  # pragma: no cover

    async def send(msg: Message) -> None:
        if msg["type"] == "http.response.start":
            assert msg["status"] == 200

    app: ASGIApp = ConsumingMiddleware(endpoint)

    rcv = receive()

    await app(scope, rcv.__anext__, send)

    await rcv.aclose()


async def test_read_request_disconnected_after_consuming_steam() -> None:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        msg = await receive()
        assert msg.pop("more_body", False) is False
        assert msg == {"type": "http.request", "body": b"hi"}
        msg = await receive()
        assert msg == {"type": "http.disconnect"}
        await Response()(scope, receive, send)

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            await request.body()
            disconnected = await request.is_disconnected()
            assert disconnected is True
            response = await call_next(request)
            return response

    scope = {"type": "http", "method": "POST", "path": "/"}

    async def receive() -> AsyncGenerator[Message, None]:
        yield {"type": "http.request", "body": b"hi"}
        yield {"type": "http.disconnect"}
        raise AssertionError("Should not be called, would hang")  # pragma: no cover

    async def send(msg: Message) -> None:
        if msg["type"] == "http.response.start":
            assert msg["status"] == 200

    app: ASGIApp = ConsumingMiddleware(endpoint)

    rcv = receive()

    await app(scope, rcv.__anext__, send)

    await rcv.aclose()


def test_downstream_middleware_modifies_receive(
    test_client_factory: TestClientFactory,
) -> None:
    """If a downstream middleware modifies receive() the final ASGI app
    should see the modified version.
    """

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = await request.body()
        assert body == b"foo foo "
        await Response()(scope, receive, send)

    class ConsumingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            body = await request.body()
            assert body == b"foo "
            return await call_next(request)

    def modifying_middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped_app(scope: Scope, receive: Receive, send: Send) -> None:
            async def wrapped_receive() -> Message:
                msg = await receive()
                if msg["type"] == "http.request":  # pragma: no branch
                    msg["body"] = msg["body"] * 2
                return msg

            await app(scope, wrapped_receive, send)

        return wrapped_app

    client = test_client_factory(ConsumingMiddleware(modifying_middleware(endpoint)))

    resp = client.post("/", content=b"foo ")
    assert resp.status_code == 200


def test_pr_1519_comment_1236166180_example(test_client_factory: TestClientFactory) -> None:
    """
    https://github.com/encode/starlette/pull/1519#issuecomment-1236166180
    """
    bodies: list[bytes] = []

    class LogRequestBodySize(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            print(len(await request.body()))
            return await call_next(request)

    def replace_body_middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped_app(scope: Scope, receive: Receive, send: Send) -> None:
            async def wrapped_rcv() -> Message:
                msg = await receive()
                msg["body"] += b"-foo"
                return msg

            await app(scope, wrapped_rcv, send)

        return wrapped_app

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        bodies.append(body)
        return Response()

    app: ASGIApp = MicroASGI(routes=[Route("/", endpoint, methods=["POST"])])
    app = replace_body_middleware(app)
    app = LogRequestBodySize(app)

    client = test_client_factory(app)
    resp = client.post("/", content=b"Hello, World!")
    resp.raise_for_status()

    assert bodies == [b"Hello, World!-foo"]


async def test_multiple_middlewares_stacked_client_disconnected() -> None:
    """
    Tests for:
    - https://github.com/encode/starlette/issues/2516
    - https://github.com/encode/starlette/pull/2687
    """
    ordered_events: list[str] = []
    unordered_events: list[str] = []

    class MyMiddleware(BaseHTTPMiddleware):
        def __init__(self, app: ASGIApp, version: int) -> None:
            self.version = version
            super().__init__(app)

        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            ordered_events.append(f"{self.version}:STARTED")
            res = await call_next(request)
            ordered_events.append(f"{self.version}:COMPLETED")

            def background() -> None:
                unordered_events.append(f"{self.version}:BACKGROUND")

            assert res.background is None
            res.background = BackgroundTask(background)
            return res

    async def sleepy(request: Request) -> Response:
        try:
            await request.body()
        except ClientDisconnect:
            pass
        else:  # pragma: no cover
            raise AssertionError("Should have raised ClientDisconnect")
        return Response(b"")

    app = MicroASGI(
        routes=[Route("/", sleepy)],
        middleware=[Middleware(MyMiddleware, version=_ + 1) for _ in range(10)],
    )

    async def receive() -> AsyncGenerator[Message, None]:
        yield {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    rcv = receive()  # closed at the end, for trio (see above)
    await app(dict(MINIMAL_SCOPE), rcv.__anext__, send)
    await rcv.aclose()

    assert ordered_events == [f"{n}:STARTED" for n in range(1, 11)] + [
        f"{n}:COMPLETED" for n in range(10, 0, -1)
    ]

    assert sorted(unordered_events) == sorted([f"{n}:BACKGROUND" for n in range(1, 11)])

    assert sent == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"0")],
        },
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]


@pytest.mark.parametrize("send_body", [True, False])
async def test_poll_for_disconnect_repeated(send_body: bool) -> None:
    async def app_poll_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
        for _ in range(2):
            msg = await receive()
            while msg["type"] == "http.request":
                msg = await receive()
            assert msg["type"] == "http.disconnect"
        await Response(b"good!")(scope, receive, send)

    class MyMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            return await call_next(request)

    app = MyMiddleware(app_poll_disconnect)

    async def receive() -> AsyncGenerator[Message, None]:
        # the key here is that we only ever send 1 htt.disconnect message
        if send_body:
            yield {"type": "http.request", "body": b"hello", "more_body": True}
            yield {"type": "http.request", "body": b"", "more_body": False}
        yield {"type": "http.disconnect"}
        raise AssertionError("Should not be called, would hang")  # pragma: no cover

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    rcv = receive()  # closed at the end, for trio (see above)
    await app(dict(MINIMAL_SCOPE), rcv.__anext__, send)
    await rcv.aclose()

    assert sent == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"5")],
        },
        {"type": "http.response.body", "body": b"good!", "more_body": True},
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]


async def test_asgi_pathsend_events(tmp_path: Path) -> None:
    path = tmp_path / "example.txt"
    path.write_text("<file content>")

    response_complete = anyio.Event()
    events: list[Message] = []

    async def endpoint_with_pathsend(_: Request) -> FileResponse:
        return FileResponse(path)

    app = MicroASGI(
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=passthrough)],
        routes=[Route("/", endpoint_with_pathsend)],
    )

    scope = {**MINIMAL_SCOPE, "extensions": {"http.response.pathsend": {}}}

    async def receive() -> Message:
        raise NotImplementedError("Should not be called!")  # pragma: no cover

    async def send(message: Message) -> None:
        events.append(message)
        if message["type"] == "http.response.pathsend":
            response_complete.set()

    await app(scope, receive, send)

    assert len(events) == 2
    assert events[0]["type"] == "http.response.start"
    assert events[1]["type"] == "http.response.pathsend"


def test_error_context_propagation(test_client_factory: TestClientFactory) -> None:
    class PassthroughMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            return await call_next(request)

    def exception_without_context(request: Request) -> None:
        raise Exception("Exception")

    def exception_with_context(request: Request) -> None:
        try:
            raise Exception("Inner exception")
        except Exception:
            raise Exception("Outer exception")  # noqa: B904

    def exception_with_cause(request: Request) -> None:
        try:
            raise Exception("Inner exception")
        except Exception as e:
            raise Exception("Outer exception") from e

    app = MicroASGI(
        routes=[
            Route("/exception-without-context", endpoint=exception_without_context),
            Route("/exception-with-context", endpoint=exception_with_context),
            Route("/exception-with-cause", endpoint=exception_with_cause),
        ],
        middleware=[Middleware(PassthroughMiddleware)],
    )
    client = test_client_factory(app)

    # Starlette's exception carries (and suppresses) the anyio.EndOfStream of its channel as
    # __context__, and turns a __context__ into a __cause__; here each exception keeps the
    # context and cause the endpoint gave it, nothing added.
    with pytest.raises(Exception, match=r"^Exception$") as ctx:
        client.get("/exception-without-context")
    assert str(ctx.value) == "Exception"
    assert ctx.value.__cause__ is None
    assert ctx.value.__context__ is None

    with pytest.raises(Exception, match=r"^Outer exception$") as ctx:
        client.get("/exception-with-context")
    assert str(ctx.value) == "Outer exception"
    assert ctx.value.__cause__ is None
    assert str(ctx.value.__context__) == "Inner exception"

    with pytest.raises(Exception, match=r"^Outer exception$") as ctx:
        client.get("/exception-with-cause")
    assert str(ctx.value) == "Outer exception"
    assert ctx.value.__cause__ is not None
    assert str(ctx.value.__cause__) == "Inner exception"
