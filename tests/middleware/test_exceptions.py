"""``ExceptionMiddleware``: handlers by status code and by class, the default HTTPException answer."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from microasgi.exceptions import HTTPException, WebSocketException
from microasgi.middleware.exceptions import ExceptionMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send
from microasgi.websockets import WebSocketDisconnect


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
