"""WebSocket connections: ``WebSocket``, its states, the disconnect exception and ``WebSocketClose``.

A connection follows one state table (``microasgi._sansio.websocket``): every step the app takes (receive, accept,
send, close, a denial response) and every message the server delivers moves it from one phase to
the next, and a step the table does not allow raises an error naming the phase and the step. The
two ``WebSocketState`` views Starlette offers, ``client_state`` and ``application_state``, are read
off the phase.

Hostile input never becomes a 500: a message over the size limit closes the connection with 1009,
undecodable text or JSON with 1007, a message of the wrong kind with 1003, and each then raises
``WebSocketDisconnect`` with that code from the typed receive methods.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import EllipsisType
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, Self, TypeVar

from microasgi._asgi.drain import Drain, drain_of, spawn
from microasgi._sansio.body import json_nesting_exceeds
from microasgi._sansio.websocket import (
    HINTS,
    INCOMING,
    STATES,
    Connection,
    Phase,
    Step,
    WebSocketDisconnect,
    WebSocketDisconnected,
    WebSocketState,
    accept_headers,
    check_close,
    check_message_size,
    check_mode,
    disconnect_code,
    exceeds,
    outgoing_step,
    payload_of,
)
from microasgi.requests import HTTPConnection, StateT, empty_receive
from microasgi.types import (
    Message,
    Receive,
    Scope,
    Send,
    WebSocketAcceptEvent,
    WebSocketCloseEvent,
    WebSocketSendEvent,
)

if TYPE_CHECKING:
    from microasgi.responses import Response

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MAX_MESSAGE_SIZE_KEY",
    "WebSocket",
    "WebSocketClose",
    "WebSocketDisconnect",
    "WebSocketDisconnected",
    "WebSocketState",
]

# The public home of the connection states and of WebSocketDisconnected is this module: docs,
# reprs, tracebacks and pickles name it.
WebSocketState.__module__ = __name__
WebSocketDisconnect.__module__ = __name__
WebSocketDisconnected.__module__ = __name__

DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024
"""The cap, in bytes (UTF-8 bytes for text), on one received message: 16 MiB, as uvicorn's."""

MAX_MESSAGE_SIZE_KEY = "microasgi.max_message_size"
"""The scope key that overrides ``DEFAULT_MAX_MESSAGE_SIZE`` for one connection: an int, or
``None`` for no limit. ``WebSocketRoute(max_message_size=...)`` sets it; a middleware may too."""

_T = TypeVar("_T")

# How a connection stands with the application's drain: the endpoint waits for the drain itself
# (wait_for_drain), or the drain closed the connection with 1012.
_DRAIN_HANDLED = 1
_DRAIN_CLOSED = 2

# PERF: one encoder, built once. NaN and infinities are refused: they are not JSON.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


# --- the connection ------------------------------------------------------------------------------


