"""A raw ASGI app using three extensions, each with its fallback when the server lacks it."""

from __future__ import annotations

from microasgi.requests import Request
from microasgi.responses import HTMLResponse
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive, send)
    # A 103 Early Hints answer, when the server offers it; otherwise nothing is sent.
    await request.send_early_hints("</style.css>; rel=preload; as=style")
    # Trailers go out only when the server offers them and the client sent "TE: trailers".
    response = HTMLResponse("<p>hello</p>", trailers={"server-timing": "render;dur=3"})
    await response(scope, receive, send)


async def test_with_the_extensions() -> None:
    client = AsyncTestClient(
        app, extensions={"http.response.early_hint": {}, "http.response.trailers": {}}
    )
    response = await client.get("/", headers={"TE": "trailers"})
    assert response.early_hints == [["</style.css>; rel=preload; as=style"]]
    assert response.headers["trailer"] == "server-timing"
    assert response.trailers is not None
    assert response.trailers["server-timing"] == "render;dur=3"


async def test_without_them() -> None:
    response = await AsyncTestClient(app, extensions={}).get("/", headers={"TE": "trailers"})
    assert response.text == "<p>hello</p>"
    assert response.early_hints == []
    assert response.trailers is None
    assert response.headers["content-length"] == "12"
