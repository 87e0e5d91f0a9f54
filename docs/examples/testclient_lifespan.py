"""Lifespan: `with` runs startup and shutdown; requests get a copy of the state."""

from __future__ import annotations

from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()  # lifespan.startup
        scope["state"]["greeting"] = "hello"
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})
        return
    greeting = scope.get("state", {}).get("greeting", "no lifespan")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": greeting.encode()})


def test_sync_lifespan() -> None:
    with TestClient(app) as client:
        assert client.app_state == {"greeting": "hello"}
        assert client.get("/").text == "hello"
    assert TestClient(app).get("/").text == "no lifespan"  # no `with`, no lifespan


async def test_async_lifespan() -> None:
    async with AsyncTestClient(app) as client:
        assert (await client.get("/")).text == "hello"
