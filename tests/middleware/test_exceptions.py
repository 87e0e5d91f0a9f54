"""``ExceptionMiddleware``: handlers by status code and by class, the default HTTPException answer."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from http import HTTPStatus
from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException, WebSocketException
from microasgi.middleware import Middleware
from microasgi.middleware.cors import CORSMiddleware
from microasgi.middleware.exceptions import ExceptionMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Mount, Route, Router, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send
from microasgi.websockets import WebSocket, WebSocketDisconnect


class AppError(Exception):
    """A domain error, with a more specific subclass."""


class NotFoundError(AppError):
    """The more specific one."""


def raising(exc: Exception) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app


async def name_handler(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"{type(exc).__name__} at {request.url.path}", status_code=418)


@pytest.mark.parametrize(
    ("exc", "status", "body", "headers"),
    [
        (HTTPException(404), 404, "Not Found", {}),
        (HTTPException(400, detail="Bad 'id'"), 400, "Bad 'id'", {}),
        (
            HTTPException(401, headers={"WWW-Authenticate": "Bearer"}),
            401,
            "Unauthorized",
            {"www-authenticate": "Bearer"},
        ),
        (HTTPException(204), 204, "", {}),
        (HTTPException(205), 205, "", {}),
        (HTTPException(304, headers={"ETag": '"v1"'}), 304, "", {"etag": '"v1"'}),
    ],
)
async def test_http_exception_without_handler(
    exc: HTTPException, status: int, body: str, headers: dict[str, str]
) -> None:
    response = await AsyncTestClient(ExceptionMiddleware(raising(exc))).get("/")
    assert response.status_code == status
    assert response.text == body
    for name, value in headers.items():
        assert response.headers[name] == value
    if status in (204, 205, 304):
        assert "content-type" not in response.headers


async def test_http_exception_on_head_has_no_body() -> None:
    response = await AsyncTestClient(ExceptionMiddleware(raising(HTTPException(404)))).head("/")
    assert response.status_code == 404
    assert response.content == b""
    assert response.headers["content-length"] == "9"


@pytest.mark.parametrize(
    ("handlers", "exc", "expected"),
    [
        # by status code
        ({404: name_handler}, HTTPException(404), "HTTPException at /p"),
        # the status handler wins over a class handler of HTTPException
        (
            {404: name_handler, HTTPException: lambda r, e: PlainTextResponse("class")},
            HTTPException(404),
            "HTTPException at /p",
        ),
        # by class, through the MRO
        ({AppError: name_handler}, NotFoundError(), "NotFoundError at /p"),
        # the most specific registered class wins, whatever the registration order
        (
            {AppError: lambda r, e: PlainTextResponse("base"), NotFoundError: name_handler},
            NotFoundError(),
            "NotFoundError at /p",
        ),
        (
            {NotFoundError: name_handler, AppError: lambda r, e: PlainTextResponse("base")},
            AppError(),
            "base",
        ),
        # a class handler for HTTPException replaces the default answer
        ({HTTPException: name_handler}, HTTPException(400), "HTTPException at /p"),
        ({Exception: name_handler}, KeyError("k"), "KeyError at /p"),
    ],
)
async def test_handler_lookup(handlers: dict[Any, Any], exc: Exception, expected: str) -> None:
    response = await AsyncTestClient(ExceptionMiddleware(raising(exc), handlers=handlers)).get("/p")
    assert response.text == expected


async def test_status_handlers_only_answer_their_status() -> None:
    app = ExceptionMiddleware(raising(HTTPException(400)), handlers={404: name_handler})
    response = await AsyncTestClient(app).get("/")
    assert (response.status_code, response.text) == (400, "Bad Request")


async def test_sync_handler_runs_in_a_worker_thread() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def handler(request: Request, exc: Exception) -> Response:
        threads.append(threading.get_ident())
        return JSONResponse({"error": str(exc)}, status_code=422)

    app = ExceptionMiddleware(raising(ValueError("bad value")), handlers={ValueError: handler})
    response = await AsyncTestClient(app).get("/")
    assert (response.status_code, response.json()) == (422, {"error": "bad value"})
    assert len(threads) == 1
    assert threads[0] != loop_thread


async def test_add_exception_handler() -> None:
    app = ExceptionMiddleware(raising(HTTPException(409)))
    app.add_exception_handler(409, name_handler)
    response = await AsyncTestClient(app).get("/c")
    assert response.text == "HTTPException at /c"


async def test_unhandled_exception_propagates_as_itself() -> None:
    error = AppError("nobody handles me")
    with pytest.raises(AppError) as info:
        await AsyncTestClient(
            ExceptionMiddleware(raising(error), handlers={KeyError: name_handler})
        ).get("/")
    assert info.value is error


async def test_handler_returning_no_response_is_a_clear_error() -> None:
    async def forgetful(request: Request, exc: Exception) -> Any:
        return {"error": "oops"}

    app = ExceptionMiddleware(raising(AppError()), handlers={AppError: forgetful})
    with pytest.raises(
        TypeError,
        match=r"forgetful returned \{'error': 'oops'\} for AppError; it must return a Response",
    ) as info:
        await AsyncTestClient(app).get("/")
    assert isinstance(info.value.__cause__, AppError)


def stream_failing_with(exc: Exception) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"first,"
            raise exc

        await StreamingResponse(chunks())(scope, receive, send)

    return app


# 2.3: the stream runs in a task group beside a disconnect watcher; 2.4: no task group.
@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
async def test_after_the_response_started_the_handler_cannot_answer(spec_version: str) -> None:
    error = HTTPException(409, detail="too late")
    app = ExceptionMiddleware(stream_failing_with(error), handlers={409: name_handler})
    with pytest.raises(HTTPException) as info:
        await AsyncTestClient(app, spec_version=spec_version).get("/")
    # The exception itself, never an ExceptionGroup from the stream's task group, with a note.
    assert info.value is error
    assert error.__notes__ == [
        "The exception handler name_handler could not answer this HTTPException: the response had "
        "already started. Raise it before the response is sent (for a stream, before returning "
        "the StreamingResponse)."
    ]
    client = AsyncTestClient(app, spec_version=spec_version, raise_server_exceptions=False)
    response = await client.get("/")
    assert (response.status_code, response.text) == (200, "first,")


async def test_unhandled_exception_after_start_gets_no_note() -> None:
    error = AppError("mid-stream")
    with pytest.raises(AppError) as info:
        await AsyncTestClient(ExceptionMiddleware(stream_failing_with(error))).get("/")
    assert info.value is error
    assert not hasattr(error, "__notes__")


async def test_messages_before_start_do_not_count_as_started() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]})
        raise HTTPException(403)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}  # pragma: no cover (never read)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    await ExceptionMiddleware(app)(scope, receive, send)
    assert [m["type"] for m in sent] == [
        "http.response.early_hint",
        "http.response.start",
        "http.response.body",
    ]
    assert sent[1]["status"] == 403


# Websocket scopes have a handler path of their own, tested with the WebSocket class in
# tests/test_websockets.py.
@pytest.mark.parametrize("scope_type", ["lifespan"])
async def test_other_scopes_pass_through(scope_type: str) -> None:
    async def receive() -> Message:
        return {"type": "never"}  # pragma: no cover (never read)

    async def send(message: Message) -> None:
        raise AssertionError(message)  # pragma: no cover (nothing is sent)

    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    await ExceptionMiddleware(app, handlers={AppError: name_handler})(
        {"type": scope_type}, receive, send
    )
    # Not handled here, even with a handler registered for it: it reaches the server.
    with pytest.raises(HTTPException):
        await ExceptionMiddleware(raising(HTTPException(404)))({"type": scope_type}, receive, send)
    assert seen == [scope_type]


@pytest.mark.parametrize(
    ("key", "handler", "message"),
    [
        (
            "404",
            name_handler,
            "must be a status code \\(int\\) or an Exception subclass, got '404'",
        ),
        (True, name_handler, "must be a status code \\(int\\) or an Exception subclass, got True"),
        (KeyboardInterrupt, name_handler, "got <class 'KeyboardInterrupt'>"),
        (int, name_handler, "got <class 'int'>"),
        (99, name_handler, "status code must be from 100 to 599, got 99"),
        (600, name_handler, "status code must be from 100 to 599, got 600"),
        (
            404,
            "not a function",
            "The exception handler for 404 must be a function \\(request, exc\\) -> Response, got 'not a function'",
        ),
    ],
)
def test_invalid_handlers_are_refused(key: Any, handler: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        ExceptionMiddleware(raising(AppError()), handlers={key: handler})
    app = ExceptionMiddleware(raising(AppError()))
    with pytest.raises(TypeError, match=message):
        app.add_exception_handler(key, handler)


def test_sync_client(test_client_factory: Callable[..., Any]) -> None:
    app = ExceptionMiddleware(raising(NotFoundError()), handlers={AppError: name_handler})
    response = test_client_factory(app).get("/s")
    assert (response.status_code, response.text) == (418, "NotFoundError at /s")


# --- a handled exception keeps nothing alive ----------------------------------------------------


class Marker:
    """A local of the endpoint's frame: it lives as long as that frame does."""


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Turn the cyclic garbage collector off: what is freed here is freed by reference counts."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def endpoint_raising(exc: Exception, markers: list[weakref.ref[Marker]]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        marker = Marker()  # kept alive by the frame, as a request's locals are
        markers.append(weakref.ref(marker))
        try:
            int("not a number")
        except ValueError:
            raise exc  # noqa: B904 (chained to the ValueError on purpose: its traceback too)

    return app


