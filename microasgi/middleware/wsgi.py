"""``WSGIMiddleware``: serve a WSGI app (Flask, Django, ...) as an ASGI app.

Starlette's ``starlette.middleware.wsgi``, so ``Mount("/flask", app=WSGIMiddleware(flask_app))``
ports unchanged. Deprecated, as Starlette's is: importing the module warns, with Starlette's text,
and `a2wsgi <https://github.com/abersheeran/a2wsgi>`_ is the maintained adapter. Unlike
Starlette's, this one bounds what it holds in memory on both sides, runs on asyncio and trio, and
follows PEP 3333 where Starlette's does not (``start_response`` returns ``write``, headers wait for
the first body bytes, ``close()`` is called, ``SERVER_PORT`` is a string).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from microasgi._asgi.concurrency import collapse_excgroups
from microasgi._sansio.headers import encode_header
from microasgi.exceptions import HTTPException, _deprecated
from microasgi.middleware.exceptions import _answered_above
from microasgi.requests import ClientDisconnect, Request
from microasgi.responses import PlainTextResponse
from microasgi.types import Message, Receive, Scope, Send

__all__ = ["WSGIMiddleware", "build_environ"]

_deprecated(
    "microasgi.middleware.wsgi",
    "0.1",
    "a2wsgi.WSGIMiddleware",
    # Starlette's text with microasgi's name, so warning filters written for it still match.
    starlette="microasgi.middleware.wsgi is deprecated and will be removed in a future release. "
    "Please refer to https://github.com/abersheeran/a2wsgi as a replacement (a2wsgi is the "
    "maintained one: pip install a2wsgi, then use a2wsgi.WSGIMiddleware).",
)

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# PERF and SECURITY: how many response messages wait between the WSGI thread and the event loop.
# The thread blocks once the channel is full, so a WSGI app streaming faster than the client
# reads is held back instead of filling memory; one message lets it produce the next chunk while
# the loop sends the last.
_CHANNEL_SIZE = 1


def build_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """Return the WSGI environ (PEP 3333) for an ``http`` scope and its whole request body.

    ``SCRIPT_NAME`` is the scope's ``root_path`` and ``PATH_INFO`` the rest of ``path`` (a path
    that does not start with ``root_path`` is taken as already relative to it). Paths and the
    query string are native strings, UTF-8 bytes seen as latin-1, as PEP 3333 wants. Request
    headers become ``HTTP_*`` keys (``CONTENT_TYPE`` and ``CONTENT_LENGTH`` without the prefix),
    repeated ones joined with ``","`` (``Cookie`` with ``"; "``, RFC 9113 section 8.2.3).
    """
    script_name = scope.get("root_path", "").encode("utf-8").decode("latin-1")
    path_info = scope["path"].encode("utf-8").decode("latin-1")
    if path_info == script_name or path_info.startswith(script_name.rstrip("/") + "/"):
        path_info = path_info[len(script_name) :]
    scheme = scope.get("scheme", "http")
    # SPEC: PEP 3333 wants SERVER_NAME and SERVER_PORT always, as strings (Starlette's port is an
    # int, which breaks URL rebuilding such as Werkzeug's); ASGI may give no server, or no port
    # (a Unix socket).
    server = scope.get("server") or ("localhost", None)
    port = server[1]
    if port is None:
        port = 443 if scheme == "https" else 80
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        # Bytes a client sent outside ASCII would make Starlette's ascii decoding fail the request.
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(port),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        # The stream ends where the body ends, chunked uploads included: without this Werkzeug
        # reads no body at all from a request that has no Content-Length.
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,  # SPEC: PEP 3333, "an output stream for error output"
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        if "_" in name:
            # SECURITY: "X_Forwarded_For" would land on the HTTP_X_FORWARDED_FOR key of
            # "X-Forwarded-For", one a proxy in front strips or sets; dropped, as nginx,
            # Apache and Gunicorn drop them.
            continue
        if name == "content-type":
            key = "CONTENT_TYPE"
        elif name == "content-length":
            key = "CONTENT_LENGTH"
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ


class WSGIMiddleware:
    """Serve the WSGI app ``app`` to ``http`` requests, running it in a worker thread.

    The request body is read first, up to the request's body cap (``scope[MAX_BODY_SIZE_KEY]``,
    else ``DEFAULT_MAX_BODY_SIZE``), and handed to the app as ``wsgi.input``: a body over the cap
    is answered ``413 Content Too Large`` (by the application's handlers, under a ``MicroASGI``
    app) and the WSGI app is not called. A client that leaves before its body is sent is not
    answered, and the app is not called either.

    The response streams: each chunk the app's iterable yields (or passes to ``write``) goes to
    the client as it comes, through a channel of one message, so an app producing faster than the
    client reads waits. When the client disconnects the app's iterable is not asked for more, and
    its ``close()`` is called, as it is after every response.

    Errors propagate as themselves, as in Starlette: one the app raises before its first body
    bytes is answered 500 by a ``MicroASGI`` app (the server's own answer otherwise); after them,
    the response is left unfinished. When ``start_response(..., exc_info)`` replaced the headers
    with an error page, the page is sent and the error raised afterwards, for the server's log.

    A ``lifespan`` scope returns at once, which tells the server (or ``with TestClient(app)``)
    that there is no lifespan to run, as the ASGI spec allows.

    Args:
        app: the WSGI application, ``app(environ, start_response) -> iterable of bytes``.

    Raises:
        ValueError: (when called) a ``websocket`` scope (or any other but ``http`` and
            ``lifespan``): WSGI has no websockets.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http":
            if scope_type == "lifespan":
                # SPEC: an app that returns on the lifespan scope has no lifespan support; servers,
                # test clients and a MicroASGI app driving its mounts' lifespans carry on without.
                # (Starlette's fails an assert instead, which `with TestClient(app)` reports.)
                return
            raise ValueError(
                f"WSGIMiddleware serves 'http' scopes only, got {scope_type!r}: WSGI has no "
                "websockets. Route websockets to an ASGI endpoint, outside the WSGI mount."
            )
        try:
            # Request applies the scope's body cap, and shares a body a middleware above
            # already read through a Request of its own.
            body = await Request(scope, receive).body()
        except ClientDisconnect:
            return  # nobody to answer, and the app must not run on part of a body
        except HTTPException as exc:  # 413: the body is over the cap; reading stopped there
            if _answered_above(scope):
                raise  # the application's handlers answer it, in the app's own format
            await PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)(
                scope, receive, send
            )
            return
        await _Responder(self.app, build_environ(scope, body)).run(receive, send)


