"""``ExceptionMiddleware``: turns exceptions into answers through registered handlers.

Handlers are looked up by status code (for an ``HTTPException``) and by exception class (through
the class's MRO, most specific first). Without a handler of its own, an ``HTTPException`` answers
its status with its ``detail`` (no body for 204, 205 and 304) and its headers; any other
exception goes on up to ``ServerErrorMiddleware`` and the server.

In a websocket scope handlers get a ``WebSocket`` instead of a ``Request``: a
``WebSocketException`` closes the connection with its code; a ``Response`` a handler returns
(the ``HTTPException`` default, say) denies a handshake not yet accepted; any other exception
goes on up as itself, as in Starlette, and the server answers the handshake with 500 or closes the
accepted connection.

As in Starlette, an exception raised by a function endpoint (``Route``'s ``request_response``, or
``WebSocketRoute``'s ``websocket_session``) is answered inside its route, with the handlers of the
enclosing ``ExceptionMiddleware`` (which it publishes in the scope) and the endpoint's own
``Request`` or ``WebSocket``: the answer then passes back out through the route's and the mount's
middleware (a ``CORSMiddleware`` on a ``Mount`` adds its headers to a handled 403). The middleware
itself answers what is left: exceptions raised by other middleware, routers, class endpoints and
responses.

Once a handler has answered, the exception's traceback is dropped, so an exception object that
outlives the request (a module-level ``HTTPException`` raised on every bad token) does not keep
the request's frames and everything they hold alive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from microasgi._asgi.concurrency import is_async_callable
from microasgi._sansio.websocket import Connection, fit_reason
from microasgi.concurrency import run_in_threadpool
from microasgi.exceptions import HTTPException, WebSocketException
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.types import ASGIApp, Message, Receive, Scope, Send
from microasgi.websockets import WebSocket, WebSocketDisconnect, WebSocketState

__all__ = ["ExceptionMiddleware"]

_HANDLERS_KEY = "microasgi.exception_handlers"
"""The scope key where ``ExceptionMiddleware`` publishes itself, with the application it serves
(``scope.get("app")``): ``(middleware, app)``. Routes answer their endpoints' exceptions with it,
and a router knows its ``HTTPException``\\ s will be answered. The application is recorded because
the scope is shared with what is mounted below: an entry set above another framework's app (or
another ``MicroASGI``) is stale there, and ignored."""

# ``(request, exc) -> Response``, sync or async. Typed loosely on purpose: handlers are usually
# written for one exception class (``(Request, ValueError)``), which a precise type would refuse.
ExceptionHandler = Callable[[Any, Any], Any]


class ExceptionMiddleware:
    """Answer exceptions raised by the app with the matching handler.

    A handler registered for a status code answers ``HTTPException``\\ s with that status; one
    registered for an exception class answers that class and its subclasses (the most specific
    registered class wins). An ``HTTPException`` without a handler answers its own status, detail
    and headers. Any other exception propagates.

    A handler can only answer while the response has not started. An exception raised after
    ``http.response.start`` (in a streaming body, say) is re-raised as itself, with a note saying
    why its handler did not run, for ``ServerErrorMiddleware`` and the server to log.

    Args:
        app: the app to wrap.
        handlers: ``{status code or exception class: handler}``. A handler takes ``(request,
            exc)`` and returns a ``Response``; plain functions run in a worker thread.
        debug: kept for Starlette compatibility; tracebacks are ``ServerErrorMiddleware``'s job.

    Raises:
        TypeError: a key is neither a status code nor an exception class, or a handler is not
            callable.
    """

    def __init__(
        self,
        app: ASGIApp,
        handlers: Mapping[Any, ExceptionHandler] | None = None,
        debug: bool = False,
    ) -> None:
        self.app = app
        self.debug = debug
        self._status_handlers: dict[int, ExceptionHandler] = {}
        self._exception_handlers: dict[type[BaseException], ExceptionHandler] = {
            HTTPException: _http_exception,
        }
        for key, handler in (handlers or {}).items():
            self.add_exception_handler(key, handler)

    def add_exception_handler(
        self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandler
    ) -> None:
        """Register ``handler`` for a status code or an exception class."""
        key = _check_handler(exc_class_or_status_code, handler)
        if isinstance(key, int):
            self._status_handlers[key] = handler
        else:
            self._exception_handlers[key] = handler

    def _lookup(self, exc: Exception) -> ExceptionHandler | None:
        if self._status_handlers and isinstance(exc, HTTPException):
            handler = self._status_handlers.get(exc.status_code)
            if handler is not None:
                return handler
        for cls in type(exc).__mro__:
            handler = self._exception_handlers.get(cls)
            if handler is not None:
                return handler
        return None

    def _websocket_handler(self, exc: Exception) -> ExceptionHandler | None:
        """The handler for ``exc`` in a websocket scope (``WebSocketException`` has a default)."""
        handler = self._lookup(exc)
        if handler is None and isinstance(exc, WebSocketException):
            handler = _websocket_exception
        return handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type == "websocket":
            scope[_HANDLERS_KEY] = (self, scope.get("app"))
            await self._websocket(scope, receive, send)
            return
        if scope_type != "http":
            await self.app(scope, receive, send)
            return
        scope[_HANDLERS_KEY] = (self, scope.get("app"))
        started = False

        async def sender(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sender)
        except Exception as exc:
            if not await self._answer_http(scope, receive, send, exc, started):
                raise

    async def _answer_http(
        self, scope: Scope, receive: Receive, send: Send, exc: Exception, started: bool
    ) -> bool:
        """Answer ``exc`` with its handler; False when it has none or the response has started."""
        handler = self._lookup(exc)
        if handler is None:
            return False
        if started:
            exc.add_note(
                f"The exception handler {_qualname(handler)} could not answer this "
                f"{type(exc).__name__}: the response had already started. Raise it before "
                "the response is sent (for a stream, before returning the StreamingResponse)."
            )
            return False
        response = await _run_handler(handler, Request(scope, receive, send), exc)
        await response(scope, receive, send)
        _forget_traceback(exc)
        return True

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The connection's phase, followed through the messages both ways with the same state
        # table WebSocket uses, so a handler's WebSocket knows whether it was accepted.
        conn = Connection()

        # PERF: a data message never moves the phase (the table allows it only in the open
        # phase, as a step to itself), so only the other messages are looked up.
        async def receiver() -> Message:
            message = await receive()
            if message["type"] != "websocket.receive":
                conn.observe_received(message)
            return message

        async def sender(message: Message) -> None:
            if message["type"] != "websocket.send":
                conn.observe_sent(message)
            await send(message)

        try:
            await self.app(scope, receiver, sender)
        except Exception as exc:
            handler = self._websocket_handler(exc)
            if handler is None:
                if isinstance(exc, WebSocketDisconnect):
                    _forget_traceback(exc)
                    return  # The connection is over: the normal end of a session, not an error.
                # Nothing is sent: the error goes to the server as itself, as Starlette lets it,
                # and the server ends the connection its own way (an unanswered handshake gets
                # 500 from uvicorn, hypercorn and daphne; the test client raises the error). A
                # 500 denial sent here hid the error from the test client, and a 1011 close made
                # ported tests see WebSocketDisconnect instead of the error.
                raise
            websocket = WebSocket._resume(scope, receive, send, conn)
            if not await _answer_websocket(handler, websocket, exc):
                raise


def _enclosing(scope: Scope) -> ExceptionMiddleware | None:
    """The ``ExceptionMiddleware`` whose handlers answer for the routes of ``scope``'s app.

    The one published in the scope for the current application, else the application's own: a
    ``MicroASGI`` without user middleware runs its exception layer fused with the error layer
    (see ``microasgi.applications``) and publishes nothing, which costs nothing per request.
    """
    app = scope.get("app")
    published = scope.get(_HANDLERS_KEY)
    if published is not None and published[1] is app:
        return cast(ExceptionMiddleware, published[0])
    own = getattr(app, "_exception_middleware", None)
    return own if isinstance(own, ExceptionMiddleware) else None


def _answered_above(scope: Scope) -> bool:
    """Tell whether an ``HTTPException`` raised below gets answered by this app's handlers."""
    published = scope.get(_HANDLERS_KEY)
    app = scope.get("app")
    if published is not None and published[1] is app:
        return True
    return bool(getattr(app, "_answers_http_exceptions", False))


