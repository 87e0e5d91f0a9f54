"""The ASGI protocol checker of the test client: one state table per protocol.

Every message an app sends through the test client passes through a checker here before the
client acts on it. A checker validates the message's shape (types, lowercase header names, ...)
and then looks up ``(state, event)`` in its protocol's transition table, as h11's ``_state.py``
does; a step the table does not list raises :class:`ASGIProtocolError` naming the rule, the state
and what was expected. Pure code: no I/O, no anyio.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Final

from microasgi.testclient._messages import (
    ASGIProtocolError,
    _bool,
    _bytes,
    _check_close,
    _check_debug,
    _check_early_hint,
    _check_failed,
    _check_pathsend,
    _check_push,
    _check_websocket_send,
    _check_zerocopysend,
    _fail,
    _status,
    check_headers,
    message_type,
)
from microasgi.types import Message
from microasgi.websockets import WebSocketState

__all__ = [
    "HTTPResponseChecker",
    "HTTPState",
    "LifespanChecker",
    "LifespanState",
    "WebSocketChecker",
]


# --- HTTP response ------------------------------------------------------------------------------


class HTTPState(enum.Enum):
    """Where an HTTP response stands, as seen from the messages the app has sent."""

    START = "waiting for 'http.response.start'"
    DEBUGGED = "waiting for 'http.response.start' (debug info sent)"
    STARTED = "started, no body sent yet"
    STARTED_TRAILERS = "started with trailers=True, no body sent yet"
    BODY = "sending the body"
    BODY_TRAILERS = "sending the body (trailers to follow)"
    TRAILERS = "waiting for 'http.response.trailers' (the body is complete)"
    DONE = "complete (nothing may follow the end of the response)"


# Events are message types, with ".last" when more_body/more_trailers is False and "+trailers"
# for a start that announces trailers.
_S = HTTPState
_HINT: Final = "http.response.early_hint"
_PUSH: Final = "http.response.push"
_BODY_EVENTS: Final = ("http.response.body", "http.response.zerocopysend")


def _body_rows(more: HTTPState, last: HTTPState) -> dict[str, HTTPState]:
    rows = {kind: more for kind in _BODY_EVENTS}
    rows.update({f"{kind}.last": last for kind in _BODY_EVENTS})
    # SPEC: push is allowed after start and before the final body.
    rows[_PUSH] = more
    return rows


# SPEC: the spec text places early hints after start, but every server that offers them
# (uvicorn's HTTP/2, hypercorn) accepts them only before it, so the checker does too. Push is
# allowed before start as well: hypercorn, the one server offering it, accepts it then, and
# Starlette's send_push_promise is called by endpoints before they return their response.
HTTP_TRANSITIONS: Final[dict[HTTPState, dict[str, HTTPState]]] = {
    _S.START: {
        "http.response.debug": _S.DEBUGGED,
        _HINT: _S.START,
        _PUSH: _S.START,
        "http.response.start": _S.STARTED,
        "http.response.start+trailers": _S.STARTED_TRAILERS,
    },
    _S.DEBUGGED: {
        _HINT: _S.DEBUGGED,
        _PUSH: _S.DEBUGGED,
        "http.response.start": _S.STARTED,
        "http.response.start+trailers": _S.STARTED_TRAILERS,
    },
    # SPEC: pathsend is sent once after start and never mixed with body messages.
    _S.STARTED: {**_body_rows(_S.BODY, _S.DONE), "http.response.pathsend": _S.DONE},
    _S.STARTED_TRAILERS: {
        **_body_rows(_S.BODY_TRAILERS, _S.TRAILERS),
        "http.response.pathsend": _S.TRAILERS,
    },
    _S.BODY: _body_rows(_S.BODY, _S.DONE),
    _S.BODY_TRAILERS: _body_rows(_S.BODY_TRAILERS, _S.TRAILERS),
    _S.TRAILERS: {"http.response.trailers": _S.TRAILERS, "http.response.trailers.last": _S.DONE},
    _S.DONE: {},
}

# Every HTTP extension message is named like its extension; the app may send it only when the
# scope's "extensions" lists that name.
_HTTP_EXTENSION_MESSAGES: Final = frozenset(
    {
        "http.response.debug",
        "http.response.early_hint",
        "http.response.pathsend",
        "http.response.push",
        "http.response.trailers",
        "http.response.zerocopysend",
    }
)


# Lifespan events delivered by the server, never sent by the app.
_SERVER_EVENTS: Final = frozenset({"lifespan.startup", "lifespan.shutdown"})


def _check_extension(kind: str, extensions: Mapping[str, object], needed: str) -> None:
    if needed not in extensions:
        raise _fail(
            "extension.not_advertised",
            f"The app sent {kind!r}, but the scope does not advertise the {needed!r} extension. "
            f"Check scope['extensions'] before sending it (advertised: {sorted(extensions)!r}).",
        )


def _order_error(
    protocol: str, kind: str, state: enum.Enum, table: Mapping[str, object]
) -> ASGIProtocolError:
    expected = sorted({event.split(".last")[0].split("+")[0] for event in table} - _SERVER_EVENTS)
    if expected:
        hint = f"Expected one of {expected!r}."
    elif table:
        hint = f"Wait until receive() returns {sorted(table)[0]!r} before answering it."
    else:
        hint = "Nothing more may be sent."
    return _fail(
        f"{protocol}.order",
        f"The app sent {kind!r} while the {protocol} was {getattr(state, 'value', state)!r}. {hint}",
    )


class HTTPResponseChecker:
    """Checks the messages of one HTTP response against :data:`HTTP_TRANSITIONS`.

    Args:
        extensions: the scope's ``extensions``; extension messages outside it are refused.
        method: the request method; a ``HEAD`` response's body is not counted.
    """

    __slots__ = (
        "_declared_length",
        "_extensions",
        "_head",
        "_sent",
        "headers",
        "state",
        "status",
        "trailers",
    )

    def __init__(self, extensions: Mapping[str, object], method: str) -> None:
        self.state = HTTPState.START
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers: list[tuple[bytes, bytes]] = []
        self._extensions = extensions
        self._head = method == "HEAD"
        self._declared_length: int | None = None
        self._sent = 0

    def check(self, message: Message) -> str:
        """Validate ``message``, advance the state and return the event name it made."""
        kind = message_type(message)
        if kind in _HTTP_EXTENSION_MESSAGES:
            _check_extension(kind, self._extensions, kind)
        event = self._classify(kind, message)
        following = HTTP_TRANSITIONS[self.state].get(event)
        if following is None:
            raise _order_error("http", kind, self.state, HTTP_TRANSITIONS[self.state])
        self.state = following
        return event

    def _classify(self, kind: str, message: Message) -> str:
        if kind == "http.response.start":
            self.status = _status(message)
            self.headers = check_headers(message)
            self._declared_length = self._content_length(self.headers)
            if _bool(message, "trailers"):
                _check_extension("'trailers': True", self._extensions, "http.response.trailers")
                return "http.response.start+trailers"
            return kind
        if kind == "http.response.body":
            _bytes(message, "body")
            return kind if _bool(message, "more_body") else f"{kind}.last"
        if kind == "http.response.zerocopysend":
            _check_zerocopysend(message)
            return kind if _bool(message, "more_body") else f"{kind}.last"
        if kind == "http.response.trailers":
            self.trailers.extend(check_headers(message))
            return kind if _bool(message, "more_trailers") else f"{kind}.last"
        if kind == "http.response.pathsend":
            _check_pathsend(message)
        elif kind == "http.response.push":
            _check_push(message)
        elif kind == "http.response.early_hint":
            _check_early_hint(message)
        elif kind == "http.response.debug":
            _check_debug(message)
        else:
            raise _fail(
                "http.type",
                f"The app sent {kind!r}, which is not an ASGI HTTP message. Send "
                "'http.response.start' and then 'http.response.body'.",
            )
        return kind

    def _content_length(self, headers: list[tuple[bytes, bytes]]) -> int | None:
        values = {value.strip() for name, value in headers if name == b"content-length"}
        if not values:
            return None
        value = values.pop()
        if values or not value.isdigit():
            raise _fail(
                "http.content_length",
                f"The response's content-length must be one decimal number, got {headers!r}.",
            )
        return int(value)

    def count_body(self, size: int) -> None:
        """Record ``size`` bytes of body; raise if they overflow the declared content-length."""
        self._sent += size
        if size and (self.status in (204, 304)):
            raise _fail(
                "http.body.forbidden",
                f"A {self.status} response must not have a body, but the app sent {size} bytes.",
            )
        if (
            self._declared_length is not None
            and not self._head
            and self._sent > self._declared_length
        ):
            raise _fail(
                "http.content_length",
                f"The app sent {self._sent} body bytes but declared content-length: "
                f"{self._declared_length}. Fix the header or the body.",
            )

    def check_complete(self) -> None:
        """Raise unless the response is complete and its body matches the content-length."""
        if self.state is not HTTPState.DONE:
            raise _fail(
                "http.incomplete",
                f"The app returned while the response was {self.state.value!r}. Finish it with an "
                "'http.response.body' whose more_body is False (and the trailers it announced).",
            )
        short = self._declared_length is not None and self._sent < self._declared_length
        if short and not self._head and self.status != 304:
            raise _fail(
                "http.content_length",
                f"The app sent {self._sent} body bytes but declared content-length: "
                f"{self._declared_length}. Fix the header or the body.",
            )


# --- WebSocket ----------------------------------------------------------------------------------

_W = WebSocketState
WEBSOCKET_TRANSITIONS: Final[dict[WebSocketState, dict[str, WebSocketState]]] = {
    _W.CONNECTING: {
        "websocket.accept": _W.CONNECTED,
        "websocket.close": _W.DISCONNECTED,
        "websocket.http.response.start": _W.RESPONSE,
    },
    _W.CONNECTED: {"websocket.send": _W.CONNECTED, "websocket.close": _W.DISCONNECTED},
    _W.RESPONSE: {
        "websocket.http.response.body": _W.RESPONSE,
        "websocket.http.response.body.last": _W.DISCONNECTED,
    },
    _W.DISCONNECTED: {},
}


class WebSocketChecker:
    """Checks the messages an app sends on a websocket against :data:`WEBSOCKET_TRANSITIONS`.

    Args:
        extensions: the scope's ``extensions`` (the denial response needs ``websocket.http.response``).
        subprotocols: the subprotocols the client offered; the accepted one must be among them.
    """

    __slots__ = ("_extensions", "_subprotocols", "state")

    def __init__(self, extensions: Mapping[str, object], subprotocols: Iterable[str]) -> None:
        self.state = WebSocketState.CONNECTING
        self._extensions = extensions
        self._subprotocols = list(subprotocols)

    def check(self, message: Message) -> str:
        """Validate ``message``, advance the state and return the event name it made."""
        kind = message_type(message)
        event = self._classify(kind, message)
        following = WEBSOCKET_TRANSITIONS[self.state].get(event)
        if following is None:
            raise _order_error("websocket", kind, self.state, WEBSOCKET_TRANSITIONS[self.state])
        self.state = following
        return event

    def _classify(self, kind: str, message: Message) -> str:
        if kind == "websocket.send":
            _check_websocket_send(message)
        elif kind == "websocket.accept":
            self._check_accept(message)
        elif kind == "websocket.close":
            _check_close(message)
        elif kind.startswith("websocket.http.response."):
            _check_extension(kind, self._extensions, "websocket.http.response")
            if kind == "websocket.http.response.start":
                _status(message)
                check_headers(message)
            else:
                _bytes(message, "body")
                return kind if _bool(message, "more_body") else f"{kind}.last"
        else:
            raise _fail(
                "websocket.type",
                f"The app sent {kind!r}, which is not an ASGI websocket message. Send "
                "'websocket.accept', 'websocket.send' or 'websocket.close'.",
            )
        return kind

    def _check_accept(self, message: Message) -> None:
        subprotocol = message.get("subprotocol")
        if subprotocol is not None and subprotocol not in self._subprotocols:
            raise _fail(
                "websocket.accept.subprotocol",
                f"The app accepted subprotocol {subprotocol!r}, which the client did not offer "
                f"(offered: {self._subprotocols!r}). Pick one from scope['subprotocols'].",
            )
        for name, _ in check_headers(message):
            if name == b"sec-websocket-protocol":
                raise _fail(
                    "websocket.accept.headers",
                    "'websocket.accept' headers must not hold sec-websocket-protocol; "
                    "pass the subprotocol as 'subprotocol' instead.",
                )


# --- lifespan -----------------------------------------------------------------------------------


class LifespanState(enum.Enum):
    """Where the lifespan protocol stands, from the server's and the app's messages."""

    IDLE = "not started"
    STARTING = "starting (lifespan.startup delivered)"
    STARTED = "started"
    STARTUP_FAILED = "failed to start"
    STOPPING = "stopping (lifespan.shutdown delivered)"
    STOPPED = "stopped"
    SHUTDOWN_FAILED = "failed to stop"


_L = LifespanState
LIFESPAN_TRANSITIONS: Final[dict[LifespanState, dict[str, LifespanState]]] = {
    _L.IDLE: {"lifespan.startup": _L.STARTING},
    _L.STARTING: {
        "lifespan.startup.complete": _L.STARTED,
        "lifespan.startup.failed": _L.STARTUP_FAILED,
    },
    _L.STARTED: {"lifespan.shutdown": _L.STOPPING},
    _L.STARTUP_FAILED: {},
    _L.STOPPING: {
        "lifespan.shutdown.complete": _L.STOPPED,
        "lifespan.shutdown.failed": _L.SHUTDOWN_FAILED,
    },
    _L.STOPPED: {},
    _L.SHUTDOWN_FAILED: {},
}
_LIFESPAN_SENDS: Final = frozenset(
    {
        "lifespan.startup.complete",
        "lifespan.startup.failed",
        "lifespan.shutdown.complete",
        "lifespan.shutdown.failed",
    }
)


class LifespanChecker:
    """Checks the lifespan messages, both ways, against :data:`LIFESPAN_TRANSITIONS`."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = LifespanState.IDLE

    def delivered(self, kind: str) -> None:
        """Record that the server delivered ``lifespan.startup`` or ``lifespan.shutdown``."""
        self.state = LIFESPAN_TRANSITIONS[self.state][kind]

    def check(self, message: Message) -> str:
        """Validate a message the app sent, advance the state and return its type."""
        kind = message_type(message)
        if not kind.startswith("lifespan."):
            # An app that answers a lifespan scope as if it were HTTP does not support lifespan.
            raise _fail(
                "lifespan.foreign",
                f"The app sent {kind!r} on the lifespan scope. Raise on scope types the app does "
                "not handle, or answer with 'lifespan.startup.complete'.",
            )
        if kind not in _LIFESPAN_SENDS:
            raise _fail(
                "lifespan.type",
                f"The app sent {kind!r}, which is not an ASGI lifespan message. Send "
                "'lifespan.startup.complete' or 'lifespan.shutdown.complete'.",
            )
        if kind.endswith(".failed"):
            _check_failed(message)
        table = LIFESPAN_TRANSITIONS[self.state]
        following = table.get(kind)
        if following is None:
            raise _order_error("lifespan", kind, self.state, table)
        self.state = following
        return kind
