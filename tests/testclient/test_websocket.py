"""Websocket sessions of TestClient and AsyncTestClient, against small raw ASGI apps."""

from __future__ import annotations

import ast
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from microasgi.testclient import (
    ASGIProtocolError,
    AsyncTestClient,
    TestClient,
    WebSocketDenialResponse,
    WebSocketTestSession,
)
from microasgi.types import ASGIApp, Message, Receive, Scope, Send
from microasgi.websockets import WebSocket, WebSocketDisconnect

TestClientFactory = Callable[..., TestClient]
ACCEPT: Message = {"type": "websocket.accept"}


def echo_app(*, accept: Message | None = None) -> ASGIApp:
    """Accept, then echo every message until the client disconnects; record what it saw."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            # Answered, since the client re-raises an app's error on the lifespan scope.
            await send({"type": f"{(await receive())['type']}.complete"})
            await send({"type": f"{(await receive())['type']}.complete"})
            return
        assert (await receive())["type"] == "websocket.connect"
        await send(accept or ACCEPT)
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                seen.append(message)
                return
            if message.get("text") == "scope":
                shown = {k: v for k, v in scope.items() if k != "headers"}
                shown["headers"] = {k.decode(): v.decode() for k, v in scope["headers"]}
                await send({"type": "websocket.send", "text": repr(shown)})
            elif message.get("text") == "close":
                await send({"type": "websocket.close", "code": 4001, "reason": "asked"})
            else:
                await send(
                    {
                        "type": "websocket.send",
                        "text": message.get("text"),
                        "bytes": message.get("bytes"),
                    }
                )

    seen: list[Message] = []
    app.seen = seen  # type: ignore[attr-defined]
    return app


def script(*messages: Message, then_receive: bool = True) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        for message in messages:
            await send(message)
        if then_receive:
            await receive()

    return app


# --- talking ----------------------------------------------------------------------------------


async def test_async_session_round_trips() -> None:
    app = echo_app()
    async with AsyncTestClient(app).websocket_connect("/ws") as ws:
        await ws.send_text("hello")
        assert await ws.receive_text() == "hello"
        await ws.send_bytes(b"\x00")
        assert await ws.receive_bytes() == b"\x00"
        await ws.send_json({"a": "é"})
        assert await ws.receive_json() == {"a": "é"}
        await ws.send_json([1], mode="binary")
        assert await ws.receive_json(mode="binary") == [1]
        await ws.send({"type": "websocket.receive", "text": "raw"})
        assert await ws.receive() == {"type": "websocket.send", "text": "raw", "bytes": None}
    assert app.seen == [{"type": "websocket.disconnect", "code": 1000, "reason": ""}]  # type: ignore[attr-defined]


def test_sync_session_round_trips(test_client_factory: TestClientFactory) -> None:
    app = echo_app()
    client = test_client_factory(app)
    with client.websocket_connect("/ws") as ws:
        assert isinstance(ws, WebSocketTestSession)
        ws.send_text("hello")
        assert ws.receive_text() == "hello"
        ws.send_bytes(b"\x01")
        assert ws.receive_bytes() == b"\x01"
        ws.send_json({"k": 1}, mode="binary")
        assert ws.receive_json(mode="binary") == {"k": 1}
        ws.send({"type": "websocket.receive", "text": "raw"})
        assert ws.receive()["text"] == "raw"
        ws.close(4000, "done")
    assert app.seen == [{"type": "websocket.disconnect", "code": 4000, "reason": "done"}]  # type: ignore[attr-defined]
    with TestClient(echo_app()) as inside, inside.websocket_connect("/ws") as ws:
        ws.send_json({"x": 1})
        assert ws.receive_json() == {"x": 1}


async def test_scope_headers_subprotocols_and_accept_headers() -> None:
    accept: Message = {
        "type": "websocket.accept",
        "subprotocol": "chat",
        "headers": [(b"x-accepted", b"1")],
    }
    client = AsyncTestClient(
        echo_app(accept=accept), cookies={"c": "1"}, base_url="https://example.org"
    )
    async with client.websocket_connect(
        "/ws?a=1", subprotocols=["chat", "superchat"], headers={"X-Token": "t"}, params={"b": "2"}
    ) as ws:
        assert ws.accepted_subprotocol == "chat"
        assert ws.extra_headers == [(b"x-accepted", b"1")]
        await ws.send_text("scope")
        scope = ast.literal_eval(await ws.receive_text())
    assert scope["type"] == "websocket"
    assert scope["scheme"] == "wss"
    assert scope["path"] == "/ws"
    assert scope["query_string"] == b"a=1&b=2"
    assert scope["subprotocols"] == ["chat", "superchat"]
    assert scope["server"] == ("example.org", 443)
    assert scope["extensions"] == {"websocket.http.response": {}}
    # The client's default headers come along, as with Starlette's client (which is HTTPX's).
    assert scope["headers"].pop("accept") == "*/*"
    assert scope["headers"].pop("accept-encoding").startswith("gzip, deflate")
    assert scope["headers"] == {
        "host": "example.org",
        "connection": "upgrade",
        "upgrade": "websocket",
        "sec-websocket-key": "testserver==",
        "sec-websocket-version": "13",
        "user-agent": "testclient",
        "sec-websocket-protocol": "chat, superchat",
        "x-token": "t",
        "cookie": "c=1",
    }


def test_sync_accept_details(test_client_factory: TestClientFactory) -> None:
    accept: Message = {"type": "websocket.accept", "subprotocol": "v2", "headers": [(b"x", b"y")]}
    with test_client_factory(echo_app(accept=accept)).websocket_connect("/", ["v1", "v2"]) as ws:
        assert ws.accepted_subprotocol == "v2"
        assert ws.extra_headers == [(b"x", b"y")]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda ws: ws.send_json({}, mode="yaml"), 'mode must be "text" or "binary"'),
        (lambda ws: ws.receive_json(mode="yaml"), 'mode must be "text" or "binary"'),
    ],
)
async def test_bad_modes(call: Callable[[Any], Any], error: str) -> None:
    async with AsyncTestClient(echo_app()).websocket_connect("/") as ws:
        with pytest.raises(ValueError, match=error):
            await call(ws)


async def test_wrong_payload_kind() -> None:
    async with AsyncTestClient(echo_app()).websocket_connect("/") as ws:
        await ws.send_bytes(b"x")
        with pytest.raises(TypeError, match=r"receive_bytes\(\)"):
            await ws.receive_text()
        await ws.send_text("x")
        with pytest.raises(TypeError, match=r"receive_text\(\)"):
            await ws.receive_bytes()


def test_session_outside_its_block(test_client_factory: TestClientFactory) -> None:
    session = test_client_factory(echo_app()).websocket_connect("/")
    with pytest.raises(RuntimeError, match=r"with client\.websocket_connect"):
        session.send_text("x")


# --- closing ----------------------------------------------------------------------------------


async def test_app_close_after_accept_raises_on_receive() -> None:
    async with AsyncTestClient(echo_app()).websocket_connect("/") as ws:
        await ws.send_text("close")
        with pytest.raises(WebSocketDisconnect) as caught:
            await ws.receive_text()
        assert (caught.value.code, caught.value.reason) == (4001, "asked")
        assert await ws.receive() == {"type": "websocket.close", "code": 4001, "reason": "asked"}
        with pytest.raises(WebSocketDisconnect):
            await ws.receive_bytes()


async def test_app_sees_its_own_close_as_a_disconnect() -> None:
    seen: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        await send({"type": "websocket.close", "code": 1001})
        seen.append(await receive())
        seen.append(await receive())

    async with AsyncTestClient(app).websocket_connect("/") as ws:
        assert (await ws.receive())["code"] == 1001
    assert seen == [{"type": "websocket.disconnect", "code": 1001, "reason": ""}] * 2


def test_close_before_accept_raises_on_connect(test_client_factory: TestClientFactory) -> None:
    app = script({"type": "websocket.close", "code": 1008, "reason": "policy"})
    with (
        pytest.raises(WebSocketDisconnect) as caught,
        test_client_factory(app).websocket_connect("/"),
    ):
        pass  # pragma: no cover
    assert (caught.value.code, caught.value.reason) == (1008, "policy")


async def test_app_returning_after_accept_is_an_abnormal_closure() -> None:
    async with AsyncTestClient(script(ACCEPT, then_receive=False)).websocket_connect("/") as ws:
        with pytest.raises(WebSocketDisconnect) as caught:
            await ws.receive_text()
        assert caught.value.code == 1006


async def test_sending_after_closing_is_refused() -> None:
    async with AsyncTestClient(echo_app()).websocket_connect("/") as ws:
        await ws.close()
        await ws.close()  # closing twice is harmless
        with pytest.raises(RuntimeError, match="session is closed"):
            await ws.send_text("late")


@pytest.mark.parametrize(
    ("spec_version", "outcome"), [("2.4", "ClientDisconnectedError"), ("2.3", "no-op")]
)
async def test_app_send_after_client_close(spec_version: str, outcome: str) -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        assert (await receive())["type"] == "websocket.disconnect"
        try:
            await send({"type": "websocket.send", "text": "late"})
            events.append("no-op")
        except OSError as exc:
            events.append(type(exc).__name__)

    async with AsyncTestClient(app, spec_version=spec_version).websocket_connect("/"):
        pass
    assert events == [outcome]


async def test_uncaught_oserror_after_client_close_is_not_an_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        await receive()
        await send({"type": "websocket.send", "text": "late"})  # raises OSError, uncaught

    async with AsyncTestClient(app).websocket_connect("/"):
        pass


# --- denial response -------------------------------------------------------------------------


def test_denial_response(test_client_factory: TestClientFactory) -> None:
    app = script(
        {
            "type": "websocket.http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/plain")],
        },
        {"type": "websocket.http.response.body", "body": b"go ", "more_body": True},
        {"type": "websocket.http.response.body", "body": b"away"},
    )
    with (
        pytest.raises(WebSocketDenialResponse) as caught,
        test_client_factory(app).websocket_connect("/"),
    ):
        pass  # pragma: no cover
    denial = caught.value
    assert isinstance(denial, WebSocketDisconnect)
    assert denial.status_code == 403
    assert denial.headers["content-type"] == "text/plain"
    assert denial.text == "go away"
    assert str(denial) == "The app denied the websocket connection with HTTP 403."


async def test_denial_needs_the_extension() -> None:
    app = script({"type": "websocket.http.response.start", "status": 403, "headers": []})
    with pytest.raises(ASGIProtocolError) as caught:
        async with AsyncTestClient(app, extensions={}).websocket_connect("/"):
            pass  # pragma: no cover
    assert caught.value.rule == "extension.not_advertised"


async def test_denial_interrupted_by_the_app_returning() -> None:
    app = script(
        {"type": "websocket.http.response.start", "status": 403, "headers": []},
        {"type": "websocket.http.response.body", "body": b"x", "more_body": True},
        then_receive=False,
    )
    with pytest.raises(ASGIProtocolError) as caught:
        async with AsyncTestClient(app).websocket_connect("/"):
            pass  # pragma: no cover
    assert caught.value.rule == "websocket.incomplete"


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "rule"),
    [
        ([{"type": "websocket.send", "text": "early"}], "websocket.order"),
        ([{**ACCEPT, "subprotocol": "nope"}], "websocket.accept.subprotocol"),
        (
            [ACCEPT, {"type": "websocket.send", "text": "a", "bytes": b"a"}],
            "websocket.send.payload",
        ),
        ([ACCEPT, {"type": "websocket.close", "code": 1005}], "websocket.close.code"),
        (
            [ACCEPT, {"type": "websocket.close"}, {"type": "websocket.send", "text": "x"}],
            "websocket.order",
        ),
    ],
)
async def test_protocol_errors(messages: list[Message], rule: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        for message in messages:
            try:
                await send(message)
            except AssertionError:
                await send(message)  # retrying cannot hide the error
        await receive()

    async def talk() -> None:
        async with AsyncTestClient(app).websocket_connect("/") as ws:
            while True:
                await ws.receive_text()

    with pytest.raises(ASGIProtocolError) as caught:
        await talk()
    assert caught.value.rule == rule


async def test_protocol_error_surfaces_on_exit() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        try:
            await send({"type": "websocket.send", "text": 3})
        except AssertionError:
            pass  # swallowed by the app, still reported by the client
        await receive()

    with pytest.raises(ASGIProtocolError) as caught:
        async with AsyncTestClient(app).websocket_connect("/"):
            await anyio.wait_all_tasks_blocked()
    assert caught.value.rule == "websocket.send.text"


async def test_app_returning_without_a_handshake() -> None:
    with pytest.raises(ASGIProtocolError) as caught:
        async with AsyncTestClient(script(then_receive=False)).websocket_connect("/"):
            pass  # pragma: no cover
    assert caught.value.rule == "websocket.handshake"


def crashing(after_accept: bool) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        if after_accept:
            await send(ACCEPT)
            await receive()
        raise ZeroDivisionError("app crashed")

    return app


async def test_app_errors_surface_as_themselves() -> None:
    with pytest.raises(ZeroDivisionError, match="app crashed"):
        async with AsyncTestClient(crashing(False)).websocket_connect("/"):
            pass  # pragma: no cover
    async with AsyncTestClient(crashing(True)).websocket_connect("/") as ws:
        await ws.send_text("go")
        with pytest.raises(ZeroDivisionError, match="app crashed"):
            await ws.receive_text()
    with pytest.raises(ZeroDivisionError, match="app crashed"):
        async with AsyncTestClient(crashing(True)).websocket_connect("/"):
            pass


async def test_app_errors_as_1011_when_not_raising() -> None:
    client = AsyncTestClient(crashing(False), raise_server_exceptions=False)
    with pytest.raises(WebSocketDisconnect) as caught:
        async with client.websocket_connect("/"):
            pass  # pragma: no cover
    assert caught.value.code == 1011
    client = AsyncTestClient(crashing(True), raise_server_exceptions=False)
    async with client.websocket_connect("/") as ws:
        await ws.send_text("go")
        assert await ws.receive() == {"type": "websocket.close", "code": 1011, "reason": ""}


async def test_a_failing_test_body_is_not_masked() -> None:
    async def failing_test() -> None:
        async with AsyncTestClient(crashing(True)).websocket_connect("/") as ws:
            await ws.send_text("go")
            await anyio.wait_all_tasks_blocked()
            raise KeyError("test body")

    with pytest.raises(KeyError, match="test body"):
        await failing_test()


# --- leaving the session ------------------------------------------------------------------------


async def test_an_app_that_reads_the_disconnect_is_left_to_finish() -> None:
    cleaned: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        message = await receive()
        await anyio.sleep(
            0.01
        )  # cleanup that awaits: a server waits for it, and so does the client
        cleaned.append(message["type"])

    async with AsyncTestClient(app).websocket_connect("/"):
        pass
    assert cleaned == ["websocket.disconnect"]


async def test_an_app_that_never_reads_the_disconnect_is_cancelled() -> None:
    cancelled = anyio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    async with AsyncTestClient(app).websocket_connect("/"):
        pass
    assert cancelled.is_set()


async def test_an_app_that_closed_and_then_hangs_is_cancelled() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        await send({"type": "websocket.close", "code": 4000})
        await anyio.sleep_forever()

    async with AsyncTestClient(app).websocket_connect("/") as ws:
        with pytest.raises(WebSocketDisconnect) as caught:
            await ws.receive_text()
    assert caught.value.code == 4000


# --- ported from Starlette's tests/test_testclient.py (imports changed only) ---------------------
# Starlette imports ASGIInstance from starlette.testclient: here it is spelled out.
ASGIInstance = Callable[[Receive, Send], Awaitable[None]]


def test_websocket_blocking_receive(test_client_factory: TestClientFactory) -> None:
    def app(scope: Scope) -> ASGIInstance:
        async def respond(websocket: WebSocket) -> None:
            await websocket.send_json({"message": "test"})

        async def asgi(receive: Receive, send: Send) -> None:
            websocket = WebSocket(scope, receive=receive, send=send)
            await websocket.accept()
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(respond, websocket)
                try:
                    # this will block as the client does not send us data
                    # it should not prevent `respond` from executing though
                    await websocket.receive_json()
                except WebSocketDisconnect:
                    pass

        return asgi

    client = test_client_factory(app)
    with client.websocket_connect("/") as websocket:
        data = websocket.receive_json()
        assert data == {"message": "test"}


def test_websocket_not_block_on_close(test_client_factory: TestClientFactory) -> None:
    cancelled = False

    def app(scope: Scope) -> ASGIInstance:
        async def asgi(receive: Receive, send: Send) -> None:
            nonlocal cancelled
            try:
                websocket = WebSocket(scope, receive=receive, send=send)
                await websocket.accept()
                await anyio.sleep_forever()
            except anyio.get_cancelled_exc_class():
                cancelled = True
                raise

        return asgi

    client = test_client_factory(app)
    with client.websocket_connect("/"):
        ...
    assert cancelled


def test_websocket_raw_path_without_params(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive=receive, send=send)
        await websocket.accept()
        raw_path = scope.get("raw_path")
        assert raw_path is not None
        await websocket.send_bytes(raw_path)

    client = test_client_factory(app)
    with client.websocket_connect("/hello-world", params={"foo": "bar"}) as websocket:
        data = websocket.receive_bytes()
        assert data == b"/hello-world"
