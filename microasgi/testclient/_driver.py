"""The ASGI protocol checker of the test client: one state table per protocol.

Every message an app sends through the test client passes through a checker here before the
client acts on it. A checker validates the message's shape (types, header pairs, ...) and then
looks up ``(state, event)`` in its protocol's transition table, as h11's ``_state.py`` does; a step
the table does not list raises :class:`ASGIProtocolError` naming the rule, the state and what was
expected. Pure code: no I/O, no anyio.

Each checker takes ``strict``: by default it accepts what real servers accept (the tables below
that are not ``STRICT_*``); with ``strict=True`` it holds the app to the spec's letter.
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
    "HTTP_TRANSITIONS",
    "STRICT_HTTP_TRANSITIONS",
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
# SPEC: debug info is sent once, before start: the strict table.
STRICT_HTTP_TRANSITIONS: Final[dict[HTTPState, dict[str, HTTPState]]] = {
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

# The default table: the debug extension exists for test clients only, and Starlette's client (the
# one its users know) takes debug info at any point of the response, the last one winning.
HTTP_TRANSITIONS: Final[dict[HTTPState, dict[str, HTTPState]]] = {
    state: {**row, "http.response.debug": row.get("http.response.debug", state)}
    if state is not _S.DONE
    else dict(row)
    for state, row in STRICT_HTTP_TRANSITIONS.items()
}

# States in which the app may still end: the response is complete. By default a response whose
# body is complete but whose announced trailers never came counts too, as Starlette's client takes
# it (the client has the whole body); uvicorn's HTTP/2 resets such a stream, so strict mode does not.
_COMPLETE: Final = frozenset({_S.DONE})
_COMPLETE_ENOUGH: Final = frozenset({_S.DONE, _S.TRAILERS})
_TRAILER_WAIT: Final = frozenset({_S.STARTED_TRAILERS, _S.BODY_TRAILERS})
_BEFORE_START: Final = frozenset({_S.START, _S.DEBUGGED})

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


# Events never worth suggesting: delivered by the server, or optional at any point.
_NOT_EXPECTED: Final = frozenset({"lifespan.startup", "lifespan.shutdown", "http.response.debug"})


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
    expected = sorted({event.split(".last")[0].split("+")[0] for event in table} - _NOT_EXPECTED)
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
        strict: hold the app to the spec's letter (:data:`STRICT_HTTP_TRANSITIONS`, a 1xx status
            refused, trailers finished, bools that are bools, absolute pathsend paths, a warning
            for upper-case header names) instead of accepting what real servers accept.
    """

    __slots__ = (
        "_declared_length",
        "_extensions",
        "_head",
        "_pending",
        "_sent",
        "_strict",
        "_table",
        "debug_info",
        "headers",
        "state",
        "status",
        "trailers",
        "trailers_declared",
    )

    def __init__(
        self, extensions: Mapping[str, object], method: str, *, strict: bool = False
    ) -> None:
        self.state = HTTPState.START
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers: list[tuple[bytes, bytes]] = []
        self.trailers_declared = False
        self.debug_info: dict[str, object] | None = None
        self._extensions = extensions
        self._head = method == "HEAD"
        self._declared_length: int | None = None
        self._sent = 0
        self._pending: list[tuple[bytes, bytes]] = []  # the trailers of the message being checked
        self._strict = strict
        self._table = STRICT_HTTP_TRANSITIONS if strict else HTTP_TRANSITIONS

    def check(self, message: Message) -> str:
        """Validate ``message``, advance the state and return the event name it made."""
        kind = message_type(message)
        if kind in _HTTP_EXTENSION_MESSAGES:
            _check_extension(kind, self._extensions, kind)
        event = self._classify(kind, message)
        following = self._table[self.state].get(event)
        if following is None:
            raise self._trailers_error(kind) or _order_error(
                "http", kind, self.state, self._table[self.state]
            )
        self.state = following
        if kind == "http.response.trailers":
            self.trailers.extend(self._pending)
        elif kind == "http.response.debug":
            self.debug_info = message["info"]
        return event

    def _classify(self, kind: str, message: Message) -> str:
        strict = self._strict
        if kind == "http.response.start":
            status = _status(message, strict=strict)
            headers = check_headers(message, strict=strict)
            trailers = _bool(message, "trailers", strict=strict)
            if self.state not in _BEFORE_START:
                return kind  # a second start: the table refuses it, and the first one stands
            self.status, self.headers = status, headers
            self._declared_length = self._content_length(headers)
            if trailers:
                _check_extension("'trailers': True", self._extensions, "http.response.trailers")
                self.trailers_declared = True
                return "http.response.start+trailers"
            return kind
        if kind == "http.response.body":
            _bytes(message, "body")
            return kind if _bool(message, "more_body", strict=strict) else f"{kind}.last"
        if kind == "http.response.zerocopysend":
            _check_zerocopysend(message)
            return kind if _bool(message, "more_body", strict=strict) else f"{kind}.last"
        if kind == "http.response.trailers":
            self._pending = check_headers(message, strict=strict)
            more = _bool(message, "more_trailers", strict=strict)
            return kind if more else f"{kind}.last"
        if kind == "http.response.pathsend":
            _check_pathsend(message, strict=strict)
        elif kind == "http.response.push":
            _check_push(message, strict=strict)
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

    def _trailers_error(self, kind: str) -> ASGIProtocolError | None:
        """The error for a misplaced trailer or body around trailers, as Starlette's client words it."""
        if kind == "http.response.trailers":
            if not self.trailers_declared:
                return _fail(
                    "http.trailers.undeclared",
                    "Received 'http.response.trailers' without declaring trailers: send "
                    "'trailers': True in 'http.response.start' first.",
                )
            if self.state in _TRAILER_WAIT:
                return _fail(
                    "http.trailers.early",
                    "Received 'http.response.trailers' before body completed: send the last "
                    "'http.response.body' (more_body False) first.",
                )
            return _fail(
                "http.trailers.after_end",
                "Received 'http.response.trailers' after response completed: the last trailers "
                "message (more_trailers False) ends the response.",
            )
        if kind in _BODY_EVENTS and self.state is HTTPState.TRAILERS:
            return _fail(
                "http.trailers.body",
                f"Received {kind!r} after body completed: only 'http.response.trailers' may "
                "follow the last body message of a response that announced trailers.",
            )
        return None

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
        if self.state in _BEFORE_START:
            raise _fail(
                "http.incomplete",
                "TestClient did not receive any response: the app returned without sending "
                "'http.response.start'. Send a response (a server answers 500 here).",
            )
        if self.state not in (_COMPLETE if self._strict else _COMPLETE_ENOUGH):
            raise _fail(
                "http.incomplete",
                f"The app returned while the response was {self.state.value!r}. Finish it with an "
                "'http.response.body' whose more_body is False (and the trailers it announced, "
                "ending with more_trailers False).",
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
        strict: hold the app to the spec's letter (see :class:`HTTPResponseChecker`).

    Attributes:
        headers: the headers of ``websocket.accept`` or of the denial response, names lowercased.
        status: the denial response's status (0 without one).
    """

    __slots__ = ("_extensions", "_strict", "_subprotocols", "headers", "state", "status")

    def __init__(
        self, extensions: Mapping[str, object], subprotocols: Iterable[str], *, strict: bool = False
    ) -> None:
        self.state = WebSocketState.CONNECTING
        self.headers: list[tuple[bytes, bytes]] = []
        self.status = 0
        self._extensions = extensions
        self._subprotocols = list(subprotocols)
        self._strict = strict

    def check(self, message: Message) -> str:
        """Validate ``message``, advance the state and return the event name it made."""
        kind = message_type(message)
        before = self.state
        headers, status = self.headers, self.status
        event = self._classify(kind, message)
        following = WEBSOCKET_TRANSITIONS[self.state].get(event)
        if following is None:
            self.headers, self.status = headers, status  # a refused message changes nothing
            raise _order_error("websocket", kind, before, WEBSOCKET_TRANSITIONS[before])
        self.state = following
        return event

    def _classify(self, kind: str, message: Message) -> str:
        strict = self._strict
        if kind == "websocket.send":
            _check_websocket_send(message)
        elif kind == "websocket.accept":
            self._check_accept(message)
        elif kind == "websocket.close":
            _check_close(message)
        elif kind.startswith("websocket.http.response."):
            _check_extension(kind, self._extensions, "websocket.http.response")
            if kind == "websocket.http.response.start":
                status = _status(message, strict=strict)
                self.headers, self.status = check_headers(message, strict=strict), status
            else:
                _bytes(message, "body")
                more = _bool(message, "more_body", strict=strict)
                return kind if more else f"{kind}.last"
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
        headers = check_headers(message, strict=self._strict)
        for name, _ in headers:
            if name == b"sec-websocket-protocol":
                raise _fail(
                    "websocket.accept.headers",
                    "'websocket.accept' headers must not hold sec-websocket-protocol; "
                    "pass the subprotocol as 'subprotocol' instead.",
                )
        self.headers = headers


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
    """Checks the lifespan messages, both ways, against :data:`LIFESPAN_TRANSITIONS`.

    Args:
        strict: hold the app to the spec's letter: a ``failed`` message's ``message`` must be a
            str (servers only log it, whatever it is).
    """

    __slots__ = ("_strict", "state")

    def __init__(self, *, strict: bool = False) -> None:
        self.state = LifespanState.IDLE
        self._strict = strict

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
            _check_failed(message, strict=self._strict)
        table = LIFESPAN_TRANSITIONS[self.state]
        following = table.get(kind)
        if following is None:
            raise _order_error("lifespan", kind, self.state, table)
        self.state = following
        return kind
