"""RequestIDMiddleware around a plain ASGI app: an id per request, reused from a trusted proxy."""

from __future__ import annotations

from microasgi.middleware.request_id import RequestIDMiddleware, get_request_id
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    body = f"your request is {get_request_id(scope)}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


# The proxy in front (10.0.0.0/8) chooses ids; nobody else can.
app = RequestIDMiddleware(hello, trusted_hosts=["10.0.0.0/8"])


async def test_the_proxys_id_is_reused() -> None:
    proxy = AsyncTestClient(app, client=("10.0.0.2", 41000))
    response = await proxy.get("/", headers={"X-Request-ID": "7f3a-checkout"})
    assert response.text == "your request is 7f3a-checkout"
    assert response.headers["X-Request-ID"] == "7f3a-checkout"


async def test_anyone_else_gets_a_fresh_one() -> None:
    stranger = AsyncTestClient(app, client=("198.51.100.4", 52000))
    response = await stranger.get("/", headers={"X-Request-ID": "not from a proxy"})
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32  # a UUID4 in hex
    assert response.text == f"your request is {request_id}"
