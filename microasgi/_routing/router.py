"""``Router`` and ``Mount``: dispatching on path and method between routes, and mounting another
app (or a list of routes) under a prefix (both public in ``routing``).

The router compiles its routes once into a segment trie (``microasgi._sansio.matcher``): a lookup
costs the same with 10 routes as with 10,000, and among the routes that match, the one declared
first wins, exactly as Starlette's linear scan would decide. A ``Mount`` of a list of routes holds
a router of its own, which is why the two live together.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote

from microasgi._routing.cancellation import (
    BodyTimeoutSetting,
    TimeoutSetting,
    check_settings,
    with_cancellation,
)
from microasgi._routing.hosts import Host
from microasgi._routing.lifespan import LifespanRunner, lifespan_context
from microasgi._routing.limits import MaxBodySize, _BodyCap, check_limit, with_limit
from microasgi._routing.routes import (
    AnyApp,
    BaseRoute,
    Match,
    NoMatchFound,
    Route,
    WebSocketRoute,
    _PathRoute,
    asgi3,
    method_not_allowed,
    not_found,
    try_url_path_for,
)
from microasgi._routing.templates import ROUTE_MOUNTS_KEY
from microasgi._sansio.matcher import Entry, Matcher
from microasgi._sansio.matcher import Match as _Found
from microasgi._sansio.paths import CompiledPath
from microasgi._sansio.scope import decode_query_string, full_path, route_path
from microasgi.convertors import Convertor
from microasgi.datastructures import URLPath
from microasgi.formparsers import FORM_LIMITS_KEY, FormLimits
from microasgi.middleware import Middleware, _build_stack
from microasgi.middleware.exceptions import ExceptionMiddleware, _answered_above
from microasgi.requests import MAX_BODY_SIZE_KEY
from microasgi.responses import RedirectResponse
from microasgi.types import ASGIApp, Lifespan, Receive, Scope, Send

# RFC 3986 section 3.3: the characters a path segment may hold unencoded (pchar), plus "/".
_PATH_SAFE = "/!$&'()*+,;=:@"
_HTTP = frozenset({"http"})
_WEBSOCKET = frozenset({"websocket"})
_HTTP_AND_WEBSOCKET = frozenset({"http", "websocket"})


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
        cancel_on_disconnect, timeout, body_timeout: the defaults, for every route of this
            router, of ``Route``'s settings of those names (routes and mounts may set their own).

    A route that can never match, because one declared before it takes every request it would,
    is reported when the router is built: a warning record on the ``microasgi`` logger naming
    both routes, and ``shadowed_routes()`` lists them for a test to check.

    Raises:
        ValueError: a route path names an unknown converter, ``max_body_size`` is negative, or
            a timeout is not a number of seconds > 0.
        TypeError: an item of ``routes`` is not a route, ``form_limits`` not a ``FormLimits``,
            or ``cancel_on_disconnect`` not a bool.
    """

    # Mount(routes=...) builds its router without compiling: the router holding the mount
    # compiles it with its own converters (see _MountedRouter).
    _compile_at_init = True
    # A Mount leaves the body cap to the routes of a router it holds, so the innermost
    # max_body_size wins (see microasgi._routing.limits._BodyCap).
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
        cancel_on_disconnect: bool | None = None,
        timeout: TimeoutSetting = ...,
        body_timeout: BodyTimeoutSetting = ...,
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
        # A generator function (deprecated, as in Starlette) is wrapped, with a warning.
        self.lifespan_context = lifespan_context(lifespan)
        self.max_body_size = check_limit(max_body_size)
        self._scope_settings: dict[str, Any] = {}
        if self.max_body_size is not ...:
            self._scope_settings[MAX_BODY_SIZE_KEY] = self.max_body_size
        # A cap for requests that reach us without one (see _default_body_cap).
        self._default_cap: MaxBodySize = ...
        if form_limits is not None:
            self._scope_settings[FORM_LIMITS_KEY] = form_limits
        self._convertors: dict[str, Convertor[Any]] = dict(convertors or {})
        self._lifespan = LifespanRunner(self)
        settings = check_settings(cancel_on_disconnect, timeout, body_timeout)
        self.cancel_on_disconnect, self.timeout, self.body_timeout = settings
        # PERF: without these settings, _dispatch itself (see microasgi._routing.cancellation).
        self._handle: ASGIApp = with_cancellation(self._dispatch, *settings)
        self.middleware_stack: ASGIApp = _build_stack(self._handle, middleware)
        self._guarded: ASGIApp | None = None
        self._matcher = Matcher(())
        self._custom: list[tuple[int, BaseRoute]] = []
        self._shadowed: list[tuple[BaseRoute, BaseRoute]] = []
        # The length of ``routes`` when last compiled: -1 for "not compiled yet".
        self._compiled_count = -1
        self._compile_lock = threading.Lock()
        if self._compile_at_init:
            self._compile()

    # --- building ---------------------------------------------------------------------------

    def _compile_if_stale(self) -> None:
        # Free-threaded CPython: the threads serving one app may all find it stale; one compiles.
        with self._compile_lock:
            if self._compiled_count != len(self.routes):
                self._compile()

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

    def _default_body_cap(self, limit: int | None) -> None:
        """Cap the bodies of requests that reach the router without a cap at ``limit``.

        The application's default ``max_body_size``: unlike a configured one, which replaces
        the cap of the layers above (the innermost setting wins), it applies only where none
        set one, so it never raises a smaller cap set in front of the application.
        """
        self._scope_settings.pop(MAX_BODY_SIZE_KEY, None)
        self._default_cap = limit

    def shadowed_routes(self) -> list[tuple[BaseRoute, BaseRoute]]:
        """The routes that can never match, each with the route declared before it that takes
        every request it would: ``[(shadowed, winner), ...]``, in declaration order.

        Only routes the router compiles are compared (``Route``, ``WebSocketRoute``, ``Mount``);
        a mounted router answers for its own routes. A test can assert there are none::

            assert app.router.shadowed_routes() == []
        """
        self._compile_if_stale()
        return list(self._shadowed)

    # --- the ASGI app -----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer ``scope``: lifespan, or a request dispatched to the first matching route."""
        if scope["type"] == "lifespan" or _answered_above(scope):
            # Inside an application, or under an ExceptionMiddleware: its handlers answer.
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
        await self._handle(scope, receive, send)

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
        default_cap = self._default_cap
        if default_cap is not ...:
            # SECURITY: a default never raises a cap set above us (a BodyLimitMiddleware, a
            # Mount's max_body_size); only a configured max_body_size replaces it.
            scope.setdefault(MAX_BODY_SIZE_KEY, default_cap)
        if self._compiled_count != len(self.routes):
            # Compiled lazily (a mounted router alone), or routes were appended to the list.
            self._compile_if_stale()
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
                scope.update(mount_scope(scope, route, found.params, found.rest, path))
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
        # No route template for telemetry (see get_route_template); the 404/405 path only. With
        # no route matched above, there is none already (PERF: a test, not a write).
        if "route" in scope:
            scope[ROUTE_MOUNTS_KEY] = None
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
        scope[ROUTE_MOUNTS_KEY] = None  # a 405 from that route: no route template
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
        self._compile_if_stale()

    def _lifespan_apps(self) -> list[ASGIApp]:
        """The apps mounted here (``Mount``, ``Host``) whose lifespans run with ours, once each."""
        apps: list[ASGIApp] = []
        for route in self.routes:
            # By identity: two mounts of equal apps are still two lifespans to run.
            if isinstance(route, Mount | Host) and all(route.app is not app for app in apps):
                apps.append(route.app)
        return apps

    def __eq__(self, other: object) -> bool:
        # As Starlette: routers over equal routes are equal, so are mounts and hosts over them.
        return isinstance(other, Router) and self.routes == other.routes

    __hash__ = None  # type: ignore[assignment]  # equal by value, so not hashable (as Starlette)

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
        cancel_on_disconnect, timeout, body_timeout: as for ``Route``; they apply to everything
            under the mount (its routes may set their own).

    Raises:
        ValueError: both or neither of ``app`` and ``routes``, a malformed path, or a timeout
            that is not a number of seconds > 0.
        TypeError: ``cancel_on_disconnect`` is not a bool.
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
        cancel_on_disconnect: bool | None = None,
        timeout: TimeoutSetting = ...,
        body_timeout: BodyTimeoutSetting = ...,
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
        settings = check_settings(cancel_on_disconnect, timeout, body_timeout)
        self.cancel_on_disconnect, self.timeout, self.body_timeout = settings
        inner = with_limit(_build_stack(inner, middleware), self.max_body_size)
        self.app = with_cancellation(inner, *settings)

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
        return Match.FULL, mount_scope(scope, self, found[0], found[1], route_path(scope))

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
        # As Starlette: the same path over equal apps (routers compare their routes).
        return (
            isinstance(other, Mount)
            and self.path == other.path
            and bool(self._base_app == other._base_app)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # As Starlette: an unnamed mount shows name=''.
        name = self.name or ""
        return f"{type(self).__name__}(path={self.path!r}, name={name!r}, app={self._base_app!r})"


def mount_scope(
    scope: Scope, mount: Mount, params: dict[str, Any], rest: str, path: str
) -> dict[str, Any]:
    """The scope items for ``mount``'s app, at the prefix that ``path`` minus ``rest`` is.

    ``path`` is the route path (``root_path`` stripped); the child's ``root_path`` grows by the
    matched prefix and its ``path`` stays the full path. The mount joins the ones the request
    went through, for its route template (``microasgi._routing.templates``).
    """
    root_path: str = scope.get("root_path", "").rstrip("/")
    child: dict[str, Any] = {
        "path_params": {**scope.get("path_params", {}), **params},
        "app_root_path": scope.get("app_root_path", scope.get("root_path", "")),
        "root_path": root_path + path[: len(path) - len(rest)],
        "endpoint": mount.app,
        # PERF: a pair linking to the mounts outside, not a growing tuple (half the cost).
        ROUTE_MOUNTS_KEY: (mount, scope.get(ROUTE_MOUNTS_KEY)),
    }
    # PERF: at the root (no root_path, the common case) the path is already the full path: no
    # calls to find that out (they paid for the route template's record, docs/performance.md).
    if root_path:
        full = full_path(scope)
        if full != scope["path"]:
            # SPEC: the server stripped root_path from path; the mounted app gets the spec's
            # reading (path includes root_path), so every level below sees one convention.
            child["path"] = full
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                child["raw_path"] = quote(root_path).encode("ascii") + raw
    return child
