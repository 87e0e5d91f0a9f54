"""CORSMiddleware around a plain ASGI app: one trusted site may call it from the browser."""

from __future__ import annotations

from microasgi.middleware.cors import CORSMiddleware
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def api(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'{"items": []}'})


app = CORSMiddleware(
    api,
    allow_origins=["https://app.example.com"],
    allow_methods=["GET", "POST"],
    allow_headers=["Authorization"],
    expose_headers=["X-Total-Count"],
)


async def test_an_allowed_origin_may_read_the_response() -> None:
    client = AsyncTestClient(app)
    response = await client.get("/", headers={"origin": "https://app.example.com"})
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["access-control-expose-headers"] == "X-Total-Count"
    assert response.headers["vary"] == "Origin"


async def test_other_origins_get_no_cors_headers() -> None:
    client = AsyncTestClient(app)
    response = await client.get("/", headers={"origin": "https://app.example.com.evil.com"})
    assert response.status_code == 200  # the server answers; the browser hides it from the page
    assert "access-control-allow-origin" not in response.headers


async def test_preflight_requests_are_answered_here() -> None:
    client = AsyncTestClient(app)
    asks = {
        "origin": "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    response = await client.options("/", headers=asks)
    assert response.status_code == 200
    assert response.headers["access-control-allow-methods"] == "GET, POST"
    response = await client.options("/", headers={**asks, "access-control-request-method": "PUT"})
    assert response.status_code == 400
    assert response.text == "Disallowed CORS method"
