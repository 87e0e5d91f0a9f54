"""Endpoints that handle the drain themselves: a goodbye message, a last chunk."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from microasgi import MicroASGI, Request, Route
from microasgi.responses import Response, StreamingResponse
from microasgi.routing import WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.websockets import WebSocket, WebSocketDisconnect


async def notifications(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"hello": "welcome"})
    # Waiting for the drain takes it over: the app does not close this connection for us.
    await websocket.wait_for_drain()
    await websocket.send_json({"reconnect_in": 2})
    await websocket.close(1012, "restarting")


async def export(request: Request) -> Response:
    async def rows() -> AsyncIterator[str]:
        yield "id,name\n"
        await request.app.wait_for_drain()  # a stream may wait for the drain as well
        yield "# export interrupted: the server restarts\n"

    return StreamingResponse(rows(), media_type="text/csv")


app = MicroASGI(routes=[WebSocketRoute("/notifications", notifications), Route("/export", export)])


async def test_a_goodbye_before_the_close() -> None:
    async with AsyncTestClient(app) as client:
        async with client.websocket_connect("/notifications") as session:
            assert await session.receive_json() == {"hello": "welcome"}
            app.begin_drain()
            assert await session.receive_json() == {"reconnect_in": 2}
            with pytest.raises(WebSocketDisconnect) as closed:
                await session.receive_text()
        assert (closed.value.code, closed.value.reason) == (1012, "restarting")
        response = await client.get("/export")  # draining already: the stream ends at once
        assert response.text == "id,name\n# export interrupted: the server restarts\n"
