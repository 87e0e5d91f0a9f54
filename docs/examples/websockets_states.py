"""The state table: client_state and application_state, and an illegal step named.

A step refused on a live connection raises ``RuntimeError``; on a closed one it raises
``WebSocketDisconnected``, a ``RuntimeError`` subclass (Starlette's name).
"""

from __future__ import annotations

import pytest

from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send
from microasgi.websockets import WebSocket, WebSocketDisconnected, WebSocketState

seen: list[tuple[str, str]] = []
errors: list[str] = []


def record(websocket: WebSocket) -> None:
    seen.append((websocket.client_state.name, websocket.application_state.name))


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    websocket = WebSocket(scope, receive, send)
    record(websocket)
    try:
        await websocket.send_text("too early")
    except RuntimeError as exc:
        errors.append(str(exc))
    await websocket.accept()
    record(websocket)
    await websocket.close()
    record(websocket)
    try:
        await websocket.send_text("too late")
    except WebSocketDisconnected as exc:
        errors.append(str(exc))
    # After its own close the app may still read the server's answer: the disconnect.
    assert (await websocket.receive())["type"] == "websocket.disconnect"


async def test_states() -> None:
    seen.clear()
    errors.clear()
    with pytest.raises(Exception, match="1000"):
        async with AsyncTestClient(app).websocket_connect("/") as session:
            await session.receive_text()
    assert seen == [
        ("CONNECTING", "CONNECTING"),
        ("CONNECTED", "CONNECTED"),
        ("CONNECTED", "DISCONNECTED"),
    ]
    assert errors == [
        "Cannot send a message: the websocket is waiting for 'websocket.connect'. "
        "Call accept() first; it receives 'websocket.connect' and answers it.",
        "Cannot send a message: the websocket is closed by the application. The application "
        "closed the connection: nothing more can be sent, and only receive() still reads what "
        "the server delivers. Return from the endpoint.",
    ]
    assert WebSocketState.RESPONSE.name == "RESPONSE"  # during a denial response
