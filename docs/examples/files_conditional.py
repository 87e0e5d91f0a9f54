"""Conditional requests and ranges: 304, 412, 206 (single and multipart) and 416."""

from __future__ import annotations

from pathlib import Path

from microasgi.responses import FileResponse
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

HELLO = Path(__file__).parent / "static" / "hello.txt"  # "Hello from a static file.\n"


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await FileResponse(HELLO)(scope, receive, send)


async def test_revalidation_gives_304() -> None:
    client = AsyncTestClient(app)
    first = await client.get("/")
    again = await client.get("/", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    since = await client.get("/", headers={"if-modified-since": first.headers["last-modified"]})
    assert since.status_code == 304


async def test_failed_precondition_gives_412() -> None:
    response = await AsyncTestClient(app).get("/", headers={"if-match": '"some-other-version"'})
    assert response.status_code == 412


async def test_one_range() -> None:
    response = await AsyncTestClient(app).get("/", headers={"range": "bytes=0-4"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "bytes 0-4/26"
    assert response.content == b"Hello"


async def test_several_ranges() -> None:
    # Overlapping ranges are merged; the rest come as multipart/byteranges.
    response = await AsyncTestClient(app).get("/", headers={"range": "bytes=0-2,1-4,-6"})
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert b"Content-Range: bytes 0-4/26\r\n\r\nHello\r\n" in response.content
    assert b"Content-Range: bytes 20-25/26\r\n\r\nfile.\n\r\n" in response.content


async def test_unsatisfiable_range_gives_416() -> None:
    response = await AsyncTestClient(app).get("/", headers={"range": "bytes=100-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */26"


async def test_stale_if_range_gives_the_whole_file() -> None:
    response = await AsyncTestClient(app).get(
        "/", headers={"range": "bytes=0-4", "if-range": '"an-old-etag"'}
    )
    assert response.status_code == 200
    assert response.content == b"Hello from a static file.\n"
