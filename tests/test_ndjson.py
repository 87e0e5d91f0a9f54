"""``NDJSONResponse``: JSON Lines streamed from sync and async iterables of objects."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import pytest

from microasgi.background import BackgroundTask
from microasgi.requests import Request
from microasgi.responses import JSONResponse, NDJSONResponse
from microasgi.routing import Route, Router
from microasgi.testclient import AsyncTestClient
from microasgi.types import Message, Scope


def http_scope(method: str = "GET", spec_version: str = "2.4") -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": method,
        "path": "/",
        "query_string": b"",
        "headers": [],
    }


class Recorder:
    """A ``send`` that records messages; ``gone_after=n`` raises OSError from the n+1-th send."""

    def __init__(self, gone_after: int | None = None) -> None:
        self.messages: list[Message] = []
        self.gone_after = gone_after

    async def __call__(self, message: Message) -> None:
        if self.gone_after is not None and len(self.messages) >= self.gone_after:
            raise ConnectionResetError("client gone")
        self.messages.append(message)

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages)


async def receive_never() -> Message:
    await anyio.Event().wait()
    raise AssertionError("unreachable")  # pragma: no cover


ITEMS: list[Any] = [{"name": "café", "tags": ["a", "b"]}, 1, "two\nlines", None, [1.5, True]]
LINES = b'{"name":"caf\xc3\xa9","tags":["a","b"]}\n1\n"two\\nlines"\nnull\n[1.5,true]\n'


async def agen(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


async def test_async_iterable_streams_one_compact_line_per_object() -> None:
    send = Recorder()
    await NDJSONResponse(agen(ITEMS))(http_scope(), receive_never, send)
    start = send.messages[0]
    assert start["status"] == 200
    assert start["headers"] == [(b"content-type", b"application/x-ndjson")]
    assert send.body == LINES
    # One body message a line, then the final empty one.
    assert len(send.messages) == 2 + len(ITEMS)
    assert send.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    # Each line is what JSONResponse would send for that object.
    for item, line in zip(ITEMS, LINES.splitlines(), strict=True):
        assert JSONResponse(item).body == line


async def test_sync_iterable_is_iterated_and_encoded_in_a_worker_thread() -> None:
    threads: set[int] = set()

    class Recording(NDJSONResponse):
        def render(self, content: Any) -> bytes:
            threads.add(threading.get_ident())
            return super().render(content)

    def produce() -> Iterator[Any]:
        threads.add(threading.get_ident())
        yield from ITEMS

    send = Recorder()
    await Recording(produce())(http_scope(), receive_never, send)
    assert send.body == LINES
    assert threading.get_ident() not in threads
    # A list works too (any iterable that is not a string or a mapping).
    send = Recorder()
    await NDJSONResponse(ITEMS)(http_scope(), receive_never, send)
    assert send.body == LINES


async def test_through_an_app_on_both_backends() -> None:
    async def endpoint(request: Request) -> NDJSONResponse:
        return NDJSONResponse(agen([{"n": n} for n in range(3)]))

    client = AsyncTestClient(Router([Route("/", endpoint)]))
    response = await client.get("/")
    assert response.headers["content-type"] == "application/x-ndjson"
    assert "content-length" not in response.headers
    assert [json.loads(line) for line in response.text.splitlines()] == [
        {"n": 0},
        {"n": 1},
        {"n": 2},
    ]


async def test_render_is_the_encoder_hook() -> None:
    class Sorted(NDJSONResponse):
        def render(self, content: Any) -> bytes:
            return json.dumps(content, sort_keys=True, default=str).encode()

    send = Recorder()
    await Sorted(agen([{"b": 1, "a": {1, 2} - {1, 2}}]))(http_scope(), receive_never, send)
    assert send.body == b'{"a": "set()", "b": 1}\n'


async def test_status_headers_media_type_and_background() -> None:
    ran: list[str] = []
    response = NDJSONResponse(
        [1],
        status_code=201,
        headers={"x-a": "1"},
        media_type="application/jsonl",
        background=BackgroundTask(ran.append, "done"),
    )
    send = Recorder()
    await response(http_scope(), receive_never, send)
    assert send.messages[0]["status"] == 201
    assert send.messages[0]["headers"] == [(b"x-a", b"1"), (b"content-type", b"application/jsonl")]
    assert ran == ["done"]


@pytest.mark.parametrize(
    ("content", "kind"),
    [("[1, 2]", "str"), (b"[1]", "bytes"), ({"a": 1}, "dict"), (3, "int"), (None, "NoneType")],
)
def test_refuses_content_that_is_not_a_stream_of_objects(content: Any, kind: str) -> None:
    with pytest.raises(TypeError, match=f"got {kind}: .* wrap it in a list; .* use JSONResponse"):
        NDJSONResponse(content)


class Closing:
    """Async and sync sources that yield ``items`` and record that they were closed."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.closed: list[str] = []

    async def aiter(self) -> AsyncIterator[Any]:
        try:
            for item in self.items:
                yield item
        finally:
            self.closed.append("async")

    def iter(self) -> Iterator[Any]:
        try:
            yield from self.items
        finally:
            self.closed.append("sync")


