from collections.abc import Iterator

from microasgi.requests import Request
from microasgi.responses import JSONResponse
from microasgi.types import ASGIApp, Receive, Scope, Send

audit: list[int] = []


class AuditBodySize:
    """A plain ASGI middleware that reads the body before the application does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            audit.append(len(await Request(scope, receive).body()))
        await self.app(scope, receive, send)


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    if request.url.path == "/upload":
        # stream() yields each chunk as it arrives: a large upload is never held in memory.
        # (Here the middleware already read the body, so it comes as one cached chunk.) As in
        # Starlette, the stream ends with an empty chunk.
        sizes = [len(chunk) async for chunk in request.stream()]
        data: dict[str, object] = {"chunks": sizes}
    else:
        # The body read by the middleware is read again here, from the scope, not from receive.
        data = {"echo": (await request.body()).decode()}
    await JSONResponse(data)(scope, receive, send)


async def streaming_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    sizes = [len(chunk) async for chunk in request.stream()]
    await JSONResponse({"chunks": sizes})(scope, receive, send)


app = AuditBodySize(endpoint)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


def pieces() -> Iterator[bytes]:
    yield b"a" * 10
    yield b"b" * 20


async def test_middleware_and_endpoint_both_read_the_body() -> None:
    audit.clear()
    client = AsyncTestClient(app)
    echoed = await client.post("/echo", content=b"hello")
    uploaded = await client.post("/upload", content=pieces())
    assert echoed.json() == {"echo": "hello"}
    assert uploaded.json() == {"chunks": [30, 0]}
    assert audit == [5, 30]


async def test_stream_yields_chunks_as_they_arrive() -> None:
    client = AsyncTestClient(streaming_endpoint)
    response = await client.post("/upload", content=pieces())
    assert response.json() == {"chunks": [10, 20, 0]}