# A module-level exception raised on every bad request, as auth libraries do.
LONG_LIVED = HTTPException(401, headers={"WWW-Authenticate": "Bearer"})


@pytest.mark.parametrize("handlers", [{}, {401: name_handler}], ids=["default", "handler"])
async def test_a_long_lived_handled_exception_keeps_no_frames_alive(
    handlers: dict[Any, Any],
) -> None:
    # Starlette fixed this leak (the handled exception's traceback pinned every frame it passed
    # through, with the request's send, receive and locals, until the exception's next raise).
    markers: list[weakref.ref[Marker]] = []
    app = ExceptionMiddleware(endpoint_raising(LONG_LIVED, markers), handlers=handlers)
    response = await AsyncTestClient(app).get("/")
    assert response.status_code in (401, 418)
    gc.collect()
    assert markers[0]() is None
    assert LONG_LIVED.__traceback__ is None
    assert isinstance(LONG_LIVED.__context__, ValueError)
    assert LONG_LIVED.__context__.__traceback__ is None


@pytest.mark.usefixtures("no_gc")
async def test_a_handled_exception_leaves_no_reference_cycle() -> None:
    markers: list[weakref.ref[Marker]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        marker = Marker()
        markers.append(weakref.ref(marker))
        error = HTTPException(403)  # held by the frame its own traceback holds: a cycle
        raise error

    response = await AsyncTestClient(ExceptionMiddleware(app)).get("/")
    assert response.status_code == 403
    assert markers[0]() is None  # freed at once, without waiting for the garbage collector


async def test_an_unhandled_exception_keeps_its_traceback() -> None:
    error = AppError("for the server's log")
    with pytest.raises(AppError) as info:
        await AsyncTestClient(ExceptionMiddleware(raising(error))).get("/")
    assert info.value.__traceback__ is not None


@pytest.mark.parametrize(
    "exc",
    [HTTPException(403), WebSocketException(4003)],
    ids=["http-exception-denies", "websocket-exception-closes"],
)
async def test_a_handled_websocket_exception_keeps_no_frames_alive(exc: Exception) -> None:
    markers: list[weakref.ref[Marker]] = []
    app = ExceptionMiddleware(endpoint_raising(exc, markers))
    with pytest.raises(WebSocketDisconnect):
        async with AsyncTestClient(app).websocket_connect("/"):
            pass  # pragma: no cover
    gc.collect()
    assert markers[0]() is None
    assert exc.__traceback__ is None


# --- answered inside the route, as in Starlette --------------------------------------------------


class Tag:
    """A middleware that adds ``x-<name>: yes`` to every response start going through it."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (f"x-{self.name}".encode(), b"yes")]
            await send(message)

        await self.app(scope, receive, tagged)


async def forbidden(request: Request) -> Response:
    raise HTTPException(403, detail="auth")


def sync_bad_value(request: Request) -> Response:
    raise ValueError("bad value")


async def bad_value_handler(request: Request, exc: ValueError) -> Response:
    return PlainTextResponse(f"handled: {exc}", status_code=400)


def tagged_app(**options: Any) -> MicroASGI:
    return MicroASGI(
        routes=[
            Mount(
                "/mount",
                routes=[
                    Route("/forbidden", forbidden),
                    Route("/bad", sync_bad_value),
                    Route("/routed", forbidden, middleware=[Middleware(Tag, name="route")]),
                ],
                middleware=[Middleware(Tag, name="mount")],
            ),
            Route("/forbidden", forbidden),
        ],
        exception_handlers={ValueError: bad_value_handler},
        **options,
    )


@pytest.mark.parametrize(
    "middleware",
    [[], [Middleware(Tag, name="app")]],
    ids=["fused-error-layers", "with-user-middleware"],
)
@pytest.mark.parametrize(
    ("path", "status", "text", "tags"),
    [
        ("/mount/forbidden", 403, "auth", ["mount"]),
        ("/mount/bad", 400, "handled: bad value", ["mount"]),  # a class handler, sync endpoint
        ("/mount/routed", 403, "auth", ["mount", "route"]),
        ("/forbidden", 403, "auth", []),
    ],
)
async def test_mount_and_route_middleware_see_the_handlers_answer(
    middleware: list[Middleware[Any]], path: str, status: int, text: str, tags: list[str]
) -> None:
    # Starlette answers a function endpoint's exception inside its route, so the middleware
    # of the route and of its mounts add their headers to the answer; microasgi answered in
    # the application's exception layer, outside them.
    response = await AsyncTestClient(tagged_app(middleware=middleware)).get(path)
    assert (response.status_code, response.text) == (status, text)
    assert sorted(k[2:] for k in response.headers if k.startswith("x-") and k != "x-app") == tags
    assert ("x-app" in response.headers) == bool(middleware)


async def test_cors_on_a_mount_adds_its_headers_to_handled_errors() -> None:
    app = MicroASGI(
        routes=[
            Mount(
                "/api",
                routes=[Route("/secret", forbidden)],
                middleware=[Middleware(CORSMiddleware, allow_origins=["https://front.example"])],
            )
        ]
    )
    response = await AsyncTestClient(app).get(
        "/api/secret", headers={"Origin": "https://front.example"}
    )
    assert response.status_code == 403
    assert response.headers["access-control-allow-origin"] == "https://front.example"


async def test_the_handler_gets_the_endpoints_request() -> None:
    seen: list[Request] = []

    async def endpoint(request: Request) -> Response:
        seen.append(request)
        await request.body()
        raise AppError()

    async def handler(request: Request, exc: AppError) -> Response:
        seen.append(request)
        return PlainTextResponse(await request.body(), status_code=422)

    app = MicroASGI(
        routes=[Route("/", endpoint, methods=["POST"])], exception_handlers={AppError: handler}
    )
    response = await AsyncTestClient(app).post("/", content=b"Hello!")
    assert (response.status_code, response.text) == (422, "Hello!")
    assert seen[0] is seen[1]


async def test_errors_of_route_middleware_and_500_handlers_stay_outside_the_route() -> None:
    # As Starlette: what the route middleware raises, and what only a 500 / Exception handler
    # answers (in the outermost error layer), do not go back out through the route middleware.
    class Failing:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            raise HTTPException(401)

    async def crash(request: Request) -> Response:
        raise RuntimeError("boom")

    async def on_500(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"500: {exc}", status_code=500)

    app = MicroASGI(
        routes=[
            Route("/failing", forbidden, middleware=[Middleware(Failing)]),
            Route("/crash", crash, middleware=[Middleware(Tag, name="route")]),
        ],
        exception_handlers={500: on_500},
    )
    client = AsyncTestClient(app, raise_server_exceptions=False)
    response = await client.get("/failing")
    assert response.status_code == 401
    response = await client.get("/crash")
    assert (response.status_code, response.text) == (500, "500: boom")
    assert "x-route" not in response.headers


async def test_an_error_while_the_response_is_sent_is_answered_inside_the_route() -> None:
    # As Starlette: the route answers what its response raises before it starts.
    class Refusing(Response):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            raise HTTPException(409)

    async def endpoint(request: Request) -> Response:
        return Refusing()

    app = MicroASGI(routes=[Route("/", endpoint, middleware=[Middleware(Tag, name="route")])])
    response = await AsyncTestClient(app).get("/")
    assert response.status_code == 409
    assert response.headers["x-route"] == "yes"


@pytest.mark.parametrize(
    "make",
    [
        lambda: PlainTextResponse("sent whole"),  # a bytes body: sent without a watch on send
        lambda: Response(bytearray(b"copied")),  # not bytes: watched
        lambda: StreamingResponse(iter([b"streamed"])),  # watched
    ],
    ids=["bytes", "bytearray", "streaming"],
)
async def test_a_start_refused_below_the_route_is_answered_above_it(
    make: Callable[[], Response],
) -> None:
    # As Starlette: a response start handed to the route's middleware counts as started for the
    # route even if that middleware raises instead of passing it on, so the route leaves the
    # exception to the layers above; the application's handler answers there, outside the
    # route's middleware, since nothing reached the server.
    class RefuseStart:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def refusing(message: Message) -> None:
                if message["type"] == "http.response.start":
                    raise AppError("refused")
                await send(message)  # pragma: no cover

            await self.app(scope, receive, refusing)

    async def endpoint(request: Request) -> Response:
        return make()

    seen: list[str] = []

    async def handler(request: Request, exc: AppError) -> Response:
        seen.append(str(exc))
        return PlainTextResponse("answered above", status_code=502)

    app = MicroASGI(
        routes=[
            Route(
                "/", endpoint, middleware=[Middleware(Tag, name="route"), Middleware(RefuseStart)]
            )
        ],
        exception_handlers={AppError: handler},
    )
    response = await AsyncTestClient(app).get("/")
    assert (response.status_code, response.text) == (502, "answered above")
    assert "x-route" not in response.headers
    assert seen == ["refused"]


async def test_an_error_after_the_response_started_goes_on_up_with_a_note() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"partial"
        raise AppError("mid-stream")

    async def endpoint(request: Request) -> Response:
        return StreamingResponse(body())

    async def handler(request: Request, exc: AppError) -> Response:
        raise AssertionError("never called")  # pragma: no cover

    app = MicroASGI(routes=[Route("/", endpoint)], exception_handlers={AppError: handler})
    with pytest.raises(AppError) as info:
        await AsyncTestClient(app).get("/")
    assert "the response had already started" in info.value.__notes__[0]


@pytest.mark.usefixtures("no_gc")
async def test_an_exception_handled_in_the_route_leaves_no_reference_cycle() -> None:
    markers: list[weakref.ref[Marker]] = []

    async def endpoint(request: Request) -> Response:
        marker = Marker()
        markers.append(weakref.ref(marker))
        error = HTTPException(403)  # held by the frame its own traceback holds: a cycle
        raise error

    response = await AsyncTestClient(MicroASGI(routes=[Route("/", endpoint)])).get("/")
    assert response.status_code == 403
    assert markers[0]() is None


async def test_a_long_lived_exception_handled_in_the_route_keeps_no_frames_alive() -> None:
    markers: list[weakref.ref[Marker]] = []

    async def endpoint(request: Request) -> Response:
        marker = Marker()
        markers.append(weakref.ref(marker))
        raise LONG_LIVED

    response = await AsyncTestClient(MicroASGI(routes=[Route("/", endpoint)])).get("/")
    assert response.status_code == 401
    gc.collect()
    assert markers[0]() is None
    assert LONG_LIVED.__traceback__ is None


# --- the handlers published in the scope ---------------------------------------------------------


class BadBody(HTTPException):
    """An HTTPException subclass with a handler of its own."""


async def read_then_raise(request: Request) -> Response:
    await request.body()
    raise BadBody(422)


async def echo_body_handler(request: Request, exc: BadBody) -> Response:
    return JSONResponse({"body": (await request.body()).decode()}, status_code=422)


async def teapot(request: Request, exc: HTTPException) -> Response:
    return PlainTextResponse(f"custom {exc.status_code}", status_code=exc.status_code)


async def test_a_bare_router_leaves_http_exceptions_to_the_exception_middleware_above() -> None:
    # The router answered HTTPExceptions itself (with the default answer), so the handlers of
    # an ExceptionMiddleware around it were never asked.
    router = Router([Route("/body", read_then_raise, methods=["POST"])])
    app = ExceptionMiddleware(router, handlers={BadBody: echo_body_handler, 404: teapot})
    client = AsyncTestClient(app)
    response = await client.post("/body", content=b"Hello!")
    assert (response.status_code, response.json()) == (422, {"body": "Hello!"})
    response = await client.get("/missing")  # the router's own 404 reaches the handler too
    assert (response.status_code, response.text) == (404, "custom 404")
    response = await client.get("/body")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")


async def test_a_bare_router_still_answers_its_own_http_exceptions() -> None:
    router = Router([Route("/body", read_then_raise, methods=["POST"])])
    client = AsyncTestClient(router)
    response = await client.post("/body", content=b"x")
    # The phrase is Python's (http.HTTPStatus): "Unprocessable Content" since 3.13 (RFC 9110).
    assert (response.status_code, response.text) == (422, HTTPStatus(422).phrase)
    response = await client.get("/missing")
    assert (response.status_code, response.text) == (404, "Not Found")


async def test_the_innermost_exception_middleware_answers_for_the_routes() -> None:
    inner = ExceptionMiddleware(Router([Route("/x", forbidden)]), handlers={403: teapot})
    app = MicroASGI(routes=[Mount("/inner", app=inner), Route("/x", forbidden)])
    client = AsyncTestClient(app)
    assert (await client.get("/inner/x")).text == "custom 403"
    assert (await client.get("/x")).text == "auth"


@pytest.mark.parametrize("user_middleware", [False, True], ids=["fused", "layered"])
async def test_handlers_published_above_another_application_are_not_used(
    user_middleware: bool,
) -> None:
    # An ExceptionMiddleware around an application, or an application with a sub-application
    # mounted: each application's routes answer with that application's handlers.
    middleware = [Middleware(Tag, name="app")] if user_middleware else []
    sub = MicroASGI(routes=[Route("/x", forbidden)], middleware=middleware)
    outer = MicroASGI(
        routes=[Mount("/sub", app=sub), Route("/x", forbidden)],
        exception_handlers={403: teapot},
        middleware=middleware,
    )
    client = AsyncTestClient(ExceptionMiddleware(outer, handlers={403: name_handler}))
    assert (await client.get("/x")).text == "custom 403"
    assert (await client.get("/sub/x")).text == "auth"


async def test_under_another_framework_a_router_answers_for_itself() -> None:
    # A Starlette app between a microasgi application and a microasgi router sets its own
    # scope["app"]: its handlers do not know our HTTPException, so the router answers it.
    router = Router([Route("/x", forbidden)])

    class Foreign:
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            scope["app"] = self
            await router(scope, receive, send)

    app = MicroASGI(routes=[Mount("/foreign", app=Foreign())], exception_handlers={403: teapot})
    client = AsyncTestClient(app)
    response = await client.get("/foreign/x")
    assert (response.status_code, response.text) == (403, "auth")
    response = await client.get("/foreign/missing")
    assert (response.status_code, response.text) == (404, "Not Found")


# --- websocket endpoints -------------------------------------------------------------------------


class WsTag:
    """Records the close code going out through it."""

    def __init__(self, app: ASGIApp, seen: list[Any]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watched(message: Message) -> None:
            self.seen.append(message["type"])
            await send(message)

        await self.app(scope, receive, watched)


async def test_a_websocket_endpoints_exception_is_answered_inside_the_route() -> None:
    seen: list[Any] = []
    sockets: list[WebSocket] = []

    async def endpoint(websocket: WebSocket) -> None:
        sockets.append(websocket)
        await websocket.accept()
        raise AppError("bad frame")

    async def handler(websocket: WebSocket, exc: AppError) -> None:
        sockets.append(websocket)
        await websocket.close(4000, str(exc))

    app = MicroASGI(
        routes=[WebSocketRoute("/ws", endpoint, middleware=[Middleware(WsTag, seen=seen)])],
        exception_handlers={AppError: handler},
    )
    with pytest.raises(WebSocketDisconnect) as info:
        async with AsyncTestClient(app).websocket_connect("/ws") as ws:
            await ws.receive_text()
    assert (info.value.code, info.value.reason) == (4000, "bad frame")
    assert seen == ["websocket.accept", "websocket.close"]  # through the route's middleware
    assert sockets[0] is sockets[1]


async def test_a_websocket_exception_closes_inside_the_route() -> None:
    seen: list[Any] = []

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        raise WebSocketException(4001, reason="policy")

    app = MicroASGI(
        routes=[WebSocketRoute("/ws", endpoint, middleware=[Middleware(WsTag, seen=seen)])]
    )
    with pytest.raises(WebSocketDisconnect) as info:
        async with AsyncTestClient(app).websocket_connect("/ws") as ws:
            await ws.receive_text()
    assert (info.value.code, info.value.reason) == (4001, "policy")
    assert seen == ["websocket.accept", "websocket.close"]


async def test_a_websocket_handlers_late_response_re_raises_with_a_note() -> None:
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        raise AppError("late")

    async def handler(websocket: WebSocket, exc: AppError) -> Response:
        return PlainTextResponse("denied", status_code=403)

    app = MicroASGI(
        routes=[WebSocketRoute("/ws", endpoint)], exception_handlers={AppError: handler}
    )
    with pytest.raises(AppError) as info:
        async with AsyncTestClient(app).websocket_connect("/ws") as ws:
            await ws.receive_text()
    assert "the websocket was already answered" in info.value.__notes__[0]


async def test_a_websocket_handler_can_deny_the_handshake_from_the_route() -> None:
    async def endpoint(websocket: WebSocket) -> None:
        raise AppError("no")

    async def handler(websocket: WebSocket, exc: AppError) -> Response:
        return PlainTextResponse("denied", status_code=403)

    app = MicroASGI(
        routes=[WebSocketRoute("/ws", endpoint)], exception_handlers={AppError: handler}
    )
    with pytest.raises(WebSocketDisconnect) as info:
        async with AsyncTestClient(app).websocket_connect("/ws"):
            pass  # pragma: no cover
    assert info.value.code == 1000  # the test client offers no denial extension: a close


async def test_a_disconnect_with_a_handler_reaches_it_and_without_one_ends_quietly() -> None:
    ended: list[str] = []

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()

    async def on_disconnect(websocket: WebSocket, exc: WebSocketDisconnect) -> None:
        ended.append(f"left with {exc.code}")

    for handlers in ({WebSocketDisconnect: on_disconnect}, {}):
        app = MicroASGI(routes=[WebSocketRoute("/ws", endpoint)], exception_handlers=handlers)
        async with AsyncTestClient(app).websocket_connect("/ws") as ws:
            await ws.close(1001)
    assert ended == ["left with 1001"]


async def test_an_unhandled_websocket_error_goes_to_the_server_as_itself() -> None:
    error = AppError("unhandled")

    async def endpoint(websocket: WebSocket) -> None:
        raise error

    app = MicroASGI(routes=[WebSocketRoute("/ws", endpoint)])
    with pytest.raises(AppError) as info:
        async with AsyncTestClient(app).websocket_connect("/ws"):
            pass  # pragma: no cover
    assert info.value is error
