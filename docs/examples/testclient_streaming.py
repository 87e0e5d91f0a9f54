"""Streaming: the test reads each chunk while the app is still producing the next."""

from __future__ import annotations

import anyio

from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

proceed = anyio.Event()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Send a first chunk, then wait for the test before sending the rest."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"first\n", "more_body": True})
    await proceed.wait()
    await send({"type": "http.response.body", "body": b"second\n"})


async def test_stream_incrementally() -> None:
    global proceed
    proceed = anyio.Event()  # a fresh event for each run (asyncio and trio)
    async with AsyncTestClient(app).stream("GET", "/") as response:
        lines = response.aiter_lines()
        assert await anext(lines) == "first"  # the app is still waiting here
        proceed.set()
        assert await anext(lines) == "second"


async def app_forever(scope: Scope, receive: Receive, send: Send) -> None:
    """Stream until the client goes away; with spec 2.4, send() then raises OSError."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    try:
        while True:
            await send({"type": "http.response.body", "body": b"tick", "more_body": True})
    except OSError:
        stopped.append(True)


stopped: list[bool] = []


async def test_leaving_early_disconnects() -> None:
    stopped.clear()
    async with AsyncTestClient(app_forever).stream("GET", "/") as response:
        async for chunk in response.aiter_bytes():
            assert chunk == b"tick"
            break
    assert stopped == [True]
