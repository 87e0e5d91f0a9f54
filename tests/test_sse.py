"""Server-Sent Events: framing, producers, pings, disconnects and errors, through the test client."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from types import MappingProxyType
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microasgi._asgi.sse import _encode_item
from microasgi.background import BackgroundTask
from microasgi.requests import Request
from microasgi.responses import EventSourceResponse, ServerSentEvent, last_event_id
from microasgi.testclient import AsyncTestClient
from microasgi.types import Message, Receive, Scope, Send


def parse_stream(stream: str) -> list[dict[str, str]]:
    """A client-side event stream parser, as the WHATWG spec describes it (section 9.2.6)."""
    events: list[dict[str, str]] = []
    data: list[str] = []
    event_type = ""
    normalized = stream.replace("\r\n", "\n").replace("\r", "\n")
    for line in normalized.split("\n"):
        if line == "":
            if data:
                events.append({"event": event_type or "message", "data": "\n".join(data)})
            data, event_type = [], ""
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
    return events


async def first_event(chunks: AsyncIterator[bytes]) -> bytes:
    """The first chunk that is not a ping (a tiny ping interval may beat a slow producer)."""
    async for chunk in chunks:
        if chunk != b": ping\n\n":
            return chunk
    raise AssertionError("the stream ended without an event")


def serve(content: Any, **options: Any) -> Any:
    """An ASGI app answering every request with an EventSourceResponse over ``content``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await EventSourceResponse(content, **options)(scope, receive, send)

    return app


