"""``BodyLimitMiddleware``: 413 from Content-Length, counted streams, and agreement with Request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.middleware import Middleware
from microasgi.middleware.body_limit import BodyLimitMiddleware, RequestBodyTooLarge
from microasgi.requests import MAX_BODY_SIZE_KEY, Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

LIMIT = 10


def http_scope(headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers or [],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }


def chunks(*parts: bytes) -> list[Message]:
    last = len(parts) - 1
    return [
        {"type": "http.request", "body": part, "more_body": index < last}
        for index, part in enumerate(parts)
    ]


async def run(
    app: ASGIApp, scope: Scope, incoming: list[Message], limit: int | None = LIMIT
) -> list[Message]:
    """Run ``app`` behind the middleware; ``receive`` replays ``incoming``, then disconnects."""
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await BodyLimitMiddleware(app, max_body_size=limit)(scope, receive, send)
    return sent


async def read_all(receive: Receive) -> bytes:
    data = b""
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        data += chunk
        if not message.get("more_body", False):
            return data


def echo(record: list[Any]) -> ASGIApp:
    """A raw app that reads the whole body, records it, and answers with its length."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        record.append(scope)
        data = await read_all(receive)
        record.append(data)
        await PlainTextResponse(str(len(data)))(scope, receive, send)

    return app


def status_of(sent: list[Message]) -> int:
    return int(sent[0]["status"])


# --- Content-Length --------------------------------------------------------------------------


@pytest.mark.parametrize("length", [b"11", b"0011", b"11, 11", b"9" * 19, b"9" * 200])
async def test_a_declared_oversize_body_is_refused_before_the_app_runs(length: bytes) -> None:
    record: list[Any] = []
    sent = await run(echo(record), http_scope([(b"content-length", length)]), chunks(b"x" * 11))
    assert record == []
    assert status_of(sent) == 413
    assert sent[1]["body"] == b"Content Too Large"  # Starlette's text


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-length", b"abc")],
        [(b"content-length", b"-1")],
        [(b"content-length", b"1.5")],
        [(b"content-length", b"")],
        [(b"content-length", b"+5")],
        [(b"content-length", b"\xd9\xa3")],
        [(b"content-length", b"5, 6")],
        [(b"content-length", b"5"), (b"content-length", b"6")],
    ],
    ids=["letters", "negative", "fraction", "empty", "plus", "non-ascii", "list", "two-headers"],
)
async def test_a_malformed_content_length_is_ignored_and_the_body_counted(
    headers: list[tuple[bytes, bytes]],
) -> None:
    # As Starlette: the length frames nothing, so the bytes are what counts.
    record: list[Any] = []
    sent = await run(echo(record), http_scope(headers), chunks(b"abc"))
    assert record[1] == b"abc"
    assert status_of(sent) == 200
    record = []
    sent = await run(echo(record), http_scope(headers), chunks(b"x" * 6, b"x" * 6))
    assert len(record) == 1  # the app never got past the limit
    assert status_of(sent) == 413


@pytest.mark.parametrize("length", [b"1", b"0", b"10"])
async def test_an_understated_content_length_does_not_get_more_through(length: bytes) -> None:
    # A server frames the body to its Content-Length; a test client or a lenient proxy in front
    # of the app may not: the bytes are counted all the same.
    seen: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            seen.append((await receive())["body"])

    headers = [(b"content-length", length)]
    sent = await run(app, http_scope(headers), chunks(b"x" * 6, b"x" * 6, b"never read"))
    assert seen == [b"x" * 6]
    assert status_of(sent) == 413


@pytest.mark.parametrize("length", [b"10", b"3", b"0", b"5, 5", b" 5 "])
async def test_a_declared_body_within_the_limit_reaches_the_app(length: bytes) -> None:
    record: list[Any] = []
    headers = [(b"content-length", length)]
    data = b"x" * int(length.split(b",")[0])
    sent = await run(echo(record), http_scope(headers), chunks(data))
    assert record[1] == data
    assert status_of(sent) == 200


# --- counted streams -------------------------------------------------------------------------


async def test_a_stream_within_the_limit_reaches_the_app_whole() -> None:
    record: list[Any] = []
    sent = await run(echo(record), http_scope(), chunks(b"12345", b"", b"67890"))
    assert record[1] == b"1234567890"
    assert sent[1]["body"] == b"10"


