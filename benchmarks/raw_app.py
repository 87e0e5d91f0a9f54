"""The floor: the same endpoints as a hand-written ASGI app, with no framework at all.

It does what each endpoint needs and nothing more (no validation beyond what a careful
hand-written app would do), so it marks the least any framework could cost.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import multipart

from benchmarks.cases import BOUNDARY, FILE_PATH, READ_HEADERS, SET_HEADERS, STATE_GREETING, TEXT

_TEXT_HEADERS = [(b"content-type", b"text/plain; charset=utf-8")]
_JSON_HEADERS = [(b"content-type", b"application/json")]
_READ = tuple(name.encode() for name in READ_HEADERS)
_SET = [(name.encode(), value.encode()) for name, value in SET_HEADERS]


async def _text(send: Any, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [*_TEXT_HEADERS, (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _lifespan(scope: Any, receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            scope["state"]["greeting"] = STATE_GREETING
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _websocket(scope: Any, receive: Any, send: Any) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message["text"]})


async def _plaintext(scope: Any, receive: Any, send: Any) -> None:
    await _text(send, TEXT)


async def _json(scope: Any, receive: Any, send: Any) -> None:
    body = json.dumps({"message": "Hello, world!"}, separators=(",", ":")).encode()
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _item(scope: Any, receive: Any, send: Any) -> None:
    await _text(send, scope["path"][7:].encode())


async def _query(scope: Any, receive: Any, send: Any) -> None:
    params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
    await _text(send, f"{params['a']} {params['e']} {params['sort']}".encode())


async def _form(scope: Any, receive: Any, send: Any) -> None:
    fields = dict(parse_qsl((await _read_body(receive)).decode("latin-1")))
    await _text(send, f"{len(fields)} {fields['field19']}".encode())


async def _headers(scope: Any, receive: Any, send: Any) -> None:
    wanted = dict.fromkeys(_READ, b"")
    for name, value in scope["headers"]:
        if name in wanted:
            wanted[name] = value
    found = sum(1 for value in wanted.values() if value)
    await _text(send, str(found).encode(), _SET)


async def _state(scope: Any, receive: Any, send: Any) -> None:
    await _text(send, scope["state"]["greeting"].encode())


async def _not_found(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def app(scope: Any, receive: Any, send: Any) -> None:
    """Dispatch on the scope type, then on the path with a dict lookup or a prefix check."""
    kind = scope["type"]
    if kind == "http":
        path = scope["path"]
        handler = _ROUTES.get(path) or (_item if path.startswith("/items/") else _not_found)
        await handler(scope, receive, send)
    elif kind == "websocket":
        await _websocket(scope, receive, send)
    else:
        await _lifespan(scope, receive, send)


async def _upload(scope: Any, receive: Any, send: Any) -> None:
    parser = multipart.PushMultipartParser(BOUNDARY)
    title = b""
    size = 0
    name = ""
    while True:
        message = await receive()
        for event in parser.parse(message.get("body", b"")):
            if isinstance(event, multipart.MultipartSegment):
                name = event.name
            elif event and name == "title":
                title += event
            elif event:
                size += len(event)
        if not message.get("more_body", False):
            break
    parser.close()
    await _text(send, title + f" {size}".encode())


async def _file(scope: Any, receive: Any, send: Any) -> None:
    # Blocking reads on the event loop: what the shortest hand-written app does.
    with open(FILE_PATH, "rb") as f:  # noqa: ASYNC230
        size = f.seek(0, 2)
        f.seek(0)
        headers = [
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(size).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        while chunk := f.read(64 * 1024):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


_ROUTES = {
    "/plaintext": _plaintext,
    "/json": _json,
    "/query": _query,
    "/form": _form,
    "/upload": _upload,
    "/headers": _headers,
    "/file": _file,
    "/state": _state,
}
