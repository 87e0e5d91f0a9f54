"""Class-based endpoints: one method per HTTP method, or one per websocket event.

``HTTPEndpoint`` and ``WebSocketEndpoint`` are Starlette's: the class is the ASGI app. The router
builds an instance per request with ``(scope, receive, send)`` and awaits it. An ``HTTPEndpoint``
calls the method named after the request's method (``get``, ``post`` ...) with a ``Request`` and
sends the ``Response`` it returns; a ``WebSocketEndpoint`` calls ``on_connect``, ``on_receive``
for each message (decoded as its ``encoding`` says) and ``on_disconnect``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from microasgi._asgi.concurrency import is_async_callable
from microasgi._routing.cancellation import is_cancellable, run_sync_cancellable
from microasgi.concurrency import run_in_threadpool
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.types import Message, Receive, Scope, Send
from microasgi.websockets import WebSocket, WebSocketDisconnect, WebSocketState

__all__ = ["HTTPEndpoint", "WebSocketEndpoint"]

# The methods an endpoint may define, in the order the ``Allow`` header lists them (Starlette's).
# SECURITY: only these names are ever looked up. Looking up ``request.method.lower()`` as it comes
# would let a client call any attribute: a request with method ``DISPATCH`` would run ``dispatch``.
# QUERY (a safe method with a body, draft-ietf-httpbis-safe-method-w-body) as Starlette 1.10.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY")


class _Endpoint:
    """What both endpoint classes share: built per connection, then awaited (an ASGI 3 app)."""

    _scope_type: ClassVar[str]
    _elsewhere: ClassVar[str]

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != self._scope_type:
            raise ValueError(
                f"{type(self).__name__} serves {self._scope_type!r} scopes, got "
                f"{scope['type']!r}. {self._elsewhere}"
            )
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    if TYPE_CHECKING:

        async def dispatch(self) -> None:
            """Serve the connection (each endpoint class defines it)."""


class HTTPEndpoint(_Endpoint):
    """An endpoint class with one method per HTTP method it serves.

    Define ``async def get(self, request) -> Response`` (or ``post``, ``put``, ``patch``,
    ``delete``, ``options``, ``head``, ``query``); plain ``def`` methods run in a worker thread. ``HEAD`` is
    served by ``get`` unless the class defines ``head``. Any other method is answered 405 with an
    ``Allow`` header listing the methods the class serves; inside an application the 405 is raised
    as an ``HTTPException`` so the application's handlers can shape it.

    Use the class itself as the endpoint: ``Route("/users/{id}", UserEndpoint)``.

    Args:
        scope: the ASGI ``http`` scope.
        receive: the ASGI receive callable.
        send: the ASGI send callable.

    Raises:
        ValueError: the scope is not an ``http`` scope.
    """

    # Computed once per class (``__init_subclass__``): method -> (attribute name, is async).
    _handlers: ClassVar[dict[str, tuple[str, bool]]] = {}
    _allow: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # PERF: which methods exist and whether they are async is settled here, not per request.
        handlers: dict[str, tuple[str, bool]] = {}
        for method in _METHODS:
            name = method.lower()
            function = getattr(cls, name, None)
            if function is not None:
                handlers[method] = (name, is_async_callable(function))
        if "GET" in handlers and "HEAD" not in handlers:
            handlers["HEAD"] = handlers["GET"]
        cls._handlers = handlers
        cls._allow = ", ".join(method for method in _METHODS if method in handlers)

    _scope_type = "http"
    _elsewhere = "Route websockets to a WebSocketRoute."

    async def dispatch(self) -> None:
        """Call the method for this request and send its response."""
        request = Request(self.scope, self.receive, self.send)
        try:
            found = self._handlers.get(request.method)
            if found is None:
                response: Any = await self.method_not_allowed(request)
            else:
                name, is_async = found
                handler: Callable[[Request], Any] = getattr(self, name)
                if is_async:
                    response = await handler(request)
                elif is_cancellable(self.scope):
                    # The request may end before the thread: stop waiting for it then.
                    response = await run_sync_cancellable(handler, request)
                else:
                    response = await run_in_threadpool(handler, request)
                if not callable(response):
                    raise TypeError(
                        f"{type(self).__name__}.{name}() returned {response!r}, which is not a "
                        "Response. Return a Response, for example JSONResponse(data)."
                    )
            await response(self.scope, self.receive, self.send)
        finally:
            # The form's uploaded files are deleted when the request ends, also on error.
            await request.close()

    async def method_not_allowed(self, request: Request) -> Response:
        """Answer a method the class does not serve: 405 with ``Allow``.

        Raises:
            HTTPException: 405, inside an application, so its handlers can answer.
        """
        headers = {"Allow": self._allow}
        if "app" in self.scope:
            raise HTTPException(405, headers=headers)
        return PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)


_ENCODINGS = (None, "text", "bytes", "json")


class WebSocketEndpoint(_Endpoint):
    """An endpoint class for a websocket: override ``on_connect``, ``on_receive``, ``on_disconnect``.

    ``on_connect`` accepts by default. Each message is decoded as ``encoding`` says and handed to
    ``on_receive``: ``"text"`` (a binary message closes the connection with 1003, unsupported
    data), ``"bytes"`` (a text message closes with 1003), ``"json"`` (text or UTF-8 bytes; invalid
    UTF-8 or JSON closes with 1007), or ``None`` for the raw ``str`` or ``bytes``. When the
    connection ends, ``on_disconnect`` gets the close code: the client's, the application's own
    close, or 1011 when ``on_receive`` raised (the exception then goes on to the exception
    handlers, and without one on to the server, which closes the connection).

    Use the class itself as the endpoint: ``WebSocketRoute("/ws", ChatEndpoint)``.

    Args:
        scope: the ASGI ``websocket`` scope.
        receive: the ASGI receive callable.
        send: the ASGI send callable.

    Raises:
        ValueError: the scope is not a ``websocket`` scope, or (when the class is defined) its
            ``encoding`` is not one of ``None``, ``"text"``, ``"bytes"``, ``"json"``.
    """

    encoding: Literal["text", "bytes", "json"] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.encoding not in _ENCODINGS:
            raise ValueError(
                f"{cls.__name__}.encoding must be None, 'text', 'bytes' or 'json', got "
                f"{cls.encoding!r}."
            )

    _scope_type = "websocket"
    _elsewhere = "Route http requests to a Route."

    async def dispatch(self) -> None:
        """Run the connection: ``on_connect``, ``on_receive`` per message, ``on_disconnect``."""
        websocket = WebSocket(self.scope, receive=self.receive, send=self.send)
        # The drain may hold the connection strongly: the finally below lets it go.
        websocket._let_go_by_owner = True
        try:
            await self.on_connect(websocket)
            failed = False
            try:
                # The loop runs while the connection is open: on_connect or on_receive may
                # close it.
                while websocket.application_state is WebSocketState.CONNECTED:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    await self.on_receive(websocket, await self.decode(websocket, message))
            except WebSocketDisconnect:
                pass  # The client left, or a message the encoding refuses closed the connection.
            except Exception:
                failed = True
                raise
            finally:
                # The connection records how it ended: the client's code, or the app's close.
                await self.on_disconnect(websocket, 1011 if failed else websocket._conn.code)
        finally:
            websocket._leave_drain()

    async def decode(self, websocket: WebSocket, message: Message) -> Any:
        """Turn a ``websocket.receive`` message into what ``on_receive`` gets, per ``encoding``.

        Raises:
            WebSocketDisconnect: the message does not fit the encoding; the connection was closed
                with 1003 (wrong kind of message) or 1007 (invalid UTF-8 or JSON).
        """
        text: str | None = message.get("text")
        if self.encoding == "json":
            return await websocket._decode_json(message)
        if self.encoding == "text" and text is None:
            await websocket._fail(1003, "Expected text messages, got a binary one.")
        if self.encoding == "bytes" and text is not None:
            await websocket._fail(1003, "Expected binary messages, got a text one.")
        return message["bytes"] if text is None else text

    async def on_connect(self, websocket: WebSocket) -> None:
        """Answer the handshake; accepts by default. Override to check, then accept or close."""
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        """Handle one decoded message; does nothing by default."""

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        """Run once the connection is over, with its close code; does nothing by default."""
