"""microasgi: a small, fast, fully typed ASGI toolkit in the style of Starlette.

The package is built in layers; each imports only its own layer and those below it, and no module
imports in a circle (``tests/test_architecture.py`` checks both):

1. **Foundation**: ``types`` (ASGI aliases, a TypedDict per message), ``exceptions``,
   ``status``, ``convertors``, ``config``. They import nothing of microasgi.
2. **Protocol** (``microasgi._sansio``): parsing and building HTTP and ASGI data, without I/O.
3. **Connections** (``microasgi._asgi``, published by ``requests``, ``responses``,
   ``datastructures``, ``formparsers``, ``websockets``, ``background``, ``concurrency``): the
   request read from ``receive``, the response sent through ``send``.
4. **Dispatch** (``microasgi._routing``, published by ``routing``; ``endpoints``, ``middleware/``,
   ``authentication``, ``staticfiles``, ``templating``, ``schemas``): which app answers a
   request.
5. **Application**: ``applications`` (``MicroASGI``: the error layers, the middleware stack and
   the router, built once).
6. **Testing**: ``testclient`` (a package): drives any ASGI app, checking every message it sends.

A request's path through them is drawn in ``docs/architecture.md``.

``MICROASGI_COMPILE=1 pip install .`` builds the same package with its hot modules compiled by
mypyc; ``__compiled__`` tells which build is installed (docs/performance.md, "A compiled build").
"""

from importlib.machinery import ExtensionFileLoader as _ExtensionFileLoader

from microasgi._sansio import matcher as _matcher
from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.middleware import Middleware
from microasgi.requests import Request
from microasgi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from microasgi.routing import Host, Mount, Route, Router, WebSocketRoute
from microasgi.websockets import WebSocket, WebSocketDisconnect

__version__ = "0.1.0"
__compiled__: bool = isinstance(_matcher.__loader__, _ExtensionFileLoader)
"""Whether this is the compiled build (``MICROASGI_COMPILE=1 pip install .``), whose hot modules
mypyc compiled to C extensions; ``False`` for the pure-Python package. Both behave the same."""

__all__ = [
    "FileResponse",
    "HTMLResponse",
    "HTTPException",
    "Host",
    "JSONResponse",
    "MicroASGI",
    "Middleware",
    "Mount",
    "PlainTextResponse",
    "RedirectResponse",
    "Request",
    "Response",
    "Route",
    "Router",
    "StreamingResponse",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketRoute",
]
