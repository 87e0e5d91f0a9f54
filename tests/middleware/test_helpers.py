"""Helpers for writing middleware: ``edit_response_headers`` and ``read_body``."""

from __future__ import annotations

from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.datastructures import MutableHeaders
from microasgi.exceptions import HTTPException
from microasgi.middleware import Middleware, edit_response_headers, read_body
from microasgi.requests import DEFAULT_MAX_BODY_SIZE, MAX_BODY_SIZE_KEY, ClientDisconnect, Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send


def http_scope(headers: list[tuple[bytes, bytes]] | None = None, **items: Any) -> Scope:
    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": headers or []}
    scope.update(items)
    return scope


def feed(*messages: Message) -> tuple[Receive, list[Message]]:
    """A ``receive`` that replays ``messages`` then waits forever would; here it disconnects."""
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    return receive, queue


# --- edit_response_headers ------------------------------------------------------------------


async def test_the_start_headers_are_edited_and_the_rest_passes() -> None:
    sent: list[Message] = []
    calls: list[int] = []

    async def send(message: Message) -> None:
        sent.append(message)

    def edit(headers: MutableHeaders, status: int) -> None:
        calls.append(status)
        headers["x-frame-options"] = "DENY"

    original = [(b"content-type", b"text/plain")]
    start = {"type": "http.response.start", "status": 201, "headers": original}
    body = {"type": "http.response.body", "body": b"hi"}
    wrapped = edit_response_headers(send, edit)
    await wrapped(start)
    await wrapped(body)
    assert calls == [201]
    assert sent[0]["headers"] == [(b"content-type", b"text/plain"), (b"x-frame-options", b"DENY")]
    assert original == [(b"content-type", b"text/plain")]  # the app's list is never changed
    assert sent[1] is body


async def test_an_async_editor_is_awaited() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def edit(headers: MutableHeaders, status: int) -> None:
        headers.append("x-status", str(status))

    await edit_response_headers(send, edit)({"type": "http.response.start", "status": 404})
    await edit_response_headers(send, edit)({"type": "http.response.body", "body": b""})
    assert sent[0]["headers"] == [(b"x-status", b"404")]
    assert sent[1] == {"type": "http.response.body", "body": b""}


async def test_a_websocket_denial_response_is_edited_too() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    def edit(headers: MutableHeaders, status: int) -> None:
        headers["x-denied"] = str(status)

    denial = {"type": "websocket.http.response.start", "status": 403, "headers": ()}
    await edit_response_headers(send, edit)(denial)
    assert sent[0]["headers"] == [(b"x-denied", b"403")]


async def test_an_unsafe_header_value_never_reaches_the_wire() -> None:
    async def send(message: Message) -> None:
        raise AssertionError("nothing must be sent")

    def edit(headers: MutableHeaders, status: int) -> None:
        headers["x-injected"] = "a\r\nset-cookie: evil=1"

    with pytest.raises(ValueError, match="x-injected"):
        await edit_response_headers(send, edit)({"type": "http.response.start", "status": 200})