class WebSocket(HTTPConnection[StateT]):
    """A WebSocket connection: accept it, then receive and send text, bytes or JSON.

    The connection follows one state table; a step it does not allow (sending before accept,
    accepting twice) raises ``RuntimeError`` naming the state and the step, and once the
    connection is closed (sending after the application's close, receiving after the client's
    disconnect) that error is a ``WebSocketDisconnected``, as in Starlette.

    Args:
        scope: the ASGI ``websocket`` scope.
        receive: the ASGI receive callable.
        send: the ASGI send callable.
        max_message_size: the cap, in bytes, on one received message (text counts its UTF-8
            bytes), ``None`` for no cap. Defaults to ``scope[MAX_MESSAGE_SIZE_KEY]`` when set,
            else ``DEFAULT_MAX_MESSAGE_SIZE``. A bigger message closes the connection with 1009.

    Raises:
        ValueError: the scope is not a ``websocket`` scope, or the limit is invalid.
    """

    __slots__ = (
        "__weakref__",
        "_conn",
        "_drain_entry",
        "_drain_held",
        "_drain_state",
        "_let_go_by_owner",
        "_max_message_size",
        "_send",
    )

    max_json_depth: int = 256
    """How deeply received JSON may nest arrays and objects; deeper closes with 1009 (subclass
    to change it)."""

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        max_message_size: int | EllipsisType | None = ...,
    ) -> None:
        if scope.get("type") != "websocket":
            raise ValueError(
                f"WebSocket needs a 'websocket' scope, got scope type {scope.get('type')!r}. "
                "For an http request use Request(scope, receive, send)."
            )
        # PERF: HTTPConnection.__init__ inlined (as Request does): one call fewer per connection.
        self._scope = scope
        self._receive = empty_receive if receive is None else receive
        self._url = self._base_url = self._headers = self._query_params = None
        self._cookies = self._state = None
        self._send = send
        self._conn = Connection()
        self._drain_state = 0
        # Where the drain holds this open connection (see Drain.hold), and its entry there: None
        # (itself) if its maker lets it go however it ends (_let_go_by_owner), else a weakref.
        self._drain_held: set[Any] | None = None
        self._drain_entry: object = None
        self._let_go_by_owner = False
        if max_message_size is ...:
            max_message_size = scope.get(MAX_MESSAGE_SIZE_KEY, DEFAULT_MAX_MESSAGE_SIZE)
        # PERF: a valid limit (the default) needs no call to check it.
        if type(max_message_size) is not int or max_message_size < 1:
            max_message_size = check_message_size(max_message_size)
        self._max_message_size = max_message_size

    @classmethod
    def _resume(cls, scope: Scope, receive: Receive, send: Send, conn: Connection) -> Self:
        """A WebSocket over a connection someone else has been driving, at its current phase."""
        websocket = cls(scope, receive, send)
        websocket._conn = conn
        return websocket

    @property
    def max_message_size(self) -> int | None:
        """The cap, in bytes, on one received message (``None``: no cap); settable."""
        return self._max_message_size

    @max_message_size.setter
    def max_message_size(self, value: int | None) -> None:
        self._max_message_size = check_message_size(value)

    @property
    def client_state(self) -> WebSocketState:
        """The client's side: ``CONNECTING`` until ``websocket.connect`` was received,
        ``CONNECTED``, then ``DISCONNECTED`` once it left."""
        return STATES[self._conn.phase][0]

    @property
    def application_state(self) -> WebSocketState:
        """The application's side: ``CONNECTING`` until it answers the handshake, ``CONNECTED``
        once accepted, ``RESPONSE`` during a denial response, then ``DISCONNECTED``."""
        return STATES[self._conn.phase][1]

    # --- receiving --------------------------------------------------------------------------

    async def receive(self) -> Message:
        """Return the next raw ASGI message: ``websocket.connect``, ``websocket.receive`` or
        ``websocket.disconnect``.

        A message over ``max_message_size`` closes the connection with 1009 and is reported as
        a ``websocket.disconnect`` with that code.

        After the application's own close it returns what the server still delivers (the
        disconnect that completes the close), as in Starlette.

        Raises:
            WebSocketDisconnected: the client's disconnect was already received.
            RuntimeError: the server sent a message out of order or a malformed one.
        """
        self._conn.check(Step.RECEIVE)
        return await self._take(await self._receive())

    async def _take(self, message: Message) -> Message:
        """Follow a message the server delivered through the table; refuse one too big."""
        conn = self._conn
        step = INCOMING.get(message.get("type"))  # type: ignore[arg-type]
        if step is None:
            raise RuntimeError(
                f"Expected an ASGI websocket message from the server, got {message!r}."
            )
        conn.advance(step)
        if step is Step.MESSAGE and conn.phase is Phase.OPEN:
            payload = payload_of(message)
            limit = self._max_message_size
            if limit is not None and exceeds(payload, limit):
                # SECURITY: the message is refused before anything decodes or copies it.
                return await self._abort(1009, f"Message too big: the limit is {limit} bytes.")
        elif step is Step.DISCONNECT:
            conn.ended(disconnect_code(message), message.get("reason") or "")
            if self._drain_held is not None:
                self._leave_drain()  # ended: nothing left for the drain to close
        return message

    async def _receive_message(self) -> Message:
        """The next ``websocket.receive``; raise ``WebSocketDisconnect`` if the connection ended."""
        conn = self._conn
        if conn.phase is Phase.OPEN:
            # PERF: on an open connection a data message moves nothing in the table; the common
            # case returns it at once, anything else takes the general path.
            message = await self._receive()
            if message.get("type") == "websocket.receive":
                limit = self._max_message_size
                if limit is None or not exceeds(payload_of(message), limit):
                    return message
            # Anything else ends the connection (a disconnect, a message too big, closed with
            # 1009) or is refused by the table; _take records how it ended.
            await self._take(message)
            raise WebSocketDisconnect(conn.code, conn.reason)
        if self._drain_state == _DRAIN_CLOSED:
            raise WebSocketDisconnect(conn.code, conn.reason)  # the drain ended it, as a client
        # Starlette's error for a typed receive on a connection that is not open, closed or
        # not yet accepted alike (a RuntimeError).
        raise WebSocketDisconnected(
            f"Cannot {Step.MESSAGE.value}: the websocket is {conn.phase.value}. {HINTS[conn.phase]}"
        )

    async def receive_text(self) -> str:
        """Return the next text message.

        Raises:
            WebSocketDisconnect: the connection closed; or a binary message came, and the
                connection was closed with 1003 (unsupported data).
            WebSocketDisconnected: the connection is not open (not accepted yet, or already
                closed).
        """
        message = await self._receive_message()
        text: str | None = message.get("text")
        if text is None:
            await self._fail(1003, "Expected a text message, got a binary one.")
        return text

    async def receive_bytes(self) -> bytes:
        """Return the next binary message.

        Raises:
            WebSocketDisconnect: the connection closed; or a text message came, and the
                connection was closed with 1003 (unsupported data).
            WebSocketDisconnected: the connection is not open (not accepted yet, or already
                closed).
        """
        message = await self._receive_message()
        data: bytes | None = message.get("bytes")
        if data is None:
            await self._fail(1003, "Expected a binary message, got a text one.")
        return data

    async def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """Return the next message parsed as JSON.

        JSON is read from text and binary messages alike (binary ones as UTF-8); ``mode`` is
        kept for Starlette compatibility. Invalid UTF-8 or invalid JSON closes the connection with
        1007, JSON nested deeper than ``max_json_depth`` with 1009.

        Raises:
            ValueError: ``mode`` is neither ``"text"`` nor ``"binary"`` (a ``RuntimeError`` too,
                as Starlette raises).
            WebSocketDisconnect: the connection closed, or the message could not be decoded.
            WebSocketDisconnected: the connection is not open (not accepted yet, or already
                closed).
        """
        check_mode(mode, "receive_json")
        return await self._decode_json(await self._receive_message())

    async def _decode_json(self, message: Message) -> Any:
        text: str | None = message.get("text")
        if text is None:
            try:
                text = message["bytes"].decode("utf-8")
            except UnicodeDecodeError:
                await self._fail(1007, "The message is not valid UTF-8.")
        depth = self.max_json_depth
        # SECURITY: the nesting is bounded before parsing, so deep input never reaches the
        # parser's recursion (the C stack); counting brackets first skips the encode.
        if text.count("[") + text.count("{") > depth and json_nesting_exceeds(
            text.encode("utf-8", "surrogatepass"), depth
        ):
            await self._fail(1009, f"JSON nested too deeply (over {depth} levels).")
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            await self._fail(1007, "The message is not valid JSON.")

    def iter_text(self) -> AsyncIterator[str]:
        """Iterate over text messages until the connection closes."""
        return _Messages(self.receive_text)

    def iter_bytes(self) -> AsyncIterator[bytes]:
        """Iterate over binary messages until the connection closes."""
        return _Messages(self.receive_bytes)

    def iter_json(self) -> AsyncIterator[Any]:
        """Iterate over messages parsed as JSON until the connection closes."""
        return _Messages(self.receive_json)

    # --- answering the handshake ------------------------------------------------------------

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] | Mapping[str, str] | None = None,
    ) -> None:
        """Accept the connection, receiving ``websocket.connect`` first if it was not yet.

        Args:
            subprotocol: the subprotocol to speak, one of those the client offered
                (``websocket.scope["subprotocols"]``).
            headers: extra handshake response headers, as ``(name, value)`` pairs or a mapping;
                each is validated (no CR, LF, NUL). Not ``Sec-WebSocket-Protocol``: pass
                ``subprotocol`` instead.

        Raises:
            ValueError: an invalid header, or a subprotocol the client did not offer.
            RuntimeError: the connection was already answered.
            WebSocketDisconnect: the client left during the handshake.
        """
        raw_headers = [] if headers is None else accept_headers(headers)
        if subprotocol is not None:
            offered = self._scope.get("subprotocols") or []
            if subprotocol not in offered:
                raise ValueError(
                    f"Cannot accept subprotocol {subprotocol!r}: the client offered {offered!r}. "
                    "Pick one of websocket.scope['subprotocols'], or None."
                )
        if self._conn.phase is Phase.NEW:
            if (await self.receive())["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(self._conn.code, self._conn.reason)
        message: WebSocketAcceptEvent = {
            "type": "websocket.accept",
            "subprotocol": subprotocol,
            "headers": raw_headers,
        }
        await self.send(message)  # type: ignore[arg-type]
        drain = getattr(self._scope.get("app"), "_drain", None)  # PERF: drain_of(), inlined
        if drain.__class__ is Drain:
            if self._let_go_by_owner:
                self._drain_held = drain.hold(self)
            else:  # nobody promises to let go of it: held through a weak reference
                self._drain_held, self._drain_entry = drain.hold_weakly(self)

    def _leave_drain(self) -> None:
        """Let the drain forget this connection (it ended, or its owner's session did)."""
        held = self._drain_held
        if held is not None:
            self._drain_held = None
            entry = self._drain_entry
            held.discard(self if entry is None else entry)

    async def wait_for_drain(self) -> None:
        """Return once the application drains (``MicroASGI.begin_drain()``).

        An endpoint that calls this takes the drain over: it may say goodbye, then
        ``close(1012)``. Other open connections are closed with 1012 when the drain begins.

        Raises:
            RuntimeError: the connection is not served by a ``MicroASGI`` application.
        """
        drain = drain_of(self._scope)
        if drain is None:
            raise RuntimeError(
                f"wait_for_drain() needs a MicroASGI app in scope['app'], got "
                f"{self._scope.get('app')!r}. Route the endpoint in a MicroASGI app."
            )
        if self._drain_state == 0:
            self._drain_state = _DRAIN_HANDLED
        await drain.wait()

    def _on_drain(self) -> None:
        spawn(self._close_for_drain)  # in a task: the endpoint's may be blocked in receive()

    async def _close_for_drain(self) -> None:
        """Close with 1012 (service restart) unless the endpoint handles the drain itself."""
        if self._drain_state == 0 and self._conn.phase is Phase.OPEN:
            self._drain_state = _DRAIN_CLOSED
            try:
                await self.close(1012, "Service restart")
            except Exception:  # the server refused: the connection is ending either way
                pass

    async def send_denial_response(self, response: Response) -> None:
        """Answer the handshake with an HTTP response instead of accepting it.

        With the ``websocket.http.response`` extension the client gets ``response`` (any
        ``Response``, streaming included); without it the connection is closed and the server
        answers 403.

        Raises:
            RuntimeError: the connection was already answered.
            TypeError: ``response`` is not a response.
        """
        self._conn.check(Step.DENY)
        if not callable(response):
            raise TypeError(
                f"send_denial_response() needs a Response, got {response!r}. For example: "
                "PlainTextResponse('Unauthorized', status_code=401)."
            )
        # The response sends through _transmit: an OSError (client gone) reaches the response
        # itself, which stops quietly as it does for http.
        await response(self._scope, self._receive, self._transmit)

    # --- sending ----------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Send a raw ASGI message (``websocket.accept``, ``websocket.send``,
        ``websocket.close``, or a denial response message).

        Raises:
            ValueError: the message type is not one a websocket app sends.
            RuntimeError: the state table does not allow it now (``WebSocketDisconnected``
                once the application closed the connection or the client left).
            WebSocketDisconnect: the client has gone (code 1006 when the server says so with
                an ``OSError``); a close is then a no-op instead.
        """
        try:
            await self._transmit(message)
        except OSError as exc:
            if message.get("type") == "websocket.close":
                return  # The connection is closed either way.
            raise WebSocketDisconnect(1006, "The client has gone.") from exc

    async def _transmit(self, message: Message) -> None:
        conn = self._conn
        step = outgoing_step(message)
        if step is None:
            raise ValueError(
                f"A websocket app cannot send {message.get('type')!r}. Send 'websocket.accept', "
                "'websocket.send', 'websocket.close' or a 'websocket.http.response.*' message."
            )
        if conn.phase is Phase.GONE:
            if step is Step.CLOSE:
                return  # SPEC: nothing to close; a 2.4 server would raise OSError.
            if step is Step.SEND:
                error = WebSocketDisconnect(conn.code, conn.reason)
                error.add_note(
                    f"Cannot {step.value}: the websocket is {conn.phase.value} (close code "
                    f"{conn.code}). {HINTS[conn.phase]}"
                )
                raise error
        elif self._drain_state == _DRAIN_CLOSED and conn.phase is Phase.CLOSED:
            # The drain closed the connection under the endpoint: its close is done, and a
            # send ends the endpoint as a client's disconnect would.
            if step is Step.CLOSE:
                return
            if step is Step.SEND:
                raise WebSocketDisconnect(conn.code, conn.reason)
        conn.advance(step)
        if step is Step.CLOSE:
            conn.ended(message.get("code", 1000), message.get("reason") or "")
            held = self._drain_held
            if held is not None:  # ended: nothing left for the drain to close (_leave_drain)
                self._drain_held = None
                entry = self._drain_entry
                held.discard(self if entry is None else entry)
        try:
            await self._send(message)
        except OSError:
            # SPEC: ASGI 2.4, send() on a closed connection raises an OSError subclass.
            conn.advance(Step.LOST)
            conn.ended(1006, "")
            self._leave_drain()
            raise

    async def send_text(self, data: str) -> None:
        """Send a text message.

        Raises:
            TypeError: ``data`` is not a ``str``.
            WebSocketDisconnect: the client has gone.
        """
        if not isinstance(data, str):
            raise TypeError(
                f"send_text() needs a str, got {type(data).__name__}: {data!r}. "
                "Use send_bytes() for binary data."
            )
        message: WebSocketSendEvent = {"type": "websocket.send", "text": data}
        await self._send_data(message)  # type: ignore[arg-type]

    async def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Send a binary message (``bytes``, ``bytearray`` or ``memoryview``).

        Raises:
            TypeError: ``data`` is not bytes-like.
            WebSocketDisconnect: the client has gone.
        """
        if not isinstance(data, bytes):
            if not isinstance(data, bytearray | memoryview):
                raise TypeError(
                    f"send_bytes() needs bytes, got {type(data).__name__}: {data!r}. "
                    "Use send_text() for text."
                )
            data = bytes(data)
        message: WebSocketSendEvent = {"type": "websocket.send", "bytes": data}
        await self._send_data(message)  # type: ignore[arg-type]

    async def _send_data(self, message: Message) -> None:
        """``send`` for a data message: on an open connection the table moves nothing."""
        conn = self._conn
        if conn.phase is Phase.OPEN:
            try:
                await self._send(message)
            except OSError as exc:
                # SPEC: ASGI 2.4, the client has gone (as _transmit and send report it).
                conn.advance(Step.LOST)
                conn.ended(1006, "")
                self._leave_drain()
                raise WebSocketDisconnect(1006, "The client has gone.") from exc
        else:
            await self.send(message)  # the general path says why it cannot be sent now

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as compact JSON, in a text message or (``mode="binary"``) a binary one.

        Raises:
            ValueError: an invalid ``mode`` (a ``RuntimeError`` too, as Starlette raises), or
                ``data`` holds NaN or an infinity.
            TypeError: ``data`` is not JSON serializable.
            WebSocketDisconnect: the client has gone.
        """
        check_mode(mode, "send_json")
        text = _JSON_ENCODER.encode(data)
        if mode == "text":
            await self.send_text(text)
        else:
            await self.send_bytes(text.encode("utf-8"))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection (before accept, the server answers the handshake with 403).

        A no-op once the client has disconnected.

        Args:
            code: the close code, 1000 to 4999 except the reserved 1004, 1005, 1006 and 1015;
                see the ``WS_*`` constants in ``microasgi.status``.
            reason: a short text, at most 123 bytes of UTF-8.

        Raises:
            ValueError: an invalid code or reason.
            WebSocketDisconnected: the application already closed the connection.
        """
        message: WebSocketCloseEvent = {
            "type": "websocket.close",
            "code": code,
            "reason": check_close(code, reason),
        }
        await self.send(message)  # type: ignore[arg-type]

    async def _abort(self, code: int, reason: str) -> Message:
        """Close the open connection with ``code`` and report it as the disconnect it is."""
        await self.close(code, reason)
        conn = self._conn
        if conn.phase is Phase.CLOSED:  # else the close found the client gone (GONE)
            conn.advance(Step.DISCONNECT)
        conn.ended(code, reason)
        return {"type": "websocket.disconnect", "code": code, "reason": reason}

    async def _fail(self, code: int, reason: str) -> NoReturn:
        await self._abort(code, reason)
        raise WebSocketDisconnect(code, reason)


