"""WebSocket: the state table, limits, decoding, sending, denial responses and WebSocketClose.

Most tests drive a ``WebSocket`` with a hand-built peer (a scripted ``receive`` and a recording
``send``) to reach every state and error path exactly; a few go end to end through the test client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import anyio
import pytest

from microasgi._sansio.websocket import Connection, Phase, fit_reason
from microasgi.responses import PlainTextResponse, StreamingResponse
from microasgi.testclient import AsyncTestClient, WebSocketDenialResponse
from microasgi.types import Message, Receive, Scope, Send
from microasgi.websockets import (
    DEFAULT_MAX_MESSAGE_SIZE,
    MAX_MESSAGE_SIZE_KEY,
    WebSocket,
    WebSocketClose,
    WebSocketDisconnect,
    WebSocketDisconnected,
    WebSocketState,
)

CONNECT: Message = {"type": "websocket.connect"}
DENIAL: dict[str, Any] = {"websocket.http.response": {}}


def text(value: str) -> Message:
    return {"type": "websocket.receive", "text": value}


def data(value: bytes) -> Message:
    return {"type": "websocket.receive", "bytes": value}


def disconnect(code: int | None = 1001, reason: str | None = None) -> Message:
    return {"type": "websocket.disconnect", "code": code, "reason": reason}


class Peer:
    """The server's side: scripted messages to deliver, a record of what the app sent."""

    def __init__(self, *incoming: Message, fail: Iterable[str] = ()) -> None:
        self.incoming = list(incoming)
        self.sent: list[Message] = []
        self.fail = set(fail)  # message types whose send raises OSError (the client left)

    async def receive(self) -> Message:
        return self.incoming.pop(0)

    async def send(self, message: Message) -> None:
        if message["type"] in self.fail:
            raise OSError("the client has gone")
        self.sent.append(message)

    @property
    def types(self) -> list[str]:
        return [message["type"] for message in self.sent]


def make_scope(**extra: Any) -> Scope:
    scope: Scope = {
        "type": "websocket",
        "path": "/ws",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"example.org")],
        "scheme": "ws",
        "subprotocols": ["chat", "json"],
        "server": ("example.org", 80),
    }
    scope.update(extra)
    return scope


def limited(limit: int | None) -> dict[str, Any]:
    """Scope items setting the message size limit."""
    return {MAX_MESSAGE_SIZE_KEY: limit}


def connect(*incoming: Message, fail: Iterable[str] = (), **scope: Any) -> tuple[WebSocket, Peer]:
    peer = Peer(*incoming, fail=fail)
    return WebSocket(make_scope(**scope), peer.receive, peer.send), peer


async def opened(
    *incoming: Message, fail: Iterable[str] = (), **scope: Any
) -> tuple[WebSocket, Peer]:
    websocket, peer = connect(CONNECT, *incoming, fail=fail, **scope)
    await websocket.accept()
    return websocket, peer


# --- construction -------------------------------------------------------------------------------


@pytest.mark.parametrize("scope_type", ["http", "lifespan"])
def test_refuses_other_scopes(scope_type: str) -> None:
    peer = Peer()
    with pytest.raises(
        ValueError, match=f"WebSocket needs a 'websocket' scope, got .*{scope_type}"
    ):
        WebSocket({"type": scope_type}, peer.receive, peer.send)


def test_is_a_connection() -> None:
    websocket, _ = connect(path="/ws/room")
    assert websocket.url == "ws://example.org/ws/room"
    assert websocket["path"] == "/ws/room"
    assert websocket.headers["host"] == "example.org"


@pytest.mark.parametrize(
    ("scope_value", "argument", "expected"),
    [
        (None, ..., DEFAULT_MAX_MESSAGE_SIZE),
        (100, ..., 100),
        (None, 7, 7),
        (100, None, None),
    ],
)
def test_max_message_size_sources(scope_value: int | None, argument: Any, expected: Any) -> None:
    peer = Peer()
    scope = (
        make_scope() if scope_value is None else make_scope(**{MAX_MESSAGE_SIZE_KEY: scope_value})
    )
    websocket = WebSocket(scope, peer.receive, peer.send, max_message_size=argument)
    assert websocket.max_message_size == expected


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True])
def test_max_message_size_is_validated(bad: Any) -> None:
    websocket, _ = connect()
    with pytest.raises(ValueError, match="max_message_size must be a number of bytes >= 1"):
        websocket.max_message_size = bad
    with pytest.raises(ValueError, match="max_message_size"):
        connect(**{MAX_MESSAGE_SIZE_KEY: bad})
    websocket.max_message_size = None
    assert websocket.max_message_size is None


