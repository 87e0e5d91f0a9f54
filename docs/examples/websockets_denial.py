"""Refusing a connection with an HTTP response (extension websocket.http.response), and the fallback."""

from __future__ import annotations

import pytest

from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import WebSocketRoute
from microasgi.testclient import AsyncTestClient, WebSocketDenialResponse
from microasgi.websockets import WebSocket, WebSocketDisconnect


async def private(websocket: WebSocket) -> None:
    if websocket.headers.get("authorization") != "Bearer s3cret":
        response = PlainTextResponse("Unauthorized", 401, headers={"WWW-Authenticate": "Bearer"})
        await websocket.send_denial_response(response)
        return
    await websocket.accept()
    await websocket.send_text("welcome")


async def returns(websocket: WebSocket) -> Response | None:
    if "room" not in websocket.query_params:
        return JSONResponse({"error": "room is required"}, status_code=400)  # denies
    await websocket.accept()
    return None


async def raises(websocket: WebSocket) -> None:
    raise HTTPException(403, "members only")  # before accept: a 403 denial


app = MicroASGI(
    routes=[
        WebSocketRoute("/private", private),
        WebSocketRoute("/returns", returns),
        WebSocketRoute("/raises", raises),
    ]
)


async def test_denied() -> None:
    for path, status, body in [
        ("/private", 401, "Unauthorized"),
        ("/returns", 400, '{"error":"room is required"}'),
        ("/raises", 403, "members only"),
    ]:
        with pytest.raises(WebSocketDenialResponse) as denied:
            async with AsyncTestClient(app).websocket_connect(path):
                pass
        assert (denied.value.status_code, denied.value.text) == (status, body)


async def test_allowed() -> None:
    headers = {"Authorization": "Bearer s3cret"}
    async with AsyncTestClient(app).websocket_connect("/private", headers=headers) as session:
        assert await session.receive_text() == "welcome"


async def test_server_without_the_extension() -> None:
    # The connection is closed instead, and the server answers the handshake with 403.
    client = AsyncTestClient(app, extensions={})
    with pytest.raises(WebSocketDisconnect) as closed:
        async with client.websocket_connect("/private"):
            pass
    assert not isinstance(closed.value, WebSocketDenialResponse)
