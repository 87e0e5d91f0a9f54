"""``AuthenticationMiddleware``: ``request.user`` and ``request.auth`` from a backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from microasgi._asgi.concurrency import is_async_callable
from microasgi.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    UnauthenticatedUser,
)
from microasgi.requests import HTTPConnection
from microasgi.responses import PlainTextResponse, Response
from microasgi.types import ASGIApp, Receive, Scope, Send
from microasgi.websockets import WebSocketClose

__all__ = ["AuthenticationMiddleware"]

# ``(conn, exc) -> Response``, sync or async.
ErrorHandler = Callable[[HTTPConnection, AuthenticationError], Any]

# SPEC: RFC 6455 section 7.4.1, 1008 "policy violation".
_WS_POLICY_VIOLATION = 1008


class AuthenticationMiddleware:
    """Authenticate every http request and websocket with ``backend``.

    The backend's ``(AuthCredentials, BaseUser)`` goes into ``scope["auth"]`` and
    ``scope["user"]`` (``request.auth``, ``request.user``); a backend answering ``None`` gives
    ``AuthCredentials()`` and ``UnauthenticatedUser()``. The scope handed on is a copy, as the
    ASGI spec asks: the layers outside this middleware do not see the user.

    A backend raising ``AuthenticationError`` ends the request: http gets the response of
    ``on_error(conn, exc)`` (by default a 400 with the error's message); a websocket is closed
    with 1008 (policy violation) before it is accepted, so the server answers its handshake with
    403. Lifespan scopes pass through.

    Args:
        app: the app to wrap.
        backend: the ``AuthenticationBackend`` to ask.
        on_error: ``(conn, exc) -> Response``, plain or ``async def``, called directly (keep it
            cheap: it runs on the event loop).

    Raises:
        TypeError: ``backend`` has no ``authenticate`` method or ``on_error`` is not callable.
    """

    def __init__(
        self,
        app: ASGIApp,
        backend: AuthenticationBackend,
        on_error: ErrorHandler | None = None,
    ) -> None:
        if not callable(getattr(backend, "authenticate", None)):
            raise TypeError(
                f"AuthenticationMiddleware needs a backend with an async authenticate(conn) "
                f"method (an AuthenticationBackend instance), got {backend!r}."
            )
        if on_error is not None and not callable(on_error):
            raise TypeError(
                f"AuthenticationMiddleware on_error must be a function (conn, exc) -> Response, "
                f"got {on_error!r}."
            )
        self.app = app
        self.backend = backend
        self.on_error: ErrorHandler = _default_on_error if on_error is None else on_error
        self._on_error_is_async = is_async_callable(self.on_error)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        try:
            result = await self.backend.authenticate(conn)
        except AuthenticationError as exc:
            if scope_type == "websocket":
                await WebSocketClose(_WS_POLICY_VIOLATION)(scope, receive, send)
                return
            response = await self._error_response(conn, exc)
            await response(scope, receive, send)
            return
        if result is None:
            auth: Any = AuthCredentials()
            user: Any = UnauthenticatedUser()
        else:
            auth, user = result
        # SPEC: middleware copy the scope before changing it.
        await self.app({**scope, "auth": auth, "user": user}, receive, send)

    async def _error_response(self, conn: HTTPConnection, exc: AuthenticationError) -> ASGIApp:
        if self._on_error_is_async:
            response = await self.on_error(conn, exc)
        else:
            response = self.on_error(conn, exc)
        if not callable(response):
            raise TypeError(
                f"AuthenticationMiddleware on_error returned {response!r}; it must return a "
                "Response, such as PlainTextResponse(str(exc), status_code=401)."
            ) from exc
        app: ASGIApp = response
        return app


def _default_on_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    """The default answer to an ``AuthenticationError``: 400 with the error's message."""
    return PlainTextResponse(str(exc), status_code=400)
