"""Typed lifespan state: Request[AppState] types request.state as what the lifespan yields."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict, assert_type

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.websockets import WebSocket


class AppState(TypedDict):
    greeting: str
    visits: list[str]


@asynccontextmanager
async def lifespan(app: MicroASGI) -> AsyncIterator[AppState]:
    yield {"greeting": "hello", "visits": []}


async def hello(request: Request[AppState]) -> Response:
    state = request.state
    assert_type(state, AppState)  # checked by mypy: the keys and their types are known
    state["visits"].append(request.url.path)
    return JSONResponse({"text": state["greeting"], "visits": len(state["visits"])})


async def untyped(request: Request) -> Response:
    # A plain Request has a State: a mapping, and an attribute bag as well.
    return JSONResponse({"text": request.state.greeting, "same": request.state["greeting"]})


app = MicroASGI(routes=[Route("/", hello), Route("/untyped", untyped)], lifespan=lifespan)


async def test_typed_state() -> None:
    async with AsyncTestClient(app) as client:
        await client.get("/")
        response = await client.get("/")
        untyped_response = await client.get("/untyped")
    assert response.json() == {"text": "hello", "visits": 2}
    assert untyped_response.json() == {"text": "hello", "same": "hello"}


async def ws_hello(websocket: WebSocket[AppState]) -> None:
    assert_type(websocket.state, AppState)  # a WebSocket is generic in its state too
    await websocket.accept()
    await websocket.send_text(websocket.state["greeting"])
    await websocket.close()


ws_app = MicroASGI(routes=[WebSocketRoute("/ws", ws_hello)], lifespan=lifespan)


async def test_typed_state_on_a_websocket() -> None:
    async with AsyncTestClient(ws_app) as client, client.websocket_connect("/ws") as session:
        assert await session.receive_text() == "hello"
