"""Websockets through routing: WebSocketRoute, websocket_session, WebSocketEndpoint, the exception
handlers' websocket path and the application's add_websocket_route."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import pytest

from microasgi.applications import MicroASGI
from microasgi.endpoints import WebSocketEndpoint
from microasgi.exceptions import HTTPException, WebSocketException
from microasgi.middleware import Middleware
from microasgi.middleware.exceptions import ExceptionMiddleware
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import (
    Mount,
    NoMatchFound,
    Route,
    Router,
    WebSocketRoute,
    websocket_session,
)
from microasgi.testclient import AsyncTestClient, TestClient, WebSocketDenialResponse
from microasgi.types import ASGIApp, Message, Receive, Scope, Send
from microasgi.websockets import MAX_MESSAGE_SIZE_KEY, WebSocket, WebSocketDisconnect

NO_DENIAL: dict[str, Any] = {}
DENIAL: dict[str, Any] = {"websocket.http.response": {}}


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for message in websocket.iter_text():
        await websocket.send_text(f"{websocket.path_params.get('room', '-')}:{message}")


async def homepage(request: Any) -> Response:
    return PlainTextResponse("home")


# --- WebSocketRoute -----------------------------------------------------------------------------


async def test_function_route_with_params() -> None:
    app = Router([WebSocketRoute("/ws/{room}", echo)])
    async with AsyncTestClient(app).websocket_connect("/ws/lobby") as session:
        await session.send_text("hi")
        assert await session.receive_text() == "lobby:hi"


async def test_http_and_websocket_on_one_path() -> None:
    app = Router([Route("/", homepage), WebSocketRoute("/", echo)])
    client = AsyncTestClient(app)
    assert (await client.get("/")).text == "home"
    async with client.websocket_connect("/") as session:
        await session.send_text("x")
        assert await session.receive_text() == "-:x"


async def test_unmatched_scope_types() -> None:
    app = Router([WebSocketRoute("/ws", echo), Route("/page", homepage)])
    client = AsyncTestClient(app)
    assert (await client.get("/ws")).status_code == 404
    with pytest.raises(WebSocketDisconnect):
        async with client.websocket_connect("/page"):
            pass  # pragma: no cover


async def test_partial_and_asgi_app_endpoints() -> None:
    async def greet(websocket: WebSocket, greeting: str) -> None:
        await websocket.accept()
        await websocket.send_text(greeting)

    class Raw:  # any ASGI app that is not a function
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            websocket = WebSocket(scope, receive, send)
            await websocket.accept()
            await websocket.send_text("raw")
            await websocket.close()

    app = Router(
        [
            WebSocketRoute("/partial", functools.partial(greet, greeting="hello")),
            WebSocketRoute("/raw", Raw(), name="raw"),
        ]
    )
    client = AsyncTestClient(app)
    for path, expected in [("/partial", "hello"), ("/raw", "raw")]:
        async with client.websocket_connect(path) as session:
            assert await session.receive_text() == expected


def test_route_attributes_and_errors() -> None:
    route = WebSocketRoute("/ws/{id:int}", echo)
    assert route.name == "echo"
    assert route.endpoint is echo
    assert route.path_format == "/ws/{id}"
    assert repr(route) == "WebSocketRoute(path='/ws/{id:int}', name='echo')"
    assert WebSocketRoute("/x", echo, name="other").name == "other"

    with pytest.raises(ValueError, match="Route path must start with '/'"):
        WebSocketRoute("ws", echo)
    with pytest.raises(ValueError, match="max_message_size must be a number of bytes"):
        WebSocketRoute("/ws", echo, max_message_size=0)


def test_url_path_for_has_the_websocket_protocol() -> None:
    app = Router(
        [
            WebSocketRoute("/ws/{room}", echo, name="chat"),
            Mount("/api", routes=[WebSocketRoute("/live", echo, name="live")], name="api"),
        ]
    )
    url = app.url_path_for("chat", room="r1")
    assert (str(url), url.protocol) == ("/ws/r1", "websocket")
    assert str(url.make_absolute_url("https://example.org")) == "wss://example.org/ws/r1"
    assert str(url.make_absolute_url("http://example.org/")) == "ws://example.org/ws/r1"
    nested = app.url_path_for("api:live")
    assert (str(nested), nested.protocol) == ("/api/live", "websocket")
    with pytest.raises(NoMatchFound, match="Route 'chat' takes params"):
        app.url_path_for("chat")
    with pytest.raises(NoMatchFound, match="Did you mean 'chat'"):
        app.url_path_for("chta", room="r1")


async def test_url_for_from_a_websocket() -> None:
    async def where(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(str(websocket.url_for("where")))

    client = AsyncTestClient(Router([WebSocketRoute("/where", where)]), base_url="https://site")
    async with client.websocket_connect("/where") as session:
        assert await session.receive_text() == "wss://site/where"


async def test_mounted_websocket_routes() -> None:
    app = Router([Mount("/rooms", routes=[WebSocketRoute("/{room}", echo)])])
    async with AsyncTestClient(app).websocket_connect("/rooms/blue") as session:
        await session.send_text("x")
        assert await session.receive_text() == "blue:x"


async def test_route_middleware() -> None:
    class Tag:
        def __init__(self, app: ASGIApp, tag: str) -> None:
            self.app, self.tag = app, tag

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            scope["path_params"] = {**scope["path_params"], "room": self.tag}
            await self.app(scope, receive, send)

    app = Router([WebSocketRoute("/ws", echo, middleware=[Middleware(Tag, tag="tagged")])])
    async with AsyncTestClient(app).websocket_connect("/ws") as session:
        await session.send_text("x")
        assert await session.receive_text() == "tagged:x"


@pytest.mark.parametrize(("limit", "code"), [(4, 1009), (None, None), (..., None)])
async def test_route_message_limit(limit: Any, code: int | None) -> None:
    async def size(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(websocket.scope.get(MAX_MESSAGE_SIZE_KEY, "unset"))
        await websocket.send_text(await websocket.receive_text())

    app = Router([WebSocketRoute("/ws", size, max_message_size=limit)])
    async with AsyncTestClient(app).websocket_connect("/ws") as session:
        assert await session.receive_json() == ("unset" if limit is ... else limit)
        await session.send_text("too long")
        if code is None:
            assert await session.receive_text() == "too long"
        else:
            with pytest.raises(WebSocketDisconnect) as caught:
                await session.receive_text()
            assert caught.value.code == code


async def test_route_alone_and_custom_matching() -> None:
    route = WebSocketRoute("/ws", echo)
    client = AsyncTestClient(route)
    async with client.websocket_connect("/ws") as session:
        await session.send_text("alone")
        assert await session.receive_text() == "-:alone"
    with pytest.raises(WebSocketDisconnect):
        async with client.websocket_connect("/other"):
            pass  # pragma: no cover
    assert route.matches({"type": "http", "path": "/ws"})[0].name == "NONE"

    class AnyPath(WebSocketRoute):
        def matches(self, scope: Scope) -> Any:
            return super().matches({**scope, "path": "/ws"})

    app = Router([AnyPath("/ws", echo)])
    async with AsyncTestClient(app).websocket_connect("/anything") as session:
        await session.send_text("custom")
        assert await session.receive_text() == "-:custom"


def test_shadowed_websocket_route_is_reported() -> None:
    router = Router([WebSocketRoute("/ws/{name}", echo), WebSocketRoute("/ws/{other}", echo)])
    [(later, earlier)] = router.shadowed_routes()
    assert (later, earlier) == (router.routes[1], router.routes[0])
    # An HTTP route and a websocket route on one path both match something.
    assert Router([Route("/ws", homepage), WebSocketRoute("/ws", echo)]).shadowed_routes() == []


async def test_add_websocket_route() -> None:
    router = Router()
    router.add_websocket_route("/r", echo, name="r")
    app = MicroASGI()
    app.add_websocket_route("/a", echo, name="a")
    assert router.url_path_for("r").protocol == "websocket"
    assert app.url_path_for("a") == "/a"
    targets: list[tuple[ASGIApp, str]] = [(router, "/r"), (app, "/a")]
    for target, path in targets:
        async with AsyncTestClient(target).websocket_connect(path) as session:
            await session.send_text("x")
            assert await session.receive_text() == "-:x"
    # As in Starlette, a websocket route may be added after the app started.
    app.add_websocket_route("/late", echo)
    async with AsyncTestClient(app).websocket_connect("/late") as session:
        await session.send_text("y")
        assert await session.receive_text() == "-:y"


# --- endpoints that are not 'async def' but return an awaitable (as Starlette accepts) ----------


def logged(func: Callable[[WebSocket], Awaitable[None]]) -> Callable[[WebSocket], Any]:
    """A decorator written the plain way: its wrapper is a ``def`` returning the coroutine."""

    @functools.wraps(func)
    def wrapper(websocket: WebSocket) -> Awaitable[None]:
        return func(websocket)

    return wrapper


@logged
async def logged_echo(websocket: WebSocket) -> None:
    await echo(websocket)


class Rooms:
    """A plain method returning a coroutine (a bound method is routed like a function)."""

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    async def _greet(self, websocket: WebSocket, name: str) -> None:
        await websocket.accept()
        await websocket.send_text(f"{self.greeting}, {name}")

    def greet(self, websocket: WebSocket, name: str = "you") -> Awaitable[None]:
        return self._greet(websocket, name)


def plain_greet(websocket: WebSocket, name: str) -> Awaitable[None]:
    return Rooms("hi")._greet(websocket, name)


async def test_a_plain_def_wrapper_around_an_async_endpoint_is_accepted() -> None:
    # Starlette 1.10 routes any function as func(websocket) and awaits what it returns.
    route = WebSocketRoute("/ws/{room}", logged_echo)
    assert route.name == "logged_echo"
    async with AsyncTestClient(Router([route])).websocket_connect("/ws/lobby") as session:
        await session.send_text("hi")
        assert await session.receive_text() == "lobby:hi"


async def test_a_method_or_partial_returning_a_coroutine_is_accepted() -> None:
    app = Router(
        [
            WebSocketRoute("/method", Rooms("hello").greet),
            WebSocketRoute("/partial", functools.partial(plain_greet, name="ann")),
        ]
    )
    client = AsyncTestClient(app)
    for path, expected in [("/method", "hello, you"), ("/partial", "hi, ann")]:
        async with client.websocket_connect(path) as session:
            assert await session.receive_text() == expected


class CallableSession:
    """A callable object whose ``__call__`` returns a coroutine."""

    def __call__(self, websocket: WebSocket) -> Awaitable[None]:
        return self.run(websocket)

    async def run(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("from an object")


async def test_websocket_session_takes_a_callable_returning_a_coroutine() -> None:
    client = AsyncTestClient(websocket_session(CallableSession()))
    async with client.websocket_connect("/") as session:
        assert await session.receive_text() == "from an object"


def test_a_plain_def_wrapper_with_the_sync_client(test_client_factory: Any) -> None:
    client: TestClient = test_client_factory(Router([WebSocketRoute("/ws", logged_echo)]))
    with client.websocket_connect("/ws") as session:
        session.send_text("x")
        assert session.receive_text() == "-:x"


def forgot_async(websocket: WebSocket) -> None:
    """A plain function that returns nothing to await (its author forgot ``async``)."""


async def test_an_endpoint_returning_no_awaitable_is_a_clear_error_at_the_call() -> None:
    route = WebSocketRoute("/ws", forgot_async)  # accepted when declared, as in Starlette
    client = AsyncTestClient(Router([route]))
    with pytest.raises(TypeError, match=r"forgot_async.*awaitable") as raised:
        async with client.websocket_connect("/ws"):
            pass  # pragma: no cover
    assert "None" in str(raised.value)


class ReturnsJunk:
    """A callable object whose ``__call__`` returns something that cannot be awaited."""

    def __call__(self, websocket: WebSocket) -> Any:
        return 42


async def test_a_callable_returning_no_awaitable_is_a_clear_error_at_the_call() -> None:
    client = AsyncTestClient(websocket_session(ReturnsJunk()))
    with pytest.raises(TypeError, match=r"ReturnsJunk.*awaitable") as raised:
        async with client.websocket_connect("/"):
            pass  # pragma: no cover
    assert "42" in str(raised.value)


# --- websocket_session --------------------------------------------------------------------------


async def test_session_returning_a_response_denies() -> None:
    async def guard(websocket: WebSocket) -> Response | None:
        if "token" not in websocket.query_params:
            return PlainTextResponse("token needed", status_code=401)
        await websocket.accept()
        return None

    client = AsyncTestClient(websocket_session(guard))
    with pytest.raises(WebSocketDenialResponse) as denied:
        async with client.websocket_connect("/"):
            pass  # pragma: no cover
    assert (denied.value.status_code, denied.value.text) == (401, "token needed")
    async with client.websocket_connect("/?token=1") as session:
        with pytest.raises(WebSocketDisconnect) as closed:
            await session.receive_text()
    assert closed.value.code == 1000  # left open: the session closes it


async def test_session_returning_a_response_after_accept_is_an_error() -> None:
    async def late(websocket: WebSocket) -> Response:
        await websocket.accept()
        return PlainTextResponse("too late")

    with pytest.raises(TypeError, match=r"returned .* after answering the handshake"):
        async with AsyncTestClient(websocket_session(late)).websocket_connect("/"):
            pass


async def test_session_ends_quietly_on_disconnect() -> None:
    seen: list[int] = []

    async def reader(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            await websocket.receive_text()
        except WebSocketDisconnect as exc:
            seen.append(exc.code)
            raise

    async with AsyncTestClient(websocket_session(reader)).websocket_connect("/") as session:
        await session.close(4002)
    assert seen == [4002]


async def test_session_closed_by_the_app_or_ignoring_the_return() -> None:
    async def closes(websocket: WebSocket) -> str:
        await websocket.accept()
        await websocket.close(4005)
        return "ignored"

    with pytest.raises(WebSocketDisconnect) as caught:
        async with AsyncTestClient(websocket_session(closes)).websocket_connect("/") as session:
            await session.receive_text()
    assert caught.value.code == 4005


# --- WebSocketEndpoint --------------------------------------------------------------------------


class Recorder(WebSocketEndpoint):
    events: ClassVar[list[Any]] = []

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        self.events.append(data)
        await websocket.send_text(repr(data))

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        self.events.append(("closed", close_code))


def endpoint(encoding: str | None) -> type[Recorder]:
    return type("Endpoint", (Recorder,), {"encoding": encoding, "events": []})


@pytest.mark.parametrize(
    ("encoding", "sends", "expected"),
    [
        (None, [("text", "a"), ("bytes", b"b")], ["a", b"b"]),
        ("text", [("text", "a"), ("text", "")], ["a", ""]),
        ("bytes", [("bytes", b"a")], [b"a"]),
        ("json", [("text", '{"a":1}'), ("bytes", b"[2]")], [{"a": 1}, [2]]),
    ],
)
async def test_endpoint_encodings(
    encoding: str | None, sends: list[tuple[str, Any]], expected: list[Any]
) -> None:
    cls = endpoint(encoding)
    async with AsyncTestClient(Router([WebSocketRoute("/ws", cls)])).websocket_connect(
        "/ws"
    ) as session:
        for kind, value in sends:
            await session.send({"type": "websocket.receive", kind: value})
            await session.receive_text()
        await session.close(4000)
    assert cls.events == [*expected, ("closed", 4000)]


@pytest.mark.parametrize(
    ("encoding", "message", "code"),
    [
        ("text", {"bytes": b"x"}, 1003),
        ("bytes", {"text": "x"}, 1003),
        ("json", {"text": "{nope"}, 1007),
        ("json", {"bytes": b"\xff"}, 1007),
    ],
)
async def test_endpoint_refuses_the_wrong_data(encoding: str, message: Message, code: int) -> None:
    cls = endpoint(encoding)
    async with AsyncTestClient(cls).websocket_connect("/") as session:
        await session.send({"type": "websocket.receive", **message})
        with pytest.raises(WebSocketDisconnect) as caught:
            await session.receive_text()
    assert caught.value.code == code
    assert cls.events == [("closed", code)]


async def test_endpoint_on_connect_can_close() -> None:
    class Refuse(Recorder):
        events: ClassVar[list[Any]] = []

        async def on_connect(self, websocket: WebSocket) -> None:
            await websocket.close(4003)

    with pytest.raises(WebSocketDisconnect) as caught:
        async with AsyncTestClient(Refuse).websocket_connect("/"):
            pass  # pragma: no cover
    assert caught.value.code == 4003
    assert Refuse.events == [("closed", 4003)]


async def test_endpoint_on_receive_can_close() -> None:
    class OneShot(Recorder):
        events: ClassVar[list[Any]] = []

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            await websocket.close(4004)

    async with AsyncTestClient(OneShot).websocket_connect("/") as session:
        await session.send_text("x")
        with pytest.raises(WebSocketDisconnect):
            await session.receive_text()
    assert OneShot.events == [("closed", 4004)]


async def test_endpoint_error_reports_1011_and_reaches_the_server() -> None:
    class Broken(Recorder):
        events: ClassVar[list[Any]] = []

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            raise ValueError("boom")

    app = MicroASGI(routes=[WebSocketRoute("/ws", Broken)])
    async with AsyncTestClient(app).websocket_connect("/ws") as session:
        await session.send_text("x")
        # As with Starlette's test client: the app's error comes out of the session's receive.
        with pytest.raises(ValueError, match="boom"):
            await session.receive_text()
    assert Broken.events == [("closed", 1011)]


def test_endpoint_checks() -> None:
    with pytest.raises(
        ValueError, match="encoding must be None, 'text', 'bytes' or 'json', got 'xml'"
    ):
        type("Bad", (WebSocketEndpoint,), {"encoding": "xml"})
    with pytest.raises(ValueError, match="WebSocketEndpoint serves 'websocket' scopes, got 'http'"):
        WebSocketEndpoint({"type": "http"}, None, None)  # type: ignore[arg-type]


def test_endpoint_defaults_with_the_sync_client(test_client_factory: Any) -> None:
    client: TestClient = test_client_factory(WebSocketEndpoint)
    with client.websocket_connect("/") as session:
        session.send_text("ignored")
        session.close()


# --- exception handlers in a websocket scope ------------------------------------------------------

CLOSES: list[WebSocketDisconnect] = []


async def talk(app: ASGIApp, text: str, path: str = "/ws") -> None:
    """Send ``text``, then record the close the app answers with in ``CLOSES``."""
    try:
        async with AsyncTestClient(app).websocket_connect(path) as session:
            await session.send_text(text)
            with pytest.raises(WebSocketDisconnect) as caught:
                await session.receive_text()
            CLOSES.append(caught.value)
    except WebSocketDisconnect as exc:  # closed before accepting
        CLOSES.append(exc)


def raising(exc: Exception, *, accept: bool) -> ASGIApp:
    async def endpoint(websocket: WebSocket) -> None:
        if accept:
            await websocket.accept()
            await websocket.receive_text()
        raise exc

    return MicroASGI(routes=[WebSocketRoute("/ws", endpoint)])


async def test_websocket_exception_after_accept_closes_with_its_code() -> None:
    app = raising(WebSocketException(4008, "policy " + "x" * 200), accept=True)
    async with AsyncTestClient(app).websocket_connect("/ws") as session:
        await session.send_text("go")
        with pytest.raises(WebSocketDisconnect) as caught:
            await session.receive_text()
    assert caught.value.code == 4008
    assert caught.value.reason == ("policy " + "x" * 200)[:123]


async def test_websocket_exception_before_accept_closes() -> None:
    app = raising(WebSocketException(4001), accept=False)
    with pytest.raises(WebSocketDisconnect) as caught:
        async with AsyncTestClient(app).websocket_connect("/ws"):
            pass  # pragma: no cover
    assert caught.value.code == 4001
    assert not isinstance(caught.value, WebSocketDenialResponse)


async def test_websocket_exception_after_the_app_closed_sends_nothing_more() -> None:
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(4000)
        raise WebSocketException(4009)

    app = MicroASGI(routes=[WebSocketRoute("/ws", endpoint)])
    async with AsyncTestClient(app).websocket_connect("/ws") as session:
        with pytest.raises(WebSocketDisconnect) as caught:
            await session.receive_text()
    assert caught.value.code == 4000


@pytest.mark.parametrize(("extensions", "denied"), [(None, True), (NO_DENIAL, False)])
async def test_http_exception_before_accept(extensions: Any, denied: bool) -> None:
    app = raising(
        HTTPException(401, "login first", headers={"WWW-Authenticate": "Bearer"}), accept=False
    )
    with pytest.raises(WebSocketDisconnect) as caught:
        async with AsyncTestClient(app, extensions=extensions).websocket_connect("/ws"):
            pass  # pragma: no cover
    assert isinstance(caught.value, WebSocketDenialResponse) is denied
    if isinstance(caught.value, WebSocketDenialResponse):
        assert caught.value.status_code == 401
        assert caught.value.text == "login first"
        assert caught.value.headers["www-authenticate"] == "Bearer"


async def test_http_exception_after_accept_reraises_with_a_note() -> None:
    app = raising(HTTPException(403), accept=True)
    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    incoming: list[Message] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "go"},
    ]

    async def receive() -> Message:
        return incoming.pop(0)

    with pytest.raises(HTTPException) as raised:
        await app({"type": "websocket", "path": "/ws", "headers": []}, receive, record)
    assert "a Response can only deny a handshake" in raised.value.__notes__[0]
    # Nothing after the accept: the server closes the connection the app failed on.
    assert [m["type"] for m in sent] == ["websocket.accept"]


@pytest.mark.parametrize("accept", [True, False])
async def test_custom_handlers_get_the_websocket(accept: bool) -> None:
    async def on_key_error(websocket: WebSocket, exc: KeyError) -> None:
        await websocket.close(4040, f"missing {exc.args[0]}")

    def on_401(websocket: WebSocket, exc: HTTPException) -> Response:
        return PlainTextResponse("custom 401", status_code=401)

    routes = [
        WebSocketRoute("/key", raising_endpoint(KeyError("room"), accept=accept)),
        WebSocketRoute("/401", raising_endpoint(HTTPException(401), accept=False)),
    ]
    app = MicroASGI(routes=routes, exception_handlers={KeyError: on_key_error, 401: on_401})
    client = AsyncTestClient(app)
    await talk(app, "go", path="/key")
    assert (CLOSES[-1].code, CLOSES[-1].reason) == (4040, "missing room")
    with pytest.raises(WebSocketDenialResponse) as denied:
        async with client.websocket_connect("/401"):
            pass  # pragma: no cover
    assert denied.value.text == "custom 401"


def raising_endpoint(exc: Exception, *, accept: bool) -> Any:
    async def endpoint(websocket: WebSocket) -> None:
        if accept:
            await websocket.accept()
            await websocket.receive_text()
        raise exc

    return endpoint


async def test_handler_returning_junk() -> None:
    async def junk(websocket: WebSocket, exc: Exception) -> Any:
        return 42

    routes = [WebSocketRoute("/ws", raising_endpoint(KeyError("k"), accept=False))]
    app = MicroASGI(routes=routes, exception_handlers={KeyError: junk})
    with pytest.raises(TypeError, match="returned 42 for KeyError in a websocket"):
        async with AsyncTestClient(app).websocket_connect("/ws"):
            pass  # pragma: no cover


@pytest.mark.parametrize("accept", [False, True])
@pytest.mark.parametrize("extensions", [DENIAL, NO_DENIAL])
async def test_unhandled_error_reraises_and_sends_nothing(extensions: Any, accept: bool) -> None:
    # As in Starlette 1.10: ExceptionMiddleware and ServerErrorMiddleware send nothing for a
    # websocket's unhandled error (no 500 denial, no 1011 close); the server answers the
    # handshake with its own 500, or closes the accepted connection, and logs the error.
    app = raising(ValueError("boom"), accept=accept)
    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    incoming: list[Message] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "go"},
    ]

    async def receive() -> Message:
        return incoming.pop(0)

    scope = {"type": "websocket", "path": "/ws", "headers": [], "extensions": extensions}
    with pytest.raises(ValueError, match="boom"):
        await app(scope, receive, record)
    assert [m["type"] for m in sent] == (["websocket.accept"] if accept else [])


class Boom(Exception):
    """An endpoint's unhandled error."""