async def test_a_stream_past_the_limit_is_stopped_with_413() -> None:
    seen: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            seen.append(message["body"])

    sent = await run(app, http_scope(), chunks(b"123456", b"78901", b"never read"))
    assert seen == [b"123456"]  # the chunk that passed the limit never reached the app
    assert status_of(sent) == 413
    assert sent[1]["body"] == b"Content Too Large"


async def test_asking_again_after_the_refusal_is_refused_again() -> None:
    errors: list[BaseException] = []
    incoming = chunks(b"x" * 11, b"never read")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for _ in range(2):
            try:
                await receive()
            except RequestBodyTooLarge as exc:
                errors.append(exc)
        await PlainTextResponse("carried on", 200)(scope, receive, send)

    sent = await run(app, http_scope(), incoming)
    assert len(errors) == 2
    assert errors[0] is errors[1]
    assert isinstance(errors[0], HTTPException)
    assert errors[0].status_code == 413
    assert len(incoming) == 1  # nothing more was read from the client
    assert status_of(sent) == 200  # the app answered itself; the middleware stays out


async def test_past_the_limit_after_the_response_started_leaves_it_unfinished() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await read_all(receive)

    sent = await run(app, http_scope(), chunks(b"x" * 6, b"x" * 6))
    assert [m["type"] for m in sent] == ["http.response.start"]


async def test_another_limits_error_is_not_taken_for_its_own() -> None:
    foreign = RequestBodyTooLarge(413, detail="someone else's")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise foreign

    with pytest.raises(RequestBodyTooLarge) as caught:
        await run(app, http_scope(), chunks(b"x"))
    assert caught.value is foreign


async def test_disconnects_and_other_messages_pass() -> None:
    received: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(await receive())
        received.append(await receive())
        await PlainTextResponse("ok")(scope, receive, send)

    await run(app, http_scope(), chunks(b"x" * 10))
    assert received == [
        {"type": "http.request", "body": b"x" * 10, "more_body": False},
        {"type": "http.disconnect"},
    ]


# --- the scope and other scope types ---------------------------------------------------------


@pytest.mark.parametrize("limit", [0, 10, None])
async def test_the_limit_is_put_in_a_copy_of_the_scope(limit: int | None) -> None:
    record: list[Any] = []
    scope = http_scope()
    await run(echo(record), scope, chunks(b""), limit=limit)
    assert record[0][MAX_BODY_SIZE_KEY] == limit
    assert MAX_BODY_SIZE_KEY not in scope
    assert record[0] is not scope


async def test_no_limit_counts_nothing() -> None:
    record: list[Any] = []
    sent = await run(echo(record), http_scope(), chunks(b"x" * 1000, b"y" * 1000), limit=None)
    assert len(record[1]) == 2000
    assert sent[1]["body"] == b"2000"


@pytest.mark.parametrize("scope_type", ["websocket", "lifespan"])
async def test_other_scopes_pass_straight_through(scope_type: str) -> None:
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.extend([scope, receive, send])

    scope: Scope = {"type": scope_type}

    async def receive() -> Message:
        raise AssertionError("not read")

    async def send(message: Message) -> None:
        raise AssertionError("not sent")

    await BodyLimitMiddleware(app, max_body_size=1)(scope, receive, send)
    assert seen == [scope, receive, send]


# --- with microasgi downstream ---------------------------------------------------------------


async def body_length(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())))


async def streamed_length(request: Request) -> Response:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
    return PlainTextResponse(str(total))


async def stream_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def app_with(limit: int | None, app_limit: int | None = 16 * 1024 * 1024) -> ASGIApp:
    async def too_large(request: Request, exc: HTTPException) -> Response:
        return PlainTextResponse(f"app's own 413: {exc.detail}", 413)

    return MicroASGI(
        routes=[
            Route("/body", body_length, methods=["POST"]),
            Route("/stream", streamed_length, methods=["POST"]),
        ],
        middleware=[Middleware(BodyLimitMiddleware, max_body_size=limit)],
        exception_handlers={413: too_large},
        max_body_size=app_limit,
    )


@pytest.mark.parametrize("path", ["/body", "/stream"])
async def test_a_microasgi_app_answers_the_counted_413_with_its_own_handler(path: str) -> None:
    client = AsyncTestClient(app_with(LIMIT))
    response = await client.post(path, content=stream_of(b"x" * 6, b"x" * 6))
    assert response.status_code == 413
    assert response.text == "app's own 413: Content Too Large"


