"""``MicroASGI``: the stack built once, configuration frozen at start, errors and handlers."""

from __future__ import annotations

import functools
import gc
import logging
import threading
import types
import warnings
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import pytest

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.datastructures import State
from microasgi.exceptions import HTTPException, StarletteDeprecationWarning
from microasgi.middleware import Middleware
from microasgi.middleware.errors import ServerErrorMiddleware
from microasgi.requests import ClientDisconnect, Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Host, Mount, NoMatchFound, Route, Router
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send


class Boom(Exception):
    """What the endpoints under test raise."""


async def home(request: Request) -> Response:
    return PlainTextResponse("home")


async def user(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["id"], "app": type(request.app).__name__})


async def fail(request: Request) -> Response:
    raise Boom("endpoint failed")


def fail_in_thread(request: Request) -> Response:
    raise Boom("sync endpoint failed")


async def echo(request: Request) -> Response:
    return PlainTextResponse(await request.body())


class Recorder:
    """A user middleware: records the status it saw go out and the exception it saw go up."""

    built = 0

    def __init__(self, app: ASGIApp, log: list[str]) -> None:
        type(self).built += 1
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.log.append(f"status {message['status']}")
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            self.log.append(f"raised {type(exc).__name__}")
            raise


class Tag:
    """A user middleware adding ``x-order`` so tests see the order of the stack."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("order", []).append(self.name)
        await self.app(scope, receive, send)


def make_app(**options: Any) -> MicroASGI:
    routes = [
        Route("/", home, name="home"),
        Route("/users/{id:int}", user, name="user"),
        Route("/fail", fail),
        Route("/fail-sync", fail_in_thread),
        Route("/echo", echo, methods=["POST"]),
    ]
    return MicroASGI(routes=routes, **options)


async def run_raw(app: ASGIApp, scope: Scope, incoming: list[Message]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


# --- serving -----------------------------------------------------------------------------------


async def test_routes_404_405() -> None:
    client = AsyncTestClient(make_app())
    assert (await client.get("/")).text == "home"
    assert (await client.get("/users/7")).json() == {"id": 7, "app": "MicroASGI"}
    missing = await client.get("/nowhere")
    assert (missing.status_code, missing.text) == (404, "Not Found")
    wrong = await client.get("/echo")
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")


async def test_handlers_shape_404_and_405() -> None:
    async def not_found(request: Request, exc: HTTPException) -> Response:
        return JSONResponse({"missing": request.url.path}, status_code=404)

    def not_allowed(request: Request, exc: HTTPException) -> Response:
        return PlainTextResponse("no", status_code=405, headers=exc.headers)

    client = AsyncTestClient(make_app(exception_handlers={404: not_found, 405: not_allowed}))
    assert (await client.get("/x")).json() == {"missing": "/x"}
    wrong = await client.get("/echo")
    assert (wrong.text, wrong.headers["allow"]) == ("no", "POST")


def test_sync_client(test_client_factory: Callable[..., Any]) -> None:
    client = test_client_factory(make_app())
    assert client.get("/").text == "home"
    assert client.post("/echo", content=b"abc").text == "abc"


async def test_request_app_and_url_for() -> None:
    async def where(request: Request) -> Response:
        assert request.app is app
        return PlainTextResponse(str(request.url_for("user", id=3)))

    app = MicroASGI(routes=[Route("/where", where), Route("/users/{id:int}", user, name="user")])
    assert (await AsyncTestClient(app).get("/where")).text == "http://testserver/users/3"


def test_reading_the_configuration() -> None:
    app = make_app()
    assert [getattr(route, "path", None) for route in app.routes][:2] == ["/", "/users/{id:int}"]
    assert app.routes is app.router.routes
    assert isinstance(app.router, Router)
    assert str(app.url_path_for("user", id=5)) == "/users/5"
    with pytest.raises(NoMatchFound):
        app.url_path_for("nobody")
    assert isinstance(app.state, State)
    app.state.db = "connection"
    assert app.state.db == "connection"
    assert app.debug is False


# --- the stack ---------------------------------------------------------------------------------


async def test_stack_is_built_once_at_the_first_call() -> None:
    log: list[str] = []
    Recorder.built = 0
    app = make_app(middleware=[Middleware(Recorder, log)])
    before = app.middleware_stack
    assert before is None
    assert Recorder.built == 0
    client = AsyncTestClient(app)
    await client.get("/")
    stack = app.middleware_stack
    await client.get("/")
    assert isinstance(stack, ServerErrorMiddleware)
    assert app.middleware_stack is stack
    assert Recorder.built == 1


async def test_stack_order() -> None:
    log: list[str] = []
    app = make_app(middleware=[Middleware(Recorder, log)])
    client = AsyncTestClient(app, raise_server_exceptions=False)
    # ExceptionMiddleware is inside the user middleware: they see the 404 it answers.
    await client.get("/nowhere")
    # ServerErrorMiddleware is outside: they see the exception, and not the 500.
    response = await client.get("/fail")
    assert response.status_code == 500
    assert log == ["status 404", "raised Boom"]


async def test_user_middleware_order_and_add_middleware() -> None:
    async def order(request: Request) -> Response:
        return PlainTextResponse(",".join(request.scope["order"]))

    app = MicroASGI(
        routes=[Route("/", order)], middleware=[Middleware(Tag, "first"), Middleware(Tag, "second")]
    )
    app.add_middleware(Tag, name="added")
    assert (await AsyncTestClient(app).get("/")).text == "added,first,second"


@pytest.mark.parametrize(
    ("change", "what", "instead"),
    [
        (
            lambda app: app.add_middleware(Tag, name="late"),
            "add middleware",
            "MicroASGI(middleware=[Middleware(cls, **options), ...])",
        ),
        (
            lambda app: app.add_exception_handler(404, home),
            "add an exception handler",
            "MicroASGI(exception_handlers={key: handler, ...})",
        ),
    ],
)
async def test_changing_the_app_after_start_is_refused(
    change: Callable[[MicroASGI], None], what: str, instead: str
) -> None:
    app = make_app()
    await AsyncTestClient(app).get("/")
    routes_before = list(app.routes)
    with pytest.raises(RuntimeError) as info:
        change(app)
    assert str(info.value) == (
        f"Cannot {what} after the application has started: its middleware stack is built at the "
        f"first call and then fixed. Declare it when creating the app: {instead}."
    )
    assert app.routes == routes_before


async def test_routes_and_debug_may_change_after_start_as_in_starlette() -> None:
    async def boom(request: Request) -> Response:
        raise ValueError("boom")

    app = make_app()
    client = AsyncTestClient(app, raise_server_exceptions=False)
    await client.get("/")
    app.add_route("/late", home)
    app.add_route("/boom", boom)
    app.mount("/sub", MicroASGI(routes=[Route("/", home)]))
    app.host("late.example.com", PlainTextResponse("late host"))
    assert (await client.get("/late")).status_code == 200
    assert (await client.get("/sub/")).status_code == 200
    assert "text/plain" in (await client.get("/boom")).headers["content-type"]
    app.debug = True  # the stack is built again, with the debug page
    assert (
        "text/html"
        in (await client.get("/boom", headers={"accept": "text/html"})).headers["content-type"]
    )


async def test_changing_the_app_before_start() -> None:
    async def teapot(request: Request, exc: HTTPException) -> Response:
        return PlainTextResponse("teapot", status_code=418)

    sub = MicroASGI(routes=[Route("/", home)])
    other = Router([Route("/", user)])
    app = MicroASGI()
    app.add_route("/hello", home, methods=["GET", "POST"], name="hello")
    app.mount("/sub", sub, name="sub")
    app.host("api.example.com", other, name="api")
    app.add_exception_handler(404, teapot)
    app.debug = True
    client = AsyncTestClient(app, raise_server_exceptions=False)
    assert (await client.post("/hello")).text == "home"
    assert (await client.get("/sub/")).text == "home"
    assert (await client.get("/nope")).text == "teapot"
    assert str(app.url_path_for("sub:home")) == "/sub/"
    assert app.debug is True
    assert isinstance(app.routes[1], Mount)
    assert isinstance(app.routes[2], Host)
    api = await AsyncTestClient(
        app, base_url="http://api.example.com", raise_server_exceptions=False
    ).get("/")
    assert api.status_code == 500  # user() needs an id: a KeyError, answered by the debug page
    assert "KeyError: 'id'" in api.text


@pytest.mark.parametrize(
    ("handlers", "message"),
    [
        ({"404": home}, "must be a status code \\(int\\) or an Exception subclass, got '404'"),
        ({404: "home"}, "must be a function"),
    ],
)
def test_invalid_exception_handlers_fail_at_construction(
    handlers: dict[Any, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        MicroASGI(exception_handlers=handlers)
    app = MicroASGI()
    ((key, handler),) = handlers.items()
    with pytest.raises(TypeError, match=message):
        app.add_exception_handler(key, handler)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/fail", "/fail-sync"])
async def test_unhandled_error_answers_500_and_reaches_the_server(path: str) -> None:
    app = make_app()
    with pytest.raises(Boom):
        await AsyncTestClient(app).get(path)
    response = await AsyncTestClient(app, raise_server_exceptions=False).get(path)
    assert (response.status_code, response.text) == (500, "Internal Server Error")


def test_unhandled_error_with_the_sync_client(test_client_factory: Callable[..., Any]) -> None:
    with pytest.raises(Boom, match="endpoint failed"):
        test_client_factory(make_app()).get("/fail")
    response = test_client_factory(make_app(), raise_server_exceptions=False).get("/fail")
    assert response.status_code == 500


@pytest.mark.parametrize("key", [500, Exception])
async def test_500_and_exception_handlers_answer_unhandled_errors(key: Any) -> None:
    seen: list[Exception] = []

    def server_error(request: Request, exc: Exception) -> Response:
        seen.append(exc)
        return JSONResponse({"error": "sorry"}, status_code=500)

    async def explicit(request: Request) -> Response:
        raise HTTPException(500, detail="explicit")

    app = make_app(exception_handlers={key: server_error})
    app.add_route("/explicit", explicit)
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/fail")
    assert response.json() == {"error": "sorry"}
    assert isinstance(seen[0], Boom)
    # The exception still reaches the server's log.
    with pytest.raises(Boom):
        await AsyncTestClient(app).get("/fail")
    # An HTTPException(500) is an answer, not a failure: ExceptionMiddleware's default gives it.
    explicit_response = await AsyncTestClient(app).get("/explicit")
    assert (explicit_response.status_code, explicit_response.text) == (500, "explicit")
    assert len(seen) == 2


async def test_debug_page() -> None:
    client = AsyncTestClient(make_app(debug=True), raise_server_exceptions=False)
    page = await client.get("/fail", headers={"accept": "text/html"})
    text = await client.get("/fail")
    assert "<h1>500 Server Error</h1>" in page.text
    assert "Boom: endpoint failed</pre>" in page.text
    assert text.headers["content-type"].startswith("text/plain")
    assert "Boom: endpoint failed" in text.text
    assert "in fail" in text.text


async def test_handler_gets_the_exception_from_a_worker_thread_as_itself() -> None:
    async def handler(request: Request, exc: Boom) -> Response:
        return PlainTextResponse(f"{type(exc).__name__}: {exc}", status_code=400)

    app = make_app(exception_handlers={Boom: handler})
    response = await AsyncTestClient(app).get("/fail-sync")
    assert (response.status_code, response.text) == (400, "Boom: sync endpoint failed")


# spec 2.3: the stream runs in a task group (disconnect watcher); the error must not come out
# wrapped in an ExceptionGroup, neither to handlers nor to the server.
@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
async def test_errors_from_task_groups_arrive_as_themselves(spec_version: str) -> None:
    async def stream(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"start,"
            raise Boom("in the stream")

        return StreamingResponse(chunks())

    def background_fails() -> None:
        raise Boom("in the background")

    async def with_background(request: Request) -> Response:
        return PlainTextResponse("sent", background=BackgroundTask(background_fails))

    handled: list[BaseException] = []

    def handler(request: Request, exc: Boom) -> Response:  # pragma: no cover (cannot answer)
        handled.append(exc)
        return PlainTextResponse("handled")

    app = MicroASGI(
        routes=[Route("/stream", stream), Route("/background", with_background)],
        exception_handlers={Boom: handler},
    )
    for path, message in [("/stream", "in the stream"), ("/background", "in the background")]:
        with pytest.raises(Boom, match=message) as info:
            await AsyncTestClient(app, spec_version=spec_version).get(path)
        assert type(info.value) is Boom
        # The response had started: the handler could not answer, and the note says so.
        assert (
            "could not answer this Boom: the response had already started"
            in info.value.__notes__[0]
        )
    assert handled == []


async def test_client_disconnect_ends_the_request_quietly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    incoming: list[Message] = [
        {"type": "http.request", "body": b"part", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent = await run_raw(make_app(debug=True), scope, incoming)
    assert sent == []
    assert incoming == []
    assert caplog.records == []


# --- body size and lifespan --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "size", "status"),
    [(10, 10, 200), (10, 11, 413), (None, 100_000, 200)],
)
async def test_max_body_size(limit: int | None, size: int, status: int) -> None:
    app = make_app(max_body_size=limit)
    response = await AsyncTestClient(app).post("/echo", content=b"x" * size)
    assert response.status_code == status


def test_max_body_size_is_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="max_body_size must be a number of bytes >= 0"):
        MicroASGI(max_body_size=-1)


async def test_lifespan_gets_the_app_and_its_state_reaches_requests() -> None:
    seen: list[Any] = []

    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[dict[str, Any]]:
        seen.append(app)
        yield {"db": "connected"}
        seen.append("shutdown")

    async def db(request: Request) -> Response:
        return PlainTextResponse(request.state.db)

    app = MicroASGI(routes=[Route("/db", db)], lifespan=lifespan)
    state: dict[str, Any] = {}
    incoming: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = await run_raw(
        app, {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}, incoming
    )
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert seen == [app, "shutdown"]
    assert state == {"db": "connected"}
    # The lifespan was the app's first call: the stack is built, and frozen.
    assert app.middleware_stack is not None
    response = await run_raw(
        app,
        {"type": "http", "method": "GET", "path": "/db", "headers": [], "state": dict(state)},
        [{"type": "http.request", "body": b""}],
    )
    assert response[1]["body"] == b"connected"


# As Starlette 1.10: generator function lifespans still work, deprecated, with its warning text,
# category and module, so the warning filters of ported projects match.
_GENERATOR_WARNING = (
    r"(async )?generator function lifespans are deprecated, use an "
    r"@contextlib\.asynccontextmanager function instead"
)


@contextmanager
def routing_deprecations_raise() -> Iterator[None]:
    """Turn the lifespan deprecation into an error only when its module is microasgi.routing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.filterwarnings(
            "error", _GENERATOR_WARNING, StarletteDeprecationWarning, r"microasgi\.routing"
        )
        yield


