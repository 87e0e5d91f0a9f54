"""GZipMiddleware in an application, with a stream, an event stream and an excluded type."""

from collections.abc import AsyncIterator

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from microasgi.requests import Request
from microasgi.responses import Response, StreamingResponse
from microasgi.routing import Route


async def report(request: Request) -> Response:
    async def rows() -> AsyncIterator[str]:
        for number in range(100):
            yield f"row {number}\n"  # each row is compressed and flushed as it is produced

    return StreamingResponse(rows(), media_type="text/plain")


async def photo(request: Request) -> Response:
    return Response(b"\x89PNG" + bytes(2000), media_type="image/png")


app = MicroASGI(
    routes=[Route("/report", report), Route("/photo.png", photo)],
    middleware=[
        Middleware(
            GZipMiddleware,
            minimum_size=1000,
            # Already-compressed formats gain nothing: skip them along with the defaults.
            exclude_content_types=[*DEFAULT_EXCLUDED_CONTENT_TYPES, "image/*"],
        )
    ],
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_a_stream_is_compressed_as_it_goes() -> None:
    client = AsyncTestClient(app, headers={"accept-encoding": "gzip"})
    async with client.stream("GET", "/report") as response:
        assert response.headers["content-encoding"] == "gzip"
        assert "content-length" not in response.headers
        lines = [line async for line in response.aiter_lines()]
    assert lines[:2] == ["row 0", "row 1"]
    assert len(lines) == 100


async def test_excluded_types_are_sent_as_they_are() -> None:
    client = AsyncTestClient(app, headers={"accept-encoding": "gzip"})
    response = await client.get("/photo.png")
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == "2004"
