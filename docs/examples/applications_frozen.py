import pytest

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response


async def ping(request: Request) -> Response:
    return PlainTextResponse("pong")


app = MicroASGI()
app.add_route("/ping", ping)  # fine: the app has not started yet


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_configuration_is_frozen_at_start() -> None:
    assert (await AsyncTestClient(app).get("/ping")).text == "pong"
    # The first call built the middleware stack: from now on the app refuses changes, and the
    # error says how to declare them instead.
    with pytest.raises(RuntimeError, match=r"Declare it when creating the app: MicroASGI\(routes="):
        app.add_route("/late", ping)
