"""``ServerErrorMiddleware``: the outermost layer, answering 500 when everything else failed.

It answers with a plain "Internal Server Error", or with the registered 500 / ``Exception``
handler's response, or (``debug=True``) with the traceback as HTML or plain text depending on the
request's ``Accept`` header, and then re-raises the exception so the server still logs it. A
client that disconnected mid-request is not an error: the request ends quietly.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable
from typing import Any

from microasgi._utils import is_async_callable
from microasgi.concurrency import run_in_threadpool
from microasgi.requests import ClientDisconnect, Request
from microasgi.responses import HTMLResponse, PlainTextResponse, Response
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ServerErrorMiddleware"]

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>
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

    Args:
        app: the app to wrap.
        handler: ``(request, exc) -> Response`` for the 500 answer (sync handlers run in a worker
            thread). Ignored when ``debug`` is on.
        debug: answer with the traceback (HTML, or plain text unless the client accepts HTML).
    """

    def __init__(
        self,
        app: ASGIApp,
        handler: Callable[[Request, Exception], Any] | None = None,
        debug: bool = False,
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
            started = True
            await send(message)

        try:
            await self.app(scope, receive, sender)
        except ClientDisconnect:
            # The client left before the request was read: nobody is there to answer, and it
            # is not the app's fault, so no 500 and no traceback in the log.
            return
        except Exception as exc:
            if not started:
                request = Request(scope, receive, send)
                response = await self._response(request, exc)
                await response(scope, receive, send)
            # Re-raise so the server logs it and counts the failure (Starlette does the same).
            raise

    async def _response(self, request: Request, exc: Exception) -> Response:
        if self.debug:
            return _debug_response(request, exc)
        if self.handler is None:
            return PlainTextResponse("Internal Server Error", status_code=500)
        if is_async_callable(self.handler):
            response = await self.handler(request, exc)
        else:
            response = await run_in_threadpool(self.handler, request, exc)
        if not callable(response):
            raise TypeError(
                f"The 500 handler returned {response!r}; it must return a Response."
            ) from exc
        return response  # type: ignore[no-any-return]


def _debug_response(request: Request, exc: Exception) -> Response:
    trace = "".join(traceback.format_exception(exc))
    title = f"{type(exc).__name__}: {exc}"
    if "text/html" in request.headers.get("accept", ""):
        page = _PAGE.format(
            title=html.escape(title),
            method=html.escape(request.method),
            path=html.escape(request.url.path),
            trace=html.escape(trace),
        )
        return HTMLResponse(page, status_code=500)
    return PlainTextResponse(trace, status_code=500)
