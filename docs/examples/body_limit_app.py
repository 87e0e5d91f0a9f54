"""BodyLimitMiddleware around a mounted app that is not microasgi's, and Request agreeing."""

from microasgi.applications import MicroASGI
from microasgi.middleware.body_limit import BodyLimitMiddleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Mount, Route
from microasgi.types import Receive, Scope, Send


async def legacy(scope: Scope, receive: Receive, send: Send) -> None:
    """Some other framework's app: it reads receive() itself, knowing nothing of limits."""
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"got %d" % len(message["body"])})


async def notes(request: Request) -> Response:
    return PlainTextResponse(f"{len(await request.body())} bytes")


app = MicroASGI(
    routes=[
        Route("/notes", notes, methods=["POST"]),
        Mount("/legacy", BodyLimitMiddleware(legacy, max_body_size=100)),
    ],
    max_body_size=1000,
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_the_mounted_app_is_protected() -> None:
    client = AsyncTestClient(app)
    assert (await client.post("/legacy/", content=b"x" * 100)).text == "got 100"
    assert (await client.post("/legacy/", content=b"x" * 101)).status_code == 413


async def test_the_routes_keep_the_applications_limit() -> None:
    client = AsyncTestClient(app)
    assert (await client.post("/notes", content=b"x" * 1000)).text == "1000 bytes"
    assert (await client.post("/notes", content=b"x" * 1001)).status_code == 413
