"""Starlette's GZipResponder: an ASGI app that gzips another app's responses."""

import gzip

from microasgi.middleware.gzip import GZipResponder
from microasgi.responses import PlainTextResponse

app = GZipResponder(PlainTextResponse("hello " * 200), minimum_size=500)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_gzip_responder() -> None:
    # The client undoes the coding it was sent; the raw bytes show it was gzip.
    response = await AsyncTestClient(app).get("/")
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == "hello " * 200
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert gzip.decompress(raw) == b"hello " * 200
