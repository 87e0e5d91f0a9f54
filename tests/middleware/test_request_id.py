"""``RequestIDMiddleware``: reuse from trusted peers only, well-formed and bounded ids, the response
header, the scope key, the context variable and the log filter (threads and background tasks)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import anyio
import pytest

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.middleware import Middleware
from microasgi.middleware.proxy_headers import ProxyHeadersMiddleware
from microasgi.middleware.request_id import (
    REQUEST_ID_KEY,
    RequestIDLogFilter,
    RequestIDMiddleware,
    get_request_id,
)
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.types import Message, Receive, Scope, Send
from microasgi.websockets import WebSocket

from ._raw import Downstream, call, scope

GENERATED = "generated-id"


def middleware(app: Any = None, **options: Any) -> RequestIDMiddleware:
    options.setdefault("trusted_hosts", ["10.0.0.0/8"])
    options.setdefault("generate", lambda: GENERATED)
    return RequestIDMiddleware(app or Downstream(), **options)


async def id_for(
    headers: list[tuple[bytes, bytes]], *, client: Any = ("10.0.0.1", 4000), **options: Any
) -> str | None:
    """The id the app saw (and the response carried) for a request with ``headers``."""
    downstream = Downstream()
    result = await call(middleware(downstream, **options), scope(headers, client=client))
    seen: str = downstream.scopes[0][REQUEST_ID_KEY]
    assert result.header("x-request-id") == seen
    return seen


@pytest.mark.parametrize(
    ("value", "reused"),
    [
        (b"abc-123", True),
        (b"!~", True),  # the ends of visible ASCII
        (b"a" * 200, True),
        (b"a" * 201, False),  # past max_length
        (b"", False),
        (b"two words", False),
        (b"line\nbreak", False),
        (b"tab\there", False),
        (b"caf\xc3\xa9", False),  # not ASCII
        (b"del\x7f", False),
    ],
)
async def test_only_well_formed_bounded_ids_are_reused(value: bytes, reused: bool) -> None:
    seen = await id_for([(b"x-request-id", value)])
    assert seen == (value.decode("latin-1") if reused else GENERATED)


async def test_an_untrusted_peer_gets_a_fresh_id() -> None:
    assert await id_for([(b"x-request-id", b"mine")], client=("203.0.113.9", 4000)) == GENERATED


async def test_no_client_is_not_trusted() -> None:
    assert await id_for([(b"x-request-id", b"mine")], client=None) == GENERATED


async def test_star_trusts_every_peer() -> None:
    assert await id_for([(b"x-request-id", b"mine")], client=None, trusted_hosts="*") == "mine"


async def test_two_ids_are_neither_reused() -> None:
    assert await id_for([(b"x-request-id", b"a"), (b"x-request-id", b"b")]) == GENERATED


async def test_no_header_gets_a_fresh_id() -> None:
    assert await id_for([]) == GENERATED


async def test_an_empty_trust_list_never_reuses() -> None:
    assert await id_for([(b"x-request-id", b"mine")], trusted_hosts=()) == GENERATED


async def test_loopback_is_trusted_by_default() -> None:
    downstream = Downstream()
    app = RequestIDMiddleware(downstream)
    await call(app, scope([(b"x-request-id", b"from-nginx")], client=("127.0.0.1", 1)))
    assert downstream.scopes[0][REQUEST_ID_KEY] == "from-nginx"


async def test_the_default_id_is_a_uuid4_in_hex() -> None:
    downstream = Downstream()
    await call(RequestIDMiddleware(downstream), scope([]))
    first = downstream.scopes[0][REQUEST_ID_KEY]
    await call(RequestIDMiddleware(downstream), scope([]))
    assert len(first) == 32
    assert int(first, 16) >= 0
    assert first != downstream.scopes[1][REQUEST_ID_KEY]


async def test_a_custom_header_name() -> None:
    downstream = Downstream()
    app = middleware(downstream, header_name="Request-Id")
    result = await call(app, scope([(b"request-id", b"abc")], client=("10.1.1.1", 1)))
    assert downstream.scopes[0][REQUEST_ID_KEY] == "abc"
    assert result.header("request-id") == "abc"
    assert result.header("x-request-id") is None


async def test_the_apps_own_header_is_kept() -> None:
    downstream = Downstream(headers=[(b"X-Request-ID", b"the-apps")])
    result = await call(middleware(downstream), scope([]))
    assert [v for k, v in result.headers if k.lower() == b"x-request-id"] == [b"the-apps"]


async def test_a_websocket_handshake_carries_it() -> None:
    downstream = Downstream()
    result = await call(middleware(downstream), scope([], type="websocket"))
    assert downstream.scopes[0][REQUEST_ID_KEY] == GENERATED
    assert result.messages[0]["type"] == "websocket.accept"
    assert result.header("x-request-id") == GENERATED


async def test_lifespan_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    async with AsyncTestClient(RequestIDMiddleware(app)):
        pass
    assert seen == ["lifespan"]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"header_name": ""}, "header name"),
        ({"header_name": "X Request"}, "header name"),
        ({"header_name": "x-réq"}, "header name"),
        ({"max_length": 0}, "positive int"),
        ({"max_length": True}, "positive int"),
        ({"trusted_hosts": "10.0.0.1,,10.0.0.2"}, "not valid"),
        ({"trusted_hosts": ["10.0.0.1/8"]}, "host bits"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RequestIDMiddleware(Downstream(), **options)


# --- in an application: the function, threads, background tasks, logs -----------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIDLogFilter())
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(request_id)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def records() -> Any:
    logger = logging.getLogger("tests.request_id")
    handler = Records()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)


log = logging.getLogger("tests.request_id")


def sync_endpoint(request: Request) -> Response:
    log.info("in a worker thread %s", threading.current_thread() is not threading.main_thread())
    return JSONResponse({"function": get_request_id(), "request": get_request_id(request)})


def after() -> None:
    log.info("background task")


async def with_task(request: Request) -> Response:
    log.info("endpoint")
    return PlainTextResponse("ok", background=BackgroundTask(after))


async def session(websocket: WebSocket) -> None:
    log.info("websocket")
    await websocket.accept()
    await websocket.send_text(get_request_id() or "")
    await websocket.close()


def app() -> MicroASGI:
    return MicroASGI(
        routes=[
            Route("/sync", sync_endpoint),
            Route("/task", with_task),
            WebSocketRoute("/ws", session),
        ],
        middleware=[Middleware(RequestIDMiddleware)],
    )


async def test_the_id_reaches_threads_background_tasks_and_logs(records: Records) -> None:
    client = AsyncTestClient(app(), client=("127.0.0.1", 5000))
    response = await client.get("/sync", headers={"x-request-id": "req-1"})
    assert response.json() == {"function": "req-1", "request": "req-1"}
    assert response.headers["x-request-id"] == "req-1"
    response = await client.get("/task", headers={"x-request-id": "req-2"})
    async with client.websocket_connect("/ws", headers={"x-request-id": "req-3"}) as ws:
        assert await ws.receive_text() == "req-3"
    log.info("outside")
    assert records.lines == [
        "req-1 in a worker thread True",
        "req-2 endpoint",
        "req-2 background task",
        "req-3 websocket",
        "- outside",
    ]


def test_get_request_id_outside_a_request_is_none() -> None:
    assert get_request_id() is None
    assert get_request_id({"type": "http"}) is None


async def test_get_request_id_reads_a_scope() -> None:
    assert get_request_id({REQUEST_ID_KEY: "x"}) == "x"


def test_the_filter_options() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    assert RequestIDLogFilter(attribute="rid", default="none").filter(record)
    assert record.__dict__["rid"] == "none"


async def test_outside_proxy_headers_the_peer_is_the_proxy() -> None:
    # RequestIDMiddleware first (outermost): it judges the proxy, before ProxyHeadersMiddleware
    # replaces scope["client"] with the client the proxy reports.
    seen: list[Any] = []

    async def endpoint(request: Request) -> Response:
        seen.append((get_request_id(), request.client.host if request.client else None))
        return PlainTextResponse("ok")

    application = MicroASGI(
        routes=[Route("/", endpoint)],
        middleware=[
            Middleware(RequestIDMiddleware, trusted_hosts=["10.0.0.0/8"]),
            Middleware(ProxyHeadersMiddleware, trusted_hosts=["10.0.0.0/8"]),
        ],
    )
    client = AsyncTestClient(application, client=("10.0.0.5", 1))
    headers = {"x-request-id": "from-proxy", "x-forwarded-for": "198.51.100.1"}
    await client.get("/", headers=headers)
    assert seen == [("from-proxy", "198.51.100.1")]


async def test_the_message_is_copied_not_changed() -> None:
    sent: list[Message] = []
    original: Message = {"type": "http.response.start", "status": 200, "headers": []}

    async def downstream(scope: Scope, receive: Receive, send: Send) -> None:
        await send(original)
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request"}  # pragma: no cover

    async def send(message: Message) -> None:
        sent.append(message)

    await middleware(downstream)(scope([]), receive, send)
    assert original["headers"] == []
    assert sent[0]["headers"] == [(b"x-request-id", GENERATED.encode())]


async def test_a_request_started_from_the_previous_ones_send_has_no_id(records: Records) -> None:
    # uvicorn starts the next request pipelined on a connection inside the previous request's
    # send() of its last body message, so in a copy of that request's context, while that
    # request still runs (its background task). Outside the middleware, the next request must
    # not carry the previous one's id; the server's access log at the start keeps it.
    second_done = anyio.Event()
    seen: list[tuple[str, str | None]] = []

    async def first_later() -> None:
        await second_done.wait()
        seen.append(("first, background", get_request_id()))

    async def endpoint(request: Request) -> Response:
        seen.append((request.url.path, get_request_id()))
        return PlainTextResponse("ok", background=BackgroundTask(first_later))

    async def second_endpoint(request: Request) -> Response:
        seen.append((request.url.path, get_request_id()))
        return PlainTextResponse("ok")

    traced = MicroASGI(
        routes=[Route("/first", endpoint), Route("/second", second_endpoint)],
        middleware=[Middleware(RequestIDMiddleware, generate=iter(["one", "two"]).__next__)],
    )

    def http_scope(path: str) -> dict[str, Any]:
        return {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async with anyio.create_task_group() as group:

        async def second() -> None:
            seen.append(("second, outside", get_request_id()))
            log.info("outside the middleware")

            async def send_second(message: Any) -> None:
                pass

            await traced(http_scope("/second"), receive, send_second)
            second_done.set()

        async def send_first(message: Any) -> None:
            if message["type"] == "http.response.start":
                log.info("access log")
            elif not message.get("more_body"):
                group.start_soon(second)  # a copy of this call's context

        await traced(http_scope("/first"), receive, send_first)

    assert seen == [
        ("/first", "one"),
        ("second, outside", None),
        ("/second", "two"),
        ("first, background", "one"),
    ]
    assert records.lines == ["one access log", "- outside the middleware"]