# --- the state table ----------------------------------------------------------------------------


async def test_states_through_a_whole_connection() -> None:
    websocket, peer = connect(CONNECT, text("hi"), disconnect(1001, "bye"))
    seen = [(websocket.client_state, websocket.application_state)]
    assert await websocket.receive() == CONNECT
    seen.append((websocket.client_state, websocket.application_state))
    await websocket.accept(subprotocol="chat", headers={"X-Room": "1"})
    seen.append((websocket.client_state, websocket.application_state))
    assert await websocket.receive_text() == "hi"
    with pytest.raises(WebSocketDisconnect) as gone:
        await websocket.receive_text()
    seen.append((websocket.client_state, websocket.application_state))
    assert (gone.value.code, gone.value.reason) == (1001, "bye")
    s = WebSocketState
    assert seen == [
        (s.CONNECTING, s.CONNECTING),
        (s.CONNECTED, s.CONNECTING),
        (s.CONNECTED, s.CONNECTED),
        (s.DISCONNECTED, s.DISCONNECTED),
    ]
    assert peer.sent == [
        {"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x-room", b"1")]}
    ]


async def test_app_close_states() -> None:
    websocket, peer = await opened()
    await websocket.close(4000, "done")
    assert websocket.client_state is WebSocketState.CONNECTED
    assert websocket.application_state is WebSocketState.DISCONNECTED
    assert peer.sent[-1] == {"type": "websocket.close", "code": 4000, "reason": "done"}


# The error a refused step raises: a plain RuntimeError while the connection is alive, Starlette's
# WebSocketDisconnected (a RuntimeError subclass) once it is closed, and for a typed receive on a
# connection that is not open (Starlette raises it there too).
R, D = RuntimeError, WebSocketDisconnected


@pytest.mark.parametrize(
    ("setup", "step", "error", "message"),
    [
        (
            "new",
            "send_text",
            R,
            "Cannot send a message: the websocket is waiting for 'websocket.connect'",
        ),
        ("new", "receive_text", D, "Cannot receive a message: the websocket is waiting"),
        (
            "handshake",
            "send_text",
            R,
            r"Cannot send a message: the websocket is connecting.*accept\(\)",
        ),
        ("handshake", "receive", R, r"Cannot call receive\(\): the websocket is connecting"),
        ("handshake", "receive_text", D, "Cannot receive a message: the websocket is connecting"),
        (
            "open",
            "accept",
            R,
            "Cannot accept: the websocket is accepted. .*accept\\(\\) is called once",
        ),
        ("open", "deny", R, "Cannot send a denial response: the websocket is accepted"),
        ("closed", "receive_text", D, "Cannot receive a message: the websocket is closed"),
        ("closed", "send_text", D, "Cannot send a message: the websocket is closed"),
        ("closed", "close", D, "Cannot close: the websocket is closed by the application"),
        ("closed", "accept", D, "Cannot accept: the websocket is closed"),
        ("gone", "receive", D, r"Cannot call receive\(\): the websocket is disconnected"),
        ("gone", "receive_bytes", D, "Cannot receive a message: the websocket is disconnected"),
        ("gone", "accept", D, "Cannot accept: the websocket is disconnected"),
        ("gone", "deny", D, "Cannot send a denial response: the websocket is disconnected"),
        ("denying", "send_text", R, "Cannot send a message: the websocket is sending a denial"),
        ("denying", "receive_text", D, "Cannot receive a message: the websocket is sending"),
        ("denying", "close", R, "Cannot close: the websocket is sending a denial response"),
    ],
)
async def test_illegal_steps_name_state_and_step(
    setup: str, step: str, error: type[Exception], message: str
) -> None:
    websocket, peer = connect(CONNECT, disconnect(), extensions=DENIAL)
    if setup == "handshake":
        await websocket.receive()
    elif setup == "open":
        await websocket.accept()
    elif setup == "closed":
        await websocket.close()
    elif setup == "gone":
        await websocket.accept()
        assert (await websocket.receive())["type"] == "websocket.disconnect"
    elif setup == "denying":
        await websocket.send(
            {"type": "websocket.http.response.start", "status": 403, "headers": []}
        )
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "send_text": lambda: websocket.send_text("x"),
        "receive": websocket.receive,
        "receive_text": websocket.receive_text,
        "receive_bytes": websocket.receive_bytes,
        "accept": websocket.accept,
        "close": websocket.close,
        "deny": lambda: websocket.send_denial_response(PlainTextResponse("no", 403)),
    }
    sent = list(peer.sent)
    with pytest.raises(error, match=message) as raised:
        await calls[step]()
    assert type(raised.value) is error
    assert peer.sent == sent  # nothing went out


