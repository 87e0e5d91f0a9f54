"""AuthenticationMiddleware around a raw ASGI app: HTTP Basic credentials become scope["user"]."""

from __future__ import annotations

import base64
import binascii
import hmac

from microasgi.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    SimpleUser,
)
from microasgi.middleware.authentication import AuthenticationMiddleware
from microasgi.requests import HTTPConnection
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

PASSWORDS = {"ada": "lovelace"}  # a real app checks a password hash in its database


class BasicAuthBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None  # no credentials: the client continues as UnauthenticatedUser
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None  # another scheme: not this backend's to judge
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationError("Malformed Basic credentials.") from None
        username, _, password = decoded.partition(":")
        expected = PASSWORDS.get(username)
        # compare_digest: the time taken does not tell how much of the password matched.
        if expected is None or not hmac.compare_digest(password.encode(), expected.encode()):
            raise AuthenticationError("Invalid username or password.")
        return AuthCredentials(["authenticated"]), SimpleUser(username)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    user = scope["user"]
    body = f"Hello, {user.display_name or 'stranger'}!".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


application = AuthenticationMiddleware(app, backend=BasicAuthBackend())


async def test_basic_auth() -> None:
    client = AsyncTestClient(application)
    assert (await client.get("/")).text == "Hello, stranger!"
    good = {"authorization": "Basic " + base64.b64encode(b"ada:lovelace").decode()}
    assert (await client.get("/", headers=good)).text == "Hello, ada!"
    bad = {"authorization": "Basic " + base64.b64encode(b"ada:babbage").decode()}
    response = await client.get("/", headers=bad)
    assert (response.status_code, response.text) == (400, "Invalid username or password.")
    garbled = await client.get("/", headers={"authorization": "Basic ???"})
    assert (garbled.status_code, garbled.text) == (400, "Malformed Basic credentials.")
