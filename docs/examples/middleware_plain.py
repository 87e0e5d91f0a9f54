import time

from microasgi.applications import MicroASGI
from microasgi.datastructures import MutableHeaders
from microasgi.middleware import Middleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.types import ASGIApp, Message, Receive, Scope, Send


class TimingMiddleware:
    """Add ``server-timing`` to every HTTP response; everything else passes through untouched."""

    def __init__(self, app: ASGIApp, *, metric: str = "app") -> None:
        # Configuration is computed once, here; nothing about a request is kept on self.
        self.app = app
        self.metric = metric

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter() - start) * 1000
                headers = MutableHeaders(scope=message)  # edits message["headers"] in place
                headers.append("server-timing", f"{self.metric};dur={elapsed_ms:.1f}")
            await send(message)

        await self.app(scope, receive, send_with_timing)


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


app = MicroASGI(
    routes=[Route("/", hello)],
    middleware=[Middleware(TimingMiddleware, metric="total")],
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_the_middleware_adds_its_header() -> None:
    response = await AsyncTestClient(app).get("/")
    assert response.text == "hello"
    assert response.headers["server-timing"].startswith("total;dur=")


def test_options_are_checked_when_declared() -> None:
    import pytest

    with pytest.raises(TypeError, match="TimingMiddleware does not accept these options"):
        Middleware(TimingMiddleware, metrc="total")  # type: ignore[call-arg]
