"""cancel_on_disconnect, timeout and body_timeout on Route, Mount, Router and MicroASGI: what the
endpoint and the client see, which setting wins, and that nothing runs while they are off.

Connections are driven by hand (``Connection``): the test says when each message arrives, and
waits on events, never on sleeps. Time itself passes only where a deadline is the subject, with
margins of several times the timeout.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.to_thread
import pytest

from microasgi._routing.cancellation import _Guard, run_sync_cancellable
from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.endpoints import HTTPEndpoint
from microasgi.exceptions import HTTPException
from microasgi.middleware.exceptions import ExceptionMiddleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Mount, Route, Router, Timeout, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send
from microasgi.websockets import WebSocket

DISCONNECT: Message = {"type": "http.disconnect"}


def chunk(body: bytes, more: bool = False) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


class Connection:
    """One client connection as the app sees it: ``push`` makes messages arrive; ``receive``
    waits for one as a server's does; ``sent`` records what the app sent."""

    def __init__(self, *messages: Message) -> None:
        self.queue: deque[Message] = deque(messages)
        self.arrived = anyio.Event()
        self.sent: list[Message] = []
        self.receives = 0
        self.returned = anyio.Event()

    def push(self, *messages: Message) -> None:
        self.queue.extend(messages)
        self.arrived.set()

    async def receive(self) -> Message:
        self.receives += 1
        while not self.queue:
            self.arrived = anyio.Event()
            await self.arrived.wait()
        return self.queue.popleft()

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def run(self, app: ASGIApp, method: str = "GET", path: str = "/", **extra: Any) -> None:
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
            "state": {},
        }
        scope.update(extra)
        try:
            await app(scope, self.receive, self.send)
        finally:
            self.returned.set()

    @property
    def types(self) -> list[str]:
        return [message["type"] for message in self.sent]

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


class Job:
    """An endpoint that waits until released, recording how it ended."""

    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.release = anyio.Event()
        self.ended: list[str] = []

    async def endpoint(self, request: Request) -> Response:
        self.entered.set()
        try:
            await self.release.wait()
        except BaseException:
            self.ended.append("cancelled")
            raise
        finally:
            self.ended.append("finally")
        return PlainTextResponse("done")


# --- cancel on disconnect ---------------------------------------------------------------------


async def test_a_disconnect_cancels_the_endpoint_and_nothing_is_sent() -> None:
    job = Job()
    app = MicroASGI(routes=[Route("/", job.endpoint, cancel_on_disconnect=True)])
    conn = Connection(chunk(b""))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(conn.run, app)
            await job.entered.wait()
            conn.push(DISCONNECT)
    assert job.ended == ["cancelled", "finally"]  # anyio cancellation: finally blocks run
    assert conn.sent == []


async def test_the_body_reaches_the_endpoint_whole_and_in_order() -> None:
    polled: list[bool] = []

    async def echo(request: Request) -> Response:
        polled.append(await request.is_disconnected())
        parts = [part async for part in request.stream() if part]  # it ends with b""
        return PlainTextResponse(b"|".join(parts))

    app = MicroASGI(routes=[Route("/", echo, methods=["POST"], cancel_on_disconnect=True)])
    conn = Connection(chunk(b"a", more=True))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(conn.run, app, "POST")
            conn.push(chunk(b"b", more=True), chunk(b"c"))
    assert polled == [False]
    assert conn.status == 200
    assert conn.body == b"a|b|c"


async def test_a_disconnect_while_reading_the_body_cancels_too() -> None:
    reading = anyio.Event()
    ended: list[str] = []

    async def upload(request: Request) -> Response:
        try:
            async for _ in request.stream():
                reading.set()
        finally:
            ended.append("finally")
        return PlainTextResponse("stored")

    app = MicroASGI(routes=[Route("/", upload, methods=["POST"], cancel_on_disconnect=True)])
    conn = Connection(chunk(b"part", more=True))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(conn.run, app, "POST")
            await reading.wait()
            conn.push(DISCONNECT)
    assert ended == ["finally"]
    assert conn.sent == []