def test_websocket_disconnected_is_starlettes() -> None:
    # Same name, same base class: code catching RuntimeError, as Starlette's users do, still works.
    assert issubclass(WebSocketDisconnected, RuntimeError)
    assert not issubclass(WebSocketDisconnected, WebSocketDisconnect)
    assert WebSocketDisconnected.__module__ == "microasgi.websockets"


@pytest.mark.parametrize("read_connect", [True, False])
async def test_receive_after_the_apps_close_gets_what_the_server_delivers(
    read_connect: bool,
) -> None:
    # As in Starlette: after its own close the app may still read the server's messages, the
    # disconnect completing the close included (a message sent before it too); then nothing more.
    incoming = [text("in flight"), disconnect(1000)]
    websocket, peer = await opened(*incoming) if read_connect else connect(CONNECT, *incoming)
    await websocket.close()
    if not read_connect:
        assert await websocket.receive() == CONNECT
    assert await websocket.receive() == text("in flight")
    assert await websocket.receive() == disconnect(1000)
    assert websocket.client_state is WebSocketState.DISCONNECTED
    with pytest.raises(WebSocketDisconnected, match="the websocket is disconnected"):
        await websocket.receive()
    assert peer.types[-1] == "websocket.close"


async def test_typed_receive_after_close_raises_websocket_disconnected_end_to_end() -> None:
    outcome: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        await websocket.close()
        try:
            await websocket.send_text("late")
        except RuntimeError as exc:  # Starlette's users catch it as a RuntimeError
            outcome.append(type(exc).__name__)
        try:
            await websocket.receive_text()
        except WebSocketDisconnected as exc:
            outcome.append(str(exc).split(":")[0])

    async with AsyncTestClient(app).websocket_connect("/") as session:
        with pytest.raises(WebSocketDisconnect):
            await session.receive_text()
    assert outcome == ["WebSocketDisconnected", "Cannot receive a message"]


async def test_send_after_client_disconnect_raises_disconnect_with_its_code() -> None:
    websocket, peer = await opened(disconnect(4001, "left"))
    with pytest.raises(WebSocketDisconnect):
        await websocket.receive_text()
    with pytest.raises(WebSocketDisconnect) as caught:
        await websocket.send_text("anyone?")
    assert (caught.value.code, caught.value.reason) == (4001, "left")
    assert "Cannot send a message: the websocket is disconnected" in caught.value.__notes__[0]
    await websocket.close()  # a no-op once the client left
    assert peer.types == ["websocket.accept"]


async def test_server_messages_out_of_order_or_unknown() -> None:
    websocket, _ = connect(text("early"))
    with pytest.raises(RuntimeError, match="Cannot receive a message: the websocket is waiting"):
        await websocket.receive()
    websocket, _ = await opened(CONNECT)
    with pytest.raises(RuntimeError, match=r"Cannot receive 'websocket.connect': .* accepted"):
        await websocket.receive()
    websocket, _ = await opened({"type": "http.request"})
    with pytest.raises(RuntimeError, match=r"Expected an ASGI websocket message .*http.request"):
        await websocket.receive()


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        (disconnect(1001, "bye"), 1001, "bye"),
        (disconnect(None, None), 1005, ""),
        ({"type": "websocket.disconnect"}, 1005, ""),
    ],
)
async def test_disconnect_code_and_reason(message: Message, code: int, reason: str) -> None:
    websocket, _ = await opened(message)
    with pytest.raises(WebSocketDisconnect) as caught:
        await websocket.receive_bytes()
    assert (caught.value.code, caught.value.reason) == (code, reason)


async def test_accept_when_the_client_left_during_the_handshake() -> None:
    websocket, peer = connect(disconnect(1006))
    with pytest.raises(WebSocketDisconnect) as caught:
        await websocket.accept()
    assert caught.value.code == 1006
    assert peer.sent == []
    assert websocket.client_state is WebSocketState.DISCONNECTED