@pytest.mark.parametrize("sync", [False, True])
@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ({1, 2}, TypeError, "Object of type set is not JSON serializable"),
        (float("nan"), ValueError, "JSON has no NaN or Infinity: replace such floats"),
    ],
)
async def test_a_bad_object_mid_stream_propagates_after_the_lines_before_it(
    sync: bool, bad: Any, error: type[Exception], message: str
) -> None:
    source = Closing([{"ok": 1}, bad, {"never": "sent"}])
    send = Recorder()
    response = NDJSONResponse(source.iter() if sync else source.aiter())
    with pytest.raises(error, match=message) as caught:
        await response(http_scope(), receive_never, send)
    assert "While encoding item 2 of an NDJSONResponse stream" in "".join(caught.value.__notes__)
    # The response had started: the status and the good line went out, the body never ended.
    assert send.messages[0]["status"] == 200
    assert send.body == b'{"ok":1}\n'
    assert all(m.get("more_body", False) for m in send.messages[1:])
    assert source.closed == ["sync" if sync else "async"]


async def test_a_bad_object_through_the_test_client_raises_as_itself(
    test_client_factory: Callable[..., Any],
) -> None:
    async def endpoint(request: Request) -> NDJSONResponse:
        return NDJSONResponse(agen([1, object()]))

    app = Router([Route("/", endpoint)])
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        await AsyncTestClient(app).get("/")


async def test_render_that_breaks_lines_is_refused() -> None:
    class Indented(NDJSONResponse):
        def render(self, content: Any) -> bytes:
            return json.dumps(content, indent=2).encode()

    send = Recorder()
    with pytest.raises(ValueError, match=r"line break for item 1 \(\[1\]\).*without indent"):
        await Indented(agen([[1]]))(http_scope(), receive_never, send)
    assert send.body == b""


class SyncSource:
    """An endless iterator of objects that records ``close()``."""

    def __init__(self) -> None:
        self.produced = 0
        self.closed = False

    def __iter__(self) -> SyncSource:
        return self

    def __next__(self) -> int:  # pragma: no cover - HEAD never produces
        self.produced += 1
        return 1

    def close(self) -> None:
        self.closed = True


class AsyncSource:
    """An endless async iterator of objects that records ``aclose()``."""

    def __init__(self) -> None:
        self.produced = 0
        self.closed = False

    def __aiter__(self) -> AsyncSource:
        return self

    async def __anext__(self) -> int:  # pragma: no cover - HEAD never produces
        self.produced += 1
        return 1

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.parametrize("source_class", [SyncSource, AsyncSource])
async def test_head_sends_headers_only_and_closes_the_source(
    source_class: type[SyncSource | AsyncSource],
) -> None:
    source = source_class()
    send = Recorder()
    await NDJSONResponse(source)(http_scope("HEAD"), receive_never, send)
    assert send.messages == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/x-ndjson")],
        },
        {"type": "http.response.body", "body": b""},
    ]
    assert source.produced == 0
    assert source.closed


async def test_sources_without_close_methods_work() -> None:
    class Plain:
        def __init__(self) -> None:
            self.left = [1, 2]

        def __aiter__(self) -> Plain:
            return self

        async def __anext__(self) -> int:
            if not self.left:
                raise StopAsyncIteration
            return self.left.pop(0)

    send = Recorder()
    await NDJSONResponse(Plain())(http_scope(), receive_never, send)
    assert send.body == b"1\n2\n"
    for content in (Plain(), range(2)):
        send = Recorder()
        await NDJSONResponse(content)(http_scope("HEAD"), receive_never, send)
        assert send.body == b""


class Endless:
    """An endless producer of objects that waits forever after ``stop_after`` of them."""

    def __init__(self, stop_after: int = 2) -> None:
        self.stop_after = stop_after
        self.count = 0
        self.waiting = anyio.Event()
        self.closed = False

    async def produce(self) -> AsyncIterator[Any]:
        try:
            while True:
                if self.count == self.stop_after:
                    self.waiting.set()
                    await anyio.Event().wait()
                self.count += 1
                yield {"tick": self.count}
        finally:
            self.closed = True


async def test_http_disconnect_stops_and_closes_the_producer() -> None:
    producer = Endless()

    async def receive() -> Message:
        await producer.waiting.wait()
        return {"type": "http.disconnect"}

    send = Recorder()
    ran: list[bool] = []
    response = NDJSONResponse(producer.produce(), background=BackgroundTask(ran.append, True))
    await response(http_scope(spec_version="2.3"), receive, send)
    assert send.body == b'{"tick":1}\n{"tick":2}\n'
    assert producer.closed
    assert ran == [True]


async def test_oserror_from_send_stops_and_closes_the_producer() -> None:
    for sync in (False, True):
        source = Closing(list(range(10)))
        send = Recorder(gone_after=2)  # the start and one line, then the client is gone
        response = NDJSONResponse(source.iter() if sync else source.aiter())
        await response(http_scope(), receive_never, send)
        assert send.body == b"0\n"
        assert source.closed == ["sync" if sync else "async"]
