"""The WebSocket state table (style item 7) and the checks ``microasgi.websockets`` shares.

Sans-I/O: phases, steps and the transitions between them, plus pure validators for close codes,
reasons, accept headers and received payloads. ``WebSocket`` drives a ``Connection`` through the
table; ``ExceptionMiddleware`` follows one by watching raw messages, so both agree on whether a
connection was accepted, denied or closed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from microasgi._sansio.headers import encode_header
from microasgi.types import Message

# SPEC: RFC 6455 section 7.4.1: 1004 is reserved, and 1005, 1006 and 1015 are never sent in a frame.
_RESERVED_CODES = frozenset({1004, 1005, 1006, 1015})
# SPEC: RFC 6455 section 5.5: a control frame holds 125 bytes, 2 of them the close code.
_MAX_REASON = 123


class WebSocketState(enum.Enum):
    """The state of one side of a WebSocket connection.

    ``CONNECTING`` until the handshake is answered; ``CONNECTED`` once accepted; ``RESPONSE`` while an
    HTTP denial response (extension ``websocket.http.response``) is being sent instead of an accept;
    ``DISCONNECTED`` once either side has closed.
    """

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2
    RESPONSE = 3


class WebSocketDisconnect(Exception):
    """The WebSocket connection is closed.

    Args:
        code: the close code (``1000`` is a normal closure, ``1006`` an abnormal one, ``1011`` an
            error on the other side); see the ``WS_*`` constants in ``microasgi.status``.
        reason: the text sent with the close frame, if any.
    """

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""
        super().__init__(code, self.reason)

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}" if self.reason else str(self.code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class WebSocketDisconnected(RuntimeError):
    """Raised when a websocket is used once it is closed, or a message is read before accept.

    Starlette's name and base class: a ``RuntimeError``, so code catching either works. Raised by
    a step the connection no longer allows once the application closed it or the client left
    (receiving after the disconnect, sending or closing after the application's close), and by
    the typed receive methods (``receive_text()`` ...) on a connection that is not open. A send
    after the client left raises ``WebSocketDisconnect`` instead, as a server's ``OSError`` does
    in Starlette.
    """


# --- the state table (style item 7) --------------------------------------------------------------


class Phase(enum.Enum):
    """Where a connection stands, from the application's side."""

    NEW = "waiting for 'websocket.connect'"
    HANDSHAKE = "connecting (the handshake is not answered yet)"
    OPEN = "accepted"
    DENYING = "sending a denial response"
    CLOSED = "closed by the application"
    GONE = "disconnected"

    # PERF: members are singletons compared by identity, so the identity hash is exact, and it
    # is a C slot; Enum's own __hash__ is Python code, run several times per websocket message.
    __hash__ = object.__hash__


class Step(enum.Enum):
    """What the app does, or what the server delivers."""

    RECEIVE = "call receive()"
    CONNECT = "receive 'websocket.connect'"
    MESSAGE = "receive a message"
    DISCONNECT = "receive 'websocket.disconnect'"
    ACCEPT = "accept"
    SEND = "send a message"
    CLOSE = "close"
    DENY = "send a denial response"
    DENY_BODY = "send more of the denial response body"
    DENY_END = "send the end of the denial response body"
    LOST = "lose the client (OSError from send)"

    # PERF: members are singletons compared by identity, so the identity hash is exact, and it
    # is a C slot; Enum's own __hash__ is Python code, run several times per websocket message.
    __hash__ = object.__hash__


_P, _S = Phase, Step
TRANSITIONS: dict[Phase, dict[Step, Phase]] = {
    # Closing or denying without reading 'websocket.connect' first is allowed, as servers allow it.
    _P.NEW: {
        _S.RECEIVE: _P.NEW,
        _S.CONNECT: _P.HANDSHAKE,
        _S.DISCONNECT: _P.GONE,
        _S.CLOSE: _P.CLOSED,
        _S.DENY: _P.DENYING,
    },
    # SPEC: the server holds the handshake until accept or close; no message can arrive before.
    _P.HANDSHAKE: {_S.ACCEPT: _P.OPEN, _S.CLOSE: _P.CLOSED, _S.DENY: _P.DENYING},
    _P.OPEN: {
        _S.RECEIVE: _P.OPEN,
        _S.MESSAGE: _P.OPEN,
        _S.DISCONNECT: _P.GONE,
        _S.SEND: _P.OPEN,
        _S.CLOSE: _P.CLOSED,
        _S.LOST: _P.GONE,
    },
    _P.DENYING: {_S.DENY_BODY: _P.DENYING, _S.DENY_END: _P.CLOSED, _S.LOST: _P.GONE},
    # receive() after the app's own close gets what the server still delivers, as in Starlette:
    # the disconnect completing the close, or a message the client sent before it.
    # (The connect too, when the app closed without reading it.)
    _P.CLOSED: {
        _S.RECEIVE: _P.CLOSED,
        _S.CONNECT: _P.CLOSED,
        _S.MESSAGE: _P.CLOSED,
        _S.DISCONNECT: _P.GONE,
        _S.LOST: _P.GONE,
    },
    # close() after the client left does nothing; a send raises WebSocketDisconnect (WebSocket._transmit).
    # DISCONNECT here reaches a receive() that was already waiting when a send found the client
    # gone (one task reads while another writes): it ends that receive normally. A new receive()
    # is still refused, since RECEIVE is not allowed here.
    _P.GONE: {_S.CLOSE: _P.GONE, _S.DISCONNECT: _P.GONE},
}

# (client_state, application_state) in each phase: Starlette's two views of the connection.
STATES: dict[Phase, tuple[WebSocketState, WebSocketState]] = {
    _P.NEW: (WebSocketState.CONNECTING, WebSocketState.CONNECTING),
    _P.HANDSHAKE: (WebSocketState.CONNECTED, WebSocketState.CONNECTING),
    _P.OPEN: (WebSocketState.CONNECTED, WebSocketState.CONNECTED),
    _P.DENYING: (WebSocketState.CONNECTED, WebSocketState.RESPONSE),
    _P.CLOSED: (WebSocketState.CONNECTED, WebSocketState.DISCONNECTED),
    _P.GONE: (WebSocketState.DISCONNECTED, WebSocketState.DISCONNECTED),
}

HINTS: dict[Phase, str] = {
    _P.NEW: "Call accept() first; it receives 'websocket.connect' and answers it.",
    _P.HANDSHAKE: "Call accept() first.",
    _P.OPEN: "The connection is already accepted; accept() is called once, and a denial "
    "response can only replace it.",
    _P.DENYING: "Finish the denial response; nothing else can be sent on this connection.",
    _P.CLOSED: "The application closed the connection: nothing more can be sent, and only "
    "receive() still reads what the server delivers. Return from the endpoint.",
    _P.GONE: "The client disconnected: nothing more can be received. Return from the endpoint.",
}

OUTGOING: dict[str, Step] = {
    "websocket.accept": _S.ACCEPT,
    "websocket.send": _S.SEND,
    "websocket.close": _S.CLOSE,
    "websocket.http.response.start": _S.DENY,
}
INCOMING: dict[str, Step] = {
    "websocket.connect": _S.CONNECT,
    "websocket.receive": _S.MESSAGE,
    "websocket.disconnect": _S.DISCONNECT,
}


def outgoing_step(message: Message) -> Step | None:
    """The step a message the app sends takes; ``None`` for a type no websocket app sends."""
    kind = message.get("type")
    if kind == "websocket.http.response.body":
        return _S.DENY_BODY if message.get("more_body", False) else _S.DENY_END
    return OUTGOING.get(kind)  # type: ignore[arg-type]


class Connection:
    """The phase of one connection, and the close code and reason once it is over."""

    __slots__ = ("code", "phase", "reason")

    def __init__(self) -> None:
        self.phase = Phase.NEW
        self.code = 1000
        self.reason = ""

    def check(self, step: Step) -> None:
        """Raise ``RuntimeError`` naming the phase and the step unless the table allows it.

        Once the connection is closed (by the application, or the client left) the error is a
        ``WebSocketDisconnected``, as in Starlette.
        """
        if step not in TRANSITIONS[self.phase]:
            raise self.refusal(step)

    def refusal(self, step: Step) -> RuntimeError:
        """The error for a step the current phase does not allow, naming both."""
        phase = self.phase
        message = f"Cannot {step.value}: the websocket is {phase.value}. {HINTS[phase]}"
        if phase is _P.CLOSED or phase is _P.GONE:
            return WebSocketDisconnected(message)
        return RuntimeError(message)

    def advance(self, step: Step) -> None:
        """Take ``step``: move to the phase the table gives, or raise like ``check``."""
        following = TRANSITIONS[self.phase].get(step)
        if following is None:
            self.check(step)
        else:
            self.phase = following

    def ended(self, code: int, reason: str) -> None:
        """Record how the connection ended (or is ending)."""
        self.code, self.reason = code, reason

    # Middleware watching raw messages (ExceptionMiddleware) follow the same table, leniently:
    # an app may answer without reading 'websocket.connect', and a step the table refuses is the
    # app's or the server's business, not the observer's.

    def observe(self, step: Step | None) -> None:
        """Follow a step seen on the wire; ignore the ones the table does not allow."""
        if step is None:
            return
        following = TRANSITIONS[self.phase].get(step)
        if following is None and self.phase is Phase.NEW:
            following = TRANSITIONS[Phase.HANDSHAKE].get(step)
        if following is not None:
            self.phase = following

    def observe_received(self, message: Message) -> None:
        """Follow a message the server delivered."""
        step = INCOMING.get(message.get("type"))  # type: ignore[arg-type]
        if step is _S.DISCONNECT:
            self.ended(disconnect_code(message), message.get("reason") or "")
        self.observe(step)

    def observe_sent(self, message: Message) -> None:
        """Follow a message the app sent."""
        self.observe(outgoing_step(message))


def check_close(code: object, reason: object) -> str:
    """Validate a close code and reason; return the reason as the ``str`` to send."""
    if type(code) is not int or not 1000 <= code <= 4999 or code in _RESERVED_CODES:
        raise ValueError(
            f"A websocket close code must be an int from 1000 to 4999 other than the reserved "
            f"1004, 1005, 1006 and 1015, got {code!r}. For example status.WS_1008_POLICY_VIOLATION."
        )
    if reason is None:
        return ""
    if not isinstance(reason, str):
        raise ValueError(f"A websocket close reason must be a str, got {reason!r}.")
    size = len(reason.encode("utf-8", "surrogatepass"))
    if size > _MAX_REASON:
        raise ValueError(
            f"A websocket close reason is {size} bytes of UTF-8, over the {_MAX_REASON} a close "
            f"frame holds: {reason!r}. Shorten it."
        )
    return reason


def fit_reason(reason: str) -> str:
    """Cut ``reason`` to what a close frame holds, at a character boundary."""
    raw = reason.encode("utf-8", "surrogatepass")
    if len(raw) <= _MAX_REASON:
        return reason
    return raw[:_MAX_REASON].decode("utf-8", "ignore")


def check_message_size(value: object) -> int | None:
    """Validate a ``max_message_size`` setting (bytes >= 1, or ``None`` for no limit)."""
    if value is None or (type(value) is int and value >= 1):
        return value
    raise ValueError(
        f"max_message_size must be a number of bytes >= 1, or None for no limit, got {value!r}."
    )


def payload_of(message: Message) -> str | bytes:
    """The payload of a ``websocket.receive``: exactly one of ``text`` (str) and ``bytes``."""
    text, data = message.get("text"), message.get("bytes")
    if data is None and isinstance(text, str):
        return text
    if text is None and isinstance(data, bytes):
        return data
    # SPEC: an app should raise on an invalid received message; this one is the server's bug.
    raise RuntimeError(
        "A 'websocket.receive' message must set exactly one of 'text' (str) and 'bytes' (bytes), "
        f"got text={text!r:.40}, bytes={data!r:.40}. The server sent an invalid message."
    )


def exceeds(payload: str | bytes, limit: int) -> bool:
    """Whether ``payload`` is over ``limit`` bytes (text in UTF-8) without encoding in most cases."""
    size = len(payload)
    if isinstance(payload, bytes) or size > limit:
        return size > limit
    # PERF: a character is 1 to 4 bytes of UTF-8: only text in between needs encoding to tell.
    if size * 4 <= limit:
        return False
    return len(payload.encode("utf-8", "surrogatepass")) > limit


def disconnect_code(message: Message) -> int:
    # SPEC: 1005 when the peer's close frame carried no code.
    code = message.get("code")
    return code if type(code) is int else 1005


class _InvalidMode(ValueError, RuntimeError):
    """An invalid ``mode=``: a ``ValueError``, and the ``RuntimeError`` Starlette raises, so code
    (and ``pytest.raises``) written for either catches it."""


def check_mode(mode: object, method: str) -> None:
    if mode not in ("text", "binary"):
        raise _InvalidMode(f'{method}() mode must be "text" or "binary", got {mode!r}.')


def accept_headers(
    headers: Iterable[tuple[bytes, bytes]] | Mapping[str, str],
) -> list[tuple[bytes, bytes]]:
    """Validate and encode the headers of ``websocket.accept`` (``accept()`` handles ``None``,
    no headers, without calling this)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    raw = []
    for name, value in items:
        pair = encode_header(name, value)
        if pair[0] == b"sec-websocket-protocol":
            # SPEC: www.rst 2.1, the subprotocol goes in its own key, never in the headers.
            raise ValueError(
                "accept() headers must not hold Sec-WebSocket-Protocol: the server sets it. Pass "
                f"the subprotocol instead: accept(subprotocol={value!r})."
            )
        raw.append(pair)
    return raw
