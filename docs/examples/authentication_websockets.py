"""Websockets: the user is on the websocket; @requires closes with 1008 before accepting."""

from __future__ import annotations

import pytest

from microasgi.applications import MicroASGI
from microasgi.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    SimpleUser,
    requires,
)
from microasgi.middleware import Middleware
from microasgi.middleware.authentication import AuthenticationMiddleware
from microasgi.requests import HTTPConnection
from microasgi.routing import WebSocketRoute
from microasgi.websockets import WebSocket, WebSocketDisconnect

TOKENS = {"t0ken": "ada"}


class TokenBackend(AuthenticationBackend):
    """Browsers cannot set headers on a websocket, so the token comes in the query string."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        token = conn.query_params.get("token")
        if token is None:
            return None
        if token not in TOKENS:
            raise AuthenticationError("Unknown token.")  # websocket closed with 1008
        return AuthCredentials(["authenticated"]), SimpleUser(TOKENS[token])


@requires("authenticated")
async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(f"Welcome, {websocket.user.display_name}")
    await websocket.close()


app = MicroASGI(
    routes=[WebSocketRoute("/chat", chat)],
    middleware=[Middleware(AuthenticationMiddleware, backend=TokenBackend())],
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_websocket_authentication() -> None:
    client = AsyncTestClient(app)
    async with client.websocket_connect("/chat?token=t0ken") as session:
        assert await session.receive_text() == "Welcome, ada"
    for url in ("/chat", "/chat?token=stolen"):  # no scope, then an invalid token
        with pytest.raises(WebSocketDisconnect) as closed:
            async with client.websocket_connect(url):
                pass  # pragma: no cover (the handshake is refused)
        assert closed.value.code == 1008
