"""Keep-alive pings while the producer is idle, and a producer stopped when the client leaves."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio

from microasgi.responses import EventSourceResponse
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

state = {"closed": False}
news = anyio.Event()


async def headlines() -> AsyncIterator[str]:
    try:
        yield "morning edition"
        await news.wait()  # nothing to say for a while: pings keep the connection open
        yield "breaking news"
        await anyio.sleep_forever()  # idle until the client leaves
    finally:
        state["closed"] = True  # runs as soon as the client has gone


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await EventSourceResponse(headlines(), ping=0.01)(scope, receive, send)


async def test_pings_then_disconnect() -> None:
    global news
    news = anyio.Event()  # a fresh event for each run (asyncio and trio)
    state["closed"] = False
    async with AsyncTestClient(app).stream("GET", "/") as response:
        chunks = response.aiter_bytes()
        chunk = await anext(chunks)
        while chunk == b": ping\n\n":  # a ping may even come first
            chunk = await anext(chunks)
        assert chunk == b"data: morning edition\n\n"
        assert await anext(chunks) == b": ping\n\n"  # idle for 0.01 s: a comment line
        news.set()
        chunk = await anext(chunks)
        while chunk == b": ping\n\n":
            chunk = await anext(chunks)
        assert chunk == b"data: breaking news\n\n"
    # Leaving the block disconnected the client: the generator was closed, not left hanging.
    assert state["closed"]
