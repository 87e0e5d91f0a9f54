"""``HTTPSRedirectMiddleware``: send every plain-text request to its secure URL.

``http://example.com/a?b=1`` is redirected to ``https://example.com/a?b=1`` and ``ws://`` to
``wss://``, with ``307 Temporary Redirect`` so the method and body are kept.
"""

from __future__ import annotations

from microasgi.datastructures import URL
from microasgi.responses import PlainTextResponse, RedirectResponse, Response
from microasgi.types import ASGIApp, Receive, Scope, Send

__all__ = ["HTTPSRedirectMiddleware"]

_SECURE = {"http": "https", "ws": "wss"}


class HTTPSRedirectMiddleware:
    """Redirect ``http`` to ``https`` and ``ws`` to ``wss`` with a 307.

    The redirect keeps the host (from the ``Host`` header, else the server address), the path
    (percent-encoded as received) and the query string. A port of 80 or 443 is dropped, so
    ``http://example.com:80/`` goes to ``https://example.com/``; any other port is kept.

    Requests that are already secure, and ``lifespan`` scopes, pass through. Behind a proxy that
    terminates TLS the scheme the app sees is ``http``: put ``ProxyHeadersMiddleware`` outside
    this one so the scheme the client used is restored first.

    A request without any host to redirect to (no valid ``Host`` header and no server address)
    gets a 400. A websocket handshake is "redirected" with a 307 denial response where the server
    offers the ``websocket.http.response`` extension, and closed (403) otherwise; browsers do not
    follow websocket redirects, so serve ``wss://`` URLs to them in the first place.

    Args:
        app: the app to wrap.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # SPEC: "scheme" is optional: "http" for http scopes and "ws" for websockets when missing.
        scheme = scope.get("scheme") or ("ws" if scope_type == "websocket" else "http")
        secure = _SECURE.get(scheme)
        if secure is None:
            await self.app(scope, receive, send)
            return
        response: Response
        url = URL(scope=scope)
        if not url.netloc:
            # Starlette's text: ported tests compare it.
            response = PlainTextResponse("Invalid host header", status_code=400)
        elif url.port in (80, 443):
            response = RedirectResponse(url.replace(scheme=secure, port=None), status_code=307)
        else:
            response = RedirectResponse(url.replace(scheme=secure), status_code=307)
        await response(scope, receive, send)
