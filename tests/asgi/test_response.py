"""``microasgi._asgi.response``: the helpers responses share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from microasgi._asgi.response import _body_cannot_be_stolen
from microasgi.responses import StreamingResponse
from microasgi.types import Message, Scope


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        # A scope built by hand (a unit test of a middleware) may have no headers at all.
        ({"type": "http"}, True),
        ({"type": "http", "http_version": "2", "method": "POST"}, False),
        ({"type": "http", "http_version": "2", "method": "GET"}, True),
        ({"type": "http", "headers": [(b"content-length", b"0")], "http_version": "2"}, True),
        ({"type": "http", "headers": [(b"content-length", b"5")]}, False),
        ({"type": "http", "headers": [(b"transfer-encoding", b"chunked")]}, False),
    ],
)
def test_body_cannot_be_stolen(scope: Scope, expected: bool) -> None:
    assert _body_cannot_be_stolen(scope) is expected


async def test_a_stream_on_a_scope_without_headers_stops_when_the_client_leaves() -> None:
    streamed = 0
    disconnected = anyio.Event()

    async def receive() -> Message:
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal streamed
        if message["type"] == "http.response.body":
            streamed += len(message.get("body", b""))
            if streamed >= 16:
                disconnected.set()

    async def forever() -> AsyncIterator[bytes]:
        while True:
            await anyio.lowlevel.checkpoint()
            yield b"chunk "

    with anyio.fail_after(5):
        await StreamingResponse(forever())({"type": "http"}, receive, send)
    assert streamed >= 16
