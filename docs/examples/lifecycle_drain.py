"""An app with an event stream and a websocket, drained before the server stops."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator

import anyio
import pytest

from microasgi import MicroASGI, Request, Route
from microasgi.lifecycle import liveness, readiness
from microasgi.responses import EventSourceResponse, Response, ServerSentEvent
from microasgi.routing import WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.websockets import WebSocket, WebSocketDisconnect


async def prices(request: Request) -> Response:
    async def ticks() -> AsyncIterator[ServerSentEvent]:
        price = 100
        while True:  # endless: only the client leaving, or the drain, ends it
            yield ServerSentEvent(data=str(price), event="price")
            price += 1
            await anyio.sleep(1)

    # When the app drains: the producer is stopped, then this event and "retry: 500" are sent.
    return EventSourceResponse(
        ticks(), drain_event=ServerSentEvent(event="restart"), drain_retry=500
    )


async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        async for text in websocket.iter_text():  # ends when the drain closes it with 1012
            await websocket.send_text(f"echo: {text}")
    except WebSocketDisconnect:
        pass


app = MicroASGI(
    routes=[
        Route("/prices", prices),
        WebSocketRoute("/chat", chat),
        Route("/readyz", readiness),
        Route("/livez", liveness),
    ],
    # Also drain when the process gets SIGTERM (the server's own handler still runs after).
    drain_signals=[signal.SIGTERM],
)


async def test_the_drain_ends_streams_and_websockets() -> None:
    async with AsyncTestClient(app) as client:
        assert (await client.get("/readyz")).status_code == 200
        async with client.stream("GET", "/prices") as stream:
            async with client.websocket_connect("/chat") as chat_session:
                await chat_session.send_text("hi")
                assert await chat_session.receive_text() == "echo: hi"

                app.begin_drain()  # what SIGTERM (or lifespan.shutdown.notice) does

                with pytest.raises(WebSocketDisconnect) as closed:
                    await chat_session.receive_text()
                assert closed.value.code == 1012  # service restart
            body = b"".join([chunk async for chunk in stream.aiter_bytes()])
        assert body.endswith(b"event: price\ndata: 100\n\nevent: restart\n\nretry: 500\n\n")
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.text) == (503, "not ready: draining")
        assert ready.headers["connection"] == "close"  # HTTP/1.1 clients go elsewhere
        assert (await client.get("/livez")).status_code == 200
