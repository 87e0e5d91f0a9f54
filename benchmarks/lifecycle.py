"""What an app that uses none of the production lifecycle pays for it (docs/performance.md).

Drives a ``MicroASGI`` app in process, its lifespan started as a server would, ``COUNT`` times
through one case, for instruction counts under callgrind: run it twice (two counts) for the tree
before the lifecycle and the tree with it, and divide the differences, so that the start-up
cancels out::

    PYTHONHASHSEED=0 PYTHONPATH=<tree> valgrind --tool=callgrind \\
        python benchmarks/lifecycle.py plain 200

(as a script, not ``-m``: the current directory must not shadow the tree's ``microasgi``).

Cases: ``plain`` (a GET answered with plain text), ``ws`` (a websocket accepted, one message
echoed, closed), ``sse`` (an event stream of 10 events, the default pings) and ``ssenp`` (the
same with ``ping=None``). No drain, no probe, no background task is used.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator
from typing import Any

from microasgi import MicroASGI, Route
from microasgi.requests import Request
from microasgi.responses import EventSourceResponse, PlainTextResponse, Response
from microasgi.routing import WebSocketRoute
from microasgi.types import Message
from microasgi.websockets import WebSocket

CASES = ("plain", "ws", "sse", "ssenp")


async def plain(request: Request) -> Response:
    return PlainTextResponse("hello")


def sse(ping: float | None) -> Any:
    async def endpoint(request: Request) -> Response:
        async def events() -> AsyncIterator[dict[str, str]]:
            for number in range(10):
                yield {"data": str(number)}

        return EventSourceResponse(events(), ping=ping)

    return endpoint


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


app = MicroASGI(
    routes=[
        Route("/plain", plain),
        Route("/sse", sse(15)),
        Route("/ssenp", sse(None)),
        WebSocketRoute("/ws", echo),
    ]
)

HTTP: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.4"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"example.org")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 80),
}


async def _one(case: str) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    if case == "ws":
        scope = {**HTTP, "type": "websocket", "scheme": "ws", "subprotocols": [], "state": {}}
        del scope["method"]
        inbox: list[Message] = [
            {"type": "websocket.connect"},
            {"type": "websocket.receive", "text": "hi"},
        ]

        async def receive() -> Message:
            return inbox.pop(0) if inbox else {"type": "websocket.disconnect", "code": 1000}
    else:
        scope = {**HTTP, "state": {}}
        asked = False

        async def receive() -> Message:
            nonlocal asked
            if asked:
                await asyncio.Event().wait()  # the client stays (ASGI 2.4: send would raise)
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}

    scope["path"] = f"/{case}"
    scope["raw_path"] = scope["path"].encode()
    await app(scope, receive, send)
    return sent


async def main(case: str, count: int) -> None:
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    started = asyncio.Event()

    async def send(message: Message) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    await to_app.put({"type": "lifespan.startup"})
    lifespan_scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    lifespan = asyncio.create_task(app(lifespan_scope, to_app.get, send))
    await started.wait()
    # Checked once: a case that fails fast must not pass for a cheap one.
    first = {message["type"]: message for message in await _one(case)}
    if case == "ws":
        assert "websocket.accept" in first, first
    else:
        assert first["http.response.start"]["status"] == 200, first
    # The garbage collector is off for the count: when its passes fall depends on every
    # allocation since the start, so they would move a count by a thousand instructions or
    # more between two trees that allocate differently. What remains is the requests' own code.
    gc.collect()
    gc.disable()
    try:
        for _ in range(count - 1):
            await _one(case)
    finally:
        gc.enable()
    await to_app.put({"type": "lifespan.shutdown"})
    await lifespan


if __name__ == "__main__":
    chosen, times = sys.argv[1], int(sys.argv[2])
    if chosen not in CASES:
        raise SystemExit(f"case must be one of {', '.join(CASES)}, got {chosen!r}")
    asyncio.run(main(chosen, times))
