"""zstd where the interpreter has compression.zstd (Python 3.14+), gzip otherwise."""

from microasgi.middleware.gzip import HAS_ZSTD, GZipMiddleware
from microasgi.responses import PlainTextResponse

app = GZipMiddleware(PlainTextResponse("zstd or gzip? " * 100), zstd_level=3)
gzip_only = GZipMiddleware(PlainTextResponse("gzip only " * 100), zstd_level=None)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_zstd_is_preferred_where_available() -> None:
    response = await AsyncTestClient(app).get("/", headers={"accept-encoding": "gzip, zstd"})
    assert response.headers["content-encoding"] == ("zstd" if HAS_ZSTD else "gzip")


async def test_zstd_can_be_turned_off() -> None:
    client = AsyncTestClient(gzip_only)
    response = await client.get("/", headers={"accept-encoding": "gzip, zstd"})
    assert response.headers["content-encoding"] == "gzip"
