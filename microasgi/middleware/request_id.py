"""``RequestIDMiddleware``: one id per request, in the response, the scope and the logs.

A request id ties together what one request caused: the access log line of the proxy, the app's
log records, the error report, the response the client holds. A proxy or a calling service may
have chosen it already (``X-Request-ID``); the id is reused only when it comes from a peer you
trust, decided as ``ProxyHeadersMiddleware`` decides it, and only when it is well formed and
short, so a client cannot write into your logs. Otherwise a fresh one is made.
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from microasgi.middleware.proxy_headers import _trust
from microasgi.requests import HTTPConnection
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["REQUEST_ID_KEY", "RequestIDLogFilter", "RequestIDMiddleware", "get_request_id"]

REQUEST_ID_KEY = "microasgi.request_id"
"""The scope key holding the request's id (a ``str``), set by ``RequestIDMiddleware``."""

_current_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "microasgi.request_id", default=None
)
# The messages that start the answer to a request: the id header goes on them.
_STARTS = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})


def _new_id() -> str:
    return uuid.uuid4().hex


class RequestIDMiddleware:
    """Give every request an id: reuse the one a trusted proxy sent, else make one.

    The id is put in ``scope["microasgi.request_id"]`` (``REQUEST_ID_KEY``; read it with
    ``get_request_id(request)``), in a context variable for the code the request runs (worker
    threads of ``run_in_threadpool``, background tasks: ``get_request_id()``, and
    ``RequestIDLogFilter`` for log records), and in the response's ``header_name`` header (also
    on a websocket's handshake answer). A header of that name the app sets itself is kept.

    An incoming ``header_name`` header is reused only when the direct peer
    (``scope["client"]``) is one of ``trusted_hosts`` (as ``ProxyHeadersMiddleware`` reads them:
    addresses, networks, ``"*"``), there is exactly one such header, and its value is 1 to
    ``max_length`` visible ASCII characters (``!`` to ``~``: no spaces, controls or non-ASCII).
    Anything else gets a fresh id from ``generate`` (a UUID4 in hex by default).

    # SECURITY: the id lands in logs and in a response header. A client who could choose it
    # could forge log lines (newlines), split headers, or pin another request's id; a proxy you
    # trust is the only source allowed, and even its value is checked.

    Put it before ``ProxyHeadersMiddleware`` in the middleware list (outside it), so the peer
    checked is the proxy itself.

    Args:
        app: the app to wrap.
        header_name: the header read and written.
        trusted_hosts: the peers whose id is reused: ``ProxyHeadersMiddleware``'s default and
            syntax (``"127.0.0.1"``, a proxy on the same machine). A string is split on commas;
            ``()`` never reuses an id.
        max_length: the longest id reused.
        generate: makes a new id; called once per request that needs one.

    Raises:
        ValueError: ``header_name`` is not a header name, ``max_length`` is not positive, or a
            trusted host entry is malformed.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        header_name: str = "X-Request-ID",
        trusted_hosts: Sequence[str] | str = ("127.0.0.1",),
        max_length: int = 200,
        generate: Callable[[], str] = _new_id,
    ) -> None:
        if not header_name or not all(
            c.isascii() and (c.isalnum() or c in "-_") for c in header_name
        ):
            raise ValueError(
                f"header_name must be an HTTP header name (letters, digits, '-'), got "
                f"{header_name!r}. Use, for example, 'X-Request-ID'."
            )
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"max_length must be a positive int, got {max_length!r}.")
        self.app = app
        self.header_name = header_name
        self.max_length = max_length
        self.generate = generate
        self._header = header_name.lower().encode("ascii")
        # As ProxyHeadersMiddleware reads it; each peer address is judged once.
        self.trusted_hosts, self._is_trusted = _trust(trusted_hosts)
        self._always_trust = "*" in self.trusted_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = self._incoming(scope)
        if request_id is None:
            request_id = self.generate()
        scope[REQUEST_ID_KEY] = request_id
        header = self._header
        value = request_id.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            kind = message["type"]
            if kind in _STARTS:
                headers = list(message.get("headers", ()))
                if all(name.lower() != header for name, _ in headers):
                    headers.append((header, value))
                    message = {**message, "headers": headers}
            if kind == "http.response.start" or message.get("more_body"):
                await send(message)  # uvicorn writes its access log here: it keeps the id
                return
            # SPEC: uvicorn starts the next request pipelined on the connection from inside the
            # send() of the last body message, in a copy of this context: the id is unset for
            # that call, so the next request never carries this one's (microasgi._asgi.context).
            token = _current_id.set(None)
            try:
                await send(message)
            finally:
                _current_id.reset(token)

        token = _current_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current_id.reset(token)

    def _incoming(self, scope: Scope) -> str | None:
        """The id the peer sent, if it is trusted and the id is acceptable."""
        if not self._always_trust:
            client = scope.get("client")
            if client is None or not self._is_trusted(client[0]):
                return None
        found: bytes | None = None
        for name, value in scope["headers"]:
            if name == self._header:
                if found is not None:
                    return None  # two ids: neither is trusted to be the one
                found = value
        if found is None or not 0 < len(found) <= self.max_length:
            return None
        # SECURITY: visible ASCII only (RFC 9110 VCHAR): no spaces, controls, or obs-text.
        if found.strip(_VISIBLE):
            return None
        return found.decode("ascii")


_VISIBLE = bytes(range(0x21, 0x7F))


def get_request_id(connection: HTTPConnection | Mapping[str, Any] | None = None) -> str | None:
    """The id ``RequestIDMiddleware`` gave the request.

    Args:
        connection: a ``Request``, ``WebSocket`` or scope to read it from. Without it, the id of
            the request the calling code runs for (a context variable: right in worker threads
            and background tasks of that request too).

    Returns:
        The id, or ``None`` outside a request or where the middleware is not installed.
    """
    if connection is None:
        return _current_id.get()
    scope = connection.scope if isinstance(connection, HTTPConnection) else connection
    request_id: str | None = scope.get(REQUEST_ID_KEY)
    return request_id


class RequestIDLogFilter(logging.Filter):
    """A ``logging.Filter`` that adds the current request's id to every record it sees.

    Attach it to a handler (``handler.addFilter(RequestIDLogFilter())``) and use the attribute in
    the format: ``"%(asctime)s %(request_id)s %(message)s"``. Records logged outside a request
    get ``default``. It never drops a record.

    Args:
        name: as ``logging.Filter``'s (it does not restrict which loggers pass).
        attribute: the record attribute to set.
        default: the value outside a request.
    """

    def __init__(
        self, name: str = "", *, attribute: str = "request_id", default: str = "-"
    ) -> None:
        super().__init__(name)
        self.attribute = attribute
        self.default = default

    def filter(self, record: logging.LogRecord) -> bool:
        """Set the id on ``record``; keep it."""
        request_id = _current_id.get()
        setattr(record, self.attribute, self.default if request_id is None else request_id)
        return True