class _Messages(Generic[_T]):
    """An async iterator over received messages that ends when the connection closes.

    A plain iterator, not an async generator: leaving the loop early (``break``, an exception)
    leaves nothing to finalize, so no generator is garbage collected half done.
    """

    __slots__ = ("_receive",)

    def __init__(self, receive: Callable[[], Awaitable[_T]]) -> None:
        self._receive = receive

    def __aiter__(self) -> _Messages[_T]:
        return self

    async def __anext__(self) -> _T:
        try:
            return await self._receive()
        except WebSocketDisconnect:
            raise StopAsyncIteration from None


class WebSocketClose:
    """An ASGI app that closes the websocket connection (before accept: the server answers 403).

    Args:
        code: the close code (see ``WebSocket.close``).
        reason: a short text, at most 123 bytes of UTF-8.

    Raises:
        ValueError: an invalid code or reason.
    """

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.reason = check_close(code, reason)
        self.code = code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            # SPEC: an app should raise on a scope type it does not understand.
            raise ValueError(
                f"WebSocketClose answers 'websocket' scopes, got {scope['type']!r}. "
                "Answer http requests with a Response."
            )
        message: WebSocketCloseEvent = {
            "type": "websocket.close",
            "code": self.code,
            "reason": self.reason,
        }
        try:
            await send(message)  # type: ignore[arg-type]
        except OSError:
            pass  # SPEC: ASGI 2.4, the client has gone: the connection is closed either way.

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"
