"""``ServerErrorMiddleware``: the outermost layer, answering 500 when everything else failed.

It answers with a plain "Internal Server Error", or with the registered 500 / ``Exception``
handler's response, or (``debug=True``) with the debug page (microasgi.middleware._debugpage)
as HTML or the plain traceback, depending on the request's ``Accept`` header, and then re-raises
the exception so the server still logs it. An exception raised once the response has started (a
background task's, a stream's) still reaches the handler, for error reporting, though its answer
can no longer be sent. A client that disconnected mid-request is not an error: the request ends
quietly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from microasgi.datastructures import Headers
from microasgi.middleware._debugpage import render_html, render_text
from microasgi.middleware.exceptions import _run_handler
from microasgi.requests import ClientDisconnect, Request
from microasgi.responses import HTMLResponse, PlainTextResponse, Response
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ServerErrorMiddleware"]

ServerErrorHandler = Callable[[Request, Exception], Response | Awaitable[Response]]


class ServerErrorMiddleware:
    """Answer 500 for any exception the app lets through, then re-raise it for the server's log.

    ``http`` scopes are handled; other scopes pass straight through (a websocket's error goes to
    the server as itself, which answers the handshake or closes the connection), except that with
    ``debug`` on, a websocket's error raised before the app answered the handshake is shown with
    the debug page as a denial response, when the server offers the ``websocket.http.response``
    extension (the error is then still raised for the server's log). If the
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
        debug: answer with the debug page: an HTML page (each frame with its source, the
            exception chain, the request with its credentials redacted) when the request accepts
            ``text/html``, the plain traceback otherwise. Never turn it on in production: it
            shows your code.
        debug_locals: with ``debug``, show each frame's local variables too (their ``repr``,
            cut and escaped). Off by default, so a debug page can be pasted into a bug report
            without the values your code held (tokens, passwords, personal data).
    """

    def __init__(
        self,
        app: ASGIApp,
        handler: ServerErrorHandler | None = None,
        debug: bool = False,
        *,
        debug_locals: bool = False,
    ) -> None:
        self.app = app
        self.handler = handler
        self.debug = debug
        self.debug_locals = debug_locals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and self.debug:
                await self._websocket(scope, receive, send)
            else:
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

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run a websocket; an error before the handshake was answered gets the debug page."""
        answered = False

        async def sender(message: Message) -> None:
            nonlocal answered
            answered = True
            await send(message)

        try:
            await self.app(scope, receive, sender)
        except Exception as exc:
            # SPEC: without the extension, the only answer before accept is a close, which the
            # server turns into a 403 itself when the app raises: nothing better to send then.
            if not answered and "websocket.http.response" in (scope.get("extensions") or ()):
                await _debug_response(scope, exc, self.debug_locals)(scope, receive, send)
            raise

    async def _response(
        self, scope: Scope, receive: Receive, send: Send, exc: Exception
    ) -> ASGIApp:
        if self.debug:
            return _debug_response(scope, exc, self.debug_locals)
        if self.handler is None:
            return PlainTextResponse("Internal Server Error", status_code=500)
        return await _run_handler(self.handler, Request(scope, receive, send), exc)


# SECURITY: no script, no fetch, inline style only: the page needs nothing else.
_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def _debug_response(scope: Scope, exc: Exception, show_locals: bool) -> Response:
    """The debug page for a browser, the plain traceback for anything else."""
    accept = Headers(scope=scope).get("accept", "")
    if "text/html" not in accept:
        return PlainTextResponse(render_text(exc), status_code=500)
    # SECURITY: the page escapes every value it shows (the message, the path and the headers may
    # hold the client's input); the header forbids scripts in case anything slipped through.
    return HTMLResponse(
        render_html(exc, scope, show_locals=show_locals),
        status_code=500,
        headers={"content-security-policy": _CSP},
    )
