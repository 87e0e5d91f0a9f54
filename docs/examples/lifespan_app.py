from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route, Router
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


class Database:
    def __init__(self) -> None:
        self.connected = False


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
    db = Database()
    db.connected = True  # startup: before the first request
    yield {"db": db}  # the lifespan state: every request gets a shallow copy
    db.connected = False  # shutdown: after the last request


async def status(request: Request) -> Response:
    return PlainTextResponse(f"connected={request.state.db.connected}")


router = Router([Route("/status", status)], lifespan=lifespan)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    # The router answers the lifespan scope (startup, shutdown) as well as requests.
    await router(scope, receive, send)


async def test_state_reaches_requests() -> None:
    async with AsyncTestClient(app) as client:  # runs startup, then shutdown at the end
        assert (await client.get("/status")).text == "connected=True"
        assert client.app_state is not None


async def test_without_server_state_support() -> None:
    # A server that offers no "state": the router copies the state into requests itself.
    async with AsyncTestClient(app, lifespan_state=False) as client:
        assert (await client.get("/status")).text == "connected=True"