async def test_once_the_response_started_a_disconnect_cancels_nothing() -> None:
    release = anyio.Event()
    ran: list[str] = []

    async def after() -> None:
        await release.wait()
        ran.append("background")

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("ok", background=BackgroundTask(after))

    app = MicroASGI(routes=[Route("/", endpoint)], cancel_on_disconnect=True)
    conn = Connection(chunk(b""))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(conn.run, app)
            while len(conn.sent) < 2:
                await anyio.lowlevel.checkpoint()
            conn.push(DISCONNECT)  # servers send it once the response is complete
            for _ in range(20):
                await anyio.lowlevel.checkpoint()
            release.set()
    assert ran == ["background"]
    assert conn.body == b"ok"


async def test_a_streaming_response_still_stops_when_the_client_leaves() -> None:
    ended: list[str] = []

    async def numbers() -> AsyncIterator[bytes]:
        try:
            yield b"1"
            await anyio.sleep_forever()
        finally:
            ended.append("producer closed")

    async def endpoint(request: Request) -> Response:
        return StreamingResponse(numbers())

    app = MicroASGI(routes=[Route("/", endpoint, cancel_on_disconnect=True)])
    conn = Connection(chunk(b""))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(conn.run, app)
            while len(conn.sent) < 2:
                await anyio.lowlevel.checkpoint()
            conn.push(DISCONNECT)
    assert ended == ["producer closed"]
    assert conn.types == ["http.response.start", "http.response.body"]


def _apps(endpoint: Callable[..., Any]) -> list[tuple[str, ASGIApp, bool]]:
    """Where cancel_on_disconnect may be set, and whether the endpoint is then cancelled."""

    async def raw(scope: Scope, receive: Receive, send: Send) -> None:
        await Route("/", endpoint)(scope, receive, send)

    return [
        ("application", MicroASGI(routes=[Route("/", endpoint)], cancel_on_disconnect=True), True),
        ("router", Router([Route("/", endpoint)], cancel_on_disconnect=True), True),
        (
            "mount of routes",
            MicroASGI(routes=[Mount("", routes=[Route("/", endpoint)], cancel_on_disconnect=True)]),
            True,
        ),
        ("mount of an app", MicroASGI(routes=[Mount("", raw, cancel_on_disconnect=True)]), True),
        (
            "route off under an application on",
            MicroASGI(
                routes=[Route("/", endpoint, cancel_on_disconnect=False)], cancel_on_disconnect=True
            ),
            False,
        ),
        (
            "mount off, route on",
            MicroASGI(
                routes=[
                    Mount(
                        "",
                        routes=[Route("/", endpoint, cancel_on_disconnect=True)],
                        cancel_on_disconnect=False,
                    )
                ]
            ),
            True,
        ),
        ("off by default", MicroASGI(routes=[Route("/", endpoint)]), False),
    ]


@pytest.mark.parametrize("case", range(7))
async def test_where_it_is_set_and_which_setting_wins(case: int) -> None:
    job = Job()
    name, app, cancels = _apps(job.endpoint)[case]
    conn = Connection(chunk(b""))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(conn.run, app)
            await job.entered.wait()
            conn.push(DISCONNECT)
            if not cancels:
                for _ in range(20):
                    await anyio.lowlevel.checkpoint()
                assert job.ended == [], name
                job.release.set()
    assert job.ended == (["cancelled", "finally"] if cancels else ["finally"]), name
    assert conn.body == (b"" if cancels else b"done"), name


