"""Background work owned by the lifespan: started by an endpoint, finished or cancelled at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from microasgi import MicroASGI, Request, Route
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.testclient import AsyncTestClient

sent: list[str] = []


async def send_welcome_mail(address: str) -> None:
    await anyio.sleep(0.01)  # talking to a mail server
    sent.append(address)


cache: dict[str, int] = {}


async def refresh_cache_forever() -> None:
    while True:  # cancelled at shutdown, after the grace period
        cache["refreshed"] = cache.get("refreshed", 0) + 1
        await anyio.sleep(60)


async def sign_up(request: Request) -> Response:
    address = (await request.json())["email"]
    request.app.tasks.start(send_welcome_mail, address)  # runs on after the response
    return JSONResponse({"status": "welcome mail on its way"}, status_code=202)


async def report(request: object, exc: Exception) -> Response:
    # The application's handler for Exception also hears of failed background work
    # (request is None then: no request is involved).
    return PlainTextResponse("Internal Server Error", status_code=500)


@asynccontextmanager
async def lifespan(app: MicroASGI) -> AsyncIterator[None]:
    app.tasks.start(refresh_cache_forever)
    yield
    # app.tasks has already finished (or cancelled) its work here: resources it used can close.


app = MicroASGI(
    routes=[Route("/sign-up", sign_up, methods=["POST"])],
    lifespan=lifespan,
    exception_handlers={Exception: report},
    shutdown_timeout=5,  # seconds running work gets at shutdown before it is cancelled
)


async def test_work_outlives_the_request() -> None:
    sent.clear()
    async with AsyncTestClient(app) as client:
        response = await client.post("/sign-up", json={"email": "ada@example.com"})
        assert response.status_code == 202
    # Leaving the block shut the lifespan down: the mail was sent within the grace period,
    # and the endless refresh was cancelled.
    assert sent == ["ada@example.com"]
    assert app.tasks.running == 0


def test_tasks_need_a_running_lifespan() -> None:
    fresh = MicroASGI()  # never started: a test client without "with", say
    with pytest.raises(RuntimeError, match="lifespan has not started"):
        fresh.tasks.start(send_welcome_mail, "nobody@example.com")
