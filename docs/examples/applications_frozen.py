import pytest

from microasgi.applications import MicroASGI
from microasgi.middleware.gzip import GZipMiddleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response


async def ping(request: Request) -> Response:
    return PlainTextResponse("pong")


app = MicroASGI()
app.add_route("/ping", ping)  # fine: the app has not started yet


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_the_middleware_stack_is_frozen_at_start() -> None:
    client = AsyncTestClient(app)
    assert (await client.get("/ping")).text == "pong"
    # The first call built the middleware stack: from now on it refuses new middleware and
    # exception handlers, and the error says how to declare them instead.
    with pytest.raises(RuntimeError, match=r"Declare it when creating the app: MicroASGI\(middle"):
        app.add_middleware(GZipMiddleware)
    # Routes may still be added, as in Starlette.
    app.add_route("/late", ping)
    assert (await client.get("/late")).text == "pong"