async def test_accept_after_receiving_connect_sends_at_once() -> None:
    websocket, peer = connect(CONNECT)
    await websocket.receive()
    await websocket.accept()
    assert peer.sent == [{"type": "websocket.accept", "subprotocol": None, "headers": []}]


async def test_close_before_reading_connect() -> None:
    websocket, peer = connect(CONNECT)
    await websocket.close(1008)
    assert peer.sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]
    assert websocket.application_state is WebSocketState.DISCONNECTED


async def test_raw_send_refuses_other_message_types() -> None:
    websocket, _ = await opened()
    with pytest.raises(ValueError, match=r"A websocket app cannot send 'http.response.start'"):
        await websocket.send({"type": "http.response.start", "status": 200})


# --- the client leaving (spec 2.4: OSError from send) --------------------------------------------


@pytest.mark.parametrize("method", ["send_text", "send_json", "accept"])
async def test_oserror_from_send_is_a_disconnect(method: str) -> None:
    websocket, peer = connect(CONNECT, fail=["websocket.send", "websocket.accept"])
    if method != "accept":
        peer.fail.discard("websocket.accept")
        await websocket.accept()
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "send_text": lambda: websocket.send_text("x"),
        "send_json": lambda: websocket.send_json([1]),
        "accept": websocket.accept,
    }
    with pytest.raises(WebSocketDisconnect) as caught:
        await calls[method]()
    assert caught.value.code == 1006
    assert isinstance(caught.value.__cause__, OSError)
    assert websocket.client_state is WebSocketState.DISCONNECTED
    with pytest.raises(WebSocketDisconnect):
        await websocket.send_text("again")
    await websocket.close()  # no-op


async def test_oserror_from_close_is_quiet() -> None:
    websocket, _ = await opened(fail=["websocket.close"])
    await websocket.close()
    assert websocket.application_state is WebSocketState.DISCONNECTED
    assert websocket.client_state is WebSocketState.DISCONNECTED


async def test_oserror_from_a_raw_denial_message() -> None:
    websocket, _ = connect(CONNECT, fail=["websocket.http.response.start"], extensions=DENIAL)
    start = {"type": "websocket.http.response.start", "status": 401, "headers": []}
    with pytest.raises(WebSocketDisconnect) as caught:
        await websocket.send(start)
    assert caught.value.code == 1006


# --- received payloads and limits ---------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        {"type": "websocket.receive", "text": "a", "bytes": b"a"},
        {"type": "websocket.receive"},
        {"type": "websocket.receive", "text": None, "bytes": None},
        {"type": "websocket.receive", "text": b"a"},
        {"type": "websocket.receive", "bytes": "a"},
    ],
)
async def test_malformed_receive_messages_raise(message: Message) -> None:
    websocket, _ = await opened(message)
    with pytest.raises(RuntimeError, match=r"must set exactly one of 'text' .* and 'bytes'"):
        await websocket.receive()


@pytest.mark.parametrize(
    ("message", "limit", "too_big"),
    [
        (data(b"x" * 10), 10, False),
        (data(b"x" * 11), 10, True),
        (text("x" * 10), 10, False),
        (text("x" * 11), 10, True),
        (text("é" * 2), 10, False),  # 4 bytes: under even at 4 bytes a character
        (text("é" * 5), 10, False),  # 10 bytes of UTF-8: exactly the limit
        (text("é" * 6), 10, True),  # 12 bytes of UTF-8 in 6 characters
        (text("\U0001f600" * 3), 10, True),  # 12 bytes in 3 characters
        (data(b"x" * 1000), None, False),
    ],
)
async def test_message_size_limit(message: Message, limit: int | None, too_big: bool) -> None:
    websocket, peer = await opened(message, **limited(limit))
    received = await websocket.receive()
    if not too_big:
        assert received is message
        return
    reason = f"Message too big: the limit is {limit} bytes."
    assert received == {"type": "websocket.disconnect", "code": 1009, "reason": reason}
    assert peer.sent[-1] == {"type": "websocket.close", "code": 1009, "reason": reason}
    assert websocket.client_state is WebSocketState.DISCONNECTED
    await websocket.close()  # already over: a no-op
    assert len(peer.sent) == 2


@pytest.mark.parametrize("method", ["receive_text", "receive_bytes", "receive_json"])
async def test_too_big_raises_disconnect_from_typed_receives(method: str) -> None:
    websocket, _ = await opened(data(b"[" * 64), text("x" * 64), **limited(16))
    with pytest.raises(WebSocketDisconnect) as caught:
        await getattr(websocket, method)()
    assert caught.value.code == 1009
    with pytest.raises(
        WebSocketDisconnected, match="Cannot receive a message: the websocket is disconnected"
    ):
        await getattr(websocket, method)()


