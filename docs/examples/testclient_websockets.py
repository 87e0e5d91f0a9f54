"""Websockets: talk to the app, see it close, or see it deny the connection."""

from __future__ import annotations

import pytest

from microasgi.testclient import AsyncTestClient, TestClient, WebSocketDenialResponse
from microasgi.types import Receive, Scope, Send
from microasgi.websockets import WebSocketDisconnect


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Echo text in upper case; "bye" closes with 4000; path /private is denied with a 403."""
    await receive()  # websocket.connect
    if scope["path"] == "/private":
        start = {"type": "websocket.http.response.start", "status": 403, "headers": []}
        await send(start)
        await send({"type": "websocket.http.response.body", "body": b"members only"})
        return
    await send({"type": "websocket.accept", "subprotocol": scope["subprotocols"][0]})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message["text"] == "bye":
            await send({"type": "websocket.close", "code": 4000, "reason": "see you"})
            return
        await send({"type": "websocket.send", "text": message["text"].upper()})


def test_sync_session() -> None:
    client = TestClient(app)
    with client.websocket_connect("/chat", subprotocols=["v1"]) as ws:
        assert ws.accepted_subprotocol == "v1"
        ws.send_text("hello")
        assert ws.receive_text() == "HELLO"
        ws.send_text("bye")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (4000, "see you")


async def test_async_session_and_denial() -> None:
    client = AsyncTestClient(app)
    async with client.websocket_connect("/chat", subprotocols=["v2"]) as ws:
        await ws.send_json({"a": 1})
        assert await ws.receive_text() == '{"A":1}'
    with pytest.raises(WebSocketDenialResponse) as denied:
        async with client.websocket_connect("/private", subprotocols=["v1"]):
            pass  # pragma: no cover
    assert denied.value.status_code == 403
    assert denied.value.text == "members only"
