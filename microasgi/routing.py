"""Routes, mounts, hosts and the router that dispatches between them.

The router compiles its routes once into a segment trie (``microasgi._matcher``): a lookup costs the
same with 10 routes as with 10,000, and among the routes that match, the one declared first wins,
exactly as Starlette's linear scan would decide. A path that matches with the wrong method answers
405 with an ``Allow`` header listing every method that would have matched.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import warnings
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from enum import Enum
from types import EllipsisType
from typing import Any, cast
from urllib.parse import quote

from microasgi._lifespan import LifespanRunner
from microasgi._matcher import CompiledPath, Entry, Matcher, compile_path
from microasgi._matcher import Match as _TrieMatch
from microasgi._scope import full_path, route_path
from microasgi._utils import is_async_callable
from microasgi.concurrency import run_in_threadpool
from microasgi.convertors import Convertor
from microasgi.datastructures import URL, URLPath
from microasgi.exceptions import HTTPException
from microasgi.middleware import Middleware, _build_stack
from microasgi.requests import MAX_BODY_SIZE_KEY, Request
from microasgi.responses import PlainTextResponse, RedirectResponse, Response
from microasgi.types import ASGIApp, Lifespan, Receive, Scope, Send

__all__ = [
    "BaseRoute",
    "Host",
    "Match",
    "Mount",
    "NoMatchFound",
    "Route",
    "Router",
    "request_response",
]


class Match(Enum):
    """How a route matched a scope: not at all, by path only (wrong method), or fully."""

    NONE = 0
    PARTIAL = 1
    FULL = 2


class NoMatchFound(Exception):
    """``url_path_for`` found no route of that name taking those parameters.

    The message names the closest route names, and the missing or extra parameters.
    """

    def __init__(self, name: str, path_params: Mapping[str, Any], hint: str = "") -> None:
        params = ", ".join(sorted(path_params))
        super().__init__(f'No route exists for name "{name}" and params "{params}".{hint}')
        self.name = name
        self.path_params = dict(path_params)


def request_response(
    func: Callable[[Request], Awaitable[Response] | Response],
) -> ASGIApp:
    """Turn a function taking a ``Request`` and returning a ``Response`` into an ASGI app.

    ``async def`` functions are awaited; plain functions run in a worker thread so they cannot
    block the event loop.
    """
    is_async = is_async_callable(func)
    name = getattr(func, "__qualname__", repr(func))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        if is_async:
            response = await cast(Callable[[Request], Awaitable[Response]], func)(request)
        else:
            response = await run_in_threadpool(cast(Callable[[Request], Response], func), request)
        if not callable(response):
            raise TypeError(
                f"Endpoint {name} returned {response!r}, which is not a Response. Return a "
                "Response, for example JSONResponse(data) or PlainTextResponse(text)."
            )
        await response(scope, receive, send)

    return app


class BaseRoute:
    """The interface every route implements; subclass it for custom matching.

    A router asks ``matches(scope)`` of custom routes in declaration order and calls ``handle``
    on the first full match. Every route is also an ASGI app on its own (``__call__``).
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
            await _not_found(scope, receive, send)
            return
        scope.update(child_scope)
        await self.handle(scope, receive, send)