async def test_too_big_when_the_client_already_left() -> None:
    websocket, _ = await opened(data(b"x" * 20), fail=["websocket.close"])
    websocket.max_message_size = 10
    with pytest.raises(WebSocketDisconnect) as caught:
        await websocket.receive_bytes()
    assert caught.value.code == 1009
    assert websocket.client_state is WebSocketState.DISCONNECTED


@pytest.mark.parametrize(
    ("method", "message", "code", "reason"),
    [
        ("receive_text", data(b"x"), 1003, "Expected a text message, got a binary one."),
        ("receive_bytes", text("x"), 1003, "Expected a binary message, got a text one."),
        ("receive_json", data(b"\xff\xfe"), 1007, "The message is not valid UTF-8."),
        ("receive_json", text("{'a': 1}"), 1007, "The message is not valid JSON."),
        ("receive_json", text(""), 1007, "The message is not valid JSON."),
        ("receive_json", data(b"[1,"), 1007, "The message is not valid JSON."),
        (
            "receive_json",
            text("[" * 300 + "]" * 300),
            1009,
            "JSON nested too deeply (over 256 levels).",
        ),
    ],
)
async def test_undecodable_messages_close_the_connection(
    method: str, message: Message, code: int, reason: str
) -> None:
    websocket, peer = await opened(message)
    with pytest.raises(WebSocketDisconnect) as caught:
        await getattr(websocket, method)()
    assert (caught.value.code, caught.value.reason) == (code, reason)
    assert peer.sent[-1] == {"type": "websocket.close", "code": code, "reason": reason}


@pytest.mark.parametrize(
    ("message", "mode", "expected"),
    [
        (text('{"a":[1,"é"]}'), "text", {"a": [1, "é"]}),
        (data('{"a":"é"}'.encode()), "text", {"a": "é"}),
        (data(b"[1]"), "binary", [1]),
        (text("[2]"), "binary", [2]),
        # Many brackets, shallow nesting: the cheap count says "maybe", the exact scan says no.
        (text("[" + ",".join(["[]"] * 300) + "]"), "text", [[]] * 300),
        (text('["' + "[" * 300 + '"]'), "text", ["[" * 300]),
    ],
)
async def test_receive_json(message: Message, mode: Any, expected: Any) -> None:
    websocket, _ = await opened(message)
    assert await websocket.receive_json(mode=mode) == expected


async def test_json_depth_is_a_class_setting() -> None:
    class Shallow(WebSocket):
        max_json_depth = 2

    peer = Peer(CONNECT, text("[[[1]]]"))
    websocket = Shallow(make_scope(), peer.receive, peer.send)
    await websocket.accept()
    with pytest.raises(WebSocketDisconnect) as caught:
        await websocket.receive_json()
    assert caught.value.code == 1009


@pytest.mark.parametrize("method", ["receive_json", "send_json"])
async def test_json_mode_is_checked(method: str) -> None:
    websocket, _ = await opened(text("1"))
    args = () if method == "receive_json" else ([1],)
    with pytest.raises(
        ValueError, match=f'{method}\\(\\) mode must be "text" or "binary", got .xml'
    ):
        await getattr(websocket, method)(*args, mode="xml")
    # Starlette raises RuntimeError here: code catching that keeps working.
    with pytest.raises(RuntimeError, match="mode must be"):
        await getattr(websocket, method)(*args, mode="xml")


async def test_iterators_stop_at_disconnect() -> None:
    websocket, _ = await opened(text("a"), text("b"), disconnect())
    assert [item async for item in websocket.iter_text()] == ["a", "b"]
    websocket, _ = await opened(data(b"a"), disconnect())
    assert [item async for item in websocket.iter_bytes()] == [b"a"]
    websocket, _ = await opened(text("[1]"), data(b"{}"), disconnect())
    assert [item async for item in websocket.iter_json()] == [[1], {}]


async def test_iterator_stops_at_a_protective_close() -> None:
    websocket, peer = await opened(text("ok"), data(b"binary"), text("never read"))
    assert [item async for item in websocket.iter_text()] == ["ok"]
    assert peer.sent[-1]["code"] == 1003


# --- sending ------------------------------------------------------------------------------------


