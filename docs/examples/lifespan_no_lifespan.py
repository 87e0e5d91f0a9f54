import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route, Router
from microasgi.testclient import AsyncTestClient


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[dict[str, str]]:
    yield {"cache": "warm"}


async def home(request: Request) -> Response:
    return PlainTextResponse(getattr(request.state, "cache", "cold"))


def make_app() -> Router:
    return Router([Route("/", home)], lifespan=lifespan)


app = make_app()


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_a_server_without_lifespan() -> None:
    collect = Collect()
    logging.getLogger("microasgi").addHandler(collect)
    try:
        # No "async with": no lifespan events at all, like daphne. (A fresh app: the warning is
        # logged once per app, and this test runs once per event loop.)
        client = AsyncTestClient(make_app())
        assert (await client.get("/")).text == "cold"  # served, without the lifespan state
        assert (await client.get("/")).text == "cold"
    finally:
        logging.getLogger("microasgi").removeHandler(collect)
    assert len(collect.messages) == 1  # logged once, at the first request
    assert "The server sent no lifespan events" in collect.messages[0]
