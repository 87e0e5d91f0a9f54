"""microasgi: a small, fast, fully typed ASGI toolkit in the style of Starlette."""

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