class _PathRoute(BaseRoute):
    """What ``Route`` and ``Mount`` share: a compiled path template and reverse routing."""

    path: str
    name: str | None
    app: ASGIApp
    _compiled: CompiledPath | None
    _compile_error: ValueError | None
    _is_prefix = False

    def _compile(self, path: str, convertors: Mapping[str, Convertor[Any]] | None) -> None:
        try:
            self._compiled = compile_path(path, convertors, is_prefix=self._is_prefix)
            self._compile_error = None
        except ValueError as exc:
            if "Unknown path converter" not in str(exc):
                raise
            # A router may supply the converter (Router(convertors=...)); it binds us later.
            self._compiled, self._compile_error = None, exc

    def _bind(self, convertors: Mapping[str, Convertor[Any]] | None) -> None:
        """Compile against a router's own converters (called when the router is built)."""
        if convertors:
            self._compile(self.path, convertors)
        self.compiled  # noqa: B018 (raises the stored error when a converter is still unknown)

    @property
    def compiled(self) -> CompiledPath:
        """The parsed path template."""
        if self._compiled is None:
            raise cast(ValueError, self._compile_error)
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
        """Match the path alone (what a custom router would do); the router uses its trie instead."""
        path = route_path(scope)
        if not path.isprintable() and any(ord(c) < 32 or ord(c) == 127 for c in path):
            return None
        found = self.compiled.regex.fullmatch(path)
        if found is None:
            return None
        groups = found.groupdict()
        rest = groups.pop("_mount_rest", None) or ""
        convertors = self.compiled.param_convertors
        if not all(convertors[key].matches(value) for key, value in groups.items()):
            return None
        return {key: convertors[key].convert(value) for key, value in groups.items()}, rest

    def _replace_params(self, path_params: dict[str, Any]) -> str:
        path = self.compiled.path_format
        for key, convertor in self.compiled.param_convertors.items():
            path = path.replace("{" + key + "}", convertor.to_string(path_params.pop(key)))
        return path


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
            (``None``: unlimited); answers 413 past it. Defaults to the enclosing router's.
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
        max_body_size: int | EllipsisType | None = ...,
    ) -> None:
        self.path = path
        self._compile(path, None)
        self.endpoint = endpoint
        self.name = _endpoint_name(endpoint) if name is None else name
        self.include_in_schema = include_in_schema
        handler = endpoint
        while isinstance(handler, functools.partial):
            handler = handler.func
        if inspect.isfunction(handler) or inspect.ismethod(handler):
            app = request_response(endpoint)
            if methods is None:
                methods = ["GET"]
        else:
            app = endpoint
        self.methods: set[str] | None = None
        if methods is not None:
            if isinstance(methods, str):
                raise TypeError(
                    f"methods must be a collection of names, got {methods!r}. Use [{methods!r}]."
                )
            self.methods = {method.upper() for method in methods}
            if "GET" in self.methods:
                self.methods.add("HEAD")
        self.max_body_size = _check_limit(max_body_size)
        self.app = _with_limit(_build_stack(app, middleware), self.max_body_size)

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
            await _method_not_allowed(scope, receive, send, self.methods)
            return
        await self.app(scope, receive, send)

    def __repr__(self) -> str:
        methods = sorted(self.methods or ())
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, methods={methods!r})"


class Mount(_PathRoute):
    """Another ASGI app, or a list of routes, under a path prefix.

    The mounted app sees the full ``path`` and a ``root_path`` grown by the prefix (the ASGI
    spec's reading, and Starlette's). The prefix matches only at a segment boundary: ``/api``
    takes ``/api/`` and ``/api/x``, never ``/apix``. ``app`` may be any ASGI 3 app or a legacy ASGI
    2 double callable.

    Args:
        path: the prefix, ``""`` for everything; parameters allowed (``/users/{id:int}``).
        app: the app to mount; or give ``routes`` to mount a new ``Router`` over them.
        routes: the routes of the mounted router.
        name: the name prefix for reverse routing: ``url_path_for("api:users")``.
        middleware: middleware wrapping the mounted app only.
        max_body_size: as for ``Route``; applies to everything under the mount.
    """

    _is_prefix = True

    def __init__(
        self,
        path: str,
        app: ASGIApp | None = None,
        routes: Sequence[BaseRoute] | None = None,
        name: str | None = None,
        *,
        middleware: Sequence[Middleware[Any]] | None = None,
        max_body_size: int | EllipsisType | None = ...,
    ) -> None:
        if (app is None) == (routes is None):
            raise ValueError(
                f"Mount({path!r}) needs exactly one of app= and routes=, got "
                f"{'both' if app is not None else 'neither'}."
            )
        self.path = path
        self._compile(path, None)
        self.path = self.compiled.path
        self._base_app: ASGIApp = Router(routes) if routes is not None else _asgi3(cast(Any, app))
        self.name = name
        self.max_body_size = _check_limit(max_body_size)
        self.app = _with_limit(_build_stack(self._base_app, middleware), self.max_body_size)

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the mounted router (empty for another kind of app)."""
        return list(getattr(self._base_app, "routes", []))

    def _bind(self, convertors: Mapping[str, Convertor[Any]] | None) -> None:
        super()._bind(convertors)
        if isinstance(self._base_app, Router) and convertors:
            self._base_app._bind_convertors(convertors)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        found = self._match_path(scope)
        if found is None:
            return Match.NONE, {}
        return Match.FULL, _mount_scope(scope, self.app, found[0], found[1])

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        own = set(self.compiled.param_convertors)
        if self.name is not None and name == self.name and "path" in path_params:
            # The mount itself: url_path_for("static", path="/css/app.css").
            params = dict(path_params)
            rest = str(params.pop("path")).lstrip("/")
            if set(params) == own:
                return URLPath(self._replace_params(params).rstrip("/") + "/" + rest)
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            if own <= set(path_params):
                remaining = dict(path_params)
                prefix = self._replace_params(remaining)
                for route in self.routes:
                    try:
                        url = route.url_path_for(child_name, **remaining)
                    except NoMatchFound:
                        continue
                    return URLPath(prefix.rstrip("/") + str(url), protocol=url.protocol)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, app={self._base_app!r})"
        )


class Host(BaseRoute):
    """Another ASGI app for requests to a host name: ``Host("{tenant}.example.com", app)``.

    Matching ignores case and any port in the ``Host`` header unless the pattern names one;
    ``{param}`` parts match one DNS label and become path parameters.
    """

    def __init__(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        if "/" in host:
            raise ValueError(
                f"Host must be a host name, not a URL, got {host!r}. Use 'example.com'."
            )
        self.host = host.lower()
        self._has_port = ":" in self.host.rsplit("]", 1)[-1]
        # Host labels use the trie's path compiler: one label per "segment".
        self._compiled = compile_path("/" + self.host.replace(".", "/"))
        self.app = _asgi3(app)
        self.name = name

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the app behind this host (empty for another kind of app)."""
        return list(getattr(self.app, "routes", []))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        host = ""
        for key, value in scope.get("headers", ()):
            if key == b"host":
                host = value.decode("latin-1").lower()
                break
        if not self._has_port:
            host = _strip_port(host)
        found = self._compiled.regex.fullmatch("/" + host.replace(".", "/"))
        if found is None:
            return Match.NONE, {}
        params = {
            key: self._compiled.param_convertors[key].convert(v)
            for key, v in found.groupdict().items()
        }
        return Match.FULL, {
            "path_params": {**scope.get("path_params", {}), **params},
            "endpoint": self.app,
        }

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        own = set(self._compiled.param_convertors)
        if self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            host_params = {key: path_params[key] for key in own if key in path_params}
            if len(host_params) == len(own):
                host = self._compiled.path_format
                for key, convertor in self._compiled.param_convertors.items():
                    host = host.replace("{" + key + "}", convertor.to_string(host_params[key]))
                remaining = {k: v for k, v in path_params.items() if k not in own}
                for route in self.routes:
                    try:
                        url = route.url_path_for(child_name, **remaining)
                    except NoMatchFound:
                        continue
                    return URLPath(str(url), protocol=url.protocol, host=host[1:].replace("/", "."))
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.host!r}, name={self.name!r}, app={self.app!r})"


