"""Text, bytes and JSON; subprotocols and handshake headers; iterating until the client leaves."""

from __future__ import annotations

from typing import Any

from microasgi.routing import Router, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.websockets import WebSocket

log: list[Any] = []


async def calculator(websocket: WebSocket) -> None:
    # Speak the subprotocol the client prefers among those we know; add a handshake header.
    chosen = next((p for p in websocket.scope["subprotocols"] if p in ("calc.v2", "calc.v1")), None)
    await websocket.accept(subprotocol=chosen, headers={"X-Server": "calc"})
    greeting = await websocket.receive_bytes()  # a binary hello
    await websocket.send_bytes(greeting[::-1])
    async for request in websocket.iter_json():  # ends when the client disconnects
        await websocket.send_json({"sum": sum(request["add"])}, mode="binary")
    log.append("client left")


app = Router([WebSocketRoute("/calc", calculator)])


async def test_calculator() -> None:
    log.clear()
    client = AsyncTestClient(app)
    async with client.websocket_connect("/calc", subprotocols=["calc.v2", "chat"]) as session:
        assert session.accepted_subprotocol == "calc.v2"
        assert (b"x-server", b"calc") in session.extra_headers
        await session.send_bytes(b"olleh")
        assert await session.receive_bytes() == b"hello"
        await session.send_json({"add": [1, 2, 3]})
        assert await session.receive_json(mode="binary") == {"sum": 6}
    assert log == ["client left"]
