"""Extensions: advertise them, and inspect what the app sent through them."""

from __future__ import annotations

from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Use every extension the server advertises."""
    extensions = scope.get("extensions") or {}
    if "http.response.early_hint" in extensions:
        await send({"type": "http.response.early_hint", "links": [b"</app.css>; rel=preload"]})
    trailers = "http.response.trailers" in extensions
    await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": trailers})
    if "http.response.push" in extensions:
        await send({"type": "http.response.push", "path": "/app.css", "headers": []})
    await send({"type": "http.response.body", "body": b"page"})
    if trailers:
        await send({"type": "http.response.trailers", "headers": [(b"checksum", b"abc")]})


async def test_extensions_are_recorded() -> None:
    client = AsyncTestClient(
        app,
        extensions={
            "http.response.early_hint": {},
            "http.response.push": {},
            "http.response.trailers": {},
        },
    )
    response = await client.get("/")
    assert response.early_hints == [["</app.css>; rel=preload"]]
    assert [path for path, _headers in response.push_promises] == ["/app.css"]
    assert response.trailers is not None
    assert response.trailers["checksum"] == "abc"
    assert len(response.extension_messages) == 3


async def test_default_extensions() -> None:
    # Advertised by default, as Starlette's client does: http.response.debug and trailers.
    response = await AsyncTestClient(app).get("/")
    assert response.early_hints == []
    assert response.extensions["http.response.trailers"] == [(b"checksum", b"abc")]
