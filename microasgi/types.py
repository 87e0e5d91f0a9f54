"""ASGI type aliases and a TypedDict for every ASGI message and scope.

The aliases (``Scope``, ``Message``, ``Receive``, ``Send``, ``ASGIApp``, ``Lifespan`` ...) are
spelled and shaped exactly as Starlette's, over ``MutableMapping[str, Any]``, so that apps written
with either toolkit mount in each other and type-check. The TypedDicts describe each message of
the ASGI specification (``specs/www.rst`` 2.5, ``specs/lifespan.rst`` 2.0,
``docs/extensions.rst`` and ``specs/tls.rst``); messages are built as annotated locals and
handed to ``send``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from contextlib import AbstractAsyncContextManager
from typing import IO, Any, Literal, NotRequired, TypeAlias, TypedDict, TypeVar

__all__ = [
    "ASGIApp",
    "ASGIVersions",
    "AppType",
    "EarlyHintEvent",
    "ExceptionHandler",
    "HTTPDisconnectEvent",
    "HTTPExceptionHandler",
    "HTTPRequestEvent",
    "HTTPResponseBodyEvent",
    "HTTPResponseDebugEvent",
    "HTTPResponsePathsendEvent",
    "HTTPResponsePushEvent",
    "HTTPResponseStartEvent",
    "HTTPResponseTrailersEvent",
    "HTTPResponseZerocopysendEvent",
    "HTTPScope",
    "Lifespan",
    "LifespanScope",
    "LifespanShutdownCompleteEvent",
    "LifespanShutdownEvent",
    "LifespanShutdownFailedEvent",
    "LifespanStartupCompleteEvent",
    "LifespanStartupEvent",
    "LifespanStartupFailedEvent",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "StatefulLifespan",
    "StatelessLifespan",
    "TLSExtensionInfo",
    "WebSocketAcceptEvent",
    "WebSocketCloseEvent",
    "WebSocketConnectEvent",
    "WebSocketDisconnectEvent",
    "WebSocketExceptionHandler",
    "WebSocketReceiveEvent",
    "WebSocketResponseBodyEvent",
    "WebSocketResponseStartEvent",
    "WebSocketScope",
    "WebSocketSendEvent",
]

AppType = TypeVar("AppType")

# The Starlette-identical aliases: deliberately loose so foreign apps and middleware interoperate.
Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]

StatelessLifespan: TypeAlias = Callable[[AppType], AbstractAsyncContextManager[None]]
StatefulLifespan: TypeAlias = Callable[[AppType], AbstractAsyncContextManager[Mapping[str, Any]]]
Lifespan: TypeAlias = StatelessLifespan[AppType] | StatefulLifespan[AppType]

# The connection a handler takes is typed ``Any``: naming ``Request`` here would make this module,
# which every other one imports, import the request module back (an import cycle). A handler
# annotated ``(request: Request, exc: Exception) -> Response`` fits: a response is an ASGI app.
HTTPExceptionHandler: TypeAlias = Callable[[Any, Exception], "ASGIApp | Awaitable[ASGIApp]"]
WebSocketExceptionHandler: TypeAlias = Callable[[Any, Exception], Awaitable[None]]
ExceptionHandler: TypeAlias = HTTPExceptionHandler | WebSocketExceptionHandler


# --- scopes -------------------------------------------------------------------------------------


class ASGIVersions(TypedDict):
    """``scope["asgi"]``: the ASGI version and the version of the sub-specification."""

    version: str
    spec_version: NotRequired[str]


class TLSExtensionInfo(TypedDict):
    """``scope["extensions"]["tls"]`` (``specs/tls.rst``), present only on TLS connections."""

    server_cert: str | None
    client_cert_chain: NotRequired[Iterable[str]]
    client_cert_name: NotRequired[str | None]
    client_cert_error: NotRequired[str | None]
    tls_version: int | None
    cipher_suite: int | None


class HTTPScope(TypedDict):
    """The scope of an ``http`` connection (``specs/www.rst``)."""

    type: Literal["http"]
    asgi: ASGIVersions
    http_version: str
    method: str
    scheme: NotRequired[str]
    path: str
    raw_path: NotRequired[bytes | None]
    query_string: bytes
    root_path: NotRequired[str]
    headers: Iterable[tuple[bytes, bytes]]
    client: NotRequired[tuple[str, int] | None]
    server: NotRequired[tuple[str, int | None] | None]
    state: NotRequired[dict[str, Any]]
    extensions: NotRequired[dict[str, dict[object, object]]]


class WebSocketScope(TypedDict):
    """The scope of a ``websocket`` connection (``specs/www.rst``)."""

    type: Literal["websocket"]
    asgi: ASGIVersions
    http_version: NotRequired[str]
    scheme: NotRequired[str]
    path: str
    raw_path: NotRequired[bytes | None]
    query_string: bytes
    root_path: NotRequired[str]
    headers: Iterable[tuple[bytes, bytes]]
    client: NotRequired[tuple[str, int] | None]
    server: NotRequired[tuple[str, int | None] | None]
    subprotocols: NotRequired[Iterable[str]]
    state: NotRequired[dict[str, Any]]
    extensions: NotRequired[dict[str, dict[object, object]]]


class LifespanScope(TypedDict):
    """The scope of the ``lifespan`` protocol (``specs/lifespan.rst``)."""

    type: Literal["lifespan"]
    asgi: ASGIVersions
    state: NotRequired[dict[str, Any]]


# --- http messages ------------------------------------------------------------------------------


class HTTPRequestEvent(TypedDict):
    """``http.request`` (server to app): a chunk of the request body."""

    type: Literal["http.request"]
    body: bytes
    more_body: bool


class HTTPDisconnectEvent(TypedDict):
    """``http.disconnect`` (server to app): the response is done or the client has gone."""

    type: Literal["http.disconnect"]


class HTTPResponseStartEvent(TypedDict):
    """``http.response.start`` (app to server)."""

    type: Literal["http.response.start"]
    status: int
    headers: NotRequired[Iterable[tuple[bytes, bytes]]]
    trailers: NotRequired[bool]


class HTTPResponseBodyEvent(TypedDict):
    """``http.response.body`` (app to server)."""

    type: Literal["http.response.body"]
    body: bytes
    more_body: NotRequired[bool]


class HTTPResponseTrailersEvent(TypedDict):
    """``http.response.trailers`` (extension ``http.response.trailers``)."""

    type: Literal["http.response.trailers"]
    headers: Iterable[tuple[bytes, bytes]]
    more_trailers: NotRequired[bool]


class HTTPResponsePushEvent(TypedDict):
    """``http.response.push`` (extension ``http.response.push``, HTTP/2 server push)."""

    type: Literal["http.response.push"]
    path: str
    headers: Iterable[tuple[bytes, bytes]]


class HTTPResponseZerocopysendEvent(TypedDict):
    """``http.response.zerocopysend`` (extension of the same name): send from a file descriptor."""

    type: Literal["http.response.zerocopysend"]
    file: IO[bytes]
    offset: NotRequired[int]
    count: NotRequired[int]
    more_body: NotRequired[bool]


class HTTPResponsePathsendEvent(TypedDict):
    """``http.response.pathsend`` (extension of the same name): the server sends a file by path."""

    type: Literal["http.response.pathsend"]
    path: str


class EarlyHintEvent(TypedDict):
    """``http.response.early_hint`` (extension of the same name): a 103 with ``Link`` values."""

    type: Literal["http.response.early_hint"]
    links: Iterable[bytes]


class HTTPResponseDebugEvent(TypedDict):
    """``http.response.debug`` (extension of the same name, for test clients only)."""

    type: Literal["http.response.debug"]
    info: dict[str, object]


# --- websocket messages -------------------------------------------------------------------------


class WebSocketConnectEvent(TypedDict):
    """``websocket.connect`` (server to app): the handshake waits for accept or close."""

    type: Literal["websocket.connect"]


class WebSocketAcceptEvent(TypedDict):
    """``websocket.accept`` (app to server)."""

    type: Literal["websocket.accept"]
    subprotocol: NotRequired[str | None]
    headers: NotRequired[Iterable[tuple[bytes, bytes]]]


class WebSocketReceiveEvent(TypedDict):
    """``websocket.receive`` (server to app): exactly one of ``bytes`` and ``text`` is set."""

    type: Literal["websocket.receive"]
    bytes: NotRequired[bytes | None]
    text: NotRequired[str | None]


class WebSocketSendEvent(TypedDict):
    """``websocket.send`` (app to server): exactly one of ``bytes`` and ``text`` is set."""

    type: Literal["websocket.send"]
    bytes: NotRequired[bytes | None]
    text: NotRequired[str | None]


class WebSocketDisconnectEvent(TypedDict):
    """``websocket.disconnect`` (server to app)."""

    type: Literal["websocket.disconnect"]
    code: int
    reason: NotRequired[str | None]


class WebSocketCloseEvent(TypedDict):
    """``websocket.close`` (app to server); before accept the server answers HTTP 403."""

    type: Literal["websocket.close"]
    code: NotRequired[int]
    reason: NotRequired[str | None]


class WebSocketResponseStartEvent(TypedDict):
    """``websocket.http.response.start`` (extension ``websocket.http.response``)."""

    type: Literal["websocket.http.response.start"]
    status: int
    headers: Iterable[tuple[bytes, bytes]]


class WebSocketResponseBodyEvent(TypedDict):
    """``websocket.http.response.body`` (extension ``websocket.http.response``)."""

    type: Literal["websocket.http.response.body"]
    body: bytes
    more_body: NotRequired[bool]


# --- lifespan messages --------------------------------------------------------------------------


class LifespanStartupEvent(TypedDict):
    """``lifespan.startup`` (server to app)."""

    type: Literal["lifespan.startup"]


class LifespanStartupCompleteEvent(TypedDict):
    """``lifespan.startup.complete`` (app to server)."""

    type: Literal["lifespan.startup.complete"]


class LifespanStartupFailedEvent(TypedDict):
    """``lifespan.startup.failed`` (app to server)."""

    type: Literal["lifespan.startup.failed"]
    message: str


class LifespanShutdownEvent(TypedDict):
    """``lifespan.shutdown`` (server to app)."""

    type: Literal["lifespan.shutdown"]


class LifespanShutdownCompleteEvent(TypedDict):
    """``lifespan.shutdown.complete`` (app to server)."""

    type: Literal["lifespan.shutdown.complete"]


class LifespanShutdownFailedEvent(TypedDict):
    """``lifespan.shutdown.failed`` (app to server)."""

    type: Literal["lifespan.shutdown.failed"]
    message: str
