"""The route kinds a router dispatches to: ``Route``, ``WebSocketRoute``, ``Mount`` and ``Host``
(public in ``routing``).

Each route is an ASGI app on its own and answers ``matches(scope)`` for custom routers, but a
``Router`` does not ask them one by one: it compiles their paths into one trie
(``microasgi._matcher``) and calls ``handle`` on the winner.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from enum import Enum
from types import EllipsisType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from microasgi._hosts import split_host
from microasgi._matcher import CompiledPath, compile_path, too_long
from microasgi._parsers import declared_content_length
from microasgi._scope import full_path, route_path
from microasgi._utils import is_async_callable
from microasgi._websocket_protocol import check_message_size
from microasgi.concurrency import run_in_threadpool
from microasgi.convertors import Convertor, _UnknownConvertorError
from microasgi.datastructures import URLPath
from microasgi.exceptions import HTTPException
from microasgi.middleware import Middleware, _build_stack
from microasgi.middleware.body_limit import _Guard
from microasgi.requests import (
    MAX_BODY_SIZE_KEY,
    Request,
    _refuse_declared_oversize,
    _too_large,
    _too_large_detail,
)
from microasgi.responses import PlainTextResponse, Response
from microasgi.types import ASGIApp, Receive, Scope, Send
from microasgi.websockets import (
    MAX_MESSAGE_SIZE_KEY,
    WebSocket,
    WebSocketDisconnect,
    WebSocketState,
)

if TYPE_CHECKING:
    from microasgi.routing import _MountedRouter

AnyApp = Callable[..., Any]
"""An ASGI 3 app, or a legacy ASGI 2 double callable (``app(scope)(receive, send)``)."""

MaxBodySize = int | EllipsisType | None
"""A body cap in bytes, ``None`` for no cap, or ``...`` to inherit the enclosing one."""

# SECURITY: a control character (a trailing newline, NUL ...) in a path never matches a route.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Match(Enum):
    """How a route matched a scope: not at all, by path only (wrong method), or fully."""

    NONE = 0
    PARTIAL = 1
    FULL = 2


class NoMatchFound(Exception):
    """``url_path_for`` found no route of that name taking those parameters.

    The message names the closest route names, or the missing and extra parameters.

    When Starlette is loaded (a microasgi app mounted in a Starlette or FastAPI app), the
    exception raised is also a ``starlette.routing.NoMatchFound``: Starlette's ``Mount`` tries
    each route of the app it mounts and catches only its own class, so without this only the
    first route of a mounted microasgi app could be reversed from the outer app. microasgi
    never imports Starlette for it.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> NoMatchFound:
        if cls is NoMatchFound:
            foreign = sys.modules.get("starlette.routing")
            theirs = getattr(foreign, "NoMatchFound", None)
            if isinstance(theirs, type) and issubclass(theirs, Exception):
                cls = _interop_no_match(theirs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, name: str, path_params: Mapping[str, Any], hint: str = "") -> None:
        params = ", ".join(sorted(path_params))
        # Exception's, not super(): Starlette's class may come next in the MRO (see __new__).
        Exception.__init__(self, f'No route exists for name "{name}" and params "{params}".{hint}')
        self.name = name
        self.path_params = dict(path_params)


_INTEROP_NO_MATCH: dict[type[Exception], type[NoMatchFound]] = {}


def _interop_no_match(theirs: type[Exception]) -> type[NoMatchFound]:
    """Our ``NoMatchFound`` that is also ``theirs`` (Starlette's), for its ``except`` clauses."""
    both = _INTEROP_NO_MATCH.get(theirs)
    if both is None:
        name = NoMatchFound.__name__
        both = cast(
            type[NoMatchFound],
            type(name, (NoMatchFound, theirs), {"__module__": NoMatchFound.__module__}),
        )
        both.__qualname__ = NoMatchFound.__qualname__
        _INTEROP_NO_MATCH[theirs] = both
    return both


