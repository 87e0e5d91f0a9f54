"""BodyLimitMiddleware in front of a raw ASGI app that reads the body with receive()."""

from microasgi.middleware.body_limit import BodyLimitMiddleware
from microasgi.types import Receive, Scope, Send


async def upload(scope: Scope, receive: Receive, send: Send) -> None:
    size = 0
    more_body = True
    while more_body:
        message = await receive()  # raises RequestBodyTooLarge past the limit
        size += len(message.get("body", b""))
        more_body = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": f"{size} bytes".encode()})


app = BodyLimitMiddleware(upload, max_body_size=1024)


from collections.abc import AsyncIterator  # noqa: E402 (imported here to read as a second step)

from microasgi.testclient import AsyncTestClient  # noqa: E402


async def chunks(count: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b"x" * 512  # no Content-Length: the body is counted as it arrives


async def test_within_the_limit() -> None:
    response = await AsyncTestClient(app).post("/", content=b"x" * 1024)
    assert response.text == "1024 bytes"


async def test_declared_too_large_is_refused_before_the_app_runs() -> None:
    response = await AsyncTestClient(app).post("/", content=b"x" * 1025)
    assert response.status_code == 413
    assert response.text == "Content Too Large"


async def test_streamed_too_large_is_stopped_at_the_limit() -> None:
    response = await AsyncTestClient(app).post("/", content=chunks(3))
    assert response.status_code == 413