# ---------------------------------------------------------------------------------------------
# Framing


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"data": "hello"}, b"data: hello\n\n"),
        ({"data": ""}, b"data: \n\n"),
        ({"data": " padded"}, b"data:  padded\n\n"),
        ({"data": "a\nb"}, b"data: a\ndata: b\n\n"),
        ({"data": "a\rb"}, b"data: a\ndata: b\n\n"),
        ({"data": "a\r\nb"}, b"data: a\ndata: b\n\n"),
        ({"data": "a\n\rb"}, b"data: a\ndata: \ndata: b\n\n"),
        ({"data": "end\n"}, b"data: end\ndata: \n\n"),
        ({"data": "tab\tform\fvt\x0bsep\u2028"}, "data: tab\tform\fvt\x0bsep\u2028\n\n".encode()),
        ({"data": "caf\u00e9 \u2603"}, "data: caf\u00e9 \u2603\n\n".encode()),
        ({"event": "update", "data": "x"}, b"event: update\ndata: x\n\n"),
        ({"event": ""}, b"event: \n\n"),
        ({"id": "42"}, b"id: 42\n\n"),
        ({"id": 7}, b"id: 7\n\n"),
        ({"id": ""}, b"id: \n\n"),
        ({"retry": 0}, b"retry: 0\n\n"),
        ({"retry": 3000}, b"retry: 3000\n\n"),
        ({"comment": "keep"}, b": keep\n\n"),
        ({"comment": "one\rtwo\r\nthree"}, b": one\n: two\n: three\n\n"),
        ({}, b"\n"),
        (
            {"data": "d", "event": "e", "id": "i", "retry": 1, "comment": "c"},
            b": c\nid: i\nevent: e\ndata: d\nretry: 1\n\n",
        ),
    ],
)
def test_framing(fields: dict[str, Any], expected: bytes) -> None:
    assert ServerSentEvent(**fields).encode() == expected


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"id": "a\nb"}, ValueError, "id must not contain NUL, CR or LF"),
        ({"id": "a\rb"}, ValueError, "id must not contain NUL, CR or LF"),
        ({"id": "a\0b"}, ValueError, "id must not contain NUL, CR or LF"),
        ({"id": 1.5}, TypeError, "id must be a str or None, got float"),
        ({"id": True}, TypeError, "id must be a str or None, got bool"),
        ({"event": "a\nb"}, ValueError, "event must not contain CR or LF"),
        ({"event": "a\r"}, ValueError, "event must not contain CR or LF"),
        ({"event": 3}, TypeError, "event must be a str or None, got int"),
        ({"retry": -1}, ValueError, "retry must be an int of milliseconds >= 0, got -1"),
        ({"retry": 1.5}, ValueError, "got 1.5"),
        ({"retry": True}, ValueError, "got True"),
        ({"retry": "5"}, ValueError, "got '5'"),
        ({"data": {"a": 1}}, TypeError, "data=json.dumps(value)"),
        ({"data": b"raw"}, TypeError, "data must be a str or None, got bytes"),
        ({"comment": 1}, TypeError, "comment must be a str or None, got int"),
    ],
)
def test_invalid_fields(fields: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        ServerSentEvent(**fields)


def test_event_is_encoded_once_and_frozen() -> None:
    event = ServerSentEvent(data="x", id="1")
    assert event.encode() is event.encode()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data = "y"  # type: ignore[misc]
    assert event == ServerSentEvent(data="x", id="1")
    assert repr(event) == "ServerSentEvent(data='x', event=None, id='1', retry=None, comment=None)"


@given(st.text())
def test_data_round_trips_through_a_spec_parser(data: str) -> None:
    frame = ServerSentEvent(data=data, event="e").encode().decode("utf-8")
    # The client sees the data with each CR, LF or CRLF turned into LF, nothing else changed.
    expected = data.replace("\r\n", "\n").replace("\r", "\n")
    assert parse_stream(frame) == [{"event": "e", "data": expected}]


@given(st.text(), st.text())
def test_comments_never_dispatch(comment: str, data: str) -> None:
    frame = ServerSentEvent(comment=comment).encode() + ServerSentEvent(data=data).encode()
    expected = data.replace("\r\n", "\n").replace("\r", "\n")
    assert parse_stream(frame.decode("utf-8")) == [{"event": "message", "data": expected}]


# ---------------------------------------------------------------------------------------------
# The response


async def test_items_of_every_kind() -> None:
    async def events() -> AsyncIterator[Any]:
        yield ServerSentEvent(data="one", event="first", id="1")
        yield {"data": "two", "id": 2}
        yield "three\nlines"
        yield b"four"
        yield bytearray(b"five")
        yield memoryview(b"six")

    response = await AsyncTestClient(serve(events(), ping=None)).get("/")
    assert response.status_code == 200
    assert response.content == (
        b"id: 1\nevent: first\ndata: one\n\n"
        b"id: 2\ndata: two\n\n"
        b"data: three\ndata: lines\n\n"
        b"data: four\n\ndata: five\n\ndata: six\n\n"
    )
    assert [e["data"] for e in parse_stream(response.text)] == [
        "one",
        "two",
        "three\nlines",
        "four",
        "five",
        "six",
    ]


@pytest.mark.parametrize("kind", ["bytearray", "memoryview"])
@pytest.mark.parametrize("ping", [None, 3600])
async def test_a_reused_buffer_is_sent_as_it_was_yielded(kind: str, ping: float | None) -> None:
    buffer = bytearray(3)
    sent: list[Any] = []

    async def events() -> AsyncIterator[Any]:
        for data in (b"one", b"two", b"six"):
            buffer[:] = data
            yield buffer if kind == "bytearray" else memoryview(buffer)
        buffer[:] = b"xxx"

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def record(message: Message) -> None:
            sent.append(message.get("body"))
            await send(message)

        await EventSourceResponse(events(), ping=ping)(scope, receive, record)

    response = await AsyncTestClient(app).get("/")
    assert [e["data"] for e in parse_stream(response.text)] == ["one", "two", "six"]
    bodies = sent[1:]
    assert bodies == [b"data: one\n\n", b"data: two\n\n", b"data: six\n\n", b""]
    assert all(type(body) is bytes for body in bodies)


@pytest.mark.parametrize("ping", [None, 3600])
async def test_headers(ping: float | None) -> None:
    response = await AsyncTestClient(serve(["x"], ping=ping)).get("/")
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert "content-length" not in response.headers
    assert "connection" not in response.headers  # hop-by-hop: the server's business
    assert response.text == "data: x\n\n"


async def test_given_headers_and_status_win() -> None:
    app = serve(
        ["x"],
        status_code=201,
        headers={"Cache-Control": "no-store", "X-Stream": "yes"},
    )
    response = await AsyncTestClient(app).get("/")
    assert response.status_code == 201
    assert response.headers.getlist("cache-control") == ["no-store"]
    assert response.headers["x-stream"] == "yes"
    assert response.headers["x-accel-buffering"] == "no"


@pytest.mark.parametrize("ping", [None, 3600])
async def test_sync_producer_runs_in_a_worker_thread(ping: float | None) -> None:
    import threading

    main_thread = threading.get_ident()
    threads: list[int] = []

    def events() -> Iterator[ServerSentEvent]:
        threads.append(threading.get_ident())
        yield ServerSentEvent(data="sync", id="1")
        yield ServerSentEvent(data="done")

    response = await AsyncTestClient(serve(events(), ping=ping)).get("/")
    assert response.text == "id: 1\ndata: sync\n\ndata: done\n\n"
    assert len(threads) == 1
    assert threads[0] != main_thread


@pytest.mark.parametrize("ping", [None, 3600])
async def test_a_list_is_a_producer(ping: float | None) -> None:
    response = await AsyncTestClient(serve([{"event": "a", "data": "1"}, "2"], ping=ping)).get("/")
    assert parse_stream(response.text) == [
        {"event": "a", "data": "1"},
        {"event": "message", "data": "2"},
    ]


@pytest.mark.parametrize("ping", [None, 3600])
async def test_background_runs_after_the_stream(ping: float | None) -> None:
    order: list[str] = []

    async def events() -> AsyncIterator[str]:
        order.append("event")
        yield "x"

    async def after() -> None:
        order.append("background")

    app = serve(events(), ping=ping, background=BackgroundTask(after))
    response = await AsyncTestClient(app).get("/")
    assert response.text == "data: x\n\n"
    assert order == ["event", "background"]


async def test_head_sends_headers_without_running_the_producer() -> None:
    started: list[bool] = []

    async def events() -> AsyncIterator[str]:
        started.append(True)
        yield "x"

    response = await AsyncTestClient(serve(events())).head("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.content == b""
    assert started == []


# ---------------------------------------------------------------------------------------------
# Keep-alive pings


async def test_ping_while_the_producer_is_idle() -> None:
    resume = anyio.Event()

    async def events() -> AsyncIterator[str]:
        yield "before"
        await resume.wait()  # idle until the test has seen a ping
        yield "after"

    async with AsyncTestClient(serve(events(), ping=0.001)).stream("GET", "/") as response:
        chunks = response.aiter_bytes()
        assert await first_event(chunks) == b"data: before\n\n"
        assert await anext(chunks) == b": ping\n\n"
        assert await anext(chunks) == b": ping\n\n"  # and again, while still idle
        resume.set()
        rest = [chunk async for chunk in chunks]
    assert b"data: after\n\n" in rest
    assert set(rest) <= {b"data: after\n\n", b": ping\n\n"}


async def test_ping_before_the_first_event() -> None:
    resume = anyio.Event()

    async def events() -> AsyncIterator[str]:
        await resume.wait()
        yield "late"

    async with AsyncTestClient(serve(events(), ping=0.001)).stream("GET", "/") as response:
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b": ping\n\n"
        resume.set()
        rest = b"".join([chunk async for chunk in chunks])
    assert parse_stream(rest.decode()) == [{"event": "message", "data": "late"}]


async def test_no_ping_while_the_producer_is_busy() -> None:
    async def events() -> AsyncIterator[str]:
        for n in range(50):
            yield str(n)

    response = await AsyncTestClient(serve(events(), ping=3600)).get("/")
    assert b"ping" not in response.content
    assert [e["data"] for e in parse_stream(response.text)] == [str(n) for n in range(50)]


@pytest.mark.parametrize("ping", [0, -1, True, "5", float("nan")])
def test_invalid_ping(ping: Any) -> None:
    with pytest.raises(ValueError, match="ping must be a number of seconds > 0, or None"):
        EventSourceResponse([], ping=ping)


def test_ping_interval_is_kept() -> None:
    assert EventSourceResponse([]).ping_interval == 15.0
    assert EventSourceResponse([], ping=0.5).ping_interval == 0.5
    assert EventSourceResponse([], ping=None).ping_interval is None


# ---------------------------------------------------------------------------------------------
# The client leaves


@pytest.mark.parametrize("ping", [None, 0.001, 3600])
@pytest.mark.parametrize("spec_version", ["2.4", "2.3"])
async def test_producer_stops_when_the_client_leaves(ping: float | None, spec_version: str) -> None:
    cleaned_up = anyio.Event()
    background_ran = anyio.Event()

    async def events() -> AsyncIterator[str]:
        try:
            yield "only"
            await anyio.sleep_forever()  # idle: only a disconnect can end this stream
            yield "never"  # pragma: no cover
        finally:
            cleaned_up.set()

    async def after() -> None:
        background_ran.set()

    app = serve(events(), ping=ping, background=BackgroundTask(after))
    client = AsyncTestClient(app, spec_version=spec_version)
    async with client.stream("GET", "/") as response:
        assert await first_event(response.aiter_bytes()) == b"data: only\n\n"
    # The client waits for the app to return: the cleanup already happened.
    assert cleaned_up.is_set()
    assert background_ran.is_set()


@pytest.mark.parametrize("ping", [None, 0.001])
async def test_sync_producer_is_closed_when_the_client_leaves(ping: float | None) -> None:
    closed = anyio.Event()
    closed_flag: list[bool] = []

    def events() -> Iterator[str]:
        try:
            while True:
                yield "tick"
        finally:
            closed_flag.append(True)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await EventSourceResponse(events(), ping=ping)(scope, receive, send)
        closed.set()

    async with AsyncTestClient(app).stream("GET", "/") as response:
        assert await first_event(response.aiter_bytes()) == b"data: tick\n\n"
    assert closed.is_set()
    assert closed_flag == [True]


class _Source:
    """An async iterator that records being closed, whether or not it was ever iterated."""

    def __init__(self) -> None:
        self.closed = False

    def __aiter__(self) -> _Source:
        return self

    async def __anext__(self) -> str:
        return "x"

    async def aclose(self) -> None:
        self.closed = True


class _Countdown:
    """An async iterator without ``aclose``: nothing to close, and nothing breaks for it."""

    def __init__(self) -> None:
        self.left = 2

    def __aiter__(self) -> _Countdown:
        return self

    async def __anext__(self) -> str:
        if not self.left:
            raise StopAsyncIteration
        self.left -= 1
        return str(self.left)


@pytest.mark.parametrize("ping", [None, 3600])
async def test_iterator_without_aclose(ping: float | None) -> None:
    response = await AsyncTestClient(serve(_Countdown(), ping=ping)).get("/")
    assert response.text == "data: 1\n\ndata: 0\n\n"
    left_open = _Countdown()
    async with AsyncTestClient(serve(left_open, ping=ping)).stream("GET", "/") as streaming:
        assert await first_event(streaming.aiter_bytes()) == b"data: 1\n\n"
    # Leaving early ended the response without anything to close: the iterator is unfinished.
    assert streaming.status_code == 200


@pytest.mark.parametrize("ping", [None, 3600])
async def test_client_gone_before_the_start(ping: float | None) -> None:
    source = _Source()

    async def receive() -> Message:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        raise OSError("client gone")  # ASGI 2.4

    scope = {"type": "http", "method": "GET", "headers": [], "asgi": {"spec_version": "2.4"}}
    await EventSourceResponse(source, ping=ping)(scope, receive, send)
    assert source.closed


# ---------------------------------------------------------------------------------------------
# Errors


class Boom(Exception):
    pass


@pytest.mark.parametrize("ping", [None, 3600])
async def test_producer_exception_surfaces_as_itself(ping: float | None) -> None:
    async def events() -> AsyncIterator[str]:
        yield "first"
        raise Boom("producer failed")

    with pytest.raises(Boom, match="producer failed"):
        await AsyncTestClient(serve(events(), ping=ping)).get("/")


@pytest.mark.parametrize("ping", [None, 3600])
async def test_sync_producer_exception_surfaces_as_itself(ping: float | None) -> None:
    def events() -> Iterator[str]:
        yield "first"
        raise Boom("sync producer failed")

    with pytest.raises(Boom, match="sync producer failed"):
        await AsyncTestClient(serve(events(), ping=ping)).get("/")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (42, "items must be ServerSentEvent, dict, str or bytes, got int: 42"),
        ({"data": "x", "name": "y"}, r"unknown keys \['name'\]"),
        (b"\xff", "can't decode byte 0xff"),
        ({"id": "a\nb"}, "id must not contain NUL, CR or LF"),
    ],
)
@pytest.mark.parametrize("ping", [None, 3600])
async def test_bad_items_raise(item: Any, message: str, ping: float | None) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        await AsyncTestClient(serve([item], ping=ping)).get("/")


