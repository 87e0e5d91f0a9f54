"""The app the integration tests serve: ``integration.serverapp:app``, imported by each server.

HTTP and websockets go through microasgi's ``Router``, and websockets through its ``WebSocket``
class, so these tests measure the servers and our APIs together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

from microasgi.requests import HTTPConnection, Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Route, Router, WebSocketRoute
from microasgi.types import Receive, Scope, Send
from microasgi.websockets import WebSocket

STYLE = b"body { color: teal }"
CHUNKS = (b"alpha ", b"beta ", b"gamma")
LINK = "</style.css>; rel=preload; as=style"


def describe(scope: Scope) -> dict[str, Any]:
    """What the server put in the scope: the facts the support matrix is built from."""
    tls = HTTPConnection(scope).tls
    return {
        "type": scope["type"],
        "spec_version": scope.get("asgi", {}).get("spec_version"),
        "http_version": scope.get("http_version"),
        "scheme": scope.get("scheme"),
        "has_extensions_key": "extensions" in scope,
        "extensions": sorted(scope.get("extensions") or {}),
        "has_state": "state" in scope,
        "tls_version": None if tls is None else tls.version,
    }


async def scope_info(request: Request) -> Response:
    return JSONResponse(describe(request.scope))


async def page(request: Request) -> Response:
    await request.send_early_hints(LINK)

    async def body() -> AsyncIterator[bytes]:
        # SPEC: a push goes after http.response.start and before the end of the body.
        await request.send_push_promise("/style.css")
        yield b"<html>page</html>"

    return StreamingResponse(body(), media_type="text/html")


async def style(request: Request) -> Response:
    return Response(STYLE, media_type="text/css")


async def trailers(request: Request) -> Response:
    digest = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        for chunk in CHUNKS:
            digest.update(chunk)
            yield chunk

    return StreamingResponse(
        body(),
        media_type="text/plain",
        trailers=lambda: {"x-sha256": digest.hexdigest()},
        trailer_names=["x-sha256"],
    )


async def fixed_trailers(request: Request) -> Response:
    return PlainTextResponse("fixed", trailers={"x-count": "1"})


async def echo(websocket: WebSocket) -> None:
    """Echo text and bytes; ``close <code> <reason>`` closes with that code."""
    await websocket.accept()
    await websocket.send_text(json.dumps(describe(websocket.scope)))
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is not None and text.startswith("close "):
            _, code, reason = text.split(" ", 2)
            await websocket.close(code=int(code), reason=reason)
            return
        if text is not None:
            await websocket.send_text(text)
        else:
            await websocket.send_bytes(message["bytes"])


async def deny(websocket: WebSocket) -> None:
    """Refuse the handshake with a 401 and a body (a close, so a 403, without the extension)."""
    await websocket.send_denial_response(PlainTextResponse("no entry", status_code=401))


router = Router(
    routes=[
        Route("/scope", scope_info),
        Route("/page", page),
        Route("/style.css", style),
        Route("/trailers", trailers),
        Route("/fixed-trailers", fixed_trailers),
        WebSocketRoute("/ws", echo),
        WebSocketRoute("/deny", deny),
    ]
)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The served app: lifespan, websockets and the HTTP router."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    else:
        await router(scope, receive, send)
