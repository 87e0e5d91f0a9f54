from collections.abc import AsyncIterator, Iterator

import anyio

from microasgi.responses import AsyncContentStream, StreamingResponse
from microasgi.types import Receive, Scope, Send

cleaned_up = anyio.Event()


async def countdown() -> AsyncIterator[str]:
    try:
        for n in range(3, 0, -1):
            yield f"{n}\n"  # str chunks are encoded with the response charset
            await anyio.lowlevel.checkpoint()
        yield "liftoff\n"
    finally:
        cleaned_up.set()  # runs on completion and when the client leaves early


def read_lines() -> Iterator[bytes]:
    # A blocking generator: each step runs in a worker thread, not on the event loop.
    yield from (b"line 1\n", b"line 2\n")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    content = countdown() if scope["path"] == "/countdown" else read_lines()
    response = StreamingResponse(content, media_type="text/plain")
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_streaming() -> None:
    client = AsyncTestClient(app)
    countdown_response = await client.get("/countdown")
    lines = await client.get("/lines")
    assert countdown_response.text == "3\n2\n1\nliftoff\n"
    assert "content-length" not in countdown_response.headers
    assert lines.text == "line 1\nline 2\n"
    assert cleaned_up.is_set()


async def greeting(name: str) -> AsyncContentStream:
    # Starlette's alias for an async iterable of chunks (str, bytes or memoryview).
    yield "hello, "
    yield name.encode()


async def test_annotated_producer() -> None:
    response = await AsyncTestClient(StreamingResponse(greeting("ada"))).get("/")
    assert response.text == "hello, ada"