@pytest.mark.parametrize(
    "content",
    ["data", b"data", {"data": "x"}, ServerSentEvent(data="x"), 42, None],
)
def test_content_must_be_an_iterable_of_events(content: Any) -> None:
    with pytest.raises(TypeError, match="content must be an iterable or async iterable of events"):
        EventSourceResponse(content)


# ---------------------------------------------------------------------------------------------
# Last-Event-ID


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], None),
        ([(b"accept", b"text/event-stream")], None),
        ([(b"last-event-id", b"42")], "42"),
        ([(b"last-event-id", b"")], ""),
        ([(b"last-event-id", "caf\u00e9".encode())], "caf\u00e9"),
        ([(b"last-event-id", b"\xff\xfe")], None),
        ([(b"last-event-id", b"a\x00b")], None),
        ([(b"last-event-id", b"1"), (b"last-event-id", b"2")], "1"),
    ],
)
def test_last_event_id(headers: list[tuple[bytes, bytes]], expected: str | None) -> None:
    request = Request({"type": "http", "method": "GET", "headers": headers})
    assert last_event_id(request) == expected


async def test_last_event_id_resumes_a_stream() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        start = int(last_event_id(Request(scope)) or 0)
        events = [ServerSentEvent(data=f"event {n}", id=n) for n in range(start + 1, start + 3)]
        await EventSourceResponse(events)(scope, receive, send)

    client = AsyncTestClient(app)
    first = await client.get("/")
    assert [e["data"] for e in parse_stream(first.text)] == ["event 1", "event 2"]
    again = await client.get("/", headers={"Last-Event-ID": "2"})
    assert [e["data"] for e in parse_stream(again.text)] == ["event 3", "event 4"]


