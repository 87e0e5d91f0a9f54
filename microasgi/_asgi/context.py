"""The connection the running code serves, in a context variable: what
``microasgi.requests.current_request()`` and ``current_connection()`` read.

``ConnectionContext`` wraps an app (``MicroASGI(request_context=True)`` puts it outermost): it
sets the variable when a request or websocket session enters and resets it when it leaves. A
context variable follows the code the request runs: into worker threads (anyio copies the context
into them), background tasks (they run inside the response) and tasks it starts.
"""

# SPEC: servers may start a request's task in a copy of the context of the previous request on
# the same connection: uvicorn does, for pipelined HTTP/1.1 requests (unless run with
# --reset-contextvars), because it starts the next request from inside the previous one's
# send() of its last body message, while that request still runs (its background tasks, say).
# Three things keep the previous request from showing: the server's send() of a message that may
# complete the response runs with the variable unset, so the next request's copy holds nothing
# (the response's start and its partial body chunks keep it: access logs are written there); the
# variable is set again for every request that enters; and an entry is marked ended when its
# request leaves, so a copy that outlives it (work the request started and left running) finds no
# request rather than a finished one.

# PERF: off by default. Setting and resetting the variable, and the send wrapper, cost a few
# thousand instructions a request, too much to charge apps that never call current_request();
# an app that does asks for it (docs/performance.md has the figures).

from __future__ import annotations

import contextvars
from typing import Any

from microasgi.types import ASGIApp, Message, Receive, Scope, Send


class Current:
    """The connection a request runs for: its ASGI triple, and the object built over it once."""

    __slots__ = ("connection", "ended", "receive", "scope", "send")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.connection: Any = None  # the Request or HTTPConnection, built when first asked for
        self.ended = False


_current: contextvars.ContextVar[Current | None] = contextvars.ContextVar(
    "microasgi.current", default=None
)


class ConnectionContext:
    """Set the current connection for the requests and websocket sessions through ``app``."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def send_unset(message: Message) -> None:
            if message["type"] == "http.response.start" or message.get("more_body"):
                # The server may log here (uvicorn's access log does, at the start): its log
                # filters still find the request.
                await send(message)
                return
            # A message that may complete the response runs the server's code without the
            # variable: a request the server starts from here (the next one pipelined on the
            # connection) must not inherit this one.
            token = _current.set(None)
            try:
                await send(message)
            finally:
                _current.reset(token)

        current = Current(scope, receive, send_unset)
        token = _current.set(current)
        try:
            await self.app(scope, receive, send_unset)
        finally:
            current.ended = True
            _current.reset(token)


def get_current(function: str) -> Current:
    """The current connection, for ``function`` (named in the error).

    Raises:
        RuntimeError: no request is running here, or the one that was has ended.
    """
    current = _current.get()
    if current is None:
        raise RuntimeError(
            f"{function}() found no request: it works in code that runs for a request (an "
            "endpoint, a middleware, a worker thread or background task of that request) of a "
            "MicroASGI app created with request_context=True. Turn it on with "
            "MicroASGI(..., request_context=True), or pass the request to this code."
        )
    if current.ended:
        raise RuntimeError(
            f"{function}() was called after its request had ended (in work that outlived the "
            "request). Pass what the work needs from the request when starting it."
        )
    return current
