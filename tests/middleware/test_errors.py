"""``ServerErrorMiddleware``: 500 answers, the debug page, re-raising, quiet disconnects."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from microasgi.middleware.errors import ServerErrorMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send


class Boom(Exception):
    """What the apps under test raise."""


async def fails_before_start(scope: Scope, receive: Receive, send: Send) -> None:
    raise Boom("it <broke>")


async def fails_after_start(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise Boom("mid-stream")


def http_scope(**items: Any) -> Scope:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    scope.update(items)
    return scope


async def run_raw(app: ASGIApp, scope: Scope, incoming: list[Message]) -> list[Message]:
    """Call ``app`` directly; ``receive`` replays ``incoming``, ``send`` records what the app sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_answers_500_and_reraises() -> None:
    client = AsyncTestClient(ServerErrorMiddleware(fails_before_start))
    with pytest.raises(Boom, match="it <broke>"):
        await client.get("/")


async def test_answers_500_when_the_server_keeps_going() -> None:
    client = AsyncTestClient(
        ServerErrorMiddleware(fails_before_start), raise_server_exceptions=False
    )
    response = await client.get("/")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_sync_client_sees_the_same(test_client_factory: Callable[..., Any]) -> None:
    app = ServerErrorMiddleware(fails_before_start)
    with pytest.raises(Boom):
        test_client_factory(app).get("/")
    response = test_client_factory(app, raise_server_exceptions=False).get("/")
    assert (response.status_code, response.text) == (500, "Internal Server Error")


async def test_error_after_the_response_started_is_only_reraised() -> None:
    app = ServerErrorMiddleware(fails_after_start, debug=True)
    with pytest.raises(Boom, match="mid-stream"):
        await AsyncTestClient(app).get("/")
    # The server (here the client with raise_server_exceptions=False) gets what was sent: the
    # middleware cannot take back a started response, so no 500 is mixed into it.
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/")
    assert response.status_code == 200
    assert response.text == "partial"


async def test_messages_before_start_do_not_count_as_started() -> None:
    async def hints_then_fails(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload"]})
        raise Boom("after a hint")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}  # pragma: no cover (never read)

    with pytest.raises(Boom):
        await ServerErrorMiddleware(hints_then_fails)(http_scope(), receive, send)
    assert [m["type"] for m in sent] == [
        "http.response.early_hint",
        "http.response.start",
        "http.response.body",
    ]
    assert sent[1]["status"] == 500


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("text/html,application/xhtml+xml,*/*;q=0.8", "text/html; charset=utf-8"),
        ("application/json", "text/plain; charset=utf-8"),
        (None, "text/plain; charset=utf-8"),
    ],
)
async def test_debug_traceback_by_accept(accept: str | None, media_type: str) -> None:
    client = AsyncTestClient(
        ServerErrorMiddleware(fails_before_start, debug=True), raise_server_exceptions=False
    )
    headers = {} if accept is None else {"accept": accept}
    response = await client.get("/here", headers=headers)
    assert response.status_code == 500
    assert response.headers["content-type"] == media_type
    if media_type.startswith("text/html"):
        # The page itself is tested in test_debugpage.py.
        assert "<h1>500 Server Error</h1>" in response.text
        assert "Boom: it &lt;broke&gt;</pre>" in response.text
        assert "raise Boom(&quot;it &lt;broke&gt;&quot;)" in response.text
        assert "<th>URL</th><td>http://testserver/here</td>" in response.text
        assert "it <broke>" not in response.text  # every value is escaped
    else:
        assert "Traceback (most recent call last)" in response.text
        assert 'raise Boom("it <broke>")' in response.text
        assert response.text.rstrip().endswith("Boom: it <broke>")


async def test_debug_page_escapes_the_path_and_survives_a_bad_host() -> None:
    scope = http_scope(
        path="/<script>", headers=[(b"host", b"bad host\x01"), (b"accept", b"text/html")]
    )
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}  # pragma: no cover (never read)

    with pytest.raises(Boom):
        await ServerErrorMiddleware(fails_before_start, debug=True)(scope, receive, send)
    assert sent[0]["status"] == 500
    page = bytes(sent[1]["body"]).decode()
    assert "<th>URL</th><td>http://bad host\x01/&lt;script&gt;</td>" in page


def sync_handler(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc), "path": request.url.path}, status_code=500)


async def async_handler(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"sorry: {exc}", status_code=503)