async def test_a_sync_endpoint_is_left_to_finish_in_its_thread() -> None:
    entered = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    def blocking(request: Request) -> Response:
        entered.set()
        release.wait(10)
        finished.set()
        return PlainTextResponse("late")

    app = MicroASGI(routes=[Route("/", blocking, cancel_on_disconnect=True)])
    limiter = anyio.to_thread.current_default_thread_limiter()
    conn = Connection(chunk(b""))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(conn.run, app)
            await anyio.to_thread.run_sync(entered.wait)
            conn.push(DISCONNECT)
            await conn.returned.wait()  # the request ended while the thread still runs
            assert not finished.is_set()
            assert conn.sent == []
            # The thread still holds its token of the thread limit.
            assert limiter.borrowed_tokens == 1
            release.set()
            await anyio.to_thread.run_sync(finished.wait)
            while limiter.borrowed_tokens:
                await anyio.lowlevel.checkpoint()


# --- timeouts ---------------------------------------------------------------------------------


async def test_an_endpoint_past_its_timeout_gets_503(caplog: pytest.LogCaptureFixture) -> None:
    job = Job()
    app = MicroASGI(routes=[Route("/report", job.endpoint, timeout=0.05)])
    with anyio.fail_after(5):
        response = await AsyncTestClient(app).get("/report")
    assert response.status_code == 503
    assert response.text == "Service Unavailable"
    assert "retry-after" not in response.headers
    assert job.ended == ["cancelled", "finally"]
    assert "GET /report timed out after 0.05s (timeout): answered 503." in caplog.text


async def test_retry_after_is_sent_when_configured() -> None:
    job = Job()
    app = MicroASGI(routes=[Route("/", job.endpoint)], timeout=Timeout(0.05, retry_after=30))
    with anyio.fail_after(5):
        response = await AsyncTestClient(app).get("/")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"


