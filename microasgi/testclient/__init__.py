"""Test clients that speak ASGI directly to an app: no server, no sockets, no HTTP-client library.

``TestClient`` is synchronous and Starlette-compatible (it runs the app in an anyio blocking
portal); ``AsyncTestClient`` has the same surface, awaited, and runs the app in the test's own
event loop. Both check every message the app sends against the ASGI state tables and raise
:class:`ASGIProtocolError` naming the broken rule; both run lifespan (with state) in a ``with``
block, keep cookies, follow redirects, stream, talk websockets, and can advertise any ASGI
extension and record what the app sent through it.

The package's modules, from the app's side down: ``_sync`` and ``_async`` (the two clients, on a
shared ``_base``), ``_core`` (what a request and a websocket session do), ``_http``,
``_websocket`` and ``_lifespan`` (one exchange each, over ASGI), ``_streams`` (a response read
while the app still sends it), ``_request``, ``_response``, ``_headers``, ``_decoding``,
``_pipeline`` and ``_cookies`` (the data a test builds and reads, as HTTPX encodes and decodes
it), ``_messages`` and ``_driver`` (the message checks: their shape, and the ASGI state tables).
"""

from collections.abc import Awaitable, Callable

from microasgi.testclient._async import AsyncTestClient
from microasgi.testclient._cookies import Cookies
from microasgi.testclient._messages import ASGIProtocolError, ASGIProtocolWarning
from microasgi.testclient._request import TestRequest
from microasgi.testclient._response import (
    HTTPStatusError,
    TestResponse,
    TooManyRedirects,
    WebSocketDenialResponse,
)
from microasgi.testclient._sync import TestClient
from microasgi.testclient._websocket import AsyncWebSocketTestSession, WebSocketTestSession
from microasgi.types import Receive, Scope, Send

ASGIInstance = Callable[[Receive, Send], Awaitable[None]]
"""An ASGI 2 app instance: ``instance(receive, send)``, what ``ASGI2App`` returns (Starlette's)."""
ASGI2App = Callable[[Scope], ASGIInstance]
"""An ASGI 2 (double-callable) app: ``app(scope)`` returns an :data:`ASGIInstance` (Starlette's)."""
ASGI3App = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 app: ``await app(scope, receive, send)`` (Starlette's alias; the clients drive both)."""

__all__ = [
    "ASGI2App",
    "ASGI3App",
    "ASGIInstance",
    "ASGIProtocolError",
    "ASGIProtocolWarning",
    "AsyncTestClient",
    "AsyncWebSocketTestSession",
    "Cookies",
    "HTTPStatusError",
    "TestClient",
    "TestRequest",
    "TestResponse",
    "TooManyRedirects",
    "WebSocketDenialResponse",
    "WebSocketTestSession",
]

# The public home of these names is this package: docs, reprs and error messages name it.
for _public in (
    ASGIProtocolError,
    ASGIProtocolWarning,
    AsyncTestClient,
    AsyncWebSocketTestSession,
    Cookies,
    HTTPStatusError,
    TestClient,
    TestRequest,
    TestResponse,
    TooManyRedirects,
    WebSocketDenialResponse,
    WebSocketTestSession,
):
    _public.__module__ = __name__
del _public