async def run_lifespan(app: ASGIApp) -> tuple[list[str], dict[str, Any]]:
    state: dict[str, Any] = {}
    incoming: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = await run_raw(
        app, {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}, incoming
    )
    return [m["type"] for m in sent], state


async def test_an_async_generator_function_lifespan_is_deprecated_but_runs() -> None:
    seen: list[Any] = []

    async def lifespan(app: MicroASGI) -> AsyncIterator[dict[str, Any]]:
        seen.append(app)
        yield {"db": "connected"}
        seen.append("shutdown")

    with (
        routing_deprecations_raise(),
        pytest.raises(StarletteDeprecationWarning, match=r"^async generator function lifespans"),
    ):
        MicroASGI(lifespan=lifespan)  # type: ignore[arg-type]
    with pytest.warns(StarletteDeprecationWarning, match=_GENERATOR_WARNING) as record:
        app = MicroASGI(lifespan=lifespan)  # type: ignore[arg-type]
    assert record[0].filename == __file__  # it points at the lifespan to rewrite
    messages, state = await run_lifespan(app)
    assert messages == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert seen == [app, "shutdown"]
    assert state == {"db": "connected"}


async def test_a_generator_function_lifespan_is_deprecated_but_runs_in_the_loop_thread() -> None:
    seen: list[Any] = []

    def lifespan(app: MicroASGI) -> Iterator[dict[str, Any]]:
        seen.append(threading.get_ident())
        try:
            yield {"db": "connected"}
        finally:
            seen.append(threading.get_ident())

    with (
        routing_deprecations_raise(),
        pytest.raises(StarletteDeprecationWarning, match=r"^generator function lifespans"),
    ):
        Router(lifespan=functools.partial(lifespan))  # type: ignore[arg-type]
    with pytest.warns(StarletteDeprecationWarning, match=_GENERATOR_WARNING):
        app = MicroASGI(lifespan=lifespan)  # type: ignore[arg-type]
    assert app.router.lifespan_context.__name__ == "lifespan"  # type: ignore[union-attr]
    messages, state = await run_lifespan(app)
    assert messages == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert seen == [threading.get_ident()] * 2
    assert state == {"db": "connected"}