def try_url_path_for(route: Any, name: str, path_params: Mapping[str, Any]) -> Any:
    """``route.url_path_for(name, **path_params)``, or ``None`` when the route has no such name.

    A mounted foreign app's routes (Starlette's, say) raise their own ``NoMatchFound``; it is
    recognised by name, so every route of a mounted Starlette app can be reversed, not just its
    first.
    """
    try:
        return route.url_path_for(name, **path_params)
    except Exception as exc:
        if isinstance(exc, NoMatchFound) or type(exc).__name__ == "NoMatchFound":
            return None
        raise


def request_response(func: Callable[[Request], Awaitable[Response] | Response]) -> ASGIApp:
    """Turn a function taking a ``Request`` and returning a ``Response`` into an ASGI app.

    ``async def`` functions are awaited; plain functions run in a worker thread so they cannot
    block the event loop.

    Raises:
        TypeError: (per request) the function returned something that is not a response.
    """
    is_async = is_async_callable(func)
    name = getattr(func, "__qualname__", repr(func))
    # PERF: cast once here; a `Callable[...]` written in the body is built on every request.
    async_func = cast(Callable[[Request], Awaitable[Response]], func)
    sync_func = cast(Callable[[Request], Response], func)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # SECURITY: a declared body over the cap is refused before the endpoint runs.
        _refuse_declared_oversize(scope)
        request = Request(scope, receive, send)
        try:
            if is_async:
                response = await async_func(request)
            else:
                response = await run_in_threadpool(sync_func, request)
            if not callable(response):
                raise TypeError(
                    f"Endpoint {name} returned {response!r}, which is not a Response. Return a "
                    "Response, for example JSONResponse(data) or PlainTextResponse(text)."
                )
            await response(scope, receive, send)
        finally:
            # The form's uploaded files are deleted when the request ends, also on error.
            if request._may_hold_form():
                await request.close()

    return app


def websocket_session(func: Callable[[WebSocket], Awaitable[Any]]) -> ASGIApp:
    """Turn a function taking a ``WebSocket`` into an ASGI app.

    ``func`` is an ``async def`` function, or any callable that returns an awaitable (a
    decorator's plain ``def`` wrapper around one, a method, a callable object): what it returns
    is awaited. The session ends quietly when the connection does (a ``WebSocketDisconnect`` the
    function lets through is the normal end, not an error). A ``Response`` the function returns
    before accepting denies the handshake (``WebSocket.send_denial_response``). A connection the
    function leaves open is closed with 1000.

    Raises:
        TypeError: ``func`` is not callable (at construction), or (per connection) its call
            returned something that cannot be awaited, or it returned a ``Response`` after
            answering the handshake.
    """
    if not callable(func):
        raise TypeError(
            f"A websocket endpoint must be an async function taking a WebSocket, got {func!r}. "
            "Define it with 'async def'."
        )
    name = getattr(func, "__qualname__", None) or type(func).__qualname__
    is_async = is_async_callable(func)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        try:
            if is_async:
                result = await func(websocket)
            else:
                awaitable = func(websocket)
                if not inspect.isawaitable(awaitable):
                    raise TypeError(
                        f"Websocket endpoint {name} returned {awaitable!r}, which is not "
                        "awaitable. Define it with 'async def' (or make it return the "
                        "coroutine of one)."
                    )
                result = await awaitable
        except WebSocketDisconnect:
            return  # The connection is over; nobody is left to tell.
        state = websocket.application_state
        if isinstance(result, Response):
            if state is not WebSocketState.CONNECTING:
                raise TypeError(
                    f"Websocket endpoint {name} returned {result!r} after answering the "
                    "handshake; a Response can only deny a connection not yet accepted."
                )
            await websocket.send_denial_response(result)
        elif state is WebSocketState.CONNECTED:
            # Servers close it anyway once the app returns; closing here says how (1000).
            await websocket.close()

    return app