async def test_send_kinds() -> None:
    websocket, peer = await opened()
    await websocket.send_text("é")
    await websocket.send_bytes(b"\x00")
    await websocket.send_bytes(bytearray(b"ba"))
    await websocket.send_bytes(memoryview(b"mv"))
    await websocket.send_json({"a": ["é", 1.5]})
    await websocket.send_json({"b": None}, mode="binary")
    assert peer.sent[1:] == [
        {"type": "websocket.send", "text": "é"},
        {"type": "websocket.send", "bytes": b"\x00"},
        {"type": "websocket.send", "bytes": b"ba"},
        {"type": "websocket.send", "bytes": b"mv"},
        {"type": "websocket.send", "text": '{"a":["é",1.5]}'},
        {"type": "websocket.send", "bytes": b'{"b":null}'},
    ]


@pytest.mark.parametrize(
    ("method", "value", "error", "match"),
    [
        ("send_text", b"bytes", TypeError, r"send_text\(\) needs a str, got bytes"),
        ("send_bytes", "text", TypeError, r"send_bytes\(\) needs bytes, got str"),
        ("send_json", float("nan"), ValueError, "not JSON compliant"),
        ("send_json", {1, 2}, TypeError, "not JSON serializable"),
    ],
)
async def test_send_refuses_bad_values(
    method: str, value: Any, error: type[Exception], match: str
) -> None:
    websocket, peer = await opened()
    with pytest.raises(error, match=match):
        await getattr(websocket, method)(value)
    assert peer.types == ["websocket.accept"]


@pytest.mark.parametrize(
    ("code", "reason", "match"),
    [
        (999, None, "close code must be an int from 1000 to 4999 .* got 999"),
        (5000, None, "got 5000"),
        (1005, None, "reserved"),
        (1006, None, "reserved"),
        (1004, None, "reserved"),
        (1015, None, "reserved"),
        ("1000", None, "got '1000'"),
        (True, None, "got True"),
        (1000, b"bytes", "close reason must be a str"),
        (1000, "x" * 124, "124 bytes of UTF-8, over the 123"),
        (1000, "é" * 62, "124 bytes of UTF-8"),
    ],
)
async def test_close_validates(code: Any, reason: Any, match: str) -> None:
    websocket, peer = await opened()
    with pytest.raises(ValueError, match=match):
        await websocket.close(code, reason)
    with pytest.raises(ValueError, match=match):
        WebSocketClose(code, reason)
    assert peer.types == ["websocket.accept"]


async def test_close_at_the_limits() -> None:
    websocket, peer = await opened()
    await websocket.close(4999, "x" * 123)
    assert peer.sent[-1] == {"type": "websocket.close", "code": 4999, "reason": "x" * 123}


# --- accept -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (None, []),
        ({"X-A": "1", "Set-Cookie": "s=1"}, [(b"x-a", b"1"), (b"set-cookie", b"s=1")]),
        ([(b"X-B", b"2"), (b"x-b", b"3")], [(b"x-b", b"2"), (b"x-b", b"3")]),
    ],
)
async def test_accept_headers(headers: Any, expected: list[tuple[bytes, bytes]]) -> None:
    websocket, peer = connect(CONNECT)
    await websocket.accept(headers=headers)
    assert peer.sent[0]["headers"] == expected


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ({"X-A": "1\r\nX-Evil: 1"}, "control character"),
        ([(b"bad name", b"1")], "Invalid header name"),
        ({"Sec-WebSocket-Protocol": "chat"}, r"accept\(subprotocol='chat'\)"),
        ([(b"sec-websocket-protocol", b"chat")], "must not hold Sec-WebSocket-Protocol"),
    ],
)
async def test_accept_refuses_unsafe_headers(headers: Any, match: str) -> None:
    websocket, peer = connect(CONNECT)
    with pytest.raises(ValueError, match=match):
        await websocket.accept(headers=headers)
    assert peer.sent == []
    assert websocket.client_state is WebSocketState.CONNECTING  # nothing was received either


@pytest.mark.parametrize(("offered", "chosen"), [(["chat"], "json"), ([], "chat"), (["chat"], 1)])
async def test_accept_refuses_a_subprotocol_not_offered(offered: list[str], chosen: Any) -> None:
    websocket, peer = connect(CONNECT, subprotocols=offered)
    with pytest.raises(
        ValueError, match=f"Cannot accept subprotocol {chosen!r}: the client offered"
    ):
        await websocket.accept(subprotocol=chosen)
    assert peer.sent == []


