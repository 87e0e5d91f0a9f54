"""A raw ASGI app using just WebSocket: greet the client by name, then close."""

from __future__ import annotations

import pytest

from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send
from microasgi.websockets import WebSocket, WebSocketDisconnect


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    websocket = WebSocket(scope, receive, send)
    await websocket.accept()
    name = await websocket.receive_text()
    await websocket.send_text(f"Hello, {name}!")
    await websocket.close(reason="bye")


async def test_greeting() -> None:
    async with AsyncTestClient(app).websocket_connect("/") as session:
        await session.send_text("Ada")
        assert await session.receive_text() == "Hello, Ada!"
        with pytest.raises(WebSocketDisconnect) as closed:
            await session.receive_text()
    assert (closed.value.code, closed.value.reason) == (1000, "bye")
