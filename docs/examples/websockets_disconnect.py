"""WebSocketDisconnect and WebSocketState."""

from __future__ import annotations

import pytest

from microasgi.testclient import TestClient
from microasgi.types import Receive, Scope, Send
from microasgi.websockets import WebSocketDisconnect, WebSocketState

states: list[WebSocketState] = []


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Track the connection state by hand; close with a policy violation after one message."""
    states[:] = [WebSocketState.CONNECTING]
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    states.append(WebSocketState.CONNECTED)
    await receive()
    await send({"type": "websocket.close", "code": 1008, "reason": "one message only"})
    states.append(WebSocketState.DISCONNECTED)


def test_disconnect() -> None:
    with TestClient(app).websocket_connect("/") as ws:
        ws.send_text("hello")
        with pytest.raises(WebSocketDisconnect) as caught:
            ws.receive_text()
    assert caught.value.code == 1008
    assert caught.value.reason == "one message only"
    assert states == [
        WebSocketState.CONNECTING,
        WebSocketState.CONNECTED,
        WebSocketState.DISCONNECTED,
    ]
