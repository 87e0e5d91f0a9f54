"""The app the integration tests serve: ``integration.serverapp:app``, imported by each server.

It is a ``MicroASGI`` application with a lifespan, so these tests measure the servers and our
APIs together: routing, bodies, forms, streaming, SSE, files, websockets, lifespan state.
Side channels (``/gate/...``, ``/sse/closed/...``) let a test see inside the server without
sleeping: each waits on an ``anyio.Event`` with a bounded timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

from microasgi.applications import MicroASGI
from microasgi.datastructures import UploadFile
from microasgi.requests import HTTPConnection, Request
from microasgi.responses import (
    EventSourceResponse,
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    ServerSentEvent,
    StreamingResponse,
)
from microasgi.routing import Route, WebSocketRoute
from microasgi.types import Message, Receive, Scope, Send
from microasgi.websockets import WebSocket

DOWNLOAD_ENV = "MICROASGI_IT_DOWNLOAD"  # the file /download serves, set by servers.launch
BIG_ENV = "MICROASGI_IT_BIG"  # the sparse file /leave/file serves, set by servers.launch
BIG_SIZE = 256 * 1024 * 1024
UPLOAD_LIMIT = 128 * 1024 * 1024  # the body cap of /upload (the app's default is 16 MiB)
WAIT = 10.0  # the longest a side channel waits for the event it reports
STREAM_CHUNKS = tuple(f"chunk {index}\n".encode() for index in range(20))
SSE_EVENTS = (
    ServerSentEvent(data="first", id=1),
    ServerSentEvent(data="two\nlines", event="multi", id=2),
    ServerSentEvent(comment="a comment"),
    ServerSentEvent(data="héllo ✓", id=3, retry=1500),
)
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


# --- the matrix's endpoints ---------------------------------------------------------------


@asynccontextmanager
async def lifespan(app: MicroASGI) -> AsyncIterator[dict[str, Any]]:
    """The lifespan state: the server's pid and a counter every request shares."""
    yield {"pid": os.getpid(), "hits": {"count": 0}}


async def lifespan_state(request: Request) -> Response:
    hits = getattr(request.state, "hits", None)
    if hits is None:  # daphne: no lifespan, so no state
        return JSONResponse({"has_state": False})
    hits["count"] += 1  # SPEC: the state is copied shallowly, so this object is shared
    return JSONResponse({"has_state": True, "pid": request.state.pid, "hits": hits["count"]})


async def item(request: Request) -> Response:
    item_id: int = request.path_params["item_id"]
    return JSONResponse(
        {
            "item_id": item_id,
            "url": str(request.url_for("item", item_id=item_id)),
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "query": dict(request.query_params),
        }
    )


async def files(request: Request) -> Response:
    return JSONResponse({"rest": request.path_params["rest"]})


async def echo_json(request: Request) -> Response:
    return JSONResponse({"received": await request.json()})


