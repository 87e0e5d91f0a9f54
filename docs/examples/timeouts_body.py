"""body_timeout: an upload that stops arriving is answered 408 instead of holding the request."""

from collections.abc import AsyncIterator

import anyio

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route


async def upload(request: Request) -> Response:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return PlainTextResponse(f"stored {size} bytes")


# Short so that the test below runs fast; a real body timeout is seconds.
app = MicroASGI(routes=[Route("/upload", upload, methods=["POST"])], body_timeout=0.05)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_a_steady_upload_is_stored() -> None:
    response = await AsyncTestClient(app).post("/upload", content=b"x" * 1000)
    assert response.text == "stored 1000 bytes"


async def test_a_stalled_upload_answers_408() -> None:
    async def stalls() -> AsyncIterator[bytes]:
        yield b"the first part"
        await anyio.sleep_forever()  # and then nothing: a slow or stuck client

    response = await AsyncTestClient(app).post("/upload", content=stalls())
    assert response.status_code == 408
    assert response.headers["connection"] == "close"
