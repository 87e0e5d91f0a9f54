"""Streaming with TestClient and AsyncTestClient: backpressure, closing early, open responses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

TestClientFactory = Callable[..., TestClient]

START: Message = {"type": "http.response.start", "status": 200, "headers": []}
END: Message = {"type": "http.response.body", "body": b""}


def body(data: bytes, more: bool = True) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": more}


def respond(data: bytes) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({**START, "headers": [(b"content-type", b"text/plain")]})
        await send(body(data, more=False))

    return app


async def read_body(receive: Receive) -> bytes:
    data = b""
    while True:
        message = await receive()
        data += bytes(message.get("body", b""))
        if not message.get("more_body", False):
            return data


def forever_app(events: list[str]) -> ASGIApp:
    """Sends one chunk, then waits for ever; logs how it was stopped."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan
        await send(START)
        try:
            try:
                await send(body(b"1"))
            except OSError:
                events.append("send failed")  # the client left while the app waited for it
                raise
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            events.append("cancelled")  # the client left while the app waited elsewhere
            raise

    return app


# --- backpressure --------------------------------------------------------------------------------


def logging_app(log: list[str]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        for n in (1, 2, 3):
            log.append(f"producing {n}")
            await send(body(str(n).encode(), more=n < 3))
        log.append("done")

    return app


async def test_the_app_waits_for_the_reader() -> None:
    log: list[str] = []
    async with AsyncTestClient(logging_app(log)).stream("GET", "/") as response:
        chunks = response.aiter_bytes()
        await anyio.wait_all_tasks_blocked()
        assert log == ["producing 1"]  # blocked until the test reads the first chunk
        assert await anext(chunks) == b"1"
        await anyio.wait_all_tasks_blocked()
        assert log == ["producing 1", "producing 2"]
        assert [chunk async for chunk in chunks] == [b"2", b"3"]
    assert log[-1] == "done"


def test_the_app_waits_for_the_reader_sync(test_client_factory: TestClientFactory) -> None:
    log: list[str] = []
    with test_client_factory(logging_app(log)).stream("GET", "/") as response:
        portal: Any = response._portal
        chunks = response.iter_bytes()
        portal.call(anyio.wait_all_tasks_blocked)
        assert log == ["producing 1"]
        assert next(chunks) == b"1"
        portal.call(anyio.wait_all_tasks_blocked)
        assert log == ["producing 1", "producing 2"]
        assert list(chunks) == [b"2", b"3"]
        assert response.is_closed  # read to its end, it closed, as in HTTPX
    assert log[-1] == "done"


def incremental_app(gate: anyio.Event, log: list[str]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({**START, "headers": [(b"content-type", b"text/plain")]})
        await send(body(b"first"))
        log.append("waiting")
        await gate.wait()
        log.append("released")
        await send(body(b"second", more=False))

    return app


async def test_async_stream_is_truly_incremental() -> None:
    gate, log = anyio.Event(), list[str]()
    async with AsyncTestClient(incremental_app(gate, log)).stream("GET", "/") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain"
        with pytest.raises(RuntimeError, match=r"response.read\(\)"):
            _ = response.content
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b"first"
        assert log == []  # the app waits for the reader before it goes on
        gate.set()
        assert await anext(chunks) == b"second"
        assert log == ["waiting", "released"]
        with pytest.raises(StopAsyncIteration):
            await anext(chunks)
        assert response.is_closed
        with pytest.raises(RuntimeError, match="read once"):
            await response.aread()


def test_sync_stream_is_truly_incremental(test_client_factory: TestClientFactory) -> None:
    log: list[str] = []
    holder: dict[str, anyio.Event] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        holder["gate"] = anyio.Event()
        await incremental_app(holder["gate"], log)(scope, receive, send)

    client = test_client_factory(app)
    with client.stream("GET", "/") as response:
        chunks = response.iter_bytes()
        assert next(chunks) == b"first"
        assert "released" not in log  # the first chunk arrived while the app was still held
        response._portal.call(holder["gate"].set)  # type: ignore[union-attr]
        assert next(chunks) == b"second"
        assert list(chunks) == []
        assert log == ["waiting", "released"]


# --- what the body holds -------------------------------------------------------------------------


async def chunky_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send(START)
    for data in (b"", b"a", b"", b"b"):
        await send(body(data))
    await send(END)


async def test_empty_chunks_and_head_bodies_are_skipped() -> None:
    client = AsyncTestClient(chunky_app)
    async with client.stream("GET", "/") as response:
        assert [chunk async for chunk in response.aiter_bytes()] == [b"a", b"b"]
    async with client.stream("HEAD", "/") as response:
        assert [chunk async for chunk in response.aiter_bytes()] == []


def test_empty_chunks_and_head_bodies_are_skipped_sync(
    test_client_factory: TestClientFactory,
) -> None:
    client = test_client_factory(chunky_app)
    with client.stream("GET", "/") as response:
        assert list(response.iter_bytes()) == [b"a", b"b"]
    with client.stream("HEAD", "/") as response:
        assert list(response.iter_bytes()) == []


async def test_stream_read_and_rechunk() -> None:
    client = AsyncTestClient(respond(b"abcdefg"))
    async with client.stream("GET", "/") as response:
        assert await response.aread() == b"abcdefg"
        assert await response.aread() == b"abcdefg"
        assert response.text == "abcdefg"
    async with client.stream("GET", "/") as response:
        assert [c async for c in response.aiter_bytes(3)] == [b"abc", b"def", b"g"]
    async with client.stream("GET", "/") as response:
        with pytest.raises(RuntimeError, match="aiter_bytes"):
            list(response.iter_bytes())


def test_sync_stream_read_and_rechunk(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(respond(b"abcdefg"))
    with client.stream("POST", "/", json={"a": 1}) as response:
        assert list(response.iter_bytes(3)) == [b"abc", b"def", b"g"]
    with client.stream("GET", "/") as response:
        assert response.read() == b"abcdefg"
        assert response.read() == b"abcdefg"
    with client.stream("GET", "/") as response:
        assert list(response.iter_text()) == ["abcdefg"]
    with client.stream("GET", "/") as response:
        assert list(response.iter_lines()) == ["abcdefg"]
    with TestClient(respond(b"xy")) as inside, inside.stream("GET", "/") as response:
        assert response.read() == b"xy"


# --- leaving early: the app is cancelled ---------------------------------------------------------


async def test_closing_a_response_early_cancels_the_app() -> None:
    events: list[str] = []
    async with AsyncTestClient(forever_app(events)).stream("GET", "/") as response:
        assert await anext(response.aiter_bytes()) == b"1"
        await response.aclose()
        assert events == ["cancelled"]
        assert response.is_closed
    assert events == ["cancelled"]


async def test_a_sync_close_cancels_at_once_and_the_block_waits() -> None:
    events: list[str] = []
    async with AsyncTestClient(forever_app(events)).stream("GET", "/") as response:
        assert await anext(response.aiter_bytes()) == b"1"
        response.close()  # cannot wait here: the app is told to stop, the block's exit waits
    assert events == ["cancelled"]


def test_closing_a_response_early_cancels_the_app_sync(
    test_client_factory: TestClientFactory,
) -> None:
    events: list[str] = []
    with test_client_factory(forever_app(events)).stream("GET", "/") as response:
        assert next(response.iter_bytes()) == b"1"
        response.close()
        assert events == ["cancelled"]
        response.close()  # again: nothing more to do
    assert events == ["cancelled"]


async def test_leaving_the_block_early_cancels_the_app() -> None:
    events: list[str] = []
    client = AsyncTestClient(forever_app(events))
    async with client.stream("GET", "/") as response:
        assert await anext(response.aiter_bytes()) == b"1"
    assert events == ["cancelled"]
    async with client.stream("GET", "/") as response:
        await anyio.wait_all_tasks_blocked()  # the app waits in send() for the reader
    assert events == ["cancelled", "send failed"]


def test_leaving_the_block_early_cancels_the_app_sync(
    test_client_factory: TestClientFactory,
) -> None:
    events: list[str] = []
    client = test_client_factory(forever_app(events))
    with client.stream("GET", "/") as response:
        assert next(response.iter_bytes()) == b"1"
    assert events == ["cancelled"]
    with client.stream("GET", "/") as response:
        response._portal.call(anyio.wait_all_tasks_blocked)  # type: ignore[union-attr]
    assert events == ["cancelled", "send failed"]


async def test_leaving_on_an_error_stops_the_app() -> None:
    events: list[str] = []

    async def fail_inside() -> None:
        async with AsyncTestClient(forever_app(events)).stream("GET", "/"):
            await anyio.wait_all_tasks_blocked()
            raise KeyError("test failed")

    with pytest.raises(KeyError, match="test failed"):
        await fail_inside()
    assert events == ["cancelled"]  # cancelled at once, even while it waited for the reader


async def test_disconnect_while_blocked_in_send() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        while True:  # never catches anything: only the cancellation stops it
            await send(body(b"x"))

    async with AsyncTestClient(app).stream("GET", "/") as response:
        async for _ in response.aiter_bytes():
            await anyio.wait_all_tasks_blocked()
            break


def cleanup_app(events: list[str]) -> ASGIApp:
    """Cancelled mid-stream, its shielded cleanup tries receive() and send()."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        try:
            await send(body(b"1"))
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                events.append((await receive())["type"])
                try:
                    await send(body(b"2", more=False))
                    events.append("send did nothing")
                except OSError as exc:
                    events.append(type(exc).__name__)

    return app


@pytest.mark.parametrize(
    ("spec_version", "outcome"),
    [("2.4", "ClientDisconnectedError"), ("2.3", "send did nothing")],
)
async def test_cleanup_finds_the_client_gone(spec_version: str, outcome: str) -> None:
    events: list[str] = []
    client = AsyncTestClient(cleanup_app(events), spec_version=spec_version)
    async with client.stream("GET", "/") as response:
        async for chunk in response.aiter_bytes():
            assert chunk == b"1"
            break
    assert events == ["http.disconnect", outcome]


def test_cleanup_finds_the_client_gone_sync(test_client_factory: TestClientFactory) -> None:
    events: list[str] = []
    with test_client_factory(cleanup_app(events)).stream("GET", "/") as response:
        assert next(response.iter_bytes()) == b"1"
    assert events == ["http.disconnect", "ClientDisconnectedError"]


async def test_an_app_waiting_in_receive_gets_the_disconnect() -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await send(START)
        await send(body(b"1"))
        events.append((await receive())["type"])  # as a watcher task does: not cancelled

    async with AsyncTestClient(app).stream("GET", "/") as response:
        assert await anext(response.aiter_bytes()) == b"1"
        await anyio.wait_all_tasks_blocked()
    assert events == ["http.disconnect"]


async def test_an_app_that_stops_on_oserror_returns_quietly() -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        try:
            while True:
                await send(body(b"tick"))
        except OSError as exc:
            events.append(type(exc).__name__)

    async with AsyncTestClient(app).stream("GET", "/") as response:
        assert await anext(response.aiter_bytes()) == b"tick"
        await anyio.wait_all_tasks_blocked()
    assert events == ["ClientDisconnectedError"]


async def test_below_spec_24_a_waiting_send_returns() -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        await send(body(b"1"))
        await send(body(b"2"))  # waits for the reader, who leaves: it returns, as on a server
        await send(body(b"3", more=False))
        events.append("returned")

    async with AsyncTestClient(app, spec_version="2.3").stream("GET", "/") as response:
        assert await anext(response.aiter_bytes()) == b"1"
        await anyio.wait_all_tasks_blocked()
    assert events == ["returned"]


def test_a_sync_response_closes_from_an_event_loop_too(
    test_client_factory: TestClientFactory,
) -> None:
    events: list[str] = []
    client = test_client_factory(forever_app(events))
    response = client.send(client.build_request("GET", "/"), stream=True)
    assert next(response.iter_bytes()) == b"1"
    anyio.run(response.aclose)  # the blocking close runs in a worker thread
    assert events == ["cancelled"]


def background_app(events: list[str]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        await send(body(b"done", more=False))
        await anyio.lowlevel.checkpoint()
        events.append("background ran")

    return app


async def test_after_the_end_the_client_waits_for_the_app() -> None:
    events: list[str] = []
    async with AsyncTestClient(background_app(events)).stream("GET", "/") as response:
        assert await response.aread() == b"done"
    assert events == ["background ran"]


def test_after_the_end_the_client_waits_for_the_app_sync(
    test_client_factory: TestClientFactory,
) -> None:
    events: list[str] = []
    with test_client_factory(background_app(events)).stream("GET", "/") as response:
        assert response.read() == b"done"
        assert events == ["background ran"]  # reading to the end closed the response


# --- disconnect, as servers send it --------------------------------------------------------------


async def test_disconnect_comes_after_the_body_and_the_response() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)

        async def watch() -> None:
            message = await receive()
            seen.append(f"{message['type']} after {len(sent)} sends")
            seen.append((await receive())["type"])

        sent: list[Message] = []
        async with anyio.create_task_group() as group:
            group.start_soon(watch)
            for message in (START, body(b""), END):
                await anyio.lowlevel.checkpoint()
                sent.append(message)
                await send(message)

    await AsyncTestClient(app).post("/", content=[b"a", b"b"])
    assert seen == ["http.disconnect after 3 sends", "http.disconnect"]


async def test_an_app_raising_oserror_itself_is_an_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await AsyncTestClient(app).get("/")


# --- errors ----------------------------------------------------------------------------------------


async def test_stream_records_announced_trailers_from_the_start() -> None:
    async def app_with_trailers(scope: Scope, receive: Receive, send: Send) -> None:
        await send({**START, "trailers": True})
        await send(body(b"x", more=False))
        await send({"type": "http.response.trailers", "headers": [(b"checksum", b"1")]})

    client = AsyncTestClient(app_with_trailers, extensions={"http.response.trailers": {}})
    async with client.stream("GET", "/") as response:
        # Announced by the start: [] until they come, as in Starlette's client.
        assert response.extensions["http.response.trailers"] == []
        assert [c async for c in response.aiter_bytes()] == [b"x"]
        trailers: Any = response.trailers
        assert trailers["checksum"] == "1"


async def test_stream_raises_app_errors_after_the_start() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        await send(body(b"x"))
        raise LookupError("mid-stream")

    async with AsyncTestClient(app).stream("GET", "/") as response:
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b"x"
        with pytest.raises(LookupError, match="mid-stream"):
            await anext(chunks)

    async with AsyncTestClient(app, raise_server_exceptions=False).stream("GET", "/") as response:
        assert [c async for c in response.aiter_bytes()] == [b"x"]


async def test_stream_raises_errors_before_the_start() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise LookupError("no start")

    with pytest.raises(LookupError, match="no start"):
        async with AsyncTestClient(app).stream("GET", "/"):
            pass  # pragma: no cover
    async with AsyncTestClient(app, raise_server_exceptions=False).stream("GET", "/") as response:
        assert response.status_code == 500
        assert [c async for c in response.aiter_bytes()] == []
        await response.aclose()


async def background_error_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return  # no lifespan
    await send(START)
    await send(END)
    raise LookupError("background task")


async def test_stream_raises_background_errors_on_exit() -> None:
    with pytest.raises(LookupError, match="background task"):
        async with AsyncTestClient(background_error_app).stream("GET", "/") as response:
            assert await response.aread() == b""
    # Left before taking the last body message, the response is unfinished: the app stops there,
    # as Starlette's client cancels it.
    async with AsyncTestClient(background_error_app).stream("GET", "/") as response:
        assert response.status_code == 200


def test_sync_close_raises_background_errors(test_client_factory: TestClientFactory) -> None:
    with test_client_factory(background_error_app).stream("GET", "/") as response:
        with pytest.raises(LookupError, match="background task"):
            response.read()  # read to the end, it closes: the app's error comes out


# --- send(..., stream=True) and closing the client ------------------------------------------------


def test_send_stream_and_close(test_client_factory: TestClientFactory) -> None:
    events: list[str] = []
    client = test_client_factory(forever_app(events))
    response = client.send(client.build_request("GET", "/"), stream=True)
    assert next(response.iter_bytes()) == b"1"
    response.close()
    assert events == ["cancelled"]


def test_send_stream_read_to_the_end(test_client_factory: TestClientFactory) -> None:
    events: list[str] = []
    client = test_client_factory(background_app(events))
    response = client.send(client.build_request("GET", "/"), stream=True)
    assert response.read() == b"done"
    assert events == ["background ran"]
    client.close()  # nothing left open


def test_client_close_cancels_open_responses(test_client_factory: TestClientFactory) -> None:
    events: list[str] = []
    client = test_client_factory(forever_app(events))
    responses = [client.send(client.build_request("GET", "/"), stream=True) for _ in range(2)]
    assert next(responses[0].iter_bytes()) == b"1"
    responses[1]._portal.call(anyio.wait_all_tasks_blocked)  # type: ignore[union-attr]
    client.close()
    # Cancelled wherever they wait, in send() too, as Starlette's client does.
    assert events == ["cancelled", "cancelled"]
    responses[0].close()  # already closed: nothing happens


def test_leaving_the_client_block_cancels_open_responses(
    test_client_factory: TestClientFactory,
) -> None:
    events: list[str] = []
    with test_client_factory(forever_app(events)) as client:
        response = client.send(client.build_request("GET", "/"), stream=True)
        assert next(response.iter_bytes()) == b"1"
    assert events == ["cancelled"]


async def test_async_send_stream_inside_the_block() -> None:
    events: list[str] = []
    async with AsyncTestClient(forever_app(events)) as client:
        response = await client.send(client.build_request("GET", "/"), stream=True)
        assert await anext(response.aiter_bytes()) == b"1"
        await response.aclose()
        assert events == ["cancelled"]
        await response.aclose()  # again: nothing more to do


async def test_async_client_aclose_and_exit_cancel_open_responses() -> None:
    events: list[str] = []
    async with AsyncTestClient(forever_app(events)) as client:
        await client.send(client.build_request("GET", "/"), stream=True)
        await anyio.wait_all_tasks_blocked()
        await client.aclose()
        assert events == ["cancelled"]  # waiting in send(), cancelled there
        response = await client.send(client.build_request("GET", "/"), stream=True)
        assert await anext(response.aiter_bytes()) == b"1"
    assert events == ["cancelled", "cancelled"]


async def late_error_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return  # no lifespan
    await send(START)
    await send(body(b"x", more=False))
    await anyio.lowlevel.checkpoint()
    raise LookupError("background task")


async def test_async_open_response_raises_the_app_error_on_aclose() -> None:
    async with AsyncTestClient(late_error_app) as client:
        response = await client.send(client.build_request("GET", "/"), stream=True)
        assert await anext(response.aiter_bytes()) == b"x"  # the last message: complete
        with pytest.raises(LookupError, match="background task"):
            await response.aclose()
    async with AsyncTestClient(background_error_app) as client:
        response = await client.send(client.build_request("GET", "/"), stream=True)
        with pytest.raises(LookupError, match="background task"):
            await response.aread()  # read to the end: the error comes out there
        await response.aclose()  # and only once


async def test_async_open_response_raises_errors_before_the_start() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raise LookupError("no start")

    async with AsyncTestClient(app) as client:
        with pytest.raises(LookupError, match="no start"):
            await client.send(client.build_request("GET", "/"), stream=True)


async def test_async_send_stream_outside_the_block_reads_the_body_first() -> None:
    client = AsyncTestClient(respond(b"whole"))
    response = await client.send(client.build_request("GET", "/"), stream=True)
    assert [chunk async for chunk in response.aiter_bytes()] == [b"whole"]


# --- Starlette's lifecycle: lazy empty bodies, live trailers, closing the client ------------------


def counting_app(sent: list[int], data: bytes) -> ASGIApp:
    """1000 body messages of ``data`` (empty, say), counted as the app gets past each."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        for _ in range(1000):
            await send(body(data))
            sent.append(1)
        await send(END)

    return app


@pytest.mark.parametrize(("method", "data"), [("GET", b""), ("HEAD", b"chunk")])
async def test_stream_returns_at_the_start_without_running_the_app_ahead(
    method: str, data: bytes
) -> None:
    sent: list[int] = []
    async with AsyncTestClient(counting_app(sent, data)).stream(method, "/") as response:
        await anyio.wait_all_tasks_blocked()
        assert sent == []  # the app waits in its first send(), empty as it is
        assert await response.aread() == b""  # the reader skips them, one by one
        assert len(sent) == 1000


@pytest.mark.parametrize(("method", "data"), [("GET", b""), ("HEAD", b"chunk")])
def test_stream_returns_at_the_start_without_running_the_app_ahead_sync(
    test_client_factory: TestClientFactory, method: str, data: bytes
) -> None:
    sent: list[int] = []
    with test_client_factory(counting_app(sent, data)).stream(method, "/") as response:
        response._portal.call(anyio.wait_all_tasks_blocked)  # type: ignore[union-attr]
        assert sent == []
        assert response.read() == b""
    assert len(sent) == 1000


def trailers_app(sent: list[str], gate: list[anyio.Event]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        gate.append(anyio.Event())
        await send({**START, "trailers": True})
        await send(body(b"hello", more=False))
        await send({"type": "http.response.trailers", "headers": [(b"x-item", b"one")]})
        sent.append("trailers")
        await gate[0].wait()
        sent.append("returned")

    return app


async def test_trailers_show_while_the_response_streams() -> None:
    sent: list[str] = []
    gate: list[anyio.Event] = []
    async with AsyncTestClient(trailers_app(sent, gate)).stream("GET", "/") as response:
        assert response.extensions["http.response.trailers"] == []  # announced, none yet
        assert await anext(response.aiter_raw()) == b"hello"
        await anyio.wait_all_tasks_blocked()
        assert sent == ["trailers"]  # the app still runs, the trailers are here already
        assert response.extensions["http.response.trailers"] == [(b"x-item", b"one")]
        assert response.trailers is not None
        assert response.trailers["x-item"] == "one"
        gate[0].set()
    assert sent == ["trailers", "returned"]  # complete: leaving waited for the app


def test_trailers_show_while_the_response_streams_sync(
    test_client_factory: TestClientFactory,
) -> None:
    sent: list[str] = []
    gate: list[anyio.Event] = []
    with test_client_factory(trailers_app(sent, gate)).stream("GET", "/") as response:
        portal: Any = response._portal
        assert next(response.iter_raw()) == b"hello"
        portal.call(anyio.wait_all_tasks_blocked)
        assert response.extensions["http.response.trailers"] == [(b"x-item", b"one")]
        portal.call(gate[0].set)
    assert sent == ["trailers", "returned"]


async def test_taking_the_last_chunk_completes_the_response() -> None:
    # Closed right after the last body message was taken, before the app got past its send():
    # the response is complete, so the client waits for the app instead of stopping it.
    events: list[str] = []
    async with AsyncTestClient(background_app(events)).stream("GET", "/") as response:
        assert await anext(response.aiter_bytes()) == b"done"
        response.close()
    assert events == ["background ran"]


def background_forever_app(events: list[str]) -> ASGIApp:
    """A complete response whose background task waits for ever (Starlette's test)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan
        await send(START)
        await send(body(b"hello", more=False))
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            events.append("cancelled")
            raise

    return app


def test_closing_the_client_cancels_a_complete_response_left_open(
    test_client_factory: TestClientFactory,
) -> None:
    events: list[str] = []
    client = test_client_factory(background_forever_app(events))
    response = client.send(client.build_request("GET", "/"), stream=True)
    assert next(response.iter_raw()) == b"hello"
    client.close()  # the body is complete, its background task still runs: cancelled
    assert events == ["cancelled"]
    with client:
        response = client.send(client.build_request("GET", "/"), stream=True)
        assert next(response.iter_raw()) == b"hello"
    assert events == ["cancelled", "cancelled"]


async def test_closing_the_async_client_cancels_a_complete_response_left_open() -> None:
    events: list[str] = []
    async with AsyncTestClient(background_forever_app(events)) as client:
        response = await client.send(client.build_request("GET", "/"), stream=True)
        assert await anext(response.aiter_raw()) == b"hello"
        await client.aclose()
        assert events == ["cancelled"]
        response = await client.send(client.build_request("GET", "/"), stream=True)
        assert await anext(response.aiter_raw()) == b"hello"
    assert events == ["cancelled", "cancelled"]


async def test_closing_the_client_fails_a_shielded_cleanup_send() -> None:
    events: list[str] = []
    app = cleanup_app(events)

    async def http_only(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":  # no lifespan
            await app(scope, receive, send)

    async with AsyncTestClient(http_only) as client:
        response = await client.send(client.build_request("GET", "/"), stream=True)
        assert await anext(response.aiter_bytes()) == b"1"
    # Cancelled, its shielded cleanup finds the client gone instead of waiting for a reader.
    assert events == ["http.disconnect", "ClientDisconnectedError"]