async def test_accept_without_subprotocols_in_scope() -> None:
    peer = Peer(CONNECT)
    scope = make_scope()
    del scope["subprotocols"]
    websocket = WebSocket(scope, peer.receive, peer.send)
    with pytest.raises(ValueError, match=r"the client offered \[\]"):
        await websocket.accept(subprotocol="chat")


# --- denial responses ---------------------------------------------------------------------------


@pytest.mark.parametrize("read_connect", [True, False])
async def test_denial_response_with_the_extension(read_connect: bool) -> None:
    websocket, peer = connect(CONNECT, extensions=DENIAL)
    if read_connect:
        await websocket.receive()
    await websocket.send_denial_response(PlainTextResponse("Who are you?", 401))
    assert peer.types == ["websocket.http.response.start", "websocket.http.response.body"]
    assert peer.sent[0]["status"] == 401
    assert peer.sent[1]["body"] == b"Who are you?"
    assert websocket.application_state is WebSocketState.DISCONNECTED


async def test_streaming_denial_response() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    websocket, peer = connect(CONNECT, extensions=DENIAL)
    seen: list[WebSocketState] = []

    async def watch(message: Message) -> None:
        seen.append(websocket.application_state)
        await Peer.send(peer, message)

    websocket._send = watch
    await websocket.send_denial_response(StreamingResponse(chunks(), status_code=403))
    bodies = [m.get("body") for m in peer.sent if m["type"] == "websocket.http.response.body"]
    assert b"".join(b for b in bodies if b) == b"ab"
    # The state moves as each message goes out: RESPONSE from the start, DISCONNECTED at the end.
    assert seen[0] is WebSocketState.RESPONSE
    assert seen[-1] is WebSocketState.DISCONNECTED
    assert websocket.application_state is WebSocketState.DISCONNECTED


@pytest.mark.parametrize("extensions", [None, {}, {"http.response.push": {}}])
async def test_denial_without_the_extension_closes(extensions: Any) -> None:
    websocket, peer = connect(CONNECT, extensions=extensions)
    await websocket.send_denial_response(PlainTextResponse("no", 401))
    assert peer.types == ["websocket.close"]
    assert websocket.application_state is WebSocketState.DISCONNECTED


async def test_denial_when_the_client_left() -> None:
    websocket, _ = connect(CONNECT, fail=["websocket.http.response.start"], extensions=DENIAL)
    await websocket.send_denial_response(PlainTextResponse("no", 401))  # quiet, like http
    assert websocket.client_state is WebSocketState.DISCONNECTED


async def test_denial_needs_a_response() -> None:
    websocket, _ = connect(CONNECT, extensions=DENIAL)
    with pytest.raises(TypeError, match=r"send_denial_response\(\) needs a Response, got 'no'"):
        await websocket.send_denial_response("no")  # type: ignore[arg-type]


# --- WebSocketClose -----------------------------------------------------------------------------


async def test_websocket_close_app() -> None:
    peer = Peer()
    await WebSocketClose()(make_scope(), peer.receive, peer.send)
    await WebSocketClose(4001, "go away")(make_scope(), peer.receive, peer.send)
    assert peer.sent == [
        {"type": "websocket.close", "code": 1000, "reason": ""},
        {"type": "websocket.close", "code": 4001, "reason": "go away"},
    ]
    assert repr(WebSocketClose(4001, "x")) == "WebSocketClose(code=4001, reason='x')"


async def test_websocket_close_app_when_the_client_left() -> None:
    peer = Peer(fail=["websocket.close"])
    await WebSocketClose()(make_scope(), peer.receive, peer.send)
    assert peer.sent == []


async def test_websocket_close_refuses_http() -> None:
    peer = Peer()
    with pytest.raises(ValueError, match="WebSocketClose answers 'websocket' scopes, got 'http'"):
        await WebSocketClose()({"type": "http"}, peer.receive, peer.send)


async def test_websocket_close_through_the_test_client() -> None:
    with pytest.raises(WebSocketDisconnect) as caught:
        async with AsyncTestClient(WebSocketClose(4003, "nope")).websocket_connect("/"):
            pass  # pragma: no cover
    assert (caught.value.code, caught.value.reason) == (4003, "nope")


# --- end to end ---------------------------------------------------------------------------------


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    websocket = WebSocket(scope, receive, send)
    await websocket.accept(subprotocol=websocket.scope["subprotocols"][-1])
    async for message in websocket.iter_json():
        await websocket.send_json({"echo": message}, mode="binary")