def _route_handler(scope: Scope, exc: Exception) -> ExceptionHandler | None:
    """The handler a route answers its endpoint's ``exc`` with over HTTP, or None."""
    middleware = _enclosing(scope)
    return None if middleware is None else middleware._lookup(exc)


def _route_websocket_handler(scope: Scope, exc: Exception) -> ExceptionHandler | None:
    """The handler a route answers its websocket endpoint's ``exc`` with, or None."""
    middleware = _enclosing(scope)
    return None if middleware is None else middleware._websocket_handler(exc)


async def _answer_websocket(
    handler: ExceptionHandler, websocket: WebSocket, exc: Exception
) -> bool:
    """Run a websocket ``handler`` for ``exc``; False when its answer came too late to send.

    The handler closes the websocket itself, or returns a ``Response`` that denies a handshake
    not yet accepted. A ``Response`` returned once the websocket was answered cannot be sent: a
    note says so, and the caller re-raises ``exc``.
    """
    result = await _run_websocket_handler(handler, websocket, exc)
    if result is not None:
        if websocket.application_state is not WebSocketState.CONNECTING:
            exc.add_note(
                f"The exception handler {_qualname(handler)} returned {result!r} for "
                f"{type(exc).__name__}, but the websocket was already answered: a "
                "Response can only deny a handshake. To close an accepted websocket, "
                "raise WebSocketException(code, reason)."
            )
            return False
        await websocket.send_denial_response(cast(Response, result))
    _forget_traceback(exc)
    return True