async def fails_before_accept(websocket: WebSocket) -> None:
    raise Boom("before accept")


class PassThrough:
    """A user middleware: the application's error layers are then two, not fused."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def report(request: Any, exc: Exception) -> Response:  # pragma: no cover (http only)
    return PlainTextResponse("reported", status_code=500)


@pytest.mark.parametrize("middleware", [[], [Middleware(PassThrough)]])
@pytest.mark.parametrize("handlers", [{}, {Exception: report}, {500: report}])
@pytest.mark.parametrize("extensions", [None, NO_DENIAL])
async def test_error_before_accept_raises_out_of_websocket_connect(
    middleware: list[Middleware[Any]], handlers: dict[Any, Any], extensions: Any
) -> None:
    # Starlette 1.10: the error reaches the server, and its test client raises it from
    # websocket_connect; it was a 500 denial response (WebSocketDenialResponse) here.
    app = MicroASGI(
        routes=[WebSocketRoute("/ws", fails_before_accept)],
        middleware=middleware,
        exception_handlers=handlers,
    )
    with pytest.raises(Boom, match="before accept"):
        async with AsyncTestClient(app, extensions=extensions).websocket_connect("/ws"):
            pass  # pragma: no cover


def test_error_before_accept_raises_from_the_sync_client(test_client_factory: Any) -> None:
    app = MicroASGI(routes=[WebSocketRoute("/ws", fails_before_accept)])
    client: TestClient = test_client_factory(app)
    with pytest.raises(Boom, match="before accept"), client.websocket_connect("/ws"):
        pass  # pragma: no cover


async def test_error_before_accept_when_the_client_acts_as_a_server() -> None:
    # raise_server_exceptions=False: the client does what a server does with the app's crash.
    app = MicroASGI(routes=[WebSocketRoute("/ws", fails_before_accept)])
    client = AsyncTestClient(app, raise_server_exceptions=False)
    with pytest.raises(WebSocketDisconnect) as caught:
        async with client.websocket_connect("/ws"):
            pass  # pragma: no cover
    assert caught.value.code == 1011


async def test_unhandled_error_while_denying_sends_nothing_more() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.http.response.start", "status": 400, "headers": []})
        raise ValueError("half way")

    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    async def nothing() -> Message:
        raise AssertionError  # pragma: no cover

    scope = {
        "type": "websocket",
        "path": "/",
        "headers": [],
        "extensions": {"websocket.http.response": {}},
    }
    with pytest.raises(ValueError, match="half way"):
        await ExceptionMiddleware(app)(scope, nothing, record)
    assert [m["type"] for m in sent] == ["websocket.http.response.start"]


async def test_unhandled_disconnect_ends_quietly() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        raise WebSocketDisconnect(message["code"])

    async with AsyncTestClient(ExceptionMiddleware(app)).websocket_connect("/") as session:
        await session.close(4000)


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    await ExceptionMiddleware(app)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]