async def test_echo_through_the_test_client() -> None:
    client = AsyncTestClient(echo)
    async with client.websocket_connect("/", subprotocols=["a", "b"]) as session:
        assert session.accepted_subprotocol == "b"
        await session.send_json({"n": 1})
        assert await session.receive_json(mode="binary") == {"echo": {"n": 1}}
        await session.send_bytes(b"\xff")
        with pytest.raises(WebSocketDisconnect) as caught:
            await session.receive_json(mode="binary")
    assert caught.value.code == 1007


async def test_denial_through_the_test_client() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.send_denial_response(PlainTextResponse("Unauthorized", 401))

    with pytest.raises(WebSocketDenialResponse) as denied:
        async with AsyncTestClient(app).websocket_connect("/"):
            pass  # pragma: no cover
    assert (denied.value.status_code, denied.value.text) == (401, "Unauthorized")
    with pytest.raises(WebSocketDisconnect) as closed:
        async with AsyncTestClient(app, extensions={}).websocket_connect("/"):
            pass  # pragma: no cover
    assert not isinstance(closed.value, WebSocketDenialResponse)


# --- the private pieces -------------------------------------------------------------------------


def test_fit_reason() -> None:
    assert fit_reason("short") == "short"
    assert fit_reason("x" * 200) == "x" * 123
    cut = fit_reason("é" * 100)  # 2 bytes each: never split a character
    assert cut == "é" * 61


@pytest.mark.parametrize(
    ("messages", "phase"),
    [
        ([("sent", {"type": "websocket.accept"})], Phase.OPEN),  # accept without reading connect
        ([("received", CONNECT), ("sent", {"type": "websocket.accept"})], Phase.OPEN),
        ([("received", CONNECT), ("sent", {"type": "websocket.send"})], Phase.HANDSHAKE),
        ([("sent", {"type": "weird"}), ("received", {"type": "weird"})], Phase.NEW),
        ([("received", CONNECT), ("sent", {"type": "websocket.close"})], Phase.CLOSED),
        ([("sent", {"type": "websocket.close"}), ("received", disconnect())], Phase.GONE),
        (
            [
                ("sent", {"type": "websocket.http.response.start"}),
                ("sent", {"type": "websocket.http.response.body", "more_body": True}),
            ],
            Phase.DENYING,
        ),
    ],
)
def test_connection_observes_leniently(messages: list[tuple[str, Message]], phase: Phase) -> None:
    conn = Connection()
    for direction, message in messages:
        if direction == "sent":
            conn.observe_sent(message)
        else:
            conn.observe_received(message)
    assert conn.phase is phase


@pytest.mark.parametrize(
    ("exc", "text", "shown"),
    [
        (WebSocketDisconnect(), "1000", "WebSocketDisconnect(code=1000, reason='')"),
        (
            WebSocketDisconnect(4000, "bye"),
            "4000: bye",
            "WebSocketDisconnect(code=4000, reason='bye')",
        ),
    ],
)
def test_disconnect_text(exc: WebSocketDisconnect, text: str, shown: str) -> None:
    assert (str(exc), repr(exc)) == (text, shown)


async def test_a_waiting_receive_ends_normally_when_a_send_found_the_client_gone() -> None:
    # One task reads while another writes; the write fails (the client left), then the server
    # delivers the disconnect to the read that was already waiting.
    arrived = anyio.Event()
    release = anyio.Event()

    async def receive() -> Message:
        if not arrived.is_set():
            arrived.set()
            return CONNECT
        await release.wait()
        return disconnect(1006)

    async def send(message: Message) -> None:
        if message["type"] == "websocket.send":
            raise OSError("the client has gone")

    websocket = WebSocket(make_scope(), receive, send)
    await websocket.accept()
    outcome: list[BaseException] = []

    async def reader() -> None:
        try:
            await websocket.receive_text()
        except WebSocketDisconnect as exc:
            outcome.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(reader)
        await anyio.wait_all_tasks_blocked()
        with pytest.raises(WebSocketDisconnect):
            await websocket.send_text("hello")
        release.set()
    assert [type(exc) for exc in outcome] == [WebSocketDisconnect]
    assert websocket.client_state is WebSocketState.DISCONNECTED
    with pytest.raises(WebSocketDisconnected, match="disconnected"):
        await websocket.receive()  # a new receive after that is still refused