async def test_the_applications_handlers_answer_the_503() -> None:
    async def busy(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return PlainTextResponse("try later", 503, headers=exc.headers)

    job = Job()
    app = MicroASGI(
        routes=[Route("/", job.endpoint)],
        timeout=Timeout(0.05, retry_after=5),
        exception_handlers={503: busy},
    )
    with anyio.fail_after(5):
        response = await AsyncTestClient(app).get("/")
    assert response.text == "try later"
    assert response.headers["retry-after"] == "5"


async def test_an_exception_middleware_above_a_router_answers_the_503() -> None:
    async def busy(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("busy", 503)

    job = Job()
    router = Router([Route("/", job.endpoint)], timeout=0.05)
    conn = Connection(chunk(b""))
    with anyio.fail_after(5):
        await conn.run(ExceptionMiddleware(router, handlers={503: busy}))
    assert (conn.status, conn.body) == (503, b"busy")


@pytest.mark.parametrize(
    "app",
    [
        pytest.param(lambda e: Route("/", e, timeout=0.05), id="route"),
        pytest.param(lambda e: Router([Route("/", e)], timeout=0.05), id="router"),
        pytest.param(lambda e: Mount("", routes=[Route("/", e)], timeout=0.05), id="mount"),
    ],
)
async def test_a_piece_used_alone_answers_503_itself(app: Callable[[Any], ASGIApp]) -> None:
    job = Job()
    conn = Connection(chunk(b""))
    with anyio.fail_after(5):
        await conn.run(app(job.endpoint))
    assert conn.status == 503
    assert conn.body == b"Service Unavailable"


async def test_the_deadline_ends_with_the_response_background_tasks_run_on() -> None:
    ran: list[str] = []

    async def after() -> None:
        await anyio.sleep(0.2)  # time passing past the deadline, not a synchronisation
        ran.append("background")

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("ok", background=BackgroundTask(after))

    app = MicroASGI(routes=[Route("/", endpoint, timeout=0.05)])
    with anyio.fail_after(5):
        response = await AsyncTestClient(app).get("/")
    assert response.text == "ok"
    assert ran == ["background"]


async def test_a_response_streaming_at_the_deadline_is_cut_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def slow() -> AsyncIterator[bytes]:
        yield b"first"
        await anyio.sleep_forever()

    async def endpoint(request: Request) -> Response:
        return StreamingResponse(slow())

    app = MicroASGI(routes=[Route("/feed", endpoint, timeout=0.05)])
    conn = Connection(chunk(b""))
    with anyio.fail_after(5):
        await conn.run(app, path="/feed")
    # No final body message: the server closes the connection, and an HTTP/1.1 client sees an
    # incomplete chunked body, an error (HTTP/2: a reset stream).
    assert conn.types == ["http.response.start", "http.response.body"]
    assert conn.sent[1]["more_body"] is True
    assert "GET /feed timed out after 0.05s (timeout) once its response had started" in caplog.text


def _slow_endpoint(seconds: float) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        await anyio.sleep(seconds)  # time passing, the subject of the test
        return PlainTextResponse("finished")

    return endpoint


@pytest.mark.parametrize(
    ("build", "status"),
    [
        # The innermost setting wins; None switches an enclosing timeout off.
        (lambda e: MicroASGI(routes=[Route("/", e, timeout=None)], timeout=0.05), 200),
        (lambda e: MicroASGI(routes=[Route("/", e)], timeout=0.05), 503),
        (lambda e: MicroASGI(routes=[Route("/", e, timeout=0.05)], timeout=10), 503),
        (
            lambda e: MicroASGI(
                routes=[Mount("/", routes=[Route("/", e)], timeout=None)], timeout=0.05
            ),
            200,
        ),
        (lambda e: MicroASGI(routes=[Mount("/", app=Route("/", e), timeout=0.05)]), 503),
        # A route's timeout under a router setting only cancel_on_disconnect.
        (lambda e: Router([Route("/", e, timeout=0.05)], cancel_on_disconnect=True), 503),
    ],
)
async def test_which_timeout_wins(build: Callable[[Any], ASGIApp], status: int) -> None:
    conn = Connection(chunk(b""))
    with anyio.fail_after(5):
        await conn.run(build(_slow_endpoint(0.25)))
    assert conn.status == status


async def test_a_sync_endpoint_past_its_timeout_gets_503_at_once() -> None:
    release = threading.Event()
    finished = threading.Event()

    def blocking(request: Request) -> Response:
        release.wait(10)
        finished.set()
        return PlainTextResponse("late")

    class Report(HTTPEndpoint):
        def get(self, request: Request) -> Response:
            return blocking(request)

    for endpoint in (blocking, Report):
        release.clear()
        finished.clear()
        app = MicroASGI(routes=[Route("/", endpoint, timeout=0.05)])
        conn = Connection(chunk(b""))
        with anyio.fail_after(5):
            await conn.run(app)
            assert conn.status == 503
            assert not finished.is_set()  # answered while the thread still runs
            release.set()
            await anyio.to_thread.run_sync(finished.wait)


async def test_websockets_are_not_timed() -> None:
    async def chat(websocket: WebSocket) -> None:
        await anyio.sleep(0.15)  # past the router's timeout
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app = MicroASGI(routes=[WebSocketRoute("/ws", chat)], timeout=0.05, cancel_on_disconnect=True)
    with anyio.fail_after(5):
        async with AsyncTestClient(app).websocket_connect("/ws") as ws:
            assert await ws.receive_text() == "hello"


# --- body timeout -----------------------------------------------------------------------------


async def test_a_body_that_stops_arriving_answers_408(caplog: pytest.LogCaptureFixture) -> None:
    async def store(request: Request) -> Response:
        return PlainTextResponse(f"{len(await request.body())} bytes")

    app = MicroASGI(routes=[Route("/upload", store, methods=["POST"])], body_timeout=0.05)
    conn = Connection(chunk(b"part", more=True))  # and then nothing
    with anyio.fail_after(5):
        await conn.run(app, "POST", "/upload")
    assert conn.status == 408
    assert (b"connection", b"close") in conn.sent[0]["headers"]
    assert (
        "POST /upload: no request body data for 0.05s (body_timeout): answered 408." in caplog.text
    )


async def test_the_body_timeout_counts_only_while_the_body_is_awaited() -> None:
    async def late_reader(request: Request) -> Response:
        await anyio.sleep(0.2)  # busy before reading: the body has arrived meanwhile
        return PlainTextResponse(await request.body())

    app = MicroASGI(routes=[Route("/", late_reader, methods=["POST"])], body_timeout=0.05)
    conn = Connection(chunk(b"a", more=True), chunk(b"b"))
    with anyio.fail_after(5):
        await conn.run(app, "POST")
    assert conn.body == b"ab"


async def test_a_route_may_switch_the_body_timeout_off() -> None:
    async def store(request: Request) -> Response:
        return PlainTextResponse(await request.body())

    app = MicroASGI(
        routes=[Route("/", store, methods=["POST"], body_timeout=None)], body_timeout=0.05
    )
    conn = Connection(chunk(b"a", more=True))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(conn.run, app, "POST")
            await anyio.sleep(0.2)  # time passing past the application's body timeout
            conn.push(chunk(b"b"))
    assert conn.body == b"ab"


async def test_a_body_timeout_with_cancel_on_disconnect() -> None:
    async def store(request: Request) -> Response:
        return PlainTextResponse(await request.body())

    app = Router(
        [Route("/", store, methods=["POST"])], body_timeout=0.05, cancel_on_disconnect=True
    )
    conn = Connection(chunk(b"a", more=True))
    with anyio.fail_after(5):
        await conn.run(app, "POST")
    assert conn.status == 408


# --- settings ---------------------------------------------------------------------------------


def _endpoint(request: Request) -> Response:
    return PlainTextResponse("")


_PIECES: dict[str, Callable[..., Any]] = {
    "route": lambda **options: Route("/", _endpoint, **options),
    "mount": lambda **options: Mount("/", routes=[], **options),
    "router": lambda **options: Router([], **options),
    "application": lambda **options: MicroASGI(**options),
}


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"timeout": 0}, ValueError, "timeout must be a number of seconds > 0"),
        ({"timeout": -1.5}, ValueError, "got -1.5"),
        ({"timeout": float("inf")}, ValueError, "timeout must be"),
        ({"timeout": True}, ValueError, "got True"),
        ({"timeout": "5"}, ValueError, "got '5'"),
        ({"body_timeout": 0}, ValueError, "body_timeout must be a number of seconds > 0"),
        ({"body_timeout": float("nan")}, ValueError, "got nan"),
        ({"cancel_on_disconnect": 1}, TypeError, "cancel_on_disconnect must be True, False"),
    ],
)
@pytest.mark.parametrize("where", sorted(_PIECES))
def test_bad_settings_are_refused_at_construction(
    where: str, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    build = _PIECES[where]
    with pytest.raises(error, match=message):
        build(**options)


@pytest.mark.parametrize(
    ("seconds", "retry_after", "message"),
    [
        (0, None, "Timeout seconds must be a finite number > 0, got 0"),
        (float("nan"), None, "got nan"),
        (5, -1, "retry_after must be a number of seconds"),
        (5, 2.5, "got 2.5"),
        (5, True, "got True"),
    ],
)
def test_bad_timeouts(seconds: float, retry_after: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Timeout(seconds, retry_after=retry_after)


def test_the_settings_are_kept_on_each_piece() -> None:
    route = Route("/", _endpoint, timeout=5, body_timeout=2.5, cancel_on_disconnect=True)
    assert route.timeout == Timeout(5)
    assert route.body_timeout == 2.5
    assert route.cancel_on_disconnect is True
    plain = Route("/", _endpoint)
    assert (plain.timeout, plain.body_timeout, plain.cancel_on_disconnect) == (..., ..., None)
    given = Timeout(3, retry_after=1)
    assert Mount("/", routes=[], timeout=given).timeout is given
    assert Router([], timeout=None).timeout is None
    assert MicroASGI(body_timeout=1).router.body_timeout == 1
    assert repr(given) == "Timeout(seconds=3, retry_after=1)"


# --- free when off ----------------------------------------------------------------------------


async def test_off_means_no_wrapper_no_task_no_cancel_scope_no_receive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counts = {"task groups": 0, "cancel scopes": 0}
    create_task_group, cancel_scope = anyio.create_task_group, anyio.CancelScope

    def counting_task_group() -> Any:
        counts["task groups"] += 1
        return create_task_group()

    def counting_cancel_scope(*args: Any, **kwargs: Any) -> Any:
        counts["cancel scopes"] += 1
        return cancel_scope(*args, **kwargs)

    monkeypatch.setattr(anyio, "create_task_group", counting_task_group)
    monkeypatch.setattr(anyio, "CancelScope", counting_cancel_scope)

    async def hello(request: Request) -> Response:
        return PlainTextResponse("hello")

    off = MicroASGI(routes=[Route("/", hello), Mount("/m", routes=[Route("/", hello)])])
    for path in ("/", "/m/"):
        conn = Connection(chunk(b""))
        await conn.run(off, path=path)
        assert conn.body == b"hello"
        assert conn.receives == 0
    assert counts == {"task groups": 0, "cancel scopes": 0}
    route = off.routes[0]
    assert isinstance(route, Route)
    assert not isinstance(route.app, _Guard)
    assert off.router._handle == off.router._dispatch

    on = MicroASGI(routes=[Route("/", hello)], cancel_on_disconnect=True, timeout=30)
    conn = Connection(chunk(b""))
    with anyio.fail_after(5):
        await conn.run(on)
    assert conn.body == b"hello"
    assert conn.receives >= 1  # the watcher listens
    assert counts == {"task groups": 1, "cancel scopes": 1}


@pytest.mark.parametrize(
    "last",
    [
        {"type": "http.response.body", "body": b"x", "more_body": False},
        {"type": "http.response.zerocopysend", "file": None, "more_body": False},
        {"type": "http.response.pathsend", "path": "/file"},
    ],
    ids=["body", "zerocopysend", "pathsend"],
)
async def test_any_last_message_completes_the_response(last: Message) -> None:
    ran: list[str] = []

    async def raw(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        await send(last)
        await send({"type": "http.response.trailers", "headers": [], "more_trailers": False})
        await anyio.sleep(0.2)  # work after the response, past the deadline
        ran.append("after")

    conn = Connection(chunk(b""))
    with anyio.fail_after(5):
        await conn.run(Mount("", app=raw, timeout=0.05))
    assert ran == ["after"]
    assert conn.types[-1] == "http.response.trailers"


# --- the worker thread's token ----------------------------------------------------------------


async def test_a_call_cancelled_before_its_thread_started_frees_its_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queued: list[Callable[[], Any]] = []

    async def cancelled_at_once(func: Callable[[], Any], **options: Any) -> Any:
        queued.append(func)  # the thread would take it later
        raise RuntimeError("cancelled before the thread started")

    monkeypatch.setattr(anyio.to_thread, "run_sync", cancelled_at_once)
    limiter = anyio.to_thread.current_default_thread_limiter()
    with pytest.raises(RuntimeError, match="before the thread started"):
        await run_sync_cancellable(pytest.fail, "never called")
    assert limiter.borrowed_tokens == 0  # freed by the request
    assert queued[0]() is None  # the thread, starting late, does nothing


async def test_a_thread_outliving_its_event_loop_frees_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    releases: list[Callable[[], None]] = []

    def loop_gone(func: Callable[[], None]) -> None:
        releases.append(func)
        raise RuntimeError("the event loop has ended")

    monkeypatch.setattr(anyio.from_thread, "run_sync", loop_gone)
    limiter = anyio.to_thread.current_default_thread_limiter()
    assert await run_sync_cancellable(len, "abc") == 3
    # The token could not be given back (its event loop would be gone): nothing raised.
    assert limiter.borrowed_tokens == 1
    releases[0]()
    assert limiter.borrowed_tokens == 0