# --- items encoded without building a ServerSentEvent (the fast paths) ---------------------------

_FIELD_VALUES = st.one_of(
    st.none(), st.text(max_size=12), st.integers(min_value=-2, max_value=99), st.booleans()
)


@given(
    st.one_of(
        st.text(max_size=30),
        st.dictionaries(
            st.sampled_from(["data", "event", "id", "retry", "comment"]), _FIELD_VALUES
        ),
    )
)
def test_items_encode_as_the_event_they_stand_for(item: str | dict[str, Any]) -> None:
    # A str is the data of an event, a dict its fields: the frame (or the error) is exactly
    # that of the ServerSentEvent built from them, whichever path encoded it.
    fields = {"data": item} if isinstance(item, str) else item
    try:
        expected: bytes | str = ServerSentEvent(**fields).encode()
    except (TypeError, ValueError) as exc:
        expected = f"{type(exc).__name__}: {exc}"
    try:
        got: bytes | str = _encode_item(item)
    except (TypeError, ValueError) as exc:
        got = f"{type(exc).__name__}: {exc}"
    assert got == expected


@pytest.mark.parametrize(
    ("item", "frame"),
    [
        ("", b"data: \n\n"),
        ("one line", b"data: one line\n\n"),
        ("caf\u00e9", "data: caf\u00e9\n\n".encode()),
        ("a\nb", b"data: a\ndata: b\n\n"),
        ("a\rb", b"data: a\ndata: b\n\n"),
        ("a\r\nb", b"data: a\ndata: b\n\n"),
        (MappingProxyType({"data": "x", "id": 7}), b"id: 7\ndata: x\n\n"),
    ],
)
def test_item_frames(item: object, frame: bytes) -> None:
    assert _encode_item(item) == frame