class Router:
    """Dispatch on path and method between routes, mounts and hosts.

    Args:
        routes: the routes, in order; the first declared of those that match wins.
        redirect_slashes: answer a path that matches only with (or without) a trailing slash
            with a 307 to that path, keeping the query string and ``root_path``.
        default: the ASGI app for requests no route matches (default: 404).
        lifespan: an async context manager factory run at startup and shutdown; a mapping it
            yields becomes the lifespan state each request sees in ``request.state``. Mounted
            apps' lifespans run too.
        middleware: middleware wrapping the router's dispatch.
        convertors: path converters for this router's routes only, by name.
        max_body_size: the default cap on a request body read into memory, for every route of
            this router (routes and mounts may set their own). ``None``: unlimited.
    """

    def __init__(
        self,
        routes: Sequence[BaseRoute] | None = None,
        redirect_slashes: bool = True,
        default: ASGIApp | None = None,
        lifespan: Lifespan[Any] | None = None,
        *,
        middleware: Sequence[Middleware[Any]] | None = None,
        convertors: Mapping[str, Convertor[Any]] | None = None,
        max_body_size: int | EllipsisType | None = ...,
    ) -> None:
        self.routes: list[BaseRoute] = list(routes or ())
        self.redirect_slashes = redirect_slashes
        self.default: ASGIApp = default if default is not None else _not_found
        self.lifespan_context = lifespan
        self.max_body_size = _check_limit(max_body_size)
        self._convertors = dict(convertors or {})
        self._lifespan = LifespanRunner(self)
        self.middleware_stack: ASGIApp = _build_stack(self._dispatch, middleware)
        self._matcher: Matcher | None = None
        self._custom: list[tuple[int, BaseRoute]] = []
        self._compile()

    # --- building ---------------------------------------------------------------------------

    def _bind_convertors(self, convertors: Mapping[str, Convertor[Any]]) -> None:
        self._convertors = {**convertors, **self._convertors}
        self._compile()

    def _compile(self) -> None:
        entries, custom = [], []
        for index, route in enumerate(self.routes):
            if isinstance(route, _PathRoute) and not _overrides_matches(route):
                route._bind(self._convertors)
                if isinstance(route, Mount):
                    types, methods = frozenset({"http", "websocket"}), None
                elif isinstance(route, Route):
                    types = frozenset({"http"})
                    methods = frozenset(route.methods) if route.methods is not None else None
                else:
                    types, methods = frozenset({"websocket"}), None
                entries.append(
                    Entry(index, route.compiled, types, methods, route, isinstance(route, Mount))
                )
            elif isinstance(route, BaseRoute):
                custom.append((index, route))
            else:
                raise TypeError(
                    f"Router routes must be Route, WebSocketRoute, Mount, Host or BaseRoute "
                    f"instances, got {route!r} at position {index}."
                )
        self._matcher = Matcher(entries)
        self._custom = custom
        for later, earlier in self._matcher.shadowed():
            warnings.warn(
                f"{later.target!r} can never match: {earlier.target!r}, declared before it, "
                "matches every request it would. Reorder the routes or remove one.",
                RouteShadowedWarning,
                stacklevel=3,
            )

    # --- the ASGI app -----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.middleware_stack(scope, receive, send)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch without the router's own middleware (Starlette's name for it)."""
        await self._dispatch(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type == "lifespan":
            await self._lifespan.run(scope, receive, send)
            return
        if scope_type not in ("http", "websocket"):
            raise ValueError(
                f"Router got a scope of type {scope_type!r}; ASGI defines http, websocket and lifespan."
            )
        if "router" not in scope:
            scope["router"] = self
        if self.max_body_size is not ...:
            scope[MAX_BODY_SIZE_KEY] = self.max_body_size
        path = route_path(scope)
        matcher = cast(Matcher, self._matcher)
        found = matcher.lookup(scope_type, path, scope.get("method", "GET"))
        if self._custom:
            handled = await self._try_custom(scope, receive, send, found)
            if handled:
                return
        if isinstance(found, _TrieMatch):
            route = found.entry.target
            # Starlette-compatible: the matched endpoint and params are set on the scope itself,
            # so middleware that ran before can read them afterwards.
            if isinstance(route, Mount):
                scope.update(_mount_scope(scope, route.app, found.params, found.rest, path))
            else:
                scope["endpoint"] = route.endpoint
                scope["path_params"] = (
                    {**scope["path_params"], **found.params}
                    if "path_params" in scope
                    else found.params
                )
            await route.app(scope, receive, send)
        elif found:
            await _method_not_allowed(scope, receive, send, found)
        elif self.redirect_slashes and scope_type == "http" and path not in ("/",):
            await self._redirect_slash(scope, receive, send, path)
        else:
            await self.default(scope, receive, send)

    async def _try_custom(
        self, scope: Scope, receive: Receive, send: Send, found: _TrieMatch | frozenset[str]
    ) -> bool:
        limit = found.entry.index if isinstance(found, _TrieMatch) else len(self.routes)
        partial: BaseRoute | None = None
        for index, route in self._custom:
            if index >= limit:
                break
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return True
            if match is Match.PARTIAL and partial is None:
                partial = route
                partial_scope = child_scope
        if partial is not None and not isinstance(found, _TrieMatch) and not found:
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return True
        return False

    async def _redirect_slash(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        other = path[:-1] if path.endswith("/") else path + "/"
        matcher = cast(Matcher, self._matcher)
        if not matcher.lookup("http", other, scope["method"]) and not self._custom_matches(
            scope, other
        ):
            await self.default(scope, receive, send)
            return
        url = URL(scope=scope)
        new_path = url.path[:-1] if url.path.endswith("/") else url.path + "/"
        # SECURITY: "//evil.com/" or "/\\evil.com/" as a path would read as another host in a
        # relative Location; collapse leading slashes so the redirect stays on this site.
        new_path = "/" + new_path.lstrip("/\\")
        await RedirectResponse(url.replace(path=new_path))(scope, receive, send)

    def _custom_matches(self, scope: Scope, path: str) -> bool:
        if not self._custom:
            return False
        probe = {**scope, "path": path, "root_path": ""}
        return any(route.matches(probe)[0] is not Match.NONE for _, route in self._custom)

    # --- reverse routing --------------------------------------------------------------------

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Build the path of the route called ``name`` (``"api:users"`` through named mounts).

        Raises:
            NoMatchFound: no route has that name and those parameters; the message names the
                closest route names, or the missing and extra parameters.
        """
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params, self._hint(name, path_params))

    def _hint(self, name: str, path_params: Mapping[str, Any]) -> str:
        names = dict(_route_names(self.routes, ""))
        if name in names:
            expected, given = names[name], set(path_params)
            parts = []
            if expected - given:
                parts.append(f"missing {sorted(expected - given)}")
            if given - expected:
                parts.append(f"unexpected {sorted(given - expected)}")
            return f" Route {name!r} takes params {sorted(expected)}: {', '.join(parts)}."
        close = difflib.get_close_matches(name, list(names), n=3)
        return f" Did you mean {' or '.join(map(repr, close))}?" if close else ""

    # --- declaring before start -------------------------------------------------------------

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Add ``Mount(path, app, name=name)`` after the routes declared so far."""
        self._add(Mount(path, app=app, name=name))

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Add ``Host(host, app, name=name)`` after the routes declared so far."""
        self._add(Host(host, app=app, name=name))

    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """Add a ``Route`` after the routes declared so far."""
        self._add(
            Route(path, endpoint, methods=methods, name=name, include_in_schema=include_in_schema)
        )

    def _add(self, route: BaseRoute) -> None:
        self.routes.append(route)
        self._compile()


class RouteShadowedWarning(UserWarning):
    """A route can never match because a route declared before it matches all its requests."""


def _check_limit(value: Any) -> Any:
    if (
        value is ...
        or value is None
        or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
    ):
        return value
    raise ValueError(
        f"max_body_size must be a number of bytes >= 0 or None (unlimited), got {value!r}."
    )


def _with_limit(app: ASGIApp, limit: Any) -> ASGIApp:
    if limit is ...:
        return app

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        scope[MAX_BODY_SIZE_KEY] = limit
        await app(scope, receive, send)

    return limited


def _mount_scope(
    scope: Scope, app: ASGIApp, params: dict[str, Any], rest: str, path: str | None = None
) -> Scope:
    if path is None:
        path = route_path(scope)
    root_path: str = scope.get("root_path", "")
    matched = path[: len(path) - len(rest)] if rest else path
    child: Scope = {
        "path_params": {**scope.get("path_params", {}), **params},
        "app_root_path": scope.get("app_root_path", root_path),
        "root_path": root_path + matched,
        "endpoint": app,
    }
    full = full_path(scope)
    if full != scope["path"]:
        # SPEC: the server stripped root_path from path; the mounted app gets the spec's reading
        # (path includes root_path), so every level below sees one convention.
        child["path"] = full
        raw = scope.get("raw_path")
        if isinstance(raw, bytes):
            child["raw_path"] = quote(root_path.rstrip("/")).encode("ascii") + raw
    return child


def _strip_port(host: str) -> str:
    if host.startswith("["):  # an IPv6 literal: [::1]:8000
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0]


def _endpoint_name(endpoint: Any) -> str:
    if inspect.isroutine(endpoint) or inspect.isclass(endpoint):
        return str(endpoint.__name__)
    return type(endpoint).__name__


def _overrides_matches(route: BaseRoute) -> bool:
    # A subclass with its own matches() keeps it: such routes are asked in declaration order.
    return type(route).matches not in (Route.matches, Mount.matches)


def _route_names(routes: Sequence[BaseRoute], prefix: str) -> list[tuple[str, set[str]]]:
    names: list[tuple[str, set[str]]] = []
    for route in routes:
        name = getattr(route, "name", None)
        if isinstance(route, Mount | Host):
            own = (
                set(route.compiled.param_convertors)
                if isinstance(route, Mount)
                else set(route._compiled.param_convertors)
            )
            child_prefix = f"{prefix}{name}:" if name else prefix
            names += [(n, own | p) for n, p in _route_names(route.routes, child_prefix)]
            if isinstance(route, Mount) and name:
                names.append((prefix + name, own | {"path"}))
        elif isinstance(route, _PathRoute) and name:
            names.append((prefix + name, set(route.compiled.param_convertors)))
    return names


def _asgi3(app: Any) -> ASGIApp:
    """Wrap a legacy ASGI 2 double callable (``app(scope)(receive, send)``) as an ASGI 3 app."""
    if not _is_double_callable(app):
        return cast(ASGIApp, app)

    async def asgi3(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope)(receive, send)

    asgi3.__wrapped__ = app  # type: ignore[attr-defined]
    return asgi3


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


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        # SPEC: a close before accept makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1000, "reason": ""})
        return
    if "app" in scope:
        # Inside an application: let its exception handlers shape the 404.
        raise HTTPException(404)
    await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)


async def _method_not_allowed(
    scope: Scope, receive: Receive, send: Send, methods: Collection[str]
) -> None:
    headers = {"Allow": ", ".join(sorted(methods))}
    if scope["type"] == "websocket":
        await _not_found(scope, receive, send)
        return
    if "app" in scope:
        raise HTTPException(405, headers=headers)
    await PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)(
        scope, receive, send
    )
