"""``ExceptionMiddleware``: turns exceptions into answers through registered handlers.

Handlers are looked up by status code (for ``HTTPException``) and by exception class (through the
class's MRO, most specific first). Without a handler, an ``HTTPException`` answers its status with
its ``detail`` (no body for 204 and 304) and a ``WebSocketException`` closes the socket with its
code; any other exception goes on up to ``ServerErrorMiddleware`` and the server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from microasgi._utils import is_async_callable
from microasgi.concurrency import run_in_threadpool
from microasgi.exceptions import HTTPException, WebSocketException
from microasgi.requests import HTTPConnection, Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ExceptionMiddleware"]

Handler = Callable[[Any, Any], Any]


class ExceptionMiddleware:
    """Answer exceptions raised by the app with the matching handler.

    Args:
        app: the app to wrap.
        handlers: ``{status_code or exception class: handler}``. An HTTP handler takes
            ``(request, exc)`` and returns a ``Response`` (sync handlers run in a worker thread);
            a websocket handler takes ``(websocket, exc)`` and closes the socket itself.
        debug: kept for Starlette compatibility; tracebacks are ``ServerErrorMiddleware``'s job.
    """

    def __init__(
        self, app: ASGIApp, handlers: Mapping[Any, Handler] | None = None, debug: bool = False
    ) -> None:
        self.app = app
        self.debug = debug
        self._status_handlers: dict[int, Handler] = {}
        self._exception_handlers: dict[type[BaseException], Handler] = {
            HTTPException: _http_exception,
            WebSocketException: _websocket_exception,
        }
        for key, handler in (handlers or {}).items():
            self.add_exception_handler(key, handler)

    def add_exception_handler(self, key: int | type[BaseException], handler: Handler) -> None:
        """Register ``handler`` for a status code or an exception class."""
        if isinstance(key, int) and not isinstance(key, bool):
            self._status_handlers[key] = handler
        elif isinstance(key, type) and issubclass(key, BaseException):
            self._exception_handlers[key] = handler
        else:
            raise TypeError(
                f"An exception handler key must be a status code (int) or an exception class, "
                f"got {key!r}."
            )
        if not callable(handler):
            raise TypeError(f"The exception handler for {key!r} must be callable, got {handler!r}.")

    def _lookup(self, exc: Exception) -> Handler | None:
        if isinstance(exc, HTTPException) and exc.status_code in self._status_handlers:
            return self._status_handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls in self._exception_handlers:
                return self._exception_handlers[cls]
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def sender(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, sender)
        except Exception as exc:
            handler = self._lookup(exc)
            if handler is None:
                raise
            if started:
                raise RuntimeError(
                    "The app raised after it had started its response, so the exception handler "
                    f"for {type(exc).__name__} cannot answer. Raise before sending the response."
                ) from exc
            if scope["type"] == "http":
                await _answer_http(
                    handler, Request(scope, receive, send), exc, scope, receive, send
                )
            else:
                from microasgi.websockets import WebSocket

                result = handler(WebSocket(scope, receive, send), exc)
                if result is not None:
                    await result


async def _answer_http(
    handler: Handler, request: Request, exc: Exception, scope: Scope, receive: Receive, send: Send
) -> None:
    if is_async_callable(handler):
        response = await handler(request, exc)
    else:
        response = await run_in_threadpool(handler, request, exc)
    if not callable(response):
        raise TypeError(
            f"The exception handler {getattr(handler, '__qualname__', handler)!r} returned "
            f"{response!r} for {type(exc).__name__}; an HTTP exception handler must return a "
            "Response."
        )
    await response(scope, receive, send)


def _http_exception(request: HTTPConnection, exc: HTTPException) -> Response:
    """The default answer to an ``HTTPException``: its status and detail as plain text."""
    if exc.status_code in (204, 304):
        # SPEC: RFC 9110 sections 15.3.5 and 15.4.5, no content in a 204 or a 304.
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)


async def _websocket_exception(websocket: Any, exc: WebSocketException) -> None:
    """The default answer to a ``WebSocketException``: close with its code and reason."""
    await websocket.close(code=exc.code, reason=exc.reason)
