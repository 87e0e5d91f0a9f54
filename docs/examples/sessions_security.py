"""What a client can and cannot do with its session cookie."""

from __future__ import annotations

import base64

from microasgi.middleware.sessions import SessionMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route, Router
from microasgi.testclient import AsyncTestClient


async def whoami(request: Request) -> Response:
    request.session.setdefault("role", "guest")
    return JSONResponse(request.session)


app = SessionMiddleware(Router([Route("/", whoami)]), secret_key="change-me")


async def test_the_session_is_readable_but_not_forgeable() -> None:
    client = AsyncTestClient(app)
    await client.get("/")
    cookie = client.cookies["session"]
    payload, timestamp, signature = cookie.split(".")
    # Signed, not encrypted: anyone holding the cookie can read it.
    assert base64.urlsafe_b64decode(payload + "==") == b'{"role":"guest"}'
    # Changing it breaks the signature: the server starts an empty session instead.
    forged = base64.urlsafe_b64encode(b'{"role":"admin"}').rstrip(b"=").decode()
    client.cookies["session"] = f"{forged}.{timestamp}.{signature}"
    assert (await client.get("/")).json() == {"role": "guest"}
