"""Cookies persist across requests; redirects are followed, with their history."""

from __future__ import annotations

from microasgi.testclient import TestClient
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["path"] == "/login":
        headers = [(b"set-cookie", b"session=42; Path=/; HttpOnly"), (b"location", b"/home")]
        await send({"type": "http.response.start", "status": 303, "headers": headers})
    else:
        cookie = dict(scope["headers"]).get(b"cookie", b"")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": cookie, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def test_login_flow() -> None:
    client = TestClient(app)
    response = client.post("/login", data={"user": "ada"})
    assert response.url == "http://testserver/home"
    assert [r.status_code for r in response.history] == [303]
    assert response.request.method == "GET"  # 303 turns the POST into a GET
    assert response.text == "session=42"
    assert client.cookies["session"] == "42"
    assert client.get("/", follow_redirects=False).text == "session=42"
