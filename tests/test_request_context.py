"""``requests.current_request()`` and ``current_connection()`` under
``MicroASGI(request_context=True)``: right in endpoints, middleware, worker threads, background
tasks, tasks a request starts and websocket sessions; never another request's (concurrent ones,
one started from inside another's send() as servers do for pipelined requests, work that outlived
its request)."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

import anyio
import pytest

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.concurrency import iterate_in_threadpool, run_in_threadpool
from microasgi.middleware import Middleware
from microasgi.requests import HTTPConnection, Request, current_connection, current_request
from microasgi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Route, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send
from microasgi.websockets import WebSocket


def path_now() -> str:
    """What a helper deep in the call stack would do: find the request itself."""
    return current_request().url.path


def app_with(*routes: Any, **options: Any) -> MicroASGI:
    return MicroASGI(routes=list(routes), request_context=True, **options)


async def test_in_the_endpoint_the_same_request_each_time() -> None:
    async def endpoint(request: Request) -> Response:
        first = current_request()
        assert first is current_request() is current_connection()
        assert first.scope is request.scope
        return PlainTextResponse(f"{path_now()} {first.path_params['id']} {first.method}")

    client = AsyncTestClient(app_with(Route("/items/{id:int}", endpoint)))
    assert (await client.get("/items/7")).text == "/items/7 7 GET"


async def test_the_body_is_shared_with_the_endpoint() -> None:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        return PlainTextResponse((await current_request().body()) + body)

    client = AsyncTestClient(app_with(Route("/", endpoint, methods=["POST"])))
    assert (await client.post("/", content=b"ab")).text == "abab"


async def test_off_by_default_it_says_how_to_turn_it_on() -> None:
    async def endpoint(request: Request) -> Response:
        with pytest.raises(RuntimeError, match=r"request_context=True"):
            current_request()
        with pytest.raises(RuntimeError, match=r"current_connection\(\) found no request"):
            current_connection()
        return PlainTextResponse("ok")

    app = MicroASGI(routes=[Route("/", endpoint)])
    assert (await AsyncTestClient(app).get("/")).text == "ok"


async def test_outside_a_request_there_is_none() -> None:
    with pytest.raises(RuntimeError, match=r"current_request\(\) found no request"):
        current_request()


async def test_in_middleware_and_the_error_handler() -> None:
    seen: list[str] = []

    class Watch:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                seen.append(path_now())
            await self.app(scope, receive, send)

    async def boom(request: Request) -> Response:
        raise RuntimeError("boom")

    async def on_error(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"error in {path_now()}", status_code=500)

    app = app_with(
        Route("/boom", boom),
        middleware=[Middleware(Watch)],
        exception_handlers={500: on_error},
    )
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.text == "error in /boom"
    assert seen == ["/boom"]


async def test_in_worker_threads() -> None:
    def sync_endpoint(request: Request) -> Response:
        assert threading.current_thread() is not threading.main_thread()
        return PlainTextResponse(path_now())

    async def offloads(request: Request) -> Response:
        return PlainTextResponse(await run_in_threadpool(path_now))

    def lines() -> Any:
        yield path_now()  # a sync iterator, read in a worker thread

    async def streams(request: Request) -> Response:
        return StreamingResponse(lines())

    async def iterates(request: Request) -> Response:
        chunks = [chunk async for chunk in iterate_in_threadpool(lines())]
        return PlainTextResponse("".join(chunks))

    client = AsyncTestClient(
        app_with(
            Route("/sync", sync_endpoint),
            Route("/offload", offloads),
            Route("/stream", streams),
            Route("/iterate", iterates),
        )
    )
    for path in ("/sync", "/offload", "/stream", "/iterate"):
        assert (await client.get(path)).text == path


async def test_in_background_tasks_and_started_tasks() -> None:
    seen: list[str] = []

    async def record() -> None:
        seen.append(path_now())

    def record_sync() -> None:
        seen.append(path_now())

    async def endpoint(request: Request) -> Response:
        async with anyio.create_task_group() as group:
            group.start_soon(record)
        return PlainTextResponse("ok", background=BackgroundTask(record_sync))

    async def later(request: Request) -> Response:
        return PlainTextResponse("ok", background=BackgroundTask(record))

    client = AsyncTestClient(app_with(Route("/now", endpoint), Route("/later", later)))
    await client.get("/now")
    await client.get("/later")
    assert seen == ["/now", "/now", "/later"]


async def test_in_a_websocket_session() -> None:
    async def session(websocket: WebSocket) -> None:
        await websocket.accept()
        connection = current_connection()
        assert type(connection) is HTTPConnection
        assert connection is current_connection()
        with pytest.raises(RuntimeError, match=r"Use microasgi\.requests\.current_connection"):
            current_request()
        await websocket.send_text(f"{connection.url.path} {connection.path_params['room']}")

    client = AsyncTestClient(app_with(WebSocketRoute("/rooms/{room}", session)))
    async with client.websocket_connect("/rooms/lobby") as websocket:
        assert await websocket.receive_text() == "/rooms/lobby lobby"


async def test_concurrent_requests_each_see_their_own() -> None:
    both_in = anyio.Event()
    arrived: list[str] = []

    async def endpoint(request: Request) -> Response:
        arrived.append(request.url.path)
        if len(arrived) == 2:
            both_in.set()
        await both_in.wait()
        return PlainTextResponse(path_now())

    client = AsyncTestClient(app_with(Route("/{name}", endpoint)))
    answers: dict[str, str] = {}

    async def get(path: str) -> None:
        answers[path] = (await client.get(path)).text

    async with anyio.create_task_group() as group:
        group.start_soon(get, "/a")
        group.start_soon(get, "/b")
    assert answers == {"/a": "/a", "/b": "/b"}


async def test_work_that_outlives_its_request_finds_none() -> None:
    kept: list[contextvars.Context] = []

    async def endpoint(request: Request) -> Response:
        kept.append(contextvars.copy_context())  # as a task started here and left running
        return PlainTextResponse("ok")

    await AsyncTestClient(app_with(Route("/", endpoint))).get("/")
    with pytest.raises(RuntimeError, match=r"after its request had ended"):
        kept[0].run(current_request)


def http_scope(path: str) -> Scope:
    return {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}


async def receive_nothing() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def outside(app: ASGIApp) -> ASGIApp:
    """Code outside the app (a server-level wrapper): where a pipelined request starts."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/second":
            with pytest.raises(RuntimeError, match="found no request"):
                current_connection()  # not the first request: the server's send ran unset
        await app(scope, receive, send)

    return wrapped


