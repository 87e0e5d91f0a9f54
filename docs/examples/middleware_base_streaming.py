"""BaseHTTPMiddleware keeps streaming and background tasks as the endpoint wrote them."""

from collections.abc import AsyncGenerator

import anyio

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.middleware import Middleware
from microasgi.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from microasgi.requests import Request
from microasgi.responses import Response, StreamingResponse
from microasgi.routing import Route


class NoStoreMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)  # returns once the headers are ready
        response.headers["cache-control"] = "no-store"
        return response  # the body streams through as the endpoint produces it


proceed = anyio.Event()
cleaned_up: list[str] = []


async def report(request: Request) -> Response:
    async def lines() -> AsyncGenerator[str, None]:
        yield "first line\n"
        await proceed.wait()  # the client has the first line while we wait
        yield "second line\n"

    return StreamingResponse(
        lines(), media_type="text/plain", background=BackgroundTask(cleaned_up.append, "done")
    )


app = MicroASGI(routes=[Route("/report", report)], middleware=[Middleware(NoStoreMiddleware)])


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_the_body_streams_through_the_middleware() -> None:
    global proceed
    proceed = anyio.Event()  # a fresh event for each run (asyncio and trio)
    cleaned_up.clear()
    async with AsyncTestClient(app).stream("GET", "/report") as response:
        assert response.headers["cache-control"] == "no-store"
        lines = response.aiter_lines()
        assert await anext(lines) == "first line"  # while the endpoint is still waiting
        proceed.set()
        assert await anext(lines) == "second line"
    assert cleaned_up == ["done"]  # the background task ran after the response
