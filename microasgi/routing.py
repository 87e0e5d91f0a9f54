"""Routes, mounts, hosts and the router that dispatches between them.

The router compiles its routes once into a segment trie (``microasgi._matcher``): a lookup costs
the same with 10 routes as with 10,000, and among the routes that match, the one declared first
wins, exactly as Starlette's linear scan would decide. A path that matches with the wrong method
answers 405 with an ``Allow`` header listing every method that would have matched.

``Route``, ``WebSocketRoute``, ``Mount`` and ``Host`` live in ``microasgi._routes``; the lifespan
protocol in ``microasgi._lifespan``.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote

from microasgi._lifespan import LifespanRunner
from microasgi._matcher import Entry, Matcher
from microasgi._matcher import Match as _Found
from microasgi._matcher import compile_path as _compile_template
from microasgi._routes import (
    AnyApp,
    BaseRoute,
    Host,
    Match,
    MaxBodySize,
    Mount,
    NoMatchFound,
    Route,
    WebSocketRoute,
    _PathRoute,
    check_limit,
    get_name,
    method_not_allowed,
    mount_scope,
    not_found,
    replace_params,
    request_response,
    try_url_path_for,
    websocket_session,
)
from microasgi._scope import decode_query_string, full_path, route_path
from microasgi.convertors import Convertor
from microasgi.datastructures import URLPath
from microasgi.formparsers import FORM_LIMITS_KEY, FormLimits
from microasgi.middleware import Middleware, _build_stack
from microasgi.middleware.exceptions import ExceptionMiddleware
from microasgi.requests import MAX_BODY_SIZE_KEY
from microasgi.responses import RedirectResponse
from microasgi.types import ASGIApp, Lifespan, Receive, Scope, Send

__all__ = [
    "BaseRoute",
    "Host",
    "Match",
    "Mount",
    "NoMatchFound",
    "Route",
    "Router",
    "WebSocketRoute",
    "compile_path",
    "get_name",
    "replace_params",
    "request_response",
    "websocket_session",
]

# The public home of the names defined in _routes is this module: docs, reprs and pickles name it.
for _public in (
    BaseRoute,
    Host,
    Match,
    Mount,
    NoMatchFound,
    Route,
    WebSocketRoute,
    get_name,
    replace_params,
    request_response,
    websocket_session,
):
    _public.__module__ = __name__
del _public

# RFC 3986 section 3.3: the characters a path segment may hold unencoded (pchar), plus "/".
_PATH_SAFE = "/!$&'()*+,;=:@"
_HTTP = frozenset({"http"})
_WEBSOCKET = frozenset({"websocket"})
_HTTP_AND_WEBSOCKET = frozenset({"http", "websocket"})


def compile_path(path: str) -> tuple[re.Pattern[str], str, dict[str, Convertor[Any]]]:
    """Starlette's helper: parse a path (``"/users/{id:int}"``) or host pattern
    (``"{sub}.example.org"``) into ``(regex, format, convertors)``.

    The regex matches a whole path (or host, without case and port); the format has the
    converters removed (``"/users/{id}"``). Routes compile their paths themselves: this is for
    code that needs the same parsing (custom routes, libraries written for Starlette).

    Raises:
        ValueError: the template is malformed or names an unknown converter.
    """
    if path.startswith("/"):
        compiled = _compile_template(path)
        return re.compile(f"^{compiled.regex.pattern}$", re.DOTALL), *_format(compiled)
    host = path
    tail = re.sub(r"{[^}]*}", "", host).rsplit("]", 1)[-1]
    if ":" in tail:
        host = host[: host.rindex(":")]  # the port is not matched (as in Host routes)
    compiled = _compile_template("/" + host)
    pattern = compiled.regex.pattern.removeprefix("/")
    regex, (path_format, convertors) = re.compile(f"^{pattern}$", re.IGNORECASE), _format(compiled)
    return regex, path_format.removeprefix("/"), convertors


def _format(compiled: Any) -> tuple[str, dict[str, Convertor[Any]]]:
    return compiled.path_format, dict(compiled.param_convertors)


# Shadowed routes are reported here (a warning record), not as Python warnings: a test suite
# that turns warnings into errors must still import a module that declares one on purpose.
logger = logging.getLogger("microasgi")


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
        convertors: path converters, by name, for this router's routes and the routes of its
            ``Mount(routes=...)``, on top of the registered ones.
        max_body_size: the default cap on a request body read into memory, for every route of
            this router (routes and mounts may set their own). ``None``: unlimited.
        form_limits: the default ``FormLimits`` for ``request.form()`` under this router (a
            mounted router's own wins); ``form()``'s keyword arguments override it per call.

    A route that can never match, because one declared before it takes every request it would,
    is reported when the router is built: a warning record on the ``microasgi`` logger naming
    both routes, and ``shadowed_routes()`` lists them for a test to check.

    Raises:
        ValueError: a route path names an unknown converter, or ``max_body_size`` is negative.
        TypeError: an item of ``routes`` is not a route, or ``form_limits`` not a ``FormLimits``.
    """

    # Mount(routes=...) builds its router without compiling: the router holding the mount
    # compiles it with its own converters (see _MountedRouter).
    _compile_at_init = True
    # A Mount leaves the body cap to the routes of a router it holds, so the innermost
    # max_body_size wins (see _routes._BodyCap).
    _applies_body_cap = True

    def __init__(
        self,
        routes: Sequence[BaseRoute] | None = None,
        redirect_slashes: bool = True,
        default: ASGIApp | None = None,
        lifespan: Lifespan[Any] | None = None,
        *,
        middleware: Sequence[Middleware[Any]] | None = None,
        convertors: Mapping[str, Convertor[Any]] | None = None,
        max_body_size: MaxBodySize = ...,
        form_limits: FormLimits | None = None,
    ) -> None:
        if form_limits is not None and not isinstance(form_limits, FormLimits):
            raise TypeError(
                f"form_limits must be a FormLimits, got {form_limits!r}. Use "
                "FormLimits(max_files=..., ...) from microasgi.formparsers."
            )
        self.form_limits = form_limits
        self.routes: list[BaseRoute] = list(routes or ())
        self.redirect_slashes = redirect_slashes
        self.default: ASGIApp = default if default is not None else not_found
        self.lifespan_context = lifespan
        self.max_body_size = check_limit(max_body_size)
        self._scope_settings: dict[str, Any] = {}
        if self.max_body_size is not ...:
            self._scope_settings[MAX_BODY_SIZE_KEY] = self.max_body_size
        if form_limits is not None:
            self._scope_settings[FORM_LIMITS_KEY] = form_limits
        self._convertors: dict[str, Convertor[Any]] = dict(convertors or {})
        self._lifespan = LifespanRunner(self)
        self.middleware_stack: ASGIApp = _build_stack(self._dispatch, middleware)
        self._guarded: ASGIApp | None = None
        self._matcher = Matcher(())
        self._custom: list[tuple[int, BaseRoute]] = []
        self._shadowed: list[tuple[BaseRoute, BaseRoute]] = []
        # The length of ``routes`` when last compiled: -1 for "not compiled yet".
        self._compiled_count = -1
        if self._compile_at_init:
            self._compile()

    # --- building ---------------------------------------------------------------------------

    def _compile(self) -> None:
        """Compile ``routes`` into the matcher; log the shadowed routes."""
        entries: list[Entry] = []
        custom: list[tuple[int, BaseRoute]] = []
        for index, route in enumerate(self.routes):
            if isinstance(route, Route | WebSocketRoute | Mount) and not _overrides_matches(route):
                compiled = route.bind(self._convertors)
                if isinstance(route, Mount):
                    entries.append(Entry(index, compiled, _HTTP_AND_WEBSOCKET, None, route, True))
                elif isinstance(route, WebSocketRoute):
                    entries.append(Entry(index, compiled, _WEBSOCKET, None, route))
                else:
                    methods = frozenset(route.methods) if route.methods is not None else None
                    entries.append(Entry(index, compiled, _HTTP, methods, route))
            elif isinstance(route, BaseRoute):
                if isinstance(route, _PathRoute):
                    route.bind(self._convertors)
                custom.append((index, route))
            else:
                raise TypeError(
                    "Router routes must be Route, WebSocketRoute, Mount, Host or other BaseRoute "
                    f"instances, got {route!r} at position {index}."
                )
        self._matcher = Matcher(entries)
        self._custom = custom
        self._compiled_count = len(self.routes)
        reported = {(id(later), id(earlier)) for later, earlier in self._shadowed}
        self._shadowed = [
            (later.target, earlier.target) for later, earlier in self._matcher.shadowed()
        ]
        for later, earlier in self._shadowed:
            if (id(later), id(earlier)) not in reported:
                logger.warning(
                    "%r can never match: %r, declared before it, matches every request it "
                    "would. Reorder the routes or remove one.",
                    later,
                    earlier,
                )

    def shadowed_routes(self) -> list[tuple[BaseRoute, BaseRoute]]:
        """The routes that can never match, each with the route declared before it that takes
        every request it would: ``[(shadowed, winner), ...]``, in declaration order.

        Only routes the router compiles are compared (``Route``, ``WebSocketRoute``, ``Mount``);
        a mounted router answers for its own routes. A test can assert there are none::

            assert app.router.shadowed_routes() == []
        """
        if self._compiled_count != len(self.routes):
            self._compile()
        return list(self._shadowed)

    # --- the ASGI app -----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer ``scope``: lifespan, or a request dispatched to the first matching route."""
        if scope["type"] == "lifespan" or getattr(
            scope.get("app"), "_answers_http_exceptions", False
        ):
            await self.middleware_stack(scope, receive, send)
            return
        # Used as the app itself, or inside another framework's app (Starlette's, whose
        # handlers do not know our HTTPException): nobody above answers an HTTPException the
        # routes raise (a 413 for a body over the cap, a 400 for bad input), so we do.
        guarded = self._guarded
        if guarded is None:
            guarded = self._guarded = ExceptionMiddleware(self.middleware_stack)
        await guarded(scope, receive, send)

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
                f"Router got a scope of type {scope_type!r}; ASGI defines http, websocket and "
                "lifespan."
            )
        # PERF: after the first request this is one attribute read (and one more on servers
        # without lifespan state support).
        if self._lifespan.pending:
            self._lifespan.prepare_request(scope)
        if "router" not in scope:
            scope["router"] = self
        if self._scope_settings:
            # PERF: the body cap and form limits, prepared once at construction.
            scope.update(self._scope_settings)
        if self._compiled_count != len(self.routes):
            # Compiled lazily (a mounted router alone), or routes were appended to the list.
            self._compile()
        # PERF: an app served at the root (no root_path) matches the path as it is.
        path = route_path(scope) if scope.get("root_path") else scope["path"]
        found = self._matcher.lookup(scope_type, path, scope.get("method", "GET"))
        if self._custom and await self._try_custom(scope, receive, send, found):
            return
        if isinstance(found, _Found):
            route = found.entry.target
            # Starlette 1.7's key: the matched route, for telemetry (a mounted router sets it
            # again to its own route, so the innermost wins).
            scope["route"] = route
            # Starlette-compatible: the matched endpoint and params are set on the scope itself,
            # so middleware that ran before can read them afterwards.
            if found.entry.is_mount:
                scope.update(mount_scope(scope, route.app, found.params, found.rest, path))
            else:
                scope["endpoint"] = route.endpoint
                params = scope.get("path_params")
                # A fresh dict: the app may edit it, and a static match's params are shared.
                scope["path_params"] = {**params, **found.params} if params else found.params or {}
                if type(route) is Route:
                    # PERF: the trie checked the method already; Route.handle would check again.
                    await route.app(scope, receive, send)
                    return
            await route.handle(scope, receive, send)
        else:
            await self._unmatched(scope, receive, send, found, path)

    async def _unmatched(
        self, scope: Scope, receive: Receive, send: Send, allowed: frozenset[str], path: str
    ) -> None:
        """Answer a request no route takes: 405, a slash redirect, or the default app."""
        if allowed:
            await method_not_allowed(scope, receive, send, allowed)
        elif self.redirect_slashes and scope["type"] == "http" and path != "/":
            await self._redirect_slash(scope, receive, send, path)
        else:
            await self.default(scope, receive, send)

    async def _try_custom(
        self, scope: Scope, receive: Receive, send: Send, found: _Found | frozenset[str]
    ) -> bool:
        """Ask the custom routes declared before the trie's winner; handle the first match.

        A linear scan would take the first full match, else the first partial one (a 405 from
        that route). The trie's answer stands for all the routes it holds.
        """
        limit = found.entry.index if isinstance(found, _Found) else len(self.routes)
        partial: tuple[BaseRoute, Scope] | None = None
        for index, route in self._custom:
            if index >= limit:
                break
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope.update(child_scope)
                scope["route"] = route
                await route.handle(scope, receive, send)
                return True
            if match is Match.PARTIAL and partial is None:
                partial = route, child_scope
        if partial is None or found:
            return False
        scope.update(partial[1])
        scope["route"] = partial[0]
        await partial[0].handle(scope, receive, send)
        return True

    async def _redirect_slash(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        other = path[:-1] if path.endswith("/") else path + "/"
        if not self._matcher.lookup("http", other, scope["method"]) and not any(
            route.matches({**scope, "path": other, "root_path": ""})[0] is not Match.NONE
            for _, route in self._custom
        ):
            await self.default(scope, receive, send)
            return
        full = full_path(scope)
        target = full[:-1] if full.endswith("/") else full + "/"
        # SECURITY: the Location is relative (no Host header reflected, no http:// behind a TLS
        # proxy), so it must not start with "//" or "/\": a browser would read "//evil.com/" as
        # another site. Leading slashes and backslashes collapse to one slash.
        location = "/" + quote(target.lstrip("/\\"), safe=_PATH_SAFE)
        query = scope.get("query_string", b"")
        if query:
            location += "?" + decode_query_string(query)
        await RedirectResponse(location, status_code=307)(scope, receive, send)

    # --- reverse routing --------------------------------------------------------------------

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Build the path of the route called ``name`` (``"api:users"`` through named mounts).

        Raises:
            NoMatchFound: no route has that name and those parameters; the message names the
                closest route names, or the missing and extra parameters.
        """
        for route in self.routes:
            url = try_url_path_for(route, name, path_params)
            if url is not None:
                return cast(URLPath, url)
        raise NoMatchFound(name, path_params, self._hint(name, path_params))

    def _hint(self, name: str, path_params: Mapping[str, Any]) -> str:
        names = _route_names(self.routes, "")
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

    def mount(self, path: str, app: AnyApp, name: str | None = None) -> None:
        """Add ``Mount(path, app, name=name)`` after the routes declared so far."""
        self._add(Mount(path, app=app, name=name))

    def host(self, host: str, app: AnyApp, name: str | None = None) -> None:
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

    def add_websocket_route(
        self, path: str, endpoint: Callable[..., Any], name: str | None = None
    ) -> None:
        """Add a ``WebSocketRoute`` after the routes declared so far."""
        self._add(WebSocketRoute(path, endpoint, name=name))

    def _add(self, route: BaseRoute) -> None:
        self.routes.append(route)
        self._compile()

    def _lifespan_apps(self) -> list[ASGIApp]:
        """The apps mounted here (``Mount``, ``Host``) whose lifespans run with ours, once each."""
        apps: list[ASGIApp] = []
        for route in self.routes:
            # By identity: two mounts of equal apps are still two lifespans to run.
            if isinstance(route, Mount | Host) and all(route.app is not app for app in apps):
                apps.append(route.app)
        return apps

    def __repr__(self) -> str:
        return f"{type(self).__name__}(routes={self.routes!r})"


class _MountedRouter(Router):
    """The router ``Mount(routes=...)`` builds.

    It compiles when the router holding the mount binds it, with that router's converters (so
    ``Router(convertors=...)`` reaches routes under its mounts), or at its first request when
    the mount is used alone. A converter nobody supplies raises then.
    """

    _compile_at_init = False

    def bind_parent_convertors(self, convertors: Mapping[str, Convertor[Any]]) -> None:
        self._convertors = dict(convertors)
        self._compile()

    def __repr__(self) -> str:
        return f"Router(routes={self.routes!r})"


def _overrides_matches(route: BaseRoute) -> bool:
    # A subclass with its own matches() keeps it: such routes are asked in declaration order.
    return type(route).matches not in (Route.matches, WebSocketRoute.matches, Mount.matches)


def _route_names(routes: Sequence[BaseRoute], prefix: str) -> dict[str, set[str]]:
    """Every reversible route name under ``routes``, with the params it takes."""
    names: dict[str, set[str]] = {}
    for route in routes:
        name = getattr(route, "name", None)
        if isinstance(route, Mount | Host):
            own = set(route.param_convertors)
            child_prefix = f"{prefix}{name}:" if name else prefix
            for child, params in _route_names(route.routes, child_prefix).items():
                names.setdefault(child, own | params)
            if isinstance(route, Mount) and name:
                names.setdefault(prefix + name, own | {"path"})
        elif isinstance(route, _PathRoute) and name:
            names.setdefault(prefix + name, set(route.param_convertors))
    return names
