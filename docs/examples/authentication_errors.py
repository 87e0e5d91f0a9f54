"""on_error: answer invalid credentials your way (here 401 with WWW-Authenticate)."""

from __future__ import annotations

from microasgi.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    SimpleUser,
)
from microasgi.middleware.authentication import AuthenticationMiddleware
from microasgi.requests import HTTPConnection, Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route, Router
from microasgi.testclient import AsyncTestClient


class BearerBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None
        if header != "Bearer s3cret":
            raise AuthenticationError("The access token is invalid or expired.")
        return AuthCredentials(["api"]), SimpleUser("robot")


def on_auth_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    return JSONResponse(
        {"error": "invalid_token", "detail": str(exc)},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


async def me(request: Request) -> Response:
    return JSONResponse({"user": request.user.identity, "scopes": request.auth.scopes})


app = AuthenticationMiddleware(
    Router([Route("/me", me)]), backend=BearerBackend(), on_error=on_auth_error
)


async def test_invalid_token_is_a_401() -> None:
    client = AsyncTestClient(app)
    response = await client.get("/me", headers={"authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["error"] == "invalid_token"
    ok = await client.get("/me", headers={"authorization": "Bearer s3cret"})
    assert ok.json() == {"user": "robot", "scopes": ["api"]}
