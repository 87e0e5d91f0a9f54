"""pathsend and zerocopysend: typed messages, and what the test client records of them."""

from __future__ import annotations

from pathlib import Path

import anyio

from microasgi.testclient import AsyncTestClient
from microasgi.types import (
    HTTPResponseBodyEvent,
    HTTPResponsePathsendEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

FILE = Path(__file__).resolve()  # this very file is what the app serves


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    # File system calls block: they run in a worker thread, never on the event loop.
    data_size = (await anyio.Path(FILE).stat()).st_size
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 200,
        # SPEC: with pathsend the app sets Content-Type and Content-Length itself.
        "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % data_size)],
    }
    await send(start)  # type: ignore[arg-type]
    if "http.response.pathsend" in (scope.get("extensions") or {}):
        pathsend: HTTPResponsePathsendEvent = {"type": "http.response.pathsend", "path": str(FILE)}
        await send(pathsend)  # type: ignore[arg-type]
    else:  # the fallback: read the file and send it as a body
        data = await anyio.Path(FILE).read_bytes()
        body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": data}
        await send(body)  # type: ignore[arg-type]


async def test_pathsend_is_recorded() -> None:
    client = AsyncTestClient(app, extensions={"http.response.pathsend": {}})
    response = await client.get("/")
    assert response.content == FILE.read_bytes()  # the client reads the file, as a server would
    assert response.extension_messages == [{"type": "http.response.pathsend", "path": str(FILE)}]


async def test_fallback_body() -> None:
    response = await AsyncTestClient(app).get("/")
    assert response.content == FILE.read_bytes()
    assert response.extension_messages == []