async def test_a_generator_lifespans_shutdown_sees_a_startup_failure() -> None:
    fails = True  # a generator that fails before its yield

    def lifespan(app: MicroASGI) -> Iterator[None]:
        if fails:
            raise Boom("no database")
        yield  # pragma: no cover

    with pytest.warns(StarletteDeprecationWarning):
        app = MicroASGI(lifespan=lifespan)  # type: ignore[arg-type]
    with pytest.raises(Boom):
        await run_lifespan(app)


def test_a_lifespan_without_a_code_object_is_still_reported() -> None:
    def lifespan(owner: object, app: MicroASGI) -> Iterator[None]:
        yield  # pragma: no cover (never started)

    # A method over a partial: a generator function to inspect, with no __code__ of its own.
    method = types.MethodType(functools.partial(lifespan), object())
    with pytest.warns(StarletteDeprecationWarning) as record:
        Router(lifespan=method)
    assert record[0].filename == "<lifespan>"


async def test_a_mounts_cap_applies_to_a_mounted_application_with_the_default_cap() -> None:
    # The sub-application's default 16 MiB used to replace the mount's explicit cap.
    sub = make_app()
    app = MicroASGI(routes=[Mount("/small", app=sub, max_body_size=10)])
    client = AsyncTestClient(app)
    assert (await client.post("/small/echo", content=b"x" * 10)).status_code == 200
    assert (await client.post("/small/echo", content=b"x" * 11)).status_code == 413
    # A cap the sub-application sets itself still replaces the mount's (the innermost wins).
    app = MicroASGI(routes=[Mount("/big", app=make_app(max_body_size=20), max_body_size=10)])
    assert (await AsyncTestClient(app).post("/big/echo", content=b"x" * 15)).status_code == 200


