"""WebSocketException closes through the exception handlers; an unhandled error goes to the server."""

from __future__ import annotations

import pytest

from microasgi import status
from microasgi.applications import MicroASGI
from microasgi.exceptions import WebSocketException
from microasgi.routing import WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.websockets import WebSocket, WebSocketDisconnect


async def commands(websocket: WebSocket) -> None:
    await websocket.accept()
    async for command in websocket.iter_text():
        if command == "quit":
            raise WebSocketException(status.WS_1008_POLICY_VIOLATION, "quit is not allowed")
        if command == "crash":
            raise RuntimeError("bug")
        await websocket.send_text(f"ok {command}")


async def on_lookup_error(websocket: WebSocket, exc: LookupError) -> None:
    await websocket.close(4004, "not found")  # a handler gets the WebSocket and closes it


app = MicroASGI(
    routes=[WebSocketRoute("/cmd", commands)],
    exception_handlers={LookupError: on_lookup_error},
)


async def test_websocket_exception() -> None:
    async with AsyncTestClient(app).websocket_connect("/cmd") as session:
        await session.send_text("ls")
        assert await session.receive_text() == "ok ls"
        await session.send_text("quit")
        with pytest.raises(WebSocketDisconnect) as caught:
            await session.receive_text()
    assert (caught.value.code, caught.value.reason) == (1008, "quit is not allowed")


async def test_unhandled_error() -> None:
    # The error reaches the server as itself; the test client raises it, as Starlette's does.
    async with AsyncTestClient(app).websocket_connect("/cmd") as session:
        await session.send_text("crash")
        with pytest.raises(RuntimeError, match="bug"):
            await session.receive_text()
    # Acting as a server instead, the client closes the connection with 1011 (internal error).
    client = AsyncTestClient(app, raise_server_exceptions=False)
    async with client.websocket_connect("/cmd") as session:
        await session.send_text("crash")
        with pytest.raises(WebSocketDisconnect) as caught:
            await session.receive_text()
    assert caught.value.code == 1011
