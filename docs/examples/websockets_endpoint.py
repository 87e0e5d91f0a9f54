"""WebSocketEndpoint: on_connect, on_receive (decoded per `encoding`), on_disconnect; ws:// URLs."""

from __future__ import annotations

from typing import Any

from microasgi.endpoints import WebSocketEndpoint
from microasgi.routing import Router, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.websockets import WebSocket

events: list[Any] = []


class Chat(WebSocketEndpoint):
    encoding = "json"  # or "text", "bytes", None (raw str or bytes)

    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"url": str(websocket.url_for("chat", room="blue"))})

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        await websocket.send_json({"room": websocket.path_params["room"], "said": data["say"]})

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        events.append(close_code)


app = Router([WebSocketRoute("/chat/{room}", Chat, name="chat")])


async def test_chat() -> None:
    events.clear()
    client = AsyncTestClient(app, base_url="https://example.org")
    async with client.websocket_connect("/chat/red") as session:
        assert await session.receive_json() == {"url": "wss://example.org/chat/blue"}
        await session.send_json({"say": "hi"})
        assert await session.receive_json() == {"room": "red", "said": "hi"}
        await session.close(1001)
    assert events == [1001]