def _forget_traceback(exc: BaseException) -> None:
    """Drop the tracebacks of a handled exception and of the exceptions chained to it.

    A traceback holds the frames it passed through, and they hold the request's objects (scope,
    ``receive``, ``send``, the endpoint's locals). An exception object that outlives the request,
    such as a module-level ``HTTPException`` raised on every bad token, would keep them alive until
    its next raise; and an exception held by a frame of its own traceback is a reference cycle
    only the garbage collector frees. Starlette drops the handled exception's traceback for the
    same reason; its chain (``raise ... from`` or raised inside ``except``) pins frames too.
    """
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is not None and id(current) not in seen:
            seen.add(id(current))
            current.__traceback__ = None
            pending += (current.__cause__, current.__context__)


def _check_handler(key: object, handler: object) -> int | type[Exception]:
    """Validate one ``exception_handlers`` item; return its key (shared with the application)."""
    if isinstance(key, int) and not isinstance(key, bool):
        if not 100 <= key <= 599:
            raise TypeError(
                f"An exception handler status code must be from 100 to 599, got {key!r}."
            )
    elif not (isinstance(key, type) and issubclass(key, Exception)):
        raise TypeError(
            "An exception handler key must be a status code (int) or an Exception subclass, "
            f"got {key!r}. For example: exception_handlers={{404: not_found, ValueError: bad}}."
        )
    if not callable(handler):
        raise TypeError(
            f"The exception handler for {key!r} must be a function (request, exc) -> Response, "
            f"got {handler!r}."
        )
    return key


def _qualname(handler: object) -> str:
    return str(getattr(handler, "__qualname__", repr(handler)))


async def _run_handler(handler: ExceptionHandler, request: Request, exc: Exception) -> ASGIApp:
    """Call ``handler`` (sync ones in a worker thread) and check it returned a response."""
    if is_async_callable(handler):
        response = await handler(request, exc)
    else:
        response = await run_in_threadpool(handler, request, exc)
    if not callable(response):
        raise TypeError(
            f"The exception handler {_qualname(handler)} returned {response!r} for "
            f"{type(exc).__name__}; it must return a Response, such as "
            "PlainTextResponse('...', status_code=400)."
        ) from exc
    return cast(ASGIApp, response)


async def _run_websocket_handler(
    handler: ExceptionHandler, websocket: WebSocket, exc: Exception
) -> ASGIApp | None:
    """Call ``handler`` with the websocket; it closes it itself, or returns a denial response."""
    if is_async_callable(handler):
        result = await handler(websocket, exc)
    else:
        result = await run_in_threadpool(handler, websocket, exc)
    if result is not None and not callable(result):
        raise TypeError(
            f"The exception handler {_qualname(handler)} returned {result!r} for "
            f"{type(exc).__name__} in a websocket; it must close the websocket and return None, "
            "or return a Response to deny the handshake."
        ) from exc
    return cast(ASGIApp | None, result)


async def _websocket_exception(websocket: WebSocket, exc: WebSocketException) -> None:
    """The default answer to a ``WebSocketException``: close with its code and reason."""
    if websocket.application_state in (WebSocketState.CONNECTING, WebSocketState.CONNECTED):
        # A close before accept makes the server answer the handshake with 403.
        await websocket.close(exc.code, fit_reason(exc.reason))


async def _http_exception(request: Request, exc: HTTPException) -> Response:
    """The default answer to an ``HTTPException``: its status, detail and headers."""
    # PERF: async, so the most common handler (every 404) does not go through a worker thread.
    status = exc.status_code
    if status in (204, 205, 304):
        # SPEC: RFC 9110 sections 15.3.5, 15.3.6 and 15.4.5: no content in these answers.
        return Response(status_code=status, headers=exc.headers)
    return PlainTextResponse(exc.detail, status, headers=exc.headers)
