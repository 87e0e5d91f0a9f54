"""HTTPSRedirectMiddleware around a plain ASGI app: plain HTTP is sent to HTTPS."""

from __future__ import annotations

from microasgi.middleware.httpsredirect import HTTPSRedirectMiddleware
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def site(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"secure"})


app = HTTPSRedirectMiddleware(site)


async def test_http_is_redirected_with_307() -> None:
    client = AsyncTestClient(app, base_url="http://example.com", follow_redirects=False)
    response = await client.post("/orders?page=2", content=b"{}")
    assert response.status_code == 307  # the client repeats the POST, body and all
    assert response.headers["location"] == "https://example.com/orders?page=2"


async def test_default_ports_are_dropped_others_kept() -> None:
    for base_url, location in (
        ("http://example.com:80", "https://example.com/"),
        ("http://example.com:8080", "https://example.com:8080/"),
    ):
        client = AsyncTestClient(app, base_url=base_url, follow_redirects=False)
        assert (await client.get("/")).headers["location"] == location


async def test_https_passes_through() -> None:
    response = await AsyncTestClient(app, base_url="https://example.com").get("/")
    assert response.text == "secure"
