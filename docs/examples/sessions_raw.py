"""SessionMiddleware around a raw ASGI app: count each client's visits in a signed cookie."""

from __future__ import annotations

from microasgi.middleware.sessions import SessionMiddleware
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    session = scope["session"]  # a plain dict, loaded from the cookie
    session["visits"] = session.get("visits", 0) + 1
    body = f"visit {session['visits']}".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# In production read the key from the environment (see Config and Secret), never from the code.
application = SessionMiddleware(app, secret_key="change-me")


async def test_each_client_has_its_own_count() -> None:
    ada, bob = AsyncTestClient(application), AsyncTestClient(application)
    assert (await ada.get("/")).text == "visit 1"
    assert (await ada.get("/")).text == "visit 2"
    assert (await bob.get("/")).text == "visit 1"
    cookie = (await ada.get("/")).headers["set-cookie"]
    assert cookie.startswith("session=")
    assert cookie.endswith("; path=/; Max-Age=1209600; httponly; samesite=lax")