def _channel() -> tuple[MemoryObjectSendStream[Message], MemoryObjectReceiveStream[Message]]:
    """The bounded channel from the WSGI thread to the event loop (one per request)."""
    return anyio.create_memory_object_stream[Message](_CHANNEL_SIZE)


class _ClientGone(Exception):
    """Raised in the WSGI thread when the response channel is closed: the client has left."""


class _Responder:
    """One request: the WSGI call in a worker thread, its messages sent from the event loop."""

    def __init__(self, app: Callable[..., Any], environ: dict[str, Any]) -> None:
        self.app = app
        self.environ = environ
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False  # whether http.response.start went into the channel
        self.exc_info_error: BaseException | None = None  # start_response's exc_info, re-raised
        self.error: Exception | None = None  # what the app raised
        self.channel, self.outbox = _channel()

    async def run(self, receive: Receive, send: Send) -> None:
        # An error from the server's send or receive surfaces as itself, not in a group.
        with collapse_excgroups():
            async with anyio.create_task_group() as group:
                group.start_soon(self._produce)
                group.start_soon(self._watch, receive, group.cancel_scope)
                await self._deliver(self.outbox, send)
                group.cancel_scope.cancel()  # the response is over: stop watching the client
        if self.error is not None:
            raise self.error
        if self.exc_info_error is not None:
            raise self.exc_info_error  # as Starlette: sent the app's error page, now report it

    async def _produce(self) -> None:
        """Run the WSGI app in a worker thread; close the channel when it returns."""
        with self.channel:
            # A thread cannot be cancelled: shielded, this waits for it to notice (at its next
            # chunk) that the channel is closed, and the thread's calls into the event loop are
            # not cancelled under it meanwhile.
            with anyio.CancelScope(shield=True):
                try:
                    await anyio.to_thread.run_sync(self._call_app)
                except _ClientGone:
                    pass  # the thread stopped, as asked: the client has left
                except Exception as exc:
                    self.error = exc

    async def _deliver(self, outbox: MemoryObjectReceiveStream[Message], send: Send) -> None:
        """Send each message the thread produces; stop when the client has gone."""
        with outbox:  # closing it (here, or cancelled) makes the thread's next message fail
            async for message in outbox:
                try:
                    await send(message)
                except OSError:
                    return  # SPEC: ASGI 2.4, the client has gone.

    async def _watch(self, receive: Receive, scope: anyio.CancelScope) -> None:
        """Cancel the delivery when the client disconnects."""
        # The body was read whole before the app ran: receive() has nothing else to give.
        while (await receive())["type"] != "http.disconnect":
            pass
        scope.cancel()

    # --- in the worker thread --------------------------------------------------------------

    def _call_app(self) -> None:
        iterable = self.app(self.environ, self._start_response)
        try:
            for chunk in iterable:
                if chunk:
                    self._body(chunk)
            self._start()
            self._put({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            # SPEC: PEP 3333, close() is called when the request ends, whatever the outcome.
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    def _start_response(
        self,
        status: str,
        response_headers: list[tuple[str, str]],
        exc_info: _ExcInfo | None = None,
    ) -> Callable[[bytes], None]:
        """PEP 3333's ``start_response``: keep the status and headers until the first bytes."""
        error = exc_info[1] if exc_info else None
        if error is not None:
            if self.started:
                # SPEC: PEP 3333, too late to replace the headers: re-raise the app's error.
                raise error
            self.exc_info_error = error
        elif self.status is not None:
            raise RuntimeError(
                "The WSGI app called start_response a second time without exc_info. Call it "
                "once, or pass exc_info=sys.exc_info() to replace the headers with an error's."
            )
        code = status[:3]
        if not (code.isdigit() and code.isascii() and status[3:4] in ("", " ")):
            raise ValueError(
                f"WSGI status must be a code and a reason such as '200 OK', got {status!r}."
            )
        # SECURITY: validated, so a header value cannot hold CR or LF and split the response.
        self.headers = [encode_header(n.strip(), v.strip()) for n, v in response_headers]
        self.status = int(code)
        return self._write

    def _write(self, data: bytes) -> None:
        """PEP 3333's ``write``: send ``data`` now (the headers first, if not sent yet)."""
        self._start()
        if data:
            self._body(data)

    def _start(self) -> None:
        if not self.started:
            if self.status is None:
                raise RuntimeError(
                    "The WSGI app sent body bytes, or ended its response, without calling "
                    "start_response(status, headers) first."
                )
            self.started = True
            self._put(
                {"type": "http.response.start", "status": self.status, "headers": self.headers}
            )

    def _body(self, chunk: bytes) -> None:
        if not isinstance(chunk, bytes):
            raise TypeError(
                f"A WSGI app's body must be bytes, got {type(chunk).__name__}: {chunk!r:.40}. "
                "Encode text before returning it."
            )
        self._start()
        self._put({"type": "http.response.body", "body": chunk, "more_body": True})

    def _put(self, message: Message) -> None:
        """Hand ``message`` to the event loop; block while the channel is full."""
        try:
            anyio.from_thread.run(self.channel.send, message)
        except anyio.BrokenResourceError:
            raise _ClientGone from None