class BaseRoute:
    """The interface every route implements; subclass it for custom matching.

    A router asks ``matches(scope)`` of custom routes in declaration order, interleaved with its
    compiled routes exactly as a linear scan would, and calls ``handle`` on the first full
    match. Every route is also an ASGI app on its own (``__call__``).
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Return how the route matches ``scope``, and the scope items to set when it does."""
        raise TypeError(f"{type(self).__name__} must define matches(scope).")

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Build the path of the route called ``name``; raise ``NoMatchFound`` otherwise."""
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a request this route matched."""
        raise TypeError(f"{type(self).__name__} must define handle(scope, receive, send).")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Use the route alone, as an ASGI app: 404 (or a websocket close) when it does not match."""
        match, child_scope = self.matches(scope)
        if match is Match.NONE:
            await not_found(scope, receive, send)
            return
        scope.update(child_scope)
        await self.handle(scope, receive, send)


class _PathRoute(BaseRoute):
    """What ``Route`` and ``Mount`` share: a compiled path template and reverse routing."""

    path: str
    name: str | None
    app: ASGIApp
    _is_prefix = False

    def _compile(self, convertors: Mapping[str, Convertor[Any]] | None) -> None:
        try:
            self._compiled: CompiledPath | None = compile_path(
                self.path, convertors, is_prefix=self._is_prefix
            )
            self._compile_error: _UnknownConvertorError | None = None
        except _UnknownConvertorError as exc:
            # Router(convertors=...) may supply it: the router that holds us binds us later and
            # raises this error then if it still cannot.
            self._compiled, self._compile_error = None, exc

    def bind(self, convertors: Mapping[str, Convertor[Any]]) -> CompiledPath:
        """Compile against the converters of the router holding this route (when it is built)."""
        if convertors:
            self._compile(convertors)
        return self.compiled

    @property
    def compiled(self) -> CompiledPath:
        """The parsed path template.

        Raises:
            ValueError: the path names a converter that is neither registered nor given to the
                router holding the route.
        """
        if self._compiled is None:
            raise cast(_UnknownConvertorError, self._compile_error)
        return self._compiled

    @property
    def path_format(self) -> str:
        """The path with converters removed, e.g. ``/users/{id}``."""
        return self.compiled.path_format

    @property
    def param_convertors(self) -> dict[str, Convertor[Any]]:
        """Each path parameter's converter."""
        return self.compiled.param_convertors

    def _match_path(self, scope: Scope) -> tuple[dict[str, Any], str] | None:
        """Match the path alone, by regex (a router uses its trie instead)."""
        return match_compiled(self.compiled, route_path(scope))

    def _replace_params(self, path_params: dict[str, Any]) -> str:
        """Fill the template, popping the params it takes from ``path_params``."""
        return fill_template(self.compiled, path_params)


