from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Mount, Route

events: list[str] = []


def named_lifespan(name: str) -> Any:
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, str]]:
        events.append(f"{name} up")
        yield {name: "ready"}
        events.append(f"{name} down")

    return lifespan


async def both(request: Request) -> Response:
    return PlainTextResponse(f"{request.state.main} {request.state.api}")


api = MicroASGI(routes=[Route("/", both)], lifespan=named_lifespan("api"))
app = MicroASGI(routes=[Mount("/api", app=api)], lifespan=named_lifespan("main"))


def test_mounted_lifespans_run() -> None:
    from microasgi.testclient import TestClient

    events.clear()
    with TestClient(app) as client:
        assert client.get("/api/").text == "ready ready"
    assert events == ["main up", "api up", "api down", "main down"]
