"""Timeouts: a default for the application, a tighter one with Retry-After for a slow route, none
for a stream that is meant to stay open."""

from collections.abc import AsyncIterator

import anyio

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Route, Timeout

cleaned_up: list[str] = []


async def report(request: Request) -> Response:
    try:
        await anyio.sleep_forever()  # a query that does not come back in time
    finally:
        cleaned_up.append("report")  # cancelled at the deadline: finally blocks run
    return PlainTextResponse("never sent")


async def home(request: Request) -> Response:
    return PlainTextResponse("home")


async def ticks() -> AsyncIterator[str]:
    for i in range(3):
        yield f"tick {i}\n"


async def feed(request: Request) -> Response:
    return StreamingResponse(ticks(), media_type="text/plain")


app = MicroASGI(
    routes=[
        Route("/", home),
        # Short so that the test below runs fast; a real deadline is seconds.
        Route("/report", report, timeout=Timeout(0.1, retry_after=30)),
        Route("/feed", feed, timeout=None),  # long-lived: no deadline
    ],
    timeout=30,  # every other route
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_a_route_past_its_deadline_answers_503() -> None:
    cleaned_up.clear()
    response = await AsyncTestClient(app).get("/report")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert cleaned_up == ["report"]


async def test_the_others_answer_as_usual() -> None:
    client = AsyncTestClient(app)
    assert (await client.get("/")).text == "home"
    assert (await client.get("/feed")).text == "tick 0\ntick 1\ntick 2\n"
