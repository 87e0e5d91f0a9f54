"""A FileResponse answers a websocket handshake with an error page instead of accepting it."""

from __future__ import annotations

from pathlib import Path

import pytest

from microasgi.responses import FileResponse
from microasgi.testclient import AsyncTestClient, WebSocketDenialResponse
from microasgi.types import Receive, Scope, Send
from microasgi.websockets import WebSocketDisconnect

NOT_FOUND = Path(__file__).parent / "static" / "404.html"


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Refuse every websocket with the site's 404 page."""
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await FileResponse(NOT_FOUND, status_code=404)(scope, receive, send)


async def test_denied_with_the_page() -> None:
    # The test client offers websocket.http.response, as uvicorn, hypercorn and granian do.
    with pytest.raises(WebSocketDenialResponse) as denial:
        async with AsyncTestClient(app).websocket_connect("/ws"):
            pass  # pragma: no cover
    assert denial.value.status_code == 404
    assert denial.value.headers["content-type"] == "text/html; charset=utf-8"
    assert denial.value.content == NOT_FOUND.read_bytes()


async def test_server_without_the_extension_answers_403() -> None:
    # Without the extension (daphne) the response sends websocket.close, which a server turns
    # into a 403 answer; the test client reports the close, as it does for any refusal.
    client = AsyncTestClient(app, extensions={})
    with pytest.raises(WebSocketDisconnect) as closed:
        async with client.websocket_connect("/ws"):
            pass  # pragma: no cover
    assert closed.value.code == 1000
