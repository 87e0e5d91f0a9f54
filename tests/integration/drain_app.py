"""The app ``test_server_drain.py`` serves: an endless event stream, a websocket, a slow request.

``DRAIN_SIGNALS=1`` in the environment makes SIGTERM begin the drain (``drain_signals``);
otherwise ``POST /drain`` does. ``/slow/{key}`` streams a first line at once and the rest after
a fixed delay: a request in progress when the drain begins. ``/items/{n}`` answers at once.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator

import anyio

from microasgi import MicroASGI, Request, Route
from microasgi.lifecycle import liveness, readiness
from microasgi.responses import (
    EventSourceResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from microasgi.routing import WebSocketRoute
from microasgi.websockets import WebSocket, WebSocketDisconnect

SLOW_SECONDS = 1.0


async def events(request: Request) -> Response:
    async def ticks() -> AsyncIterator[str]:
        count = 0
        while True:
            yield f"tick {count}"
            count += 1
            await anyio.sleep(0.05)

    return EventSourceResponse(ticks(), drain_event={"event": "restart", "data": "bye"})


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        async for text in websocket.iter_text():
            await websocket.send_text(text)
    except WebSocketDisconnect:
        pass


async def slow(request: Request) -> Response:
    # The first line tells the client the request is in progress; the rest comes later.
    async def body() -> AsyncIterator[bytes]:
        yield b"started\n"
        await anyio.sleep(SLOW_SECONDS)
        yield b"done\n"

    return StreamingResponse(body(), media_type="text/plain")


async def item(request: Request) -> Response:
    return PlainTextResponse(f"item {request.path_params['n']}")


async def drain(request: Request) -> Response:
    request.app.begin_drain()
    return PlainTextResponse("draining", status_code=202)


app = MicroASGI(
    routes=[
        Route("/events", events),
        WebSocketRoute("/ws", echo),
        Route("/slow/{key}", slow),
        Route("/items/{n}", item),
        Route("/drain", drain, methods=["POST"]),
        Route("/readyz", readiness),
        Route("/livez", liveness),
    ],
    drain_signals=[signal.SIGTERM] if os.environ.get("DRAIN_SIGNALS") == "1" else (),
)
