"""Raw ASGI helpers for the edge middleware tests: exact scopes, no client normalization.

The test client refuses malformed headers on purpose; hostile-input tests need to hand the
middleware exactly what a lenient server might, so they build the scope themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from microasgi.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Downstream:
    """An app that records the scope it got and answers 200 ``ok`` with ``headers``."""

    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": list(self.headers)})
        await send({"type": "http.response.body", "body": b"ok"})

    @property
    def called(self) -> bool:
        return bool(self.scopes)


@dataclass
class Result:
    """What the app sent."""

    messages: list[Message]

    @property
    def status(self) -> int:
        start = self.messages[0]
        if start["type"] == "websocket.close":
            return 403  # what the server answers for a close before accept
        if start["type"] == "websocket.accept":
            return 101
        return int(start["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.messages[0].get("headers", []))

    def header(self, name: str) -> str | None:
        values = self.header_list(name)
        return values[0] if values else None

    def header_list(self, name: str) -> list[str]:
        return [v.decode("latin-1") for k, v in self.headers if k == name.encode()]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


def scope(
    headers: Sequence[tuple[bytes, bytes]] = (),
    *,
    type: str = "http",
    method: str = "GET",
    path: str = "/",
    query_string: bytes = b"",
    scheme: str | None = "http",
    client: Any = ("127.0.0.1", 5000),
    server: Any = ("testserver", 80),
    **extra: Any,
) -> Scope:
    """A scope with exactly these headers."""
    result: Scope = {
        "type": type,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query_string,
        "headers": list(headers),
        "client": client,
        "server": server,
        **extra,
    }
    if scheme is not None:
        result["scheme"] = scheme
    if type == "websocket":
        del result["method"]
    return result


async def call(app: ASGIApp, the_scope: Scope) -> Result:
    """Run ``app`` on ``the_scope`` and collect what it sends."""
    messages: list[Message] = []
    received = False

    async def receive() -> Message:
        nonlocal received
        if the_scope["type"] == "websocket":
            if received:
                return {"type": "websocket.disconnect", "code": 1000}
            received = True
            return {"type": "websocket.connect"}
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await app(the_scope, receive, send)
    return Result(messages)
