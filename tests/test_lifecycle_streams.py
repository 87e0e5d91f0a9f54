"""What the drain ends: event streams, websockets, and streams that wait for it themselves."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest

from microasgi._sansio.websocket import Phase
from microasgi.applications import MicroASGI
from microasgi.endpoints import WebSocketEndpoint
from microasgi.requests import Request
from microasgi.responses import EventSourceResponse, Response, ServerSentEvent, StreamingResponse
from microasgi.routing import Mount, Route, WebSocketRoute
from microasgi.testclient import TestClient
from microasgi.types import Message, Receive, Scope, Send
from microasgi.websockets import WebSocket, WebSocketDisconnect

ClientFactory = Callable[..., TestClient]


# --- event streams -----------------------------------------------------------------------------


def _ticks(app: MicroASGI, closed: list[str], drain_after: int | None) -> AsyncIterator[str]:
    async def produce() -> AsyncIterator[str]:
        try:
            count = 0
            while True:
                yield f"tick {count}"
                count += 1
                if count == drain_after:
                    app.begin_drain()
                    # Waits for what the drain does (its wake-up runs on the loop soon after,
                    # not inside begin_drain): the stream ends here, whatever the backend.
                    await anyio.sleep_forever()
                await anyio.lowlevel.checkpoint()
        finally:
            closed.append("producer closed")

    return produce()


@pytest.mark.parametrize("ping", [None, 15])
def test_an_event_stream_ends_with_a_retry_hint(
    test_client_factory: ClientFactory, ping: float | None
) -> None:
    closed: list[str] = []

    async def events(request: Request) -> Response:
        return EventSourceResponse(_ticks(request.app, closed, drain_after=2), ping=ping)

    app = MicroASGI(routes=[Route("/events", events)])
    with test_client_factory(app) as client:
        response = client.get("/events")
    assert response.text == "data: tick 0\n\ndata: tick 1\n\nretry: 1000\n\n"
    assert closed == ["producer closed"]


def test_an_event_stream_sends_the_drain_event(test_client_factory: ClientFactory) -> None:
    closed: list[str] = []

    async def events(request: Request) -> Response:
        return EventSourceResponse(
            _ticks(request.app, closed, drain_after=1),
            drain_event=ServerSentEvent(event="restart", data="reconnect"),
            drain_retry=250,
        )

    app = MicroASGI(routes=[Route("/events", events)])
    with test_client_factory(app) as client:
        text = client.get("/events").text
    assert text == "data: tick 0\n\nevent: restart\ndata: reconnect\n\nretry: 250\n\n"


@pytest.mark.parametrize("ping", [None, 15])
def test_a_stream_opened_while_draining_ends_at_once(
    test_client_factory: ClientFactory, ping: float | None
) -> None:
    closed: list[str] = []

    async def events(request: Request) -> Response:
        return EventSourceResponse(
            _ticks(request.app, closed, drain_after=None),
            drain_event="bye",
            drain_retry=None,
            ping=ping,
        )

    app = MicroASGI(routes=[Route("/events", events)])
    with test_client_factory(app) as client:
        app.begin_drain()
        response = client.get("/events")
    assert (response.status_code, response.text) == (200, "data: bye\n\n")
    assert response.headers["connection"] == "close"


def test_an_event_stream_may_send_nothing_more(test_client_factory: ClientFactory) -> None:
    closed: list[str] = []

    async def events(request: Request) -> Response:
        return EventSourceResponse(
            _ticks(request.app, closed, drain_after=1), drain_retry=None, ping=None
        )

    app = MicroASGI(routes=[Route("/events", events)])
    with test_client_factory(app) as client:
        assert client.get("/events").text == "data: tick 0\n\n"


async def test_a_stream_without_pings_whose_client_left_is_closed() -> None:
    # ASGI 2.4: send raises once the client has gone; the producer is closed, nothing listens.
    closed: list[str] = []

    async def events(request: Request) -> Response:
        return EventSourceResponse(_ticks(request.app, closed, drain_after=None), ping=None)

    app = MicroASGI(routes=[Route("/events", events)])
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/events",
        "raw_path": b"/events",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": None,
        "server": None,
    }

    inbox: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if not inbox:
            await anyio.sleep_forever()  # only send tells that the client has gone
        return inbox.pop(0)

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            raise OSError("the client has gone")

    await app(scope, receive, send)
    assert closed == ["producer closed"]
    assert app._drain._listeners == {}


def test_a_finished_stream_is_not_drained(test_client_factory: ClientFactory) -> None:
    async def events(request: Request) -> Response:
        return EventSourceResponse(["one", "two"])

    app = MicroASGI(routes=[Route("/events", events)])
    with test_client_factory(app) as client:
        assert client.get("/events").text == "data: one\n\ndata: two\n\n"
        app.begin_drain()  # nothing listens any more


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"drain_event": 3}, TypeError),
        ({"drain_event": {"data": "x", "bogus": 1}}, TypeError),
        ({"drain_retry": -1}, ValueError),
        ({"drain_retry": "soon"}, ValueError),
    ],
)
def test_drain_arguments_are_checked(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        EventSourceResponse([], **kwargs)


def test_an_event_stream_outside_microasgi_is_not_drained() -> None:
    # A raw ASGI app has no drain: the stream is served as before, pings off or on.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await EventSourceResponse(["x"], ping=None)(scope, receive, send)

    assert TestClient(app).get("/").text == "data: x\n\n"


def test_a_streaming_endpoint_can_wait_for_the_drain(test_client_factory: ClientFactory) -> None:
    async def feed(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"working\n"
            request.app.begin_drain()
            await request.app.wait_for_drain()
            yield b"stopping: the server restarts\n"

        return StreamingResponse(body())

    app = MicroASGI(routes=[Route("/feed", feed)])
    with test_client_factory(app) as client:
        assert client.get("/feed").text == "working\nstopping: the server restarts\n"


# --- websockets --------------------------------------------------------------------------------


def test_a_receiving_websocket_is_closed_with_1012(test_client_factory: ClientFactory) -> None:
    seen: list[int] = []

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            async for text in websocket.iter_text():
                await websocket.send_text(text)
        finally:
            seen.append(websocket.client_state.value)

    app = MicroASGI(routes=[WebSocketRoute("/ws", echo)])
    with test_client_factory(app) as client, client.websocket_connect("/ws") as session:
        session.send_text("hello")
        assert session.receive_text() == "hello"
        app.begin_drain()
        with pytest.raises(WebSocketDisconnect) as info:
            session.receive_text()
        assert (info.value.code, info.value.reason) == (1012, "Service restart")
    assert seen == [2]  # the endpoint's loop ended on the disconnect, cleanly


def test_an_endpoint_that_waits_for_the_drain_says_goodbye(
    test_client_factory: ClientFactory,
) -> None:
    async def announcer(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("welcome")
        await websocket.wait_for_drain()
        await websocket.send_text("restarting, reconnect in a moment")
        await websocket.close(1012, "bye")

    app = MicroASGI(routes=[WebSocketRoute("/ws", announcer)])
    with test_client_factory(app) as client, client.websocket_connect("/ws") as session:
        assert session.receive_text() == "welcome"
        app.begin_drain()
        assert session.receive_text() == "restarting, reconnect in a moment"
        with pytest.raises(WebSocketDisconnect) as info:
            session.receive_text()
        assert (info.value.code, info.value.reason) == (1012, "bye")


def test_a_busy_endpoint_ends_cleanly(test_client_factory: ClientFactory) -> None:
    # Drained while it is not receiving: its next send, receive and close end it quietly.
    outcome: list[str] = []
    client_saw_close, finished = threading.Event(), threading.Event()

    async def pusher(websocket: WebSocket) -> None:
        await websocket.accept()
        websocket.app.begin_drain()
        await anyio.to_thread.run_sync(client_saw_close.wait)  # busy elsewhere meanwhile
        for step in (websocket.send_text, lambda text: websocket.receive_text()):
            try:
                await step("late")
            except WebSocketDisconnect as exc:
                outcome.append(f"{exc.code}")
        await websocket.close()  # a no-op: the drain closed it
        with pytest.raises(RuntimeError, match="closed by the application"):
            await websocket.accept()  # what the table refuses stays refused
        await websocket.wait_for_drain()  # returns: drained already
        outcome.append("returned")
        finished.set()

    app = MicroASGI(routes=[WebSocketRoute("/ws", pusher)])
    with test_client_factory(app) as client, client.websocket_connect("/ws") as session:
        with pytest.raises(WebSocketDisconnect) as info:
            session.receive_text()
        assert info.value.code == 1012
        client_saw_close.set()
        assert finished.wait(5)
    assert outcome == ["1012", "1012", "returned"]


def test_a_websocket_accepted_while_draining_is_closed(
    test_client_factory: ClientFactory,
) -> None:
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()

    app = MicroASGI(routes=[WebSocketRoute("/ws", echo)])
    with test_client_factory(app) as client:
        app.begin_drain()
        with client.websocket_connect("/ws") as session, pytest.raises(WebSocketDisconnect):
            session.receive_text()


async def test_a_close_the_server_refuses_is_ignored() -> None:
    async def never() -> Message:
        raise AssertionError("not called")

    async def refuse(message: Message) -> None:
        raise RuntimeError("the server refused the close")

    websocket = WebSocket({"type": "websocket", "headers": []}, never, refuse)
    websocket._conn.phase = Phase.OPEN
    await websocket._close_for_drain()  # swallowed: the connection ends either way
    assert websocket._conn.phase is Phase.CLOSED


def test_wait_for_drain_needs_a_microasgi_app() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        with pytest.raises(RuntimeError, match="needs a MicroASGI app"):
            await websocket.wait_for_drain()
        await websocket.close()

    with TestClient(app).websocket_connect("/") as session, pytest.raises(WebSocketDisconnect):
        session.receive_text()


def test_a_closed_websocket_stops_listening(test_client_factory: ClientFactory) -> None:
    # Ended by either side, a connection leaves nothing for the drain: listeners do not pile
    # up on a busy server until the garbage collector runs.
    held: list[WebSocket] = []  # kept alive: only the close may remove the listener

    async def endpoint(websocket: WebSocket) -> None:
        held.append(websocket)
        await websocket.accept()
        if await websocket.receive_text() == "close":
            await websocket.close()
        else:
            await websocket.receive_text()  # until the client leaves

    app = MicroASGI(routes=[WebSocketRoute("/ws", endpoint)])
    with test_client_factory(app) as client:
        with client.websocket_connect("/ws") as session:
            session.send_text("close")
            with pytest.raises(WebSocketDisconnect):
                session.receive_text()
        with client.websocket_connect("/ws") as session:
            session.send_text("stay")
        assert len(held) == 2
        assert all(not group.held for group in app._drain._groups.values())


def _held(app: MicroASGI) -> list[object]:
    return [entry for group in app._drain._groups.values() for entry in group.held]


def test_a_websocket_whose_endpoint_fails_is_let_go(test_client_factory: ClientFactory) -> None:
    # The route holds its connections strongly (no weak reference) and lets go in a finally:
    # a session that ends by an error, the connection still open, leaves nothing behind.
    kept: list[WebSocket] = []

    async def endpoint(websocket: WebSocket) -> None:
        kept.append(websocket)  # alive after the session: only the route may let it go
        await websocket.accept()
        assert _held(app) == [websocket]  # the connection itself, not a weak reference
        raise ValueError("boom")

    app = MicroASGI(routes=[WebSocketRoute("/ws", endpoint)])
    with test_client_factory(app) as client:
        with pytest.raises(ValueError, match="boom"), client.websocket_connect("/ws"):
            pass
        assert len(kept) == 1
        assert _held(app) == []


def test_a_websocket_endpoint_class_lets_go_whatever_happens(
    test_client_factory: ClientFactory,
) -> None:
    kept: list[WebSocket] = []

    class Failing(WebSocketEndpoint):
        async def on_connect(self, websocket: WebSocket) -> None:
            kept.append(websocket)
            await websocket.accept()
            assert _held(app) == [websocket]
            raise ValueError("on_connect failed after accepting")

    app = MicroASGI(routes=[WebSocketRoute("/ws", Failing)])
    with test_client_factory(app) as client:
        with pytest.raises(ValueError, match="after accepting"), client.websocket_connect("/ws"):
            pass
        assert len(kept) == 1
        assert _held(app) == []


@pytest.mark.parametrize("general", [False, True], ids=["send_text", "send"])
async def test_a_websocket_the_server_lost_is_let_go(general: bool) -> None:
    # ASGI 2.4: send() on a closed connection raises OSError; the connection has ended.
    seen: list[object] = []

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        message: Message = {"type": "websocket.send", "text": "into the void"}
        with pytest.raises(WebSocketDisconnect):
            await (websocket.send(message) if general else websocket.send_text("into the void"))
        seen.append(websocket._drain_held)

    app = MicroASGI(routes=[WebSocketRoute("/ws", endpoint)])
    inbox: list[Message] = [{"type": "websocket.connect"}]

    async def receive() -> Message:
        return inbox.pop(0)

    async def send(message: Message) -> None:
        if message["type"] == "websocket.send":
            raise OSError("gone")

    scope: Scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "subprotocols": [],
    }
    await app(scope, receive, send)
    assert seen == [None]
    assert _held(app) == []


def test_a_websocket_an_app_makes_itself_is_held_weakly(
    test_client_factory: ClientFactory,
) -> None:
    # Nobody promises to let go of a WebSocket a plain ASGI app made: the drain holds a weak
    # reference, gone with the connection, however the app ends.
    entries: list[object] = []

    async def raw(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        entries.extend(_held(app))
        raise ValueError("boom")

    app = MicroASGI(routes=[Mount("/raw", app=raw)])
    with test_client_factory(app) as client:
        with pytest.raises(ValueError, match="boom"), client.websocket_connect("/raw/"):
            pass
        assert len(entries) == 1
        assert isinstance(entries[0], weakref.ReferenceType)
        entries.clear()
        gc.collect()
        assert _held(app) == []


def test_an_event_stream_that_fails_is_let_go(test_client_factory: ClientFactory) -> None:
    during: list[int] = []

    async def failing() -> AsyncIterator[str]:
        yield "one"
        during.append(len(_held(app)))
        raise ValueError("producer failed")

    async def endpoint(request: Request) -> Response:
        return EventSourceResponse(failing(), ping=None)

    app = MicroASGI(routes=[Route("/events", endpoint)])
    with test_client_factory(app) as client:
        with pytest.raises(ValueError, match="producer failed"):
            client.get("/events")
        assert during == [1]
        assert _held(app) == []


# --- a stream without pings on asyncio: the drain cancels its task, then takes that back ----------


def _http_scope(path: str) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": None,
        "server": None,
    }


async def _serve(app: MicroASGI, path: str) -> list[bytes]:
    inbox: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]
    bodies: list[bytes] = []

    async def receive() -> Message:
        if not inbox:
            await anyio.sleep_forever()
        return inbox.pop(0)

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            bodies.append(message["body"])

    await app(_http_scope(path), receive, send)
    return bodies


def _stream_app(produce: Callable[[MicroASGI], AsyncIterator[str]]) -> MicroASGI:
    async def events(request: Request) -> Response:
        return EventSourceResponse(produce(request.app), ping=None)

    return MicroASGI(routes=[Route("/events", events)])


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_producer_that_swallows_the_drain_still_ends(anyio_backend: str) -> None:
    import asyncio

    async def produce(app: MicroASGI) -> AsyncIterator[str]:
        yield "one"
        app.begin_drain()
        try:
            await anyio.sleep_forever()
        except asyncio.CancelledError:
            yield "two"  # against the rules: the stream ends anyway

    bodies = await _serve(_stream_app(produce), "/events")
    assert bodies == [b"data: one\n\n", b"data: two\n\n", b"retry: 1000\n\n", b""]
    # The drain's cancellation was taken back: the task is not left cancelling.
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_error_raised_on_the_drain_propagates(anyio_backend: str) -> None:
    import asyncio

    async def produce(app: MicroASGI) -> AsyncIterator[str]:
        yield "one"
        app.begin_drain()
        try:
            await anyio.sleep_forever()
        except asyncio.CancelledError:
            raise LookupError("cleanup failed") from None

    with pytest.raises(LookupError, match="cleanup failed"):
        await _serve(_stream_app(produce), "/events")
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_another_cancellation_during_the_drain_is_kept(anyio_backend: str) -> None:
    import asyncio

    async def produce(app: MicroASGI) -> AsyncIterator[str]:
        yield "one"
        app.begin_drain()
        # Someone else cancels the task too (a server, an outer timeout): that one wins.
        asyncio.current_task().cancel()  # type: ignore[union-attr]
        await anyio.sleep_forever()
        yield "never"  # pragma: no cover

    with pytest.raises(asyncio.CancelledError):
        await _serve(_stream_app(produce), "/events")
    task = asyncio.current_task()
    assert task is not None
    assert task.uncancel() == 0  # the other cancellation, still counted; ours taken back
