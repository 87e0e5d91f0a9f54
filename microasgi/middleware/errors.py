"""``ServerErrorMiddleware``: the outermost layer, answering 500 when everything else failed.

It answers with a plain "Internal Server Error", or with the registered 500 / ``Exception``
handler's response, or (``debug=True``) with the traceback as HTML or plain text depending on the
request's ``Accept`` header, and then re-raises the exception so the server still logs it. An
exception raised once the response has started (a background task's, a stream's) still reaches
the handler, for error reporting, though its answer can no longer be sent. A client that
disconnected mid-request is not an error: the request ends quietly.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Awaitable, Callable

from microasgi.datastructures import Headers
from microasgi.middleware.exceptions import _run_handler
from microasgi.requests import ClientDisconnect, Request
from microasgi.responses import HTMLResponse, PlainTextResponse, Response
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ServerErrorMiddleware"]

ServerErrorHandler = Callable[[Request, Exception], Response | Awaitable[Response]]

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>500 Server Error</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
h1 {{ font-size: 1.4rem; color: #b00020; }}
pre {{ background: #f6f6f6; padding: 1rem; overflow-x: auto; line-height: 1.4; }}
</style></head>
<body><h1>500 Server Error: {title}</h1>
<p>{method} {path}</p>
<pre>{trace}</pre>
</body></html>
"""


class ServerErrorMiddleware:
    """Answer 500 for any exception the app lets through, then re-raise it for the server's log.

    Only ``http`` scopes are handled; other scopes pass straight through (a websocket's error
    goes to the server as itself, which answers the handshake or closes the connection). If the
    response had already started when the exception arrived (raised by a background task or a
    streaming body), nothing more can be sent: the handler is still called, as in Starlette, so
    error reporting sees the exception, its answer is dropped, and the exception is re-raised for
    the server to log and close the connection. ``ClientDisconnect`` (the client left while the
    body was being read) ends the request quietly, with no answer and no exception.

    Args:
        app: the app to wrap.
        handler: ``(request, exc) -> Response`` (sync or async; sync handlers run in a worker
            thread) giving the 500 answer; called even when the response has started, to report
            the error. Not used when ``debug`` is on.
        debug: answer with the traceback: an HTML page when the request accepts ``text/html``,
            plain text otherwise. Never turn it on in production: it shows your code.
    """

    def __init__(
        self, app: ASGIApp, handler: ServerErrorHandler | None = None, debug: bool = False
    ) -> None:
        self.app = app
        self.handler = handler
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sender(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sender)
        except Exception as exc:
            await self._answer_http(scope, receive, send, exc, started)

    async def _answer_http(
        self, scope: Scope, receive: Receive, send: Send, exc: Exception, started: bool
    ) -> None:
        """Answer 500 unless the response has started, then raise ``exc`` for the server's log."""
        if isinstance(exc, ClientDisconnect):
            # The client left before its request was read: nobody is there to answer and it is
            # not the app's fault, so no 500 and no traceback in the server's log.
            return
        if not started:
            response = await self._response(scope, receive, send, exc)
            await response(scope, receive, send)
        elif self.handler is not None and not self.debug:
            # As Starlette does: the handler runs even though its answer cannot be sent, because
            # error reporting (Sentry's integration, a metrics counter) hooks in here, and an
            # error from a background task arrives only after the response was sent.
            await _run_handler(self.handler, Request(scope, receive, send), exc)
        # Re-raised so the server logs it and counts the failure, as Starlette does.
        raise exc

    async def _response(
        self, scope: Scope, receive: Receive, send: Send, exc: Exception
    ) -> ASGIApp:
        if self.debug:
            return _debug_response(scope, exc)
        if self.handler is None:
            return PlainTextResponse("Internal Server Error", status_code=500)
        return await _run_handler(self.handler, Request(scope, receive, send), exc)


def _debug_response(scope: Scope, exc: Exception) -> Response:
    """The traceback, as HTML for a browser and as plain text for anything else."""
    trace = "".join(traceback.format_exception(exc))
    accept = Headers(scope=scope).get("accept", "")
    if "text/html" not in accept:
        return PlainTextResponse(trace, status_code=500)
    # SECURITY: every value shown is escaped; the message and path may hold the client's input.
    # Path and method come from the scope directly: building a URL would validate the Host header
    # and could raise a second error while reporting the first.
    page = _PAGE.format(
        title=html.escape(f"{type(exc).__name__}: {exc}"),
        method=html.escape(str(scope.get("method", ""))),
        path=html.escape(str(scope.get("path", ""))),
        trace=html.escape(trace),
    )
    return HTMLResponse(page, status_code=500)
