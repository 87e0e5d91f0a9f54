"""Limits and protective close codes: 1009 too big, 1007 undecodable, 1003 wrong kind of data."""

from __future__ import annotations

import pytest

from microasgi.routing import Router, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.types import Message
from microasgi.websockets import WebSocket, WebSocketDisconnect

closed: list[int] = []


async def notes(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            note = await websocket.receive_json()
            await websocket.send_json({"saved": note})
    except WebSocketDisconnect as exc:
        closed.append(exc.code)  # 1000 from the client, or the code we closed with
        raise  # the session ends quietly either way


app = Router([WebSocketRoute("/notes", notes, max_message_size=64)])


CASES: list[tuple[Message, int]] = [
    ({"type": "websocket.receive", "text": '{"text": "' + "x" * 100 + '"}'}, 1009),
    ({"type": "websocket.receive", "text": "{not json"}, 1007),
    ({"type": "websocket.receive", "bytes": b"\xff\xfe"}, 1007),
]


async def test_protective_closes() -> None:
    for message, code in CASES:
        closed.clear()
        async with AsyncTestClient(app).websocket_connect("/notes") as session:
            await session.send_json({"text": "ok"})
            assert await session.receive_json() == {"saved": {"text": "ok"}}
            await session.send(message)
            with pytest.raises(WebSocketDisconnect) as caught:
                await session.receive_json()
        assert caught.value.code == code
        assert closed == [code]


async def test_text_only() -> None:
    async def text_only(websocket: WebSocket) -> None:
        websocket.max_message_size = 1024  # per connection, too
        await websocket.accept()
        await websocket.receive_text()

    client = AsyncTestClient(Router([WebSocketRoute("/t", text_only)]))
    async with client.websocket_connect("/t") as session:
        await session.send_bytes(b"binary")
        with pytest.raises(WebSocketDisconnect) as caught:
            await session.receive_text()
    assert (caught.value.code, caught.value.reason) == (
        1003,
        "Expected a text message, got a binary one.",
    )
