"""TrustedHostMiddleware around a plain ASGI app: forged Host headers never reach it."""

from __future__ import annotations

from microasgi.middleware.trustedhost import TrustedHostMiddleware
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def site(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


app = TrustedHostMiddleware(
    site, allowed_hosts=["www.example.com", "*.example.com", "localhost:8000", "[::1]"]
)


async def test_listed_hosts_pass() -> None:
    for base_url in (
        "http://www.example.com",
        "http://api.example.com",
        "http://localhost:8000",
        "http://[::1]:8000",
    ):
        response = await AsyncTestClient(app, base_url=base_url).get("/")
        assert response.text == "hello"


async def test_other_hosts_get_a_400() -> None:
    for host in ("evil.com", "localhost:9000", "www.example.com.evil.com", "example.com@evil"):
        response = await AsyncTestClient(app).get("/", headers={"host": host})
        assert response.status_code == 400
        assert response.text == "Invalid host header"


async def test_the_bare_domain_redirects_to_www() -> None:
    client = AsyncTestClient(app, base_url="https://example.com", follow_redirects=False)
    response = await client.get("/cart?id=3")
    assert response.status_code == 307
    assert response.headers["location"] == "https://www.example.com/cart?id=3"


async def test_ip_literals_and_malformed_ports() -> None:
    literal = TrustedHostMiddleware(site, allowed_hosts=["[v1.foo]"])
    response = await AsyncTestClient(literal).get("/", headers={"host": "[v1.foo]:8000"})
    assert response.text == "hello"
    for host in ("[v1.foo]:", "[v1.foo]:evil"):  # an empty or non-numeric port, as in Starlette
        response = await AsyncTestClient(literal).get("/", headers={"host": host})
        assert response.status_code == 400
