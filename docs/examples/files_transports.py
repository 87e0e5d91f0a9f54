"""The transport follows the server: pathsend, else zerocopysend, else chunks in a thread."""

from __future__ import annotations

from pathlib import Path

from microasgi.responses import FileResponse
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

HELLO = (Path(__file__).parent / "static" / "hello.txt").resolve()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await FileResponse(HELLO)(scope, receive, send)


async def test_pathsend() -> None:
    client = AsyncTestClient(app, extensions={"http.response.pathsend": {}})
    response = await client.get("/")
    assert response.extension_messages == [{"type": "http.response.pathsend", "path": str(HELLO)}]
    assert response.content == b"Hello from a static file.\n"  # the server reads the file


async def test_zerocopysend() -> None:
    client = AsyncTestClient(app, extensions={"http.response.zerocopysend": {}})
    response = await client.get("/", headers={"range": "bytes=6-9"})
    (message,) = response.extension_messages
    assert (message["offset"], message["count"]) == (6, 4)
    assert message["file"].closed  # the response closed it once sent
    assert response.content == b"from"


async def test_chunks_without_extensions() -> None:
    response = await AsyncTestClient(app, extensions={}).get("/")
    assert response.extension_messages == []
    assert response.content == b"Hello from a static file.\n"