@pytest.mark.parametrize(
    ("handler", "status", "body"),
    [
        (sync_handler, 500, '{"error":"it <broke>","path":"/x"}'),
        (async_handler, 503, "sorry: it <broke>"),
    ],
)
async def test_handler_answers(handler: Any, status: int, body: str) -> None:
    app = ServerErrorMiddleware(fails_before_start, handler=handler)
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/x")
    assert (response.status_code, response.text) == (status, body)
    with pytest.raises(Boom):
        await AsyncTestClient(app).get("/x")


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync-handler", "async-handler"])
async def test_handler_still_reports_an_error_after_the_response_started(
    asynchronous: bool,
) -> None:
    # As in Starlette 1.10: the handler runs (error reporting, such as Sentry's, hooks in there)
    # though its answer cannot be sent any more; the exception then goes on to the server.
    reported: list[tuple[str, str]] = []

    def report(request: Request, exc: Exception) -> Response:
        reported.append((request.url.path, str(exc)))
        return PlainTextResponse("never sent", status_code=500)

    async def report_async(request: Request, exc: Exception) -> Response:
        return report(request, exc)

    app = ServerErrorMiddleware(fails_after_start, handler=report_async if asynchronous else report)
    with pytest.raises(Boom, match="mid-stream"):
        await AsyncTestClient(app).get("/x")
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/x")
    assert (response.status_code, response.text) == (200, "partial")
    assert reported == [("/x", "mid-stream"), ("/x", "mid-stream")]


async def test_handler_not_called_in_debug_after_the_response_started() -> None:
    reported: list[Exception] = []

    async def report(request: Request, exc: Exception) -> Response:  # pragma: no cover
        reported.append(exc)
        return PlainTextResponse("never sent", status_code=500)

    app = ServerErrorMiddleware(fails_after_start, handler=report, debug=True)
    with pytest.raises(Boom):
        await AsyncTestClient(app).get("/")
    assert reported == []  # debug answers with the traceback page, never with the handler


async def test_a_failing_report_after_the_start_goes_to_the_server() -> None:
    async def report(request: Request, exc: Exception) -> Response:
        raise RuntimeError("the reporter failed")

    app = ServerErrorMiddleware(fails_after_start, handler=report)
    with pytest.raises(RuntimeError, match="the reporter failed") as info:
        await AsyncTestClient(app).get("/")
    assert isinstance(info.value.__context__, Boom)


async def test_debug_wins_over_the_handler() -> None:
    app = ServerErrorMiddleware(fails_before_start, handler=async_handler, debug=True)
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/")
    assert "Traceback" in response.text


async def test_handler_returning_no_response_is_a_clear_error() -> None:
    def lazy(request: Request, exc: Exception) -> Any:
        return "oops"

    app = ServerErrorMiddleware(fails_before_start, handler=lazy)
    with pytest.raises(
        TypeError, match=r"lazy returned 'oops' for Boom; it must return a Response"
    ) as info:
        await AsyncTestClient(app).get("/")
    assert isinstance(info.value.__cause__, Boom)


@pytest.mark.parametrize("scope_type", ["websocket", "lifespan"])
@pytest.mark.parametrize("fails", [False, True])
async def test_other_scopes_pass_through(scope_type: str, fails: bool) -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        if fails:
            raise Boom("not mine")

    if fails:
        with pytest.raises(Boom):
            await run_raw(ServerErrorMiddleware(app), {"type": scope_type}, [])
    else:
        assert await run_raw(ServerErrorMiddleware(app), {"type": scope_type}, []) == []
    assert seen == [scope_type]


async def test_client_disconnect_ends_the_request_quietly(caplog: pytest.LogCaptureFixture) -> None:
    async def reads_body(scope: Scope, receive: Receive, send: Send) -> None:
        body = await Request(scope, receive).body()
        await PlainTextResponse(body)(scope, receive, send)  # pragma: no cover (never reached)

    caplog.set_level(logging.DEBUG)
    scope = http_scope(
        method="POST", headers=[(b"host", b"testserver"), (b"content-length", b"10")]
    )
    incoming: list[Message] = [
        {"type": "http.request", "body": b"12345", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent = await run_raw(ServerErrorMiddleware(reads_body, debug=True), scope, incoming)
    assert sent == []  # no 500, nothing at all: nobody is there to read it
    assert incoming == []  # the body was read up to the disconnect
    assert caplog.records == []
