"""ProxyHeadersMiddleware around a plain ASGI app: the client as the proxy saw it."""

from __future__ import annotations

from microasgi.middleware.proxy_headers import ProxyHeadersMiddleware
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def whoami(scope: Scope, receive: Receive, send: Send) -> None:
    host, _ = scope["client"]
    body = f"{scope['scheme']} {host}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


app = ProxyHeadersMiddleware(whoami, trusted_hosts=["10.0.0.0/8"])  # reads X-Forwarded-*
rfc7239_app = ProxyHeadersMiddleware(whoami, trusted_hosts=["10.0.0.0/8"], headers="forwarded")


async def test_a_trusted_proxy_reports_the_client() -> None:
    proxy = AsyncTestClient(app, client=("10.0.0.2", 41000))
    response = await proxy.get(
        "/", headers={"x-forwarded-for": "203.0.113.7, 10.0.0.9", "x-forwarded-proto": "https"}
    )
    assert response.text == "https 203.0.113.7"  # 10.0.0.9 is a trusted proxy too: skipped
    rfc7239 = AsyncTestClient(rfc7239_app, client=("10.0.0.2", 41000))
    response = await rfc7239.get("/", headers={"forwarded": "for=203.0.113.7;proto=https"})
    assert response.text == "https 203.0.113.7"


async def test_anyone_else_cannot_pretend() -> None:
    stranger = AsyncTestClient(app, client=("198.51.100.4", 52000))
    response = await stranger.get("/", headers={"x-forwarded-for": "127.0.0.1"})
    assert response.text == "http 198.51.100.4"
