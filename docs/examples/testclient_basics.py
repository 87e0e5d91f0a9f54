"""The test clients: a raw ASGI app, tested sync and async."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer with the method, path, query and body the app received, as JSON."""
    body = b""
    more_body = True
    while more_body:
        message = await receive()
        body += message.get("body", b"")
        more_body = message.get("more_body", False)
    answer = {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode(),
        "body": body.decode(),
    }
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(answer).encode()})


def test_sync_client() -> None:
    client = TestClient(app)
    response = client.get("/items", params={"page": 2})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"method": "GET", "path": "/items", "query": "page=2", "body": ""}


async def test_async_client() -> None:
    client = AsyncTestClient(app)
    response = await client.post("/items", json={"name": "pen"})
    assert response.is_success
    assert response.json()["body"] == '{"name":"pen"}'
    assert response.request.headers["content-type"] == "application/json"


async def test_bodies() -> None:
    client = AsyncTestClient(app)
    form = await client.post("/", data={"a": "1", "b": ["x", "y"]})
    assert form.json()["body"] == "a=1&b=x&b=y"

    async def chunks() -> AsyncIterator[bytes]:
        yield b"streamed "
        yield b"body"

    streamed = await client.put("/", content=chunks())
    assert streamed.json()["body"] == "streamed body"
    assert streamed.request.headers["transfer-encoding"] == "chunked"