class Route(_PathRoute):
    """An HTTP endpoint at a path.

    Args:
        path: the path template, starting with ``/``; parameters as ``{name}`` or ``{name:int}``.
        endpoint: an ``async def`` or plain function taking a ``Request`` and returning a
            ``Response`` (plain ones run in a worker thread), an ``HTTPEndpoint`` class, or any
            ASGI app.
        methods: the methods served; a function endpoint defaults to ``GET``. ``GET`` implies
            ``HEAD``. Other endpoints default to any method.
        name: the name for ``url_path_for``; defaults to the endpoint's ``__name__``.
        include_in_schema: whether schema generators should list the route.
        middleware: middleware wrapping this route's endpoint only.
        max_body_size: the cap, in bytes, on a request body read into memory for this route
            (``None``: unlimited); answers 413 past it. Defaults to the enclosing one.

    Raises:
        ValueError: a malformed path template, or a negative ``max_body_size``.
        TypeError: ``methods`` given as a single string.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
        middleware: Sequence[Middleware[Any]] | None = None,
        max_body_size: MaxBodySize = ...,
    ) -> None:
        self.path = path
        self._compile(None)
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        self.include_in_schema = include_in_schema
        handler = endpoint
        while isinstance(handler, functools.partial):
            handler = handler.func
        if inspect.isfunction(handler) or inspect.ismethod(handler):
            app = request_response(endpoint)
            if methods is None:
                methods = ["GET"]
        else:
            # An HTTPEndpoint class reads its body through Request, which applies the cap as it
            # reads; any other app may read receive() directly, so its body is counted.
            app = _BodyCap(endpoint, count=not hasattr(endpoint, "__await__"))
        self.methods: set[str] | None = None
        if methods is not None:
            if isinstance(methods, str):
                raise TypeError(
                    f"methods must be a collection of names, got {methods!r}. Use [{methods!r}]."
                )
            self.methods = {method.upper() for method in methods}
            if "GET" in self.methods:
                self.methods.add("HEAD")
        self.max_body_size = check_limit(max_body_size)
        self.app = with_limit(_build_stack(app, middleware), self.max_body_size)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        found = self._match_path(scope)
        if found is None:
            return Match.NONE, {}
        child = {
            "endpoint": self.endpoint,
            "path_params": {**scope.get("path_params", {}), **found[0]},
        }
        if self.methods is not None and scope["method"] not in self.methods:
            return Match.PARTIAL, child
        return Match.FULL, child

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name != self.name or set(path_params) != set(self.compiled.param_convertors):
            raise NoMatchFound(name, path_params)
        return URLPath(self._replace_params(dict(path_params)), protocol="http")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods is not None and scope["method"] not in self.methods:
            await method_not_allowed(scope, receive, send, self.methods)
            return
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        # As Starlette: routes declared alike are equal (app.routes == [Route(...)] in tests).
        return (
            isinstance(other, Route)
            and self.path == other.path
            and self.endpoint == other.endpoint
            and self.methods == other.methods
        )

    __hash__ = None  # type: ignore[assignment]  # equal by value, so not hashable (as Starlette)

    def __repr__(self) -> str:
        methods = sorted(self.methods or ())
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, methods={methods!r})"


class WebSocketRoute(_PathRoute):
    """A websocket endpoint at a path.

    Args:
        path: the path template, starting with ``/``; parameters as in ``Route``.
        endpoint: an ``async def`` function taking a ``WebSocket`` (see ``websocket_session``),
            a ``WebSocketEndpoint`` class, or any ASGI app.
        name: the name for ``url_path_for``; defaults to the endpoint's ``__name__``. The URL
            it builds has the ``websocket`` protocol, so ``url_for`` gives ``ws://`` or
            ``wss://``.
        middleware: middleware wrapping this route's endpoint only.
        max_message_size: the cap, in bytes, on one received message on this route (``None``:
            unlimited); a bigger message closes the connection with 1009. Defaults to the
            enclosing setting (``scope[MAX_MESSAGE_SIZE_KEY]``), else 16 MiB.

    Raises:
        ValueError: a malformed path template, or an invalid ``max_message_size``.
        TypeError: a plain (not ``async``) function endpoint.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        middleware: Sequence[Middleware[Any]] | None = None,
        max_message_size: int | EllipsisType | None = ...,
    ) -> None:
        self.path = path
        self._compile(None)
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        handler = endpoint
        while isinstance(handler, functools.partial):
            handler = handler.func
        if inspect.isfunction(handler) or inspect.ismethod(handler):
            app = websocket_session(endpoint)
        else:
            app = endpoint
        self.max_message_size = (
            max_message_size if max_message_size is ... else check_message_size(max_message_size)
        )
        self.app = _build_stack(app, middleware)
        if max_message_size is not ...:
            self.app = _with_message_limit(self.app, max_message_size)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "websocket":
            return Match.NONE, {}
        found = self._match_path(scope)
        if found is None:
            return Match.NONE, {}
        return Match.FULL, {
            "endpoint": self.endpoint,
            "path_params": {**scope.get("path_params", {}), **found[0]},
        }

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name != self.name or set(path_params) != set(self.compiled.param_convertors):
            raise NoMatchFound(name, path_params)
        return URLPath(self._replace_params(dict(path_params)), protocol="websocket")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, WebSocketRoute)
            and self.path == other.path
            and self.endpoint == other.endpoint
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r})"


def _with_message_limit(app: ASGIApp, limit: int | None) -> ASGIApp:
    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        scope[MAX_MESSAGE_SIZE_KEY] = limit
        await app(scope, receive, send)

    return limited


