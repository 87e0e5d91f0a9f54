"""StaticFiles as a plain ASGI app: it serves the files under docs/examples/static."""

from __future__ import annotations

from pathlib import Path

from microasgi.staticfiles import StaticFiles
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

STATIC = Path(__file__).parent / "static"
static = StaticFiles(directory=STATIC)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await static(scope, receive, send)


async def test_serves_a_file() -> None:
    response = await AsyncTestClient(app).get("/css/app.css")
    assert response.content == b"body { color: #333; }\n"
    assert response.headers["content-type"] == "text/css; charset=utf-8"


async def test_conditional_get() -> None:
    client = AsyncTestClient(app)
    etag = (await client.get("/hello.txt")).headers["etag"]
    response = await client.get("/hello.txt", headers={"if-none-match": etag})
    assert response.status_code == 304
