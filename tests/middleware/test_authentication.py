"""AuthenticationMiddleware: request.user and request.auth from a backend, errors, websockets."""

from __future__ import annotations

from typing import Any

import pytest

from microasgi.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    SimpleUser,
)
from microasgi.middleware.authentication import AuthenticationMiddleware
from microasgi.requests import HTTPConnection, Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route, Router, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.types import Message, Receive, Scope, Send
from microasgi.websockets import WebSocket, WebSocketDisconnect


class BearerBackend(AuthenticationBackend):
    """``Authorization: Bearer <name>``: any name but ``bad`` is a user with the ``user`` scope."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None
        scheme, _, name = header.partition(" ")
        if scheme.lower() != "bearer" or name == "bad":
            raise AuthenticationError(f"Invalid credentials: {header!r}.")
        return AuthCredentials(["user"]), SimpleUser(name)


async def whoami(request: Request) -> Response:
    user = request.user
    return JSONResponse(
        {
            "name": user.display_name,
            "authenticated": user.is_authenticated,
            "scopes": request.auth.scopes,
        }
    )


async def ws_whoami(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(
        {"name": websocket.user.display_name, "scopes": websocket.auth.scopes}
    )
    await websocket.close()


ROUTES = [Route("/", whoami), WebSocketRoute("/ws", ws_whoami)]


def make(**options: Any) -> AuthenticationMiddleware:
    return AuthenticationMiddleware(Router(ROUTES), BearerBackend(), **options)


async def test_an_authenticated_request() -> None:
    response = await AsyncTestClient(make()).get("/", headers={"authorization": "Bearer ada"})
    assert response.json() == {"name": "ada", "authenticated": True, "scopes": ["user"]}


async def test_no_credentials_is_an_unauthenticated_user() -> None:
    response = await AsyncTestClient(make()).get("/")
    assert response.json() == {"name": "", "authenticated": False, "scopes": []}


@pytest.mark.parametrize("header", ["Bearer bad", "Basic YWRhOg=="])
async def test_an_authentication_error_is_a_400_by_default(header: str) -> None:
    response = await AsyncTestClient(make()).get("/", headers={"authorization": header})
    assert response.status_code == 400
    assert response.text == f"Invalid credentials: {header!r}."


def sync_on_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    return PlainTextResponse(
        f"sync {conn.url.path}: {exc}", status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


async def async_on_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    return PlainTextResponse(
        f"async {conn.url.path}: {exc}", status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


@pytest.mark.parametrize(("on_error", "kind"), [(sync_on_error, "sync"), (async_on_error, "async")])
async def test_on_error_answers(on_error: Any, kind: str) -> None:
    client = AsyncTestClient(make(on_error=on_error))
    response = await client.get("/", headers={"authorization": "Bearer bad"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.text == f"{kind} /: Invalid credentials: 'Bearer bad'."


async def test_on_error_must_return_a_response() -> None:
    client = AsyncTestClient(make(on_error=lambda conn, exc: "nope"))
    with pytest.raises(TypeError, match="on_error returned 'nope'; it must return a Response"):
        await client.get("/", headers={"authorization": "Bearer bad"})


async def test_a_websocket_sees_the_user() -> None:
    client = AsyncTestClient(make())
    headers = {"authorization": "Bearer ada"}
    async with client.websocket_connect("/ws", headers=headers) as session:
        assert await session.receive_json() == {"name": "ada", "scopes": ["user"]}


async def test_a_websocket_authentication_error_closes_with_1008() -> None:
    client = AsyncTestClient(make(on_error=sync_on_error))  # on_error answers http only
    with pytest.raises(WebSocketDisconnect) as closed:
        async with client.websocket_connect("/ws", headers={"authorization": "Bearer bad"}):
            pytest.fail("the handshake should have been refused")  # pragma: no cover
    assert closed.value.code == 1008


async def test_other_scope_types_pass_through_and_the_scope_is_copied() -> None:
    seen: list[Scope] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        if scope["type"] == "http":
            await PlainTextResponse("ok")(scope, receive, send)

    middleware = AuthenticationMiddleware(inner, BearerBackend())
    lifespan: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}}

    async def receive() -> Message:
        raise AssertionError("not called")

    async def send(message: Message) -> None:
        raise AssertionError("not called")

    await middleware(lifespan, receive, send)
    assert seen == [lifespan]

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        await middleware(scope, receive, send)
        assert "user" not in scope

    await AsyncTestClient(outer).get("/", headers={"authorization": "Bearer ada"})
    assert seen[1]["user"].display_name == "ada"


@pytest.mark.parametrize(
    ("backend", "options", "match"),
    [
        (object(), {}, "needs a backend with an async authenticate"),
        (None, {}, "needs a backend with an async authenticate"),
        (BearerBackend(), {"on_error": "nope"}, "on_error must be a function"),
    ],
)
def test_configuration_errors(backend: Any, options: dict[str, Any], match: str) -> None:
    with pytest.raises(TypeError, match=match):
        AuthenticationMiddleware(Router([]), backend, **options)
