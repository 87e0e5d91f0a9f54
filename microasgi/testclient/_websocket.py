"""WebSocket test sessions: the app runs in a task while the test talks to it.

Messages flow through two unbounded memory object streams (a websocket buffers frames both ways).
Every message the app sends is checked by :class:`WebSocketChecker`. Exiting a session sends
``websocket.disconnect`` (unless a side already closed) and waits for the app to return; an app
that never reads the disconnect (blocked elsewhere) is cancelled, as Starlette's client does.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, AsyncExitStack, ExitStack, asynccontextmanager
from types import TracebackType
from typing import Any, Literal

import anyio
import anyio.abc
from anyio.from_thread import BlockingPortal
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from microasgi.testclient._driver import WebSocketChecker
from microasgi.testclient._messages import ASGIProtocolError, ClientDisconnectedError
from microasgi.testclient._response import WebSocketDenialResponse
from microasgi.types import ASGIApp, Message, Scope
from microasgi.websockets import WebSocketDisconnect, WebSocketState

__all__ = ["AsyncWebSocketTestSession", "WebSocketTestSession", "task_group"]


@asynccontextmanager
async def task_group() -> AsyncIterator[anyio.abc.TaskGroup]:
    """A task group whose errors surface as themselves, not in a one-exception group."""
    try:
        async with anyio.create_task_group() as group:
            yield group
    except BaseExceptionGroup as exc:
        error: BaseException = exc
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        raise error from None


def _payload(message: Message, key: Literal["text", "bytes"]) -> Any:
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    value = message.get(key)
    if value is None:
        other = "bytes" if key == "text" else "text"
        raise TypeError(
            f"Expected a {key} message, got {message!r}. Use receive_{other}() for a {other} message."
        )
    return value


class AsyncWebSocketTestSession:
    """A websocket connection to the app, for ``AsyncTestClient`` (``async with``, awaited methods).

    Connecting raises ``WebSocketDisconnect`` if the app closes before accepting, and
    :class:`WebSocketDenialResponse` if it answers with an HTTP response instead.

    Attributes:
        accepted_subprotocol: the subprotocol the app accepted, or None.
        extra_headers: the headers the app sent with ``websocket.accept``, as ``(name, value)``
            byte pairs with the names as the app wrote them.
    """

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        *,
        spec_version: tuple[int, int],
        raise_server_exceptions: bool = True,
        strict: bool = False,
    ) -> None:
        self.scope = scope
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] = []
        self._app = app
        self._raise_errors = raise_server_exceptions
        self._raise_after_close = spec_version >= (2, 4)
        self._checker = WebSocketChecker(
            scope.get("extensions") or {}, scope.get("subprotocols", []), strict=strict
        )
        # The message streams are made on entering the session (unentered, nothing leaks).
        self._to_app: MemoryObjectSendStream[Message]
        self._inbox: MemoryObjectReceiveStream[Message]
        self._outbox: MemoryObjectSendStream[Message]
        self._from_app: MemoryObjectReceiveStream[Message]
        self._app_final: Message | None = None  # what the app's receive() returns once closed
        self._close: Message | None = None  # the close the client received
        self._client_closed = False
        self._error: Exception | None = None
        self._protocol_error: ASGIProtocolError | None = None
        self._stack = AsyncExitStack()
        self._group: anyio.abc.TaskGroup | None = None
        self._app_done = anyio.Event()

    # --- the server's side of the ASGI calls -----------------------------------------------------

    async def _receive(self) -> Message:
        if self._app_final is not None:
            return dict(self._app_final)
        message = await self._inbox.receive()
        if message["type"] == "websocket.disconnect":
            self._app_final = message
        return message

    async def _send(self, message: Message) -> None:
        if self._client_closed:
            if self._raise_after_close:
                # SPEC: 2.4, send() on a closed connection raises an OSError subclass.
                raise ClientDisconnectedError("The client closed the websocket; stop sending.")
            return
        if self._protocol_error is not None:
            raise self._protocol_error
        try:
            self._checker.check(message)
        except ASGIProtocolError as exc:
            self._protocol_error = exc
            raise
        self._outbox.send_nowait(message)
        if self._checker.state is WebSocketState.DISCONNECTED:
            # The server closes the connection; the app's next receive() reports it.
            code = message.get("code", 1000) if message["type"] == "websocket.close" else 1000
            disconnect = {"type": "websocket.disconnect", "code": code, "reason": ""}
            self._to_app.send_nowait(disconnect)

    async def _run(self) -> None:
        try:
            await self._app(self.scope, self._receive, self._send)
        except Exception as exc:
            if not (self._client_closed and isinstance(exc, ClientDisconnectedError)):
                self._error = exc
        else:
            if self._checker.state is WebSocketState.RESPONSE and self._protocol_error is None:
                self._protocol_error = ASGIProtocolError(
                    "websocket.incomplete",
                    "The app returned in the middle of its denial response. Finish it with a "
                    "'websocket.http.response.body' whose more_body is False.",
                )
        finally:
            self._app_done.set()
            self._outbox.close()

    async def _next(self) -> Message | None:
        """The next message from the app; None once it returned without error."""
        try:
            return await self._from_app.receive()
        except anyio.EndOfStream:
            if self._protocol_error is not None:
                raise self._protocol_error from None
            if self._error is not None and self._raise_errors:
                error, self._error = self._error, None
                raise error from None
            if self._error is not None:
                # As a server does: an app crash closes the connection with 1011 (internal error).
                return {"type": "websocket.close", "code": 1011, "reason": ""}
            return None

    # --- connecting ------------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncWebSocketTestSession:
        self._to_app, self._inbox = anyio.create_memory_object_stream[Message](math.inf)
        self._outbox, self._from_app = anyio.create_memory_object_stream[Message](math.inf)
        self._group = group = await self._stack.enter_async_context(task_group())
        group.start_soon(self._run)
        try:
            self._to_app.send_nowait({"type": "websocket.connect"})
            await self._handshake()
        except BaseException as exc:
            await self._finish(exc)
            raise
        return self

    async def _handshake(self) -> None:
        message = await self._next()
        if message is None:
            raise ASGIProtocolError(
                "websocket.handshake",
                "The app returned without accepting, closing or denying the websocket connection. "
                "Send 'websocket.accept' (or 'websocket.close') after 'websocket.connect'.",
            )
        if message["type"] == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            # As sent, names in their case (Starlette's client keeps them); the checks saw them
            # lower-cased.
            self.extra_headers = [(name, value) for name, value in message.get("headers") or ()]
        elif message["type"] == "websocket.close":
            self._close = message
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        else:
            status, headers = self._checker.status, list(self._checker.headers)
            body, more = [], True
            while more:
                # The app cannot end the denial cleanly halfway: _next() raises instead of None.
                part = await self._next() or {}
                body.append(part.get("body", b""))
                more = part.get("more_body", False)
            raise WebSocketDenialResponse(status, headers, b"".join(body))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._finish(exc)

    async def _finish(self, exc: BaseException | None) -> None:
        await self.close(1000)
        try:
            await self._settle()
        finally:
            await self._close_streams()
        # A protocol error is the root cause of whatever the test body saw: it always surfaces.
        if self._protocol_error is not None and exc is not self._protocol_error:
            raise self._protocol_error
        if exc is None and self._error is not None and self._raise_errors:
            raise self._error

    async def _settle(self) -> None:
        """Let the app see the disconnect; cancel it if it is blocked without ever reading it."""
        if self._app_done.is_set():
            return
        # The app runs until every task waits on something: a listening app has read the
        # disconnect (and is left to finish, as a server does), a deaf one is stuck elsewhere.
        await anyio.wait_all_tasks_blocked()
        if not self._app_done.is_set() and self._app_final is None and self._group is not None:
            self._group.cancel_scope.cancel()

    async def _close_streams(self) -> None:
        try:
            await self._stack.aclose()
        finally:
            for stream in (self._to_app, self._inbox, self._outbox, self._from_app):
                stream.close()

    # --- talking to the app ----------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Send a raw message (``websocket.receive`` or ``websocket.disconnect``) to the app."""
        if self._client_closed:
            raise RuntimeError("This websocket session is closed; open a new one to send again.")
        self._to_app.send_nowait(message)

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self.send({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self.send({"type": "websocket.receive", "bytes": data})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON, in a text message or (``mode="binary"``) a binary one."""
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            await self.send_text(text)
        elif mode == "binary":
            await self.send_bytes(text.encode("utf-8"))
        else:
            raise ValueError(f'send_json() mode must be "text" or "binary", got {mode!r}.')

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection from the client side (the app receives ``websocket.disconnect``)."""
        if not self._client_closed:
            self._client_closed = True
            self._to_app.send_nowait(
                {"type": "websocket.disconnect", "code": code, "reason": reason or ""}
            )

    async def receive(self) -> Message:
        """Return the next raw message from the app (``websocket.send`` or ``websocket.close``).

        Once the app has closed, or returned, this is a ``websocket.close`` message: the app's own,
        or code 1006 (abnormal closure) when it returned without closing.
        """
        if self._close is not None:
            return dict(self._close)
        message = await self._next()
        if message is None:
            message = {"type": "websocket.close", "code": 1006, "reason": ""}
        if message["type"] == "websocket.close":
            self._close = message
        return message

    async def receive_text(self) -> str:
        """Return the next text message; raise ``WebSocketDisconnect`` if the app closed."""
        return str(_payload(await self.receive(), "text"))

    async def receive_bytes(self) -> bytes:
        """Return the next binary message; raise ``WebSocketDisconnect`` if the app closed."""
        return bytes(_payload(await self.receive(), "bytes"))

    async def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """Return the next message parsed as JSON, from a text (or ``mode="binary"``) message."""
        if mode not in ("text", "binary"):
            raise ValueError(f'receive_json() mode must be "text" or "binary", got {mode!r}.')
        if mode == "text":
            return json.loads(await self.receive_text())
        return json.loads(await self.receive_bytes())


class WebSocketTestSession:
    """A websocket connection to the app, for the sync ``TestClient`` (a ``with`` block).

    The same methods as :class:`AsyncWebSocketTestSession`, called without ``await``: the app runs
    in the client's event loop thread (the blocking portal).
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        session: AsyncWebSocketTestSession,
        portal_factory: Callable[[], AbstractContextManager[BlockingPortal]],
    ) -> None:
        self._session = session
        self._portal_factory = portal_factory
        self._stack = ExitStack()
        self._portal: BlockingPortal | None = None

    @property
    def accepted_subprotocol(self) -> str | None:
        """The subprotocol the app accepted, or None."""
        return self._session.accepted_subprotocol

    @property
    def extra_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers the app sent with ``websocket.accept``, names as the app wrote them."""
        return self._session.extra_headers

    def __enter__(self) -> WebSocketTestSession:
        with ExitStack() as stack:
            portal = stack.enter_context(self._portal_factory())
            stack.enter_context(portal.wrap_async_context_manager(self._session))
            self._stack = stack.pop_all()
        self._portal = portal
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stack.__exit__(*exc_info)

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._portal is None:
            raise RuntimeError("Use the session in a 'with client.websocket_connect(...)' block.")
        return self._portal.call(fn, *args)

    def send(self, message: Message) -> None:
        """Send a raw message to the app."""
        self._call(self._session.send, message)

    def send_text(self, data: str) -> None:
        """Send a text message."""
        self._call(self._session.send_text, data)

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        self._call(self._session.send_bytes, data)

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON, in a text message or (``mode="binary"``) a binary one."""
        self._call(self._session.send_json, data, mode)

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection from the client side."""
        self._call(self._session.close, code, reason)

    def receive(self) -> Message:
        """Return the next raw message from the app."""
        return self._call(self._session.receive)  # type: ignore[no-any-return]

    def receive_text(self) -> str:
        """Return the next text message; raise ``WebSocketDisconnect`` if the app closed."""
        return self._call(self._session.receive_text)  # type: ignore[no-any-return]

    def receive_bytes(self) -> bytes:
        """Return the next binary message; raise ``WebSocketDisconnect`` if the app closed."""
        return self._call(self._session.receive_bytes)  # type: ignore[no-any-return]

    def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """Return the next message parsed as JSON."""
        return self._call(self._session.receive_json, mode)