class Mount(_PathRoute):
    """Another ASGI app, or a list of routes, under a path prefix.

    The mounted app sees the full ``path`` and a ``root_path`` grown by the prefix (the ASGI
    spec's reading, and Starlette's). The prefix matches only at a segment boundary: ``/api``
    takes ``/api/`` and ``/api/x``, never ``/apix``. ``app`` may be any ASGI 3 app or a legacy
    ASGI 2 double callable.

    Args:
        path: the prefix, ``""`` for everything; parameters allowed (``/users/{id:int}``).
        app: the app to mount; or give ``routes`` to mount a new ``Router`` over them.
        routes: the routes of the mounted router; it uses the converters of the router that
            holds the mount.
        name: the name prefix for reverse routing: ``url_path_for("api:users")``.
        middleware: middleware wrapping the mounted app only.
        max_body_size: as for ``Route``; applies to everything under the mount.

    Raises:
        ValueError: both or neither of ``app`` and ``routes``, or a malformed path.
    """

    _is_prefix = True

    def __init__(
        self,
        path: str,
        app: AnyApp | None = None,
        routes: Sequence[BaseRoute] | None = None,
        name: str | None = None,
        *,
        middleware: Sequence[Middleware[Any]] | None = None,
        max_body_size: MaxBodySize = ...,
    ) -> None:
        if (app is None) == (routes is None):
            raise ValueError(
                f"Mount({path!r}) needs exactly one of app= and routes=, got "
                f"{'both' if app is not None else 'neither'}."
            )
        self.path = path
        self._compile(None)
        self.path = path.rstrip("/")
        self._router: _MountedRouter | None = None
        if routes is not None:
            # Imported here: routing imports this module.
            from microasgi.routing import _MountedRouter

            self._base_app: ASGIApp = _MountedRouter(routes)
            self._router = self._base_app
        else:
            self._base_app = asgi3(app)
        self.name = name
        self.max_body_size = check_limit(max_body_size)
        inner = self._base_app
        if not getattr(inner, "_applies_body_cap", False):
            # SECURITY: an app that is not a microasgi router (a raw ASGI app, another framework)
            # never reads scope[MAX_BODY_SIZE_KEY]: the mount applies the cap in front of it.
            inner = _BodyCap(inner, count=True)
        self.app = with_limit(_build_stack(inner, middleware), self.max_body_size)

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the mounted router (empty for another kind of app)."""
        routes: list[BaseRoute] = getattr(self._base_app, "routes", [])
        return routes

    def bind(self, convertors: Mapping[str, Convertor[Any]]) -> CompiledPath:
        compiled = super().bind(convertors)
        if self._router is not None:
            self._router.bind_parent_convertors(convertors)
        return compiled

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        found = self._match_path(scope)
        if found is None:
            return Match.NONE, {}
        return Match.FULL, mount_scope(scope, self.app, found[0], found[1], route_path(scope))

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        # A parameter of the prefix that is not given stays a placeholder ("/{tenant}/users"),
        # as in Starlette, for a caller to fill in later.
        if self.name is not None and name == self.name and "path" in path_params:
            # The mount itself: url_path_for("static", path="/css/app.css").
            params = dict(path_params)
            rest = str(params.pop("path")).lstrip("/")
            prefix = self._replace_params(params)
            if not params:
                return URLPath(prefix + "/" + rest)
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            remaining = dict(path_params)
            prefix = self._replace_params(remaining)
            for route in self.routes:
                url = try_url_path_for(route, child_name, remaining)
                if url is not None:
                    return URLPath(prefix + url, protocol=url.protocol, host=url.host)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mount) or self.path != other.path:
            return False
        if self._router is not None and other._router is not None:
            return self._router.routes == other._router.routes
        return bool(self._base_app == other._base_app)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, app={self._base_app!r})"
        )


class Host(BaseRoute):
    """Another ASGI app for requests to a host name: ``Host("{tenant}.example.com", app)``.

    Matching ignores case, and ignores the port of the ``Host`` header unless the pattern names
    one (``Host("localhost:8000", app)``). A ``{param}`` matches one DNS label and becomes a path
    parameter (``{param:int}`` etc. work as in paths).

    Raises:
        ValueError: the pattern looks like a URL or a path.
    """

    def __init__(self, host: str, app: AnyApp, name: str | None = None) -> None:
        if "/" in host or not host:
            raise ValueError(
                f"Host needs a host name pattern, not a URL, got {host!r}. Use 'example.com' "
                "or '{subdomain}.example.com'."
            )
        # Lowercase the literal text only: parameter names keep their case.
        self.host = re.sub(r"[^{}]+(?={|$)", lambda m: m[0].lower(), host)
        # As Starlette: the port of the pattern is not compared (nor the Host header's), so
        # Host("localhost:8000", ...) matches localhost on any port.
        pattern = self.host
        tail = re.sub(r"{[^}]*}", "", pattern).rsplit("]", 1)[-1]
        if ":" in tail:
            pattern = pattern[: pattern.rindex(":")]
        # Host labels use the path compiler: one label per "segment".
        self._compiled = compile_path("/" + pattern.replace(".", "/"))
        self.app = asgi3(app)
        self.name = name

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the app behind this host (empty for another kind of app)."""
        routes: list[BaseRoute] = getattr(self.app, "routes", [])
        return routes

    @property
    def param_convertors(self) -> dict[str, Convertor[Any]]:
        """Each host parameter's converter."""
        return self._compiled.param_convertors

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        parsed = None
        for key, value in scope.get("headers", ()):
            if key == b"host":
                # SECURITY: a malformed Host ("[::1]:", "example.org:evil") matches no Host
                # route, as in Starlette.
                parsed = split_host(value.decode("latin-1"))
                break
        if parsed is None:
            return Match.NONE, {}
        found = match_compiled(self._compiled, "/" + parsed.name.replace(".", "/"))
        if found is None:
            return Match.NONE, {}
        return Match.FULL, {
            "path_params": {**scope.get("path_params", {}), **found[0]},
            "endpoint": self.app,
        }

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if self.name is not None and name == self.name and "path" in path_params:
            # The host itself: url_path_for("tenant", subdomain="acme", path="/a").
            params = dict(path_params)
            path = str(params.pop("path"))
            host = fill_template(self._compiled, params)
            if not params:
                return URLPath(path, host=host[1:].replace("/", "."))
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            remaining = dict(path_params)
            host = fill_template(self._compiled, remaining)
            for route in self.routes:
                url = try_url_path_for(route, child_name, remaining)
                if url is not None:
                    return URLPath(url, protocol=url.protocol, host=host[1:].replace("/", "."))
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Host) and self.host == other.host and self.app == other.app

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.host!r}, name={self.name!r}, app={self.app!r})"