@pytest.mark.parametrize("path", ["/body", "/stream"])
async def test_within_the_limit_a_microasgi_app_reads_everything(path: str) -> None:
    client = AsyncTestClient(app_with(LIMIT))
    response = await client.post(path, content=stream_of(b"x" * 5, b"x" * 5))
    assert response.text == "10"


async def test_a_declared_oversize_body_never_reaches_the_app() -> None:
    client = AsyncTestClient(app_with(LIMIT))
    response = await client.post("/body", content=b"x" * 11)
    assert response.status_code == 413
    assert response.text == "Content Too Large"


async def test_the_smaller_of_the_app_and_middleware_limits_wins() -> None:
    client = AsyncTestClient(app_with(100, app_limit=LIMIT))
    response = await client.post("/body", content=stream_of(b"x" * 6, b"x" * 6))
    assert response.text == "app's own 413: Content Too Large"


async def cap_of(request: Request) -> Response:
    try:
        size = len(await request.body())
    except HTTPException as exc:
        return PlainTextResponse(f"{request.scope[MAX_BODY_SIZE_KEY]}: {exc.detail}", 413)
    return PlainTextResponse(f"{request.scope[MAX_BODY_SIZE_KEY]}: {size}")


@pytest.mark.parametrize(
    ("streamed", "expected"),
    [(False, "Content Too Large"), (True, "10: Content Too Large")],
    ids=["declared", "streamed"],
)
async def test_an_applications_default_cap_never_raises_the_middlewares(
    streamed: bool, expected: str
) -> None:
    # The app's default cap (16 MiB) used to replace the middleware's in the scope.
    app = BodyLimitMiddleware(MicroASGI(routes=[Route("/", cap_of, methods=["POST"])]), LIMIT)
    client = AsyncTestClient(app)
    content = stream_of(b"x" * 6, b"x" * 6) if streamed else b"x" * 12
    response = await client.post("/", content=content)
    assert response.status_code == 413
    assert response.text == expected  # declared: the middleware answers before the app runs
    response = await client.post("/", content=b"x" * 10)
    assert response.text == "10: 10"


@pytest.mark.parametrize(
    ("headers", "content"),
    [({"content-length": "1"}, b"x" * 12), ({"content-length": "invalid"}, b"x" * 12)],
    ids=["understated", "invalid"],
)
async def test_an_application_behind_the_middleware_gets_no_more_than_the_limit(
    headers: dict[str, str], content: bytes
) -> None:
    app = BodyLimitMiddleware(MicroASGI(routes=[Route("/", cap_of, methods=["POST"])]), LIMIT)
    response = await AsyncTestClient(app).post("/", content=content, headers=headers)
    assert response.status_code == 413
    assert response.text == "10: Content Too Large"
    response = await AsyncTestClient(app).post("/", content=b"x" * 5, headers=headers)
    assert response.text == "10: 5"


async def test_a_configured_application_cap_replaces_the_middlewares_but_bytes_are_counted() -> (
    None
):
    # The innermost configured setting is the Request's cap; the middleware still counts.
    app = BodyLimitMiddleware(
        MicroASGI(routes=[Route("/", cap_of, methods=["POST"])], max_body_size=100), LIMIT
    )
    client = AsyncTestClient(app)
    response = await client.post("/", content=stream_of(b"x" * 6, b"x" * 6))
    assert response.text == "100: Content Too Large"
    response = await client.post("/", content=b"x" * 10)
    assert response.text == "100: 10"


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 1.5, "10", True])
def test_bad_limits_are_refused_at_construction(value: Any) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("never called")

    with pytest.raises(ValueError, match=f"max_body_size must be .* got {value!r}"):
        BodyLimitMiddleware(app, max_body_size=value)


def test_the_default_limit_is_requests() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("never called")

    assert BodyLimitMiddleware(app).max_body_size == 16 * 1024 * 1024


def test_starlettes_names() -> None:
    from microasgi.middleware.body_limit import (
        MAX_BODY_SIZE_SCOPE_KEY,
        BodyLimitMiddleware,
        RequestBodyLimitMiddleware,
    )
    from microasgi.requests import MAX_BODY_SIZE_KEY

    assert RequestBodyLimitMiddleware is BodyLimitMiddleware
    assert MAX_BODY_SIZE_SCOPE_KEY == MAX_BODY_SIZE_KEY

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("never called")

    assert RequestBodyLimitMiddleware(app, 10).max_body_size == 10  # Starlette's positional form
