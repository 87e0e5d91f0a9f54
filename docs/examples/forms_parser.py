"""``MultiPartParser`` on its own, in a raw ASGI app, fed straight from ``receive``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from microasgi.datastructures import Headers, UploadFile
from microasgi.formparsers import MultiPartException, MultiPartParser
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.types import Receive, Scope, Send


async def body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body straight from ``receive`` (what ``request.stream()`` does for you)."""
    more_body = True
    while more_body:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more_body = message.get("more_body", False)
        yield message.get("body", b"")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    parser = MultiPartParser(
        Headers(scope=scope), body_chunks(receive), max_files=2, max_file_size=1024
    )
    response: Response
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        response = PlainTextResponse(exc.message, exc.status_code)
    else:
        try:
            sizes = {n: v.size for n, v in form.multi_items() if isinstance(v, UploadFile)}
            response = JSONResponse(sizes)
        finally:
            await form.close()  # deletes the temporary files
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_parse_uploads() -> None:
    client = AsyncTestClient(app)
    response = await client.post("/", files={"a": ("a.txt", b"abc"), "b": ("b.txt", b"")})
    too_big = await client.post("/", files={"a": ("a.txt", b"x" * 1025)})
    assert response.json() == {"a": 3, "b": 0}
    assert too_big.status_code == 413
