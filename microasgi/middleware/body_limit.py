"""``BodyLimitMiddleware``: cap the size of request bodies in front of any ASGI app.

The same limit ``MicroASGI(max_body_size=...)`` and ``Route(..., max_body_size=...)`` give, as a
middleware: it works around apps that never build a ``Request`` (a mounted raw ASGI app, another
framework), and tells microasgi ``Request``\\ s downstream the limit through
``scope[MAX_BODY_SIZE_KEY]`` so both agree.
"""

from __future__ import annotations

from microasgi._sansio.body import declared_content_length
from microasgi.exceptions import HTTPException
from microasgi.requests import DEFAULT_MAX_BODY_SIZE, MAX_BODY_SIZE_KEY
from microasgi.responses import PlainTextResponse
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "BodyLimitMiddleware",
    "MAX_BODY_SIZE_SCOPE_KEY",
    "RequestBodyLimitMiddleware",
    "RequestBodyTooLarge",
]

MAX_BODY_SIZE_SCOPE_KEY = MAX_BODY_SIZE_KEY
"""Starlette's name for the scope key holding the body cap (``MAX_BODY_SIZE_KEY``)."""


class RequestBodyTooLarge(HTTPException):
    """The 413 raised from ``receive()`` when the body passes the limit.

    It is an ``HTTPException``, so a microasgi app answers it with its own 413 handler; an app
    that lets it escape gets the middleware's plain 413 instead.
    """


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_body_size`` bytes with ``413 Content Too Large``.

    A ``Content-Length`` over the limit is answered at once, before the app runs (so an
    ``Expect: 100-continue`` client never sends the body). Whatever the request declares, the
    body is counted as the app reads it, as in Starlette: the ``receive()`` call that would
    deliver the first byte past the limit raises ``RequestBodyTooLarge`` instead, and no byte
    past the limit reaches the app, so a ``Content-Length`` that understates the body (or a
    malformed one, which is otherwise ignored, as in Starlette) cannot get more through. The
    middleware answers 413 itself when that exception escapes the app and the response has not
    started; if it has, the response is left unfinished, which makes the server close the
    connection.

    The limit also goes into a copy of the scope as ``scope[MAX_BODY_SIZE_KEY]``, so microasgi
    ``Request.body()``, ``json()``, ``form()`` and ``stream()`` downstream apply it too. (A
    ``MicroASGI`` app or ``Router`` below with a ``max_body_size`` of its own sets that key again;
    the bytes are counted here all the same, so the smaller of the two limits wins. An
    application's default cap never replaces the middleware's.)

    Args:
        app: the app to wrap.
        max_body_size: the cap in bytes, or None for no cap (the key is still set, to None, so
            ``Request`` applies no default either).

    Raises:
        ValueError: ``max_body_size`` is not an int >= 0 or None.
    """

    def __init__(self, app: ASGIApp, max_body_size: int | None = DEFAULT_MAX_BODY_SIZE) -> None:
        if max_body_size is not None and (
            not isinstance(max_body_size, int)
            or isinstance(max_body_size, bool)
            or max_body_size < 0
        ):
            raise ValueError(
                f"BodyLimitMiddleware max_body_size must be a number of bytes >= 0, or None for "
                f"no limit, got {max_body_size!r}."
            )
        self.app = app
        self.max_body_size = max_body_size
        # Starlette's text, which clients and ported tests see.
        self._detail = "Content Too Large"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_size
        scope = {**scope, MAX_BODY_SIZE_KEY: limit}  # SPEC: middleware copy the scope they change
        if limit is None:
            await self.app(scope, receive, send)
            return
        # A scope built by hand (a unit test of a middleware) may have no headers.
        declared = declared_content_length(scope.get("headers", ()))
        if declared is not None and declared > limit:
            await PlainTextResponse(self._detail, 413)(scope, receive, send)
            return
        # SECURITY: counted even under a Content-Length within the limit: a server frames the
        # body to that length, but one in front of it may not (a lenient proxy, a test client,
        # an app that calls us with its own receive), and a malformed length frames nothing.
        guard = _Guard(receive, send, limit, self._detail)
        try:
            await self.app(scope, guard.receive, guard.send)
        except RequestBodyTooLarge as exc:
            if exc is not guard.error:
                raise  # another limit's, for its own middleware to answer
            if not guard.started:
                await PlainTextResponse(self._detail, 413)(scope, receive, send)


class _Guard:
    """The ``receive`` and ``send`` of one request: counts body bytes, notes the start."""

    __slots__ = ("_receive", "_send", "detail", "error", "limit", "started", "total")

    def __init__(self, receive: Receive, send: Send, limit: int, detail: str) -> None:
        self._receive = receive
        self._send = send
        self.limit = limit
        self.detail = detail
        self.total = 0
        self.started = False
        self.error: RequestBodyTooLarge | None = None

    async def receive(self) -> Message:
        if self.error is not None:
            raise self.error  # asked again after the refusal: still refused, nothing read
        message = await self._receive()
        if message["type"] == "http.request":
            self.total += len(message.get("body", b""))
            if self.total > self.limit:
                # SECURITY: the chunk that passes the limit is dropped, never handed on.
                self.error = RequestBodyTooLarge(413, detail=self.detail)
                raise self.error
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


RequestBodyLimitMiddleware = BodyLimitMiddleware
"""Starlette's name for ``BodyLimitMiddleware``: ``RequestBodyLimitMiddleware(app, max_body_size)``
works unchanged."""
