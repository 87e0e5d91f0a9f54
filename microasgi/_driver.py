"""The ASGI protocol checker of the test client: one state table per protocol.

Every message an app sends through the test client passes through a checker here before the
client acts on it. A checker validates the message's shape (types, lowercase header names, ...)
and then looks up ``(state, event)`` in its protocol's transition table, as h11's ``_state.py``
does; a step the table does not list raises :class:`ASGIProtocolError` naming the rule, the state
and what was expected. Pure code: no I/O, no anyio.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Mapping
from typing import Any, Final

from microasgi._headers import encode_header
from microasgi.types import Message
from microasgi.websockets import WebSocketState

__all__ = [
    "ASGIProtocolError",
    "ClientDisconnectedError",
    "HTTPResponseChecker",
    "HTTPState",
    "LifespanChecker",
    "LifespanState",
    "WebSocketChecker",
    "parse_spec_version",
]


class ASGIProtocolError(AssertionError):
    """The app broke a rule of the ASGI specification.

    Args:
        rule: a short name of the broken rule, such as ``"http.order"`` or ``"headers.lowercase"``.
        detail: what happened and how to fix it.
    """

    def __init__(self, rule: str, detail: str) -> None:
        self.rule = rule
        self.detail = detail
        super().__init__(f"[{rule}] {detail}")


class ClientDisconnectedError(OSError):
    """Raised by ``send`` when the client has gone away (ASGI spec 2.4 and later)."""


def parse_spec_version(spec_version: str) -> tuple[int, int]:
    """Return ``"2.4"`` as ``(2, 4)``, or raise ``ValueError`` for anything but ``"<major>.<minor>"``."""
    major, dot, minor = (
        spec_version.partition(".") if isinstance(spec_version, str) else ("", "", "")
    )
    if not (dot and major.isdigit() and minor.isdigit()):
        raise ValueError(
            f'spec_version must be an ASGI spec version such as "2.4", got {spec_version!r}.'
        )
    return int(major), int(minor)


# --- message shape -----------------------------------------------------------------------------


def _fail(rule: str, detail: str) -> ASGIProtocolError:
    return ASGIProtocolError(rule, detail)


def message_type(message: object) -> str:
    """Return ``message["type"]``, or raise if ``message`` is not a mapping with a str type."""
    if not isinstance(message, Mapping):
        raise _fail(
            "message.mapping",
            f"The app sent {message!r}, which is not a dict. ASGI messages are dicts with a 'type'.",
        )
    kind = message.get("type")
    if not isinstance(kind, str):
        raise _fail(
            "message.type", f"The app sent a message without a str 'type': {dict(message)!r}."
        )
    return kind


def _bool(message: Mapping[str, Any], key: str) -> bool:
    value = message.get(key, False)
    if not isinstance(value, bool):
        raise _fail(
            f"{message['type']}.{key}",
            f"{message['type']!r} {key!r} must be a bool, got {value!r}.",
        )
    return value


def _bytes(message: Mapping[str, Any], key: str, *, required: bool = False) -> bytes:
    if key not in message and not required:
        return b""
    value = message.get(key)
    if not isinstance(value, bytes):
        raise _fail(
            f"{message['type']}.{key}",
            f"{message['type']!r} {key!r} must be bytes, got {type(value).__name__}: {value!r}. "
            "Encode text first, for example with .encode('utf-8').",
        )
    return value


def _status(message: Mapping[str, Any]) -> int:
    status = message.get("status")
    # SPEC: status is an int; bool is an int subclass but never a status. 1xx answers are the
    # server's business (early hints go through the http.response.early_hint extension).
    if type(status) is not int or not 200 <= status <= 599:
        raise _fail(
            f"{message['type']}.status",
            f"{message['type']!r} status must be an int from 200 to 599, got {status!r}.",
        )
    return status


def check_headers(message: Mapping[str, Any], key: str = "headers") -> list[tuple[bytes, bytes]]:
    """Validate ``message[key]`` as ASGI headers and return them as a list of pairs."""
    kind = message["type"]
    headers = message.get(key, [])
    if isinstance(headers, str | bytes | Mapping) or not isinstance(headers, Iterable):
        raise _fail(
            "headers.type",
            f"{kind!r} {key!r} must be a list of [name, value] byte pairs, got {headers!r}.",
        )
    pairs: list[tuple[bytes, bytes]] = []
    for item in headers:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise _fail("headers.pair", f"{kind!r} header {item!r} is not a [name, value] pair.")
        name, value = item
        if not isinstance(name, bytes) or not isinstance(value, bytes):
            raise _fail(
                "headers.bytes",
                f"{kind!r} header {item!r} must hold bytes, not str. Encode it as latin-1.",
            )
        if name.startswith(b":"):
            raise _fail(
                "headers.pseudo",
                f"{kind!r} header {name!r} is an HTTP/2 pseudo-header; ASGI forbids them.",
            )
        if name != name.lower():
            raise _fail(
                "headers.lowercase",
                f"{kind!r} header name {name!r} must be lowercase, as ASGI requires: use "
                f"{name.lower()!r}.",
            )
        try:
            encode_header(name, value)
        except ValueError as exc:
            raise _fail("headers.value", f"{kind!r} header is invalid: {exc}") from None
        pairs.append((name, value))
    return pairs


def _check_close(message: Mapping[str, Any]) -> None:
    code = message.get("code", 1000)
    # SPEC: RFC 6455 section 7.4: 1004-1006 and 1015 are reserved and never sent in a close frame.
    if type(code) is not int or not 1000 <= code <= 4999 or code in (1004, 1005, 1006, 1015):
        raise _fail(
            "websocket.close.code",
            f"'websocket.close' code must be an int from 1000 to 4999 other than the reserved "
            f"1004, 1005, 1006 and 1015, got {code!r}.",
        )
    reason = message.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise _fail(
            "websocket.close.reason", f"'websocket.close' reason must be str, got {reason!r}."
        )
    # SPEC: RFC 6455 section 5.5: a control frame carries at most 125 bytes, 2 of them the code.
    if reason is not None and len(reason.encode("utf-8")) > 123:
        raise _fail(
            "websocket.close.reason",
            f"'websocket.close' reason is {len(reason.encode('utf-8'))} bytes of UTF-8; at most 123 fit "
            "in a close frame. Shorten it.",
        )


def _check_websocket_send(message: Mapping[str, Any]) -> None:
    text, data = message.get("text"), message.get("bytes")
    if (text is None) == (data is None):
        raise _fail(
            "websocket.send.payload",
            "'websocket.send' must set exactly one of 'text' and 'bytes' (the other None or absent), "
            f"got text={text!r}, bytes={data!r}.",
        )
    if text is not None and not isinstance(text, str):
        raise _fail("websocket.send.text", f"'websocket.send' text must be str, got {text!r}.")
    if data is not None and not isinstance(data, bytes):
        raise _fail("websocket.send.bytes", f"'websocket.send' bytes must be bytes, got {data!r}.")


def _check_zerocopysend(message: Mapping[str, Any]) -> None:
    file = message.get("file")
    if not callable(getattr(file, "fileno", None)):
        raise _fail(
            "http.response.zerocopysend.file",
            f"'http.response.zerocopysend' file must be an open file object with fileno(), got {file!r}.",
        )
    for key in ("offset", "count"):
        value = message.get(key)
        if value is not None and (type(value) is not int or value < 0):
            raise _fail(
                f"http.response.zerocopysend.{key}",
                f"'http.response.zerocopysend' {key} must be an int >= 0, got {value!r}.",
            )


def _check_pathsend(message: Mapping[str, Any]) -> None:
    path = message.get("path")
    if not isinstance(path, str) or not os.path.isabs(path):
        raise _fail(
            "http.response.pathsend.path",
            f"'http.response.pathsend' path must be an absolute path str, got {path!r}.",
        )


def _check_push(message: Mapping[str, Any]) -> None:
    path = message.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise _fail(
            "http.response.push.path",
            f"'http.response.push' path must be a str starting with '/', got {path!r}.",
        )
    check_headers(message)


def _check_early_hint(message: Mapping[str, Any]) -> None:
    links = message.get("links")
    if isinstance(links, bytes | str) or not isinstance(links, Iterable):
        raise _fail(
            "http.response.early_hint.links",
            f"'http.response.early_hint' links must be a list of bytes, got {links!r}.",
        )
    for link in links:
        if not isinstance(link, bytes):
            raise _fail(
                "http.response.early_hint.links",
                f"'http.response.early_hint' link {link!r} must be bytes.",
            )


def _check_debug(message: Mapping[str, Any]) -> None:
    if not isinstance(message.get("info"), dict):
        raise _fail(
            "http.response.debug.info",
            f"'http.response.debug' info must be a dict, got {message.get('info')!r}.",
        )


def _check_failed(message: Mapping[str, Any]) -> None:
    text = message.get("message", "")
    if not isinstance(text, str):
        raise _fail(
            f"{message['type']}.message", f"{message['type']!r} message must be str, got {text!r}."
        )


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