class SecurityHeaders:
    """The middleware the docs show: two lines of ASGI around ``edit_response_headers``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, edit_response_headers(send, self.edit))

    @staticmethod
    def edit(headers: MutableHeaders, status: int) -> None:
        headers.setdefault("x-content-type-options", "nosniff")


async def test_a_reused_response_keeps_its_headers() -> None:
    response = PlainTextResponse("same")
    before = list(response.raw_headers)
    app = MicroASGI(
        routes=[Route("/", lambda request: response)], middleware=[Middleware(SecurityHeaders)]
    )
    client = AsyncTestClient(app)
    for _ in range(2):
        answer = await client.get("/")
        assert answer.headers.getlist("x-content-type-options") == ["nosniff"]
    assert response.raw_headers == before


# --- read_body --------------------------------------------------------------------------------


async def test_the_body_is_read_and_replayed() -> None:
    receive, queue = feed(
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"cd"},
    )
    body, replay = await read_body(http_scope(), receive)
    assert body == b"abcd"
    assert queue == []
    assert await replay() == {"type": "http.request", "body": b"abcd", "more_body": False}
    assert await replay() == {"type": "http.disconnect"}  # then the server's own receive


async def test_an_empty_body() -> None:
    receive, _ = feed({"type": "http.request"})
    body, replay = await read_body(http_scope(method="GET"), receive)
    assert body == b""
    assert (await replay())["body"] == b""


@pytest.mark.parametrize(
    ("scope_limit", "option", "allowed"),
    [
        (..., ..., DEFAULT_MAX_BODY_SIZE),
        (5, ..., 5),
        (None, ..., None),
        (5, 8, 8),
        (5, None, None),
    ],
)
async def test_the_cap_comes_from_the_option_then_the_scope_then_the_default(
    scope_limit: Any, option: Any, allowed: int | None
) -> None:
    scope = http_scope() if scope_limit is ... else http_scope(**{MAX_BODY_SIZE_KEY: scope_limit})
    size = 9 if allowed is None or allowed > 9 else allowed
    receive, _ = feed({"type": "http.request", "body": b"x" * size})
    body, _ = await read_body(scope, receive, max_body_size=option)
    assert len(body) == size
    if allowed is not None and allowed < 9:
        receive, _ = feed({"type": "http.request", "body": b"x" * (allowed + 1)})
        with pytest.raises(HTTPException) as caught:
            await read_body(scope, receive, max_body_size=option)
        assert caught.value.status_code == 413


@pytest.mark.parametrize("length", [b"11", b"9" * 20, b"9" * 5000])
async def test_a_declared_oversize_body_is_refused_unread(length: bytes) -> None:
    receive, queue = feed({"type": "http.request", "body": b"x" * 11})
    with pytest.raises(HTTPException) as caught:
        await read_body(http_scope([(b"content-length", length)]), receive, max_body_size=10)
    assert caught.value.status_code == 413
    assert caught.value.detail == "Content Too Large"
    assert len(queue) == 1


async def test_a_malformed_content_length_is_left_to_the_count() -> None:
    receive, _ = feed({"type": "http.request", "body": b"abc"})
    body, _ = await read_body(http_scope([(b"content-length", b"junk")]), receive, max_body_size=10)
    assert body == b"abc"


async def test_reading_stops_at_the_first_chunk_past_the_cap() -> None:
    receive, queue = feed(
        {"type": "http.request", "body": b"x" * 6, "more_body": True},
        {"type": "http.request", "body": b"x" * 6, "more_body": True},
        {"type": "http.request", "body": b"never read"},
    )
    with pytest.raises(HTTPException, match="413"):
        await read_body(http_scope(), receive, max_body_size=10)
    assert len(queue) == 1


async def test_a_client_that_leaves_midway_raises_client_disconnect() -> None:
    receive, _ = feed({"type": "http.request", "body": b"partial", "more_body": True})
    with pytest.raises(ClientDisconnect):
        await read_body(http_scope(), receive)


class Signature:
    """A middleware that checks the body before the app sees it, as the docs show."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, receive = await read_body(scope, receive, max_body_size=1024)
        if not body.startswith(b"signed:"):
            await PlainTextResponse("Unsigned body.", 400)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def echo(request: Request) -> Response:
    return PlainTextResponse((await request.body()).decode())


@pytest.mark.parametrize(
    ("content", "status", "text"),
    [(b"signed:hi", 200, "signed:hi"), (b"hi", 400, "Unsigned body.")],
)
async def test_the_endpoint_reads_the_body_the_middleware_read(
    content: bytes, status: int, text: str
) -> None:
    app = MicroASGI(routes=[Route("/", echo, methods=["POST"])], middleware=[Middleware(Signature)])
    response = await AsyncTestClient(app).post("/", content=content)
    assert (response.status_code, response.text) == (status, text)