async def _describe_file(upload: UploadFile) -> dict[str, Any]:
    digest, size = hashlib.sha256(), 0
    while chunk := await upload.read(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    return {
        "filename": upload.filename,
        "content_type": upload.content_type,
        "size": size,
        "sha256": digest.hexdigest(),
    }


async def echo_form(request: Request) -> Response:
    """Every field in order; files by name, type, size and SHA-256 (read in 1 MiB chunks)."""
    async with request.form() as form:
        fields: list[list[Any]] = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                fields.append([name, await _describe_file(value)])
            else:
                fields.append([name, value])
    return JSONResponse({"fields": fields})


async def stream(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        for chunk in STREAM_CHUNKS:
            yield chunk

    return StreamingResponse(body(), media_type="text/plain")


_gates: dict[str, anyio.Event] = {}
_closed: dict[str, anyio.Event] = {}


def _event(events: dict[str, anyio.Event], key: str) -> anyio.Event:
    return events.setdefault(key, anyio.Event())


async def gated(request: Request) -> Response:
    """``first``, then ``second`` once ``/gate/<key>`` opened: proves the first was flushed."""
    gate = _event(_gates, request.path_params["key"])

    async def body() -> AsyncIterator[bytes]:
        yield b"first\n"
        with anyio.fail_after(WAIT):
            await gate.wait()
        yield b"second\n"

    return StreamingResponse(body(), media_type="text/plain")


async def open_gate(request: Request) -> Response:
    _event(_gates, request.path_params["key"]).set()
    return PlainTextResponse("open")


async def sse(request: Request) -> Response:
    return EventSourceResponse(list(SSE_EVENTS), ping=None)


async def endless_sse(request: Request) -> Response:
    """Events forever; when the response stops (the client left), ``/sse/closed/<key>`` answers."""
    closed = _event(_closed, request.path_params["key"])

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            number = 0
            while True:
                number += 1
                yield ServerSentEvent(data=f"tick {number}", id=number)
                await anyio.sleep(0.02)  # the producer's own pace
        finally:
            closed.set()

    return EventSourceResponse(events(), ping=None)


async def sse_closed(request: Request) -> Response:
    closed = _event(_closed, request.path_params["key"])
    with anyio.move_on_after(WAIT):
        await closed.wait()
    return JSONResponse({"closed": closed.is_set()})


async def download(request: Request) -> Response:
    return FileResponse(os.environ[DOWNLOAD_ENV], media_type="application/octet-stream")


# --- clients that leave: what the app did after, recorded -------------------------------------


class Raw:
    """A plain ASGI function as a route's app (a function endpoint would be given a Request)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


_left: dict[str, dict[str, Any]] = {}


async def _endless(closed: list[bool]) -> AsyncIterator[bytes]:
    try:
        while True:
            yield b"tick\n" * 1000
            await anyio.sleep(0.005)  # the producer's own pace
    finally:
        closed.append(True)


async def _endless_events(closed: list[bool]) -> AsyncIterator[ServerSentEvent]:
    try:
        while True:
            yield ServerSentEvent(data="tick\n" * 999 + "tick")
            await anyio.sleep(0.005)
    finally:
        closed.append(True)


def _leaving_response(kind: str, closed: list[bool]) -> Response:
    if kind == "file":
        closed.append(True)  # no producer to close
        return FileResponse(os.environ[BIG_ENV], media_type="application/octet-stream")
    if kind == "stream":
        return StreamingResponse(_endless(closed), media_type="text/plain")
    return EventSourceResponse(_endless_events(closed), ping=None)


async def leave(scope: Scope, receive: Receive, send: Send) -> None:
    """``/leave/{file,stream,sse}/<key>``: a 256 MiB file, an endless stream or endless events.

    The client leaves early; how the response ended (``returned``: microasgi stopped it;
    ``cancelled``: the server cancelled the app), the body bytes it had sent by then and whether
    the producer was closed are kept for ``/left/<key>``.
    """
    params = scope["path_params"]
    closed: list[bool] = []
    sent = 0

    async def counting(message: Message) -> None:
        nonlocal sent
        sent += len(message.get("body", b""))
        await send(message)

    ended = "running"
    try:
        await _leaving_response(params["kind"], closed)(scope, receive, counting)
        ended = "returned"
    except anyio.get_cancelled_exc_class():
        ended = "cancelled"
        raise
    except BaseException as exc:
        ended = f"raised {exc!r}"
        raise
    finally:
        _left[params["key"]] = {"ended": ended, "sent": sent, "producer_closed": closed == [True]}
        _event(_closed, params["key"]).set()


async def left(request: Request) -> Response:
    key = request.path_params["key"]
    with anyio.move_on_after(WAIT):
        await _event(_closed, key).wait()
    return JSONResponse(_left.get(key))


async def send_after_close(scope: Scope, receive: Receive, send: Send) -> None:
    """Start a streamed body, wait for ``http.disconnect``, then send once more: does it raise?

    Kept for ``/left/<key>``: ``returned``, ``raised <class> (OSError)`` or ``cancelled``.
    """
    key = scope["path_params"]["key"]
    outcome = "cancelled"
    try:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ready\n", "more_body": True})
        with anyio.fail_after(WAIT):
            while (await receive())["type"] != "http.disconnect":
                pass
        try:
            await send({"type": "http.response.body", "body": b"late\n", "more_body": True})
            outcome = "returned"
        except OSError as exc:
            outcome = f"raised {type(exc).__name__} (OSError)"
    finally:
        _left[key] = {"send_after_close": outcome}
        _event(_closed, key).set()


async def informational(scope: Scope, receive: Receive, send: Send) -> None:
    """gunicorn's own ``http.response.informational`` message (not in the ASGI spec), then 200."""
    hint = {
        "type": "http.response.informational",
        "status": 103,
        "headers": [(b"link", LINK.encode())],
    }
    await send(hint)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"after the hint"})


app = MicroASGI(
    routes=[
        Route("/scope", scope_info),
        Route("/page", page),
        Route("/style.css", style),
        Route("/trailers", trailers),
        Route("/fixed-trailers", fixed_trailers),
        WebSocketRoute("/ws", echo),
        WebSocketRoute("/deny", deny),
        Route("/lifespan", lifespan_state),
        Route("/items/{item_id:int}", item, name="item"),
        Route("/files/{rest:path}", files),
        Route("/echo/json", echo_json, methods=["POST"]),
        Route("/echo/form", echo_form, methods=["POST"]),
        Route("/upload", echo_form, methods=["POST"], max_body_size=UPLOAD_LIMIT),
        Route("/stream", stream),
        Route("/stream/gated/{key}", gated),
        Route("/gate/{key}", open_gate, methods=["POST"]),
        Route("/sse", sse),
        Route("/sse/endless/{key}", endless_sse),
        Route("/sse/closed/{key}", sse_closed),
        Route("/download", download),
        Route("/leave/{kind}/{key}", Raw(leave)),
        Route("/left/{key}", left),
        Route("/send-after-close/{key}", Raw(send_after_close)),
        Route("/informational", Raw(informational)),
    ],
    lifespan=lifespan,
)
"""The served app."""