async def test_a_scope_built_by_hand_without_headers_is_served() -> None:
    # Unit tests of middleware call apps with {"type": "http", "method": ..., "path": ...}.
    async def stream(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"streamed"

        return StreamingResponse(chunks())

    never = anyio.Event()

    async def receive() -> Message:
        await never.wait()  # the client stays: the stream ends on its own
        raise AssertionError("unreachable")  # pragma: no cover

    app = MicroASGI(routes=[Route("/", home), Route("/stream", stream)])
    for path, body in (("/", b"home"), ("/stream", b"streamed")):
        sent: list[Message] = []

        async def send(message: Message, sent: list[Message] = sent) -> None:
            sent.append(message)

        await app({"type": "http", "method": "GET", "path": path}, receive, send)
        assert sent[0]["status"] == 200
        assert b"".join(m.get("body", b"") for m in sent[1:]) == body


def test_form_limits_apply_to_the_whole_app(test_client_factory: Any) -> None:
    from microasgi.formparsers import FormLimits

    async def count(request: Request) -> Response:
        form = await request.form()
        return PlainTextResponse(str(len(form)))

    async def generous(request: Request) -> Response:
        form = await request.form(max_fields=10)
        return PlainTextResponse(str(len(form)))

    app = MicroASGI(
        routes=[Route("/", count, methods=["POST"]), Route("/more", generous, methods=["POST"])],
        form_limits=FormLimits(max_fields=2),
    )
    client = test_client_factory(app)
    assert client.post("/", data={"a": "1", "b": "2"}).text == "2"
    refused = client.post("/", data={"a": "1", "b": "2", "c": "3"})
    assert refused.status_code == 400
    assert client.post("/more", data={"a": "1", "b": "2", "c": "3"}).text == "3"


def test_form_limits_must_be_form_limits() -> None:
    with pytest.raises(TypeError, match="form_limits must be a FormLimits"):
        MicroASGI(form_limits={"max_fields": 2})  # type: ignore[arg-type]


# --- the fused error layers ---------------------------------------------------------------------
# Without user middleware the application fuses ServerErrorMiddleware and ExceptionMiddleware
# into one layer (one send wrapper instead of two). With a pass-through user middleware between
# them the two layers stay apart. Every case must come out the same both ways.


class PassThrough:
    """A user middleware that does nothing: it keeps the two error layers apart."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class Other(Exception):
    """What a failing exception handler raises."""


async def _raise_other(request: Request, exc: Exception) -> Response:
    raise Other("the handler failed")


async def _raise_disconnect(request: Request, exc: Exception) -> Response:
    raise ClientDisconnect()


async def _answer_418(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"handled {type(exc).__name__}", status_code=418)


async def _stream_then_fail(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"partial"
        raise Boom("mid-stream")

    return StreamingResponse(chunks())


class _FailingBody(Response):
    """A handler's answer whose body cannot be sent: it fails after its start went out."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 418, "headers": []})
        raise Other("the handler's response failed")


async def _answer_then_fail(request: Request, exc: Exception) -> Response:
    return _FailingBody()


class _Fail:
    """An ASGI endpoint: what it raises reaches the application's error layers (a function
    endpoint's exception is answered inside its route)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise Boom("endpoint failed")


def _error_app(layered: bool, handlers: dict[Any, Any]) -> MicroASGI:
    return MicroASGI(
        routes=[Route("/fail", _Fail()), Route("/stream", _stream_then_fail)],
        exception_handlers=handlers,
        middleware=[Middleware(PassThrough)] if layered else [],
    )


@pytest.mark.parametrize("layered", [False, True], ids=["fused", "layered"])
async def test_error_layers_fused_or_apart_answer_alike(layered: bool) -> None:
    # Unhandled: 500, then the exception goes on to the server.
    client = AsyncTestClient(_error_app(layered, {}), raise_server_exceptions=False)
    assert (await client.get("/fail")).status_code == 500
    with pytest.raises(Boom):
        await AsyncTestClient(_error_app(layered, {})).get("/fail")
    # A handler answers; nothing reaches the server.
    handled = await AsyncTestClient(_error_app(layered, {Boom: _answer_418})).get("/fail")
    assert (handled.status_code, handled.text) == (418, "handled Boom")
    # The handler fails: 500, and the handler's exception (caused while handling Boom) goes on.
    failing = _error_app(layered, {Boom: _raise_other})
    response = await AsyncTestClient(failing, raise_server_exceptions=False).get("/fail")
    assert response.status_code == 500
    with pytest.raises(Other) as info:
        await AsyncTestClient(failing).get("/fail")
    assert isinstance(info.value.__context__, Boom)
    # The handler's answer fails after its start: no second start, the failure goes on.
    broken = _error_app(layered, {Boom: _answer_then_fail})
    response = await AsyncTestClient(broken, raise_server_exceptions=False).get("/fail")
    assert response.status_code == 418
    # The client left while the handler ran: no answer, no error for the server.
    gone = _error_app(layered, {Boom: _raise_disconnect})
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "method": "GET",
        "path": "/fail",
        "query_string": b"",
        "headers": [],
    }
    assert await run_raw(gone, scope, [{"type": "http.request", "body": b""}]) == []


@pytest.mark.parametrize("layered", [False, True], ids=["fused", "layered"])
async def test_error_after_the_start_is_not_answered_twice(layered: bool) -> None:
    app = _error_app(layered, {Boom: _answer_418})
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/stream")
    assert (response.status_code, response.content) == (200, b"partial")
    with pytest.raises(Boom) as info:
        await AsyncTestClient(app).get("/stream")
    assert any("already started" in note for note in info.value.__notes__)


async def _fail_in_the_background() -> None:
    raise Boom("background failed")


async def _answer_then_fail_in_the_background(request: Request) -> Response:
    return PlainTextResponse("done", background=BackgroundTask(_fail_in_the_background))


@pytest.mark.parametrize("key", [500, Exception])
@pytest.mark.parametrize("layered", [False, True], ids=["fused", "layered"])
async def test_background_task_error_reaches_the_error_handler_and_the_server(
    layered: bool, key: Any
) -> None:
    # Starlette 1.10: the response was sent; the 500 / Exception handler is still called (error
    # reporting hooks in there; its answer is dropped), and the error goes on to the server.
    reported: list[tuple[str, Exception]] = []

    async def report(request: Request, exc: Exception) -> Response:
        reported.append((request.url.path, exc))
        return PlainTextResponse("never sent", status_code=500)

    app = MicroASGI(
        routes=[Route("/", _answer_then_fail_in_the_background)],
        exception_handlers={key: report},
        middleware=[Middleware(PassThrough)] if layered else [],
    )
    with pytest.raises(Boom, match="background failed"):
        await AsyncTestClient(app).get("/")
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/")
    assert (response.status_code, response.text) == (200, "done")
    assert [(path, str(exc)) for path, exc in reported] == [("/", "background failed")] * 2


@pytest.mark.parametrize("layered", [False, True], ids=["fused", "layered"])
async def test_an_error_after_the_start_reaches_the_500_handler_past_a_class_handler(
    layered: bool,
) -> None:
    # The Boom handler cannot answer a started response; the 500 handler still hears of it.
    reported: list[Exception] = []

    def report(request: Request, exc: Exception) -> Response:
        reported.append(exc)
        return PlainTextResponse("never sent", status_code=500)

    app = _error_app(layered, {Boom: _answer_418, 500: report})
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/stream")
    assert (response.status_code, response.content) == (200, b"partial")
    assert [type(exc) for exc in reported] == [Boom]
    assert any("already started" in note for note in reported[0].__notes__)


def test_background_task_error_with_the_sync_client(test_client_factory: Any) -> None:
    reported: list[str] = []

    def report(request: Request, exc: Exception) -> Response:
        reported.append(str(exc))
        return PlainTextResponse("never sent", status_code=500)

    app = MicroASGI(
        routes=[Route("/", _answer_then_fail_in_the_background)],
        exception_handlers={Exception: report},
    )
    with pytest.raises(Boom):
        test_client_factory(app).get("/")
    assert reported == ["background failed"]


# A module-level exception raised on every bad request, as auth libraries do.
_REUSED = HTTPException(401)


@pytest.mark.parametrize("layered", [False, True], ids=["fused", "layered"])
async def test_a_handled_exception_keeps_no_request_alive(layered: bool) -> None:
    locals_: list[weakref.ref[State]] = []

    async def guarded(request: Request) -> Response:
        per_request = State()  # a local of the endpoint, as a request's objects are
        locals_.append(weakref.ref(per_request))
        raise _REUSED

    app = MicroASGI(
        routes=[Route("/", guarded)], middleware=[Middleware(PassThrough)] if layered else []
    )
    assert (await AsyncTestClient(app).get("/")).status_code == 401
    gc.collect()
    assert locals_[0]() is None
    assert _REUSED.__traceback__ is None


async def test_a_router_subclass_is_called_as_itself() -> None:
    calls: list[str] = []

    class CountingRouter(Router):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            calls.append(scope["type"])
            await super().__call__(scope, receive, send)

    app = MicroASGI()
    app.router = CountingRouter([Route("/", home)])
    response = await AsyncTestClient(app).get("/")
    assert (response.status_code, response.text, calls) == (200, "home", ["http"])


async def test_the_fused_stack_is_an_asgi_app_on_its_own() -> None:
    app = _error_app(False, {Boom: _answer_418})
    assert (await AsyncTestClient(app).get("/fail")).status_code == 418  # builds the stack
    stack = app.middleware_stack
    assert stack is not None
    client = AsyncTestClient(stack)
    handled = await client.get("/fail")
    missing = await client.get("/nowhere")
    assert (handled.status_code, handled.text) == (418, "handled Boom")
    assert missing.status_code == 404
