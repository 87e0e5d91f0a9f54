"""The request limits a route, a mount or a router puts on what passes through it: the body cap
(``max_body_size``) and the websocket message cap (``max_message_size``)."""

from __future__ import annotations

from types import EllipsisType

from microasgi._asgi.body import _too_large_detail
from microasgi.middleware.body_limit import _Guard
from microasgi.requests import MAX_BODY_SIZE_KEY, _refuse_declared_oversize
from microasgi.types import ASGIApp, Receive, Scope, Send
from microasgi.websockets import (
    MAX_MESSAGE_SIZE_KEY,
)

MaxBodySize = int | EllipsisType | None
"""A body cap in bytes, ``None`` for no cap, or ``...`` to inherit the enclosing one."""


def _with_message_limit(app: ASGIApp, limit: int | None) -> ASGIApp:
    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        scope[MAX_MESSAGE_SIZE_KEY] = limit
        await app(scope, receive, send)

    return limited


def check_limit(value: object) -> MaxBodySize:
    """Validate a ``max_body_size`` option (at construction)."""
    if value is ... or value is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(
        f"max_body_size must be a number of bytes >= 0, or None for no limit, got {value!r}."
    )


def with_limit(app: ASGIApp, limit: MaxBodySize) -> ASGIApp:
    """Wrap ``app`` so requests reaching it carry ``limit`` as their body cap (``...``: no-op)."""
    if limit is ...:
        return app

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        # The innermost setting wins: it runs last, after the router's and the mounts'.
        scope[MAX_BODY_SIZE_KEY] = limit
        await app(scope, receive, send)

    return limited


class _BodyCap:
    """The body cap (``scope[MAX_BODY_SIZE_KEY]``) in front of an app that may not apply it.

    A declared ``Content-Length`` over the cap answers 413 before the app runs. With ``count``,
    the body is counted as the app reads ``receive()``, whatever the request declares (as
    ``BodyLimitMiddleware`` counts it): the call that would deliver the first byte past the cap
    raises the 413 instead, for the application's handlers to answer.
    """

    __slots__ = ("app", "count")

    def __init__(self, app: ASGIApp, *, count: bool) -> None:
        self.app = app
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            _refuse_declared_oversize(scope)
            limit = scope.get(MAX_BODY_SIZE_KEY)
            if self.count and type(limit) is int:
                receive = _Guard(receive, send, limit, _too_large_detail(limit)).receive
        await self.app(scope, receive, send)