# --- helpers the router shares ----------------------------------------------------------------


def match_compiled(compiled: CompiledPath, path: str) -> tuple[dict[str, Any], str] | None:
    """Match ``path`` against one template by regex: ``(params, mount rest)`` or ``None``."""
    if (not path.isprintable() and _CONTROL.search(path)) or too_long(compiled, path.split("/")):
        return None
    found = compiled.regex.fullmatch(path)
    if found is None:
        return None
    groups = found.groupdict()
    rest = groups.pop("_mount_rest", None) or ""
    convertors = compiled.param_convertors
    if not all(convertors[key].matches(value) for key, value in groups.items()):
        return None
    return {key: convertors[key].convert(value) for key, value in groups.items()}, rest


# A placeholder of a path format: "{name}".
_PLACEHOLDER = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)}")


def replace_params(
    path: str, param_convertors: Mapping[str, Convertor[Any]], path_params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Fill the ``{name}`` placeholders of a path format (Starlette's helper).

    Each value given goes through its converter's ``to_string`` and is inserted once, in one
    pass over the template: a value that looks like a placeholder (``"{id}"``) stays literal.
    A placeholder without a value stays as it is. Returns the path and ``path_params`` itself,
    emptied of the values it took.
    """

    def value(match: re.Match[str]) -> str:
        key = match[1]
        if key not in path_params or key not in param_convertors:
            return match[0]
        return param_convertors[key].to_string(path_params.pop(key))

    return _PLACEHOLDER.sub(value, path), path_params


def fill_template(compiled: CompiledPath, params: dict[str, Any]) -> str:
    """``replace_params`` over a compiled template, popping the params it takes."""
    return replace_params(compiled.path_format, compiled.param_convertors, params)[0]


def mount_scope(
    scope: Scope, app: ASGIApp, params: dict[str, Any], rest: str, path: str
) -> dict[str, Any]:
    """The scope items for the app mounted at the prefix that ``path`` minus ``rest`` is.

    ``path`` is the route path (``root_path`` stripped); the child's ``root_path`` grows by the
    matched prefix and its ``path`` stays the full path.
    """
    root_path: str = scope.get("root_path", "").rstrip("/")
    child: dict[str, Any] = {
        "path_params": {**scope.get("path_params", {}), **params},
        "app_root_path": scope.get("app_root_path", scope.get("root_path", "")),
        "root_path": root_path + path[: len(path) - len(rest)],
        "endpoint": app,
    }
    full = full_path(scope)
    if full != scope["path"]:
        # SPEC: the server stripped root_path from path; the mounted app gets the spec's reading
        # (path includes root_path), so every level below sees one convention.
        child["path"] = full
        raw = scope.get("raw_path")
        if isinstance(raw, bytes):
            child["raw_path"] = quote(root_path).encode("ascii") + raw
    return child


def check_limit(value: object) -> MaxBodySize:
    """Validate a ``max_body_size`` option (at construction)."""
    if value is ... or value is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(
        f"max_body_size must be a number of bytes >= 0, or None for no limit, got {value!r}."
    )


def with_limit(app: ASGIApp, limit: MaxBodySize) -> ASGIApp:
    """Wrap ``app`` so requests reaching it carry ``limit`` as their body cap (``...``: no-op)."""
    if limit is ...:
        return app

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        # The innermost setting wins: it runs last, after the router's and the mounts'.
        scope[MAX_BODY_SIZE_KEY] = limit
        await app(scope, receive, send)

    return limited


class _BodyCap:
    """The body cap (``scope[MAX_BODY_SIZE_KEY]``) in front of an app that may not apply it.

    A declared ``Content-Length`` over the cap answers 413 before the app runs. With ``count``,
    a body without one (chunked, an HTTP/2 stream) is counted as the app reads ``receive()``:
    the call that would deliver the first byte past the cap raises the 413 instead, for the
    application's handlers to answer. A body with a ``Content-Length`` is framed to exactly that
    many bytes by the server, so it is not counted.
    """

    __slots__ = ("app", "count")

    def __init__(self, app: ASGIApp, *, count: bool) -> None:
        self.app = app
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = scope.get(MAX_BODY_SIZE_KEY)
            if type(limit) is int:
                declared = declared_content_length(scope["headers"])
                if declared is not None and declared > limit:
                    raise _too_large(limit)
                if self.count and (declared is None or declared < 0):
                    receive = _Guard(receive, send, limit, _too_large_detail(limit)).receive
        await self.app(scope, receive, send)


def asgi3(app: Any) -> ASGIApp:
    """Wrap a legacy ASGI 2 double callable (``app(scope)(receive, send)``) as an ASGI 3 app."""
    if not _is_double_callable(app):
        return cast(ASGIApp, app)

    async def asgi3_app(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope)(receive, send)

    asgi3_app.__wrapped__ = app  # type: ignore[attr-defined]
    return asgi3_app


def _is_double_callable(app: Any) -> bool:
    # The rules of asgiref.compatibility.is_double_callable, plus: a class with __await__ (an
    # HTTPEndpoint) is an ASGI 3 app, built and awaited per request.
    if getattr(app, "_asgi_single_callable", False):
        return False
    if getattr(app, "_asgi_double_callable", False):
        return True
    if inspect.isclass(app):
        return not hasattr(app, "__await__")
    return not is_async_callable(app)


def get_name(endpoint: Any) -> str:
    """The name a route takes from its endpoint: its ``__name__``, else its class's."""
    if inspect.isroutine(endpoint) or inspect.isclass(endpoint):
        return str(endpoint.__name__)
    return type(endpoint).__name__


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """404 (or a websocket close); inside an application, raise for its exception handlers."""
    if scope["type"] == "websocket":
        # SPEC: a close before accept makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1000, "reason": ""})
        return
    if getattr(scope.get("app"), "_answers_http_exceptions", False):
        raise HTTPException(404)
    await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)


async def method_not_allowed(
    scope: Scope, receive: Receive, send: Send, methods: Collection[str]
) -> None:
    """405 with ``Allow``; inside an application, raise for its exception handlers."""
    headers = {"Allow": ", ".join(sorted(methods))}
    if getattr(scope.get("app"), "_answers_http_exceptions", False):
        raise HTTPException(405, headers=headers)
    await PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)(
        scope, receive, send
    )
