"""FileResponse in a raw ASGI app: the file, its validators and a download name."""

from __future__ import annotations

from pathlib import Path

from microasgi.responses import FileResponse
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

HELLO = Path(__file__).parent / "static" / "hello.txt"


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Send hello.txt; ask the browser to save it as 'greeting.txt'."""
    response = FileResponse(HELLO, filename="greeting.txt")
    await response(scope, receive, send)


async def test_file_and_headers() -> None:
    response = await AsyncTestClient(app).get("/")
    assert response.content == b"Hello from a static file.\n"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="greeting.txt"'
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"].endswith(" GMT")


async def test_head_has_no_body() -> None:
    response = await AsyncTestClient(app).head("/")
    assert response.headers["content-length"] == "26"
    assert response.content == b""


async def unicode_name(scope: Scope, receive: Receive, send: Send) -> None:
    """A non-ASCII download name: an ASCII fallback plus the exact name in filename*."""
    await FileResponse(HELLO, filename="résumé.txt", content_disposition_type="inline")(
        scope, receive, send
    )


async def test_unicode_filename() -> None:
    response = await AsyncTestClient(unicode_name).get("/")
    assert response.headers["content-disposition"] == (
        "inline; filename=\"resume.txt\"; filename*=utf-8''r%C3%A9sum%C3%A9.txt"
    )


async def report(scope: Scope, receive: Receive, send: Send) -> None:
    """Nothing readable is left of this name in ASCII: the fallback is 'download.data'."""
    await FileResponse(HELLO, filename="報告.data")(scope, receive, send)


async def test_fallback_name_and_unknown_type() -> None:
    response = await AsyncTestClient(report).get("/")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"download.data\"; filename*=utf-8''%E5%A0%B1%E5%91%8A.data"
    )
    # No known type for ".data": opaque bytes, as in Starlette.
    assert response.headers["content-type"] == "application/octet-stream"