async def test_a_request_started_from_the_previous_ones_send() -> None:
    # What uvicorn does with pipelined requests: the next request's task is created inside the
    # previous request's send() of its last body message, so it starts in a copy of that
    # request's context, while that request still runs (here, its background task).
    second_done = anyio.Event()
    seen: list[tuple[str, str]] = []

    async def first_later() -> None:
        await second_done.wait()
        seen.append(("first, background", path_now()))

    async def first(request: Request) -> Response:
        return PlainTextResponse("1", background=BackgroundTask(first_later))

    async def second(request: Request) -> Response:
        seen.append(("second", path_now()))
        return PlainTextResponse("2")

    wrapped = outside(app_with(Route("/first", first), Route("/second", second)))
    responses: list[Message] = []

    async with anyio.create_task_group() as group:

        async def second_request() -> None:
            async def send_second(message: Message) -> None:
                responses.append(message)

            await wrapped(http_scope("/second"), receive_nothing, send_second)
            second_done.set()

        async def send_first(message: Message) -> None:
            responses.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                group.start_soon(second_request)  # a copy of the context of this call

        await wrapped(http_scope("/first"), receive_nothing, send_first)

    assert seen == [("second", "/second"), ("first, background", "/first")]
    assert [m["body"] for m in responses if m["type"] == "http.response.body"] == [b"1", b"2"]


async def test_what_the_servers_send_sees() -> None:
    # A server's access log at the response's start (uvicorn's) still finds the request; the
    # messages that may complete the response, where a server may start the next pipelined
    # request, run without it.
    async def chunks() -> Any:
        yield b"a"
        yield b"b"

    async def stream(request: Request) -> Response:
        return StreamingResponse(chunks())

    seen: list[tuple[str, bool, str | None]] = []

    async def send(message: Message) -> None:
        try:
            path: str | None = current_connection().url.path
        except RuntimeError:
            path = None
        seen.append((message["type"], bool(message.get("more_body")), path))

    received = False

    async def receive() -> Message:
        nonlocal received
        if received:
            await anyio.sleep_forever()  # connected: the client stays until the end
        received = True
        return await receive_nothing()

    await app_with(Route("/stream", stream))(http_scope("/stream"), receive, send)
    assert seen == [
        ("http.response.start", False, "/stream"),
        ("http.response.body", True, "/stream"),
        ("http.response.body", True, "/stream"),
        ("http.response.body", False, None),
    ]


async def test_lifespan_passes_through() -> None:
    async with AsyncTestClient(app_with(Route("/", lambda request: JSONResponse({})))) as client:
        assert (await client.get("/")).json() == {}


def test_off_the_stack_has_no_wrapper() -> None:
    # Off (the default), the application's stack is what it was before the feature existed:
    # nothing runs per request for it.
    off = MicroASGI(routes=[Route("/", lambda request: JSONResponse({}))])
    on = app_with(Route("/", lambda request: JSONResponse({})))
    assert type(off.build_middleware_stack()).__name__ == "_ErrorBoundary"
    stack = on.build_middleware_stack()
    assert type(stack).__name__ == "ConnectionContext"
    assert type(stack.app).__name__ == "_ErrorBoundary"  # type: ignore[attr-defined]
