"""The route kinds a router dispatches to: ``Route``, ``WebSocketRoute``, ``Mount`` and ``Host``
(public in ``routing``).

Each route is an ASGI app on its own and answers ``matches(scope)`` for custom routers, but a
``Router`` does not ask them one by one: it compiles their paths into one trie
(``microasgi._sansio.matcher``) and calls ``handle`` on the winner.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from enum import Enum
from types import EllipsisType
from typing import Any, cast

from microasgi._asgi.concurrency import is_async_callable
from microasgi._routing.cancellation import (
    BodyTimeoutSetting,
    TimeoutSetting,
    check_settings,
    is_cancellable,
    run_sync_cancellable,
    with_cancellation,
)
from microasgi._routing.limits import (
    MaxBodySize,
    _BodyCap,
    _with_message_limit,
    check_limit,
    with_limit,
)
from microasgi._sansio.paths import CompiledPath, compile_path, fill_template, match_compiled
from microasgi._sansio.scope import route_path
from microasgi._sansio.websocket import check_message_size
from microasgi.concurrency import run_in_threadpool
from microasgi.convertors import Convertor, _UnknownConvertorError
from microasgi.datastructures import URLPath
from microasgi.exceptions import HTTPException
from microasgi.middleware import Middleware, _build_stack
from microasgi.middleware.exceptions import (
    _answer_websocket,
    _answered_above,
    _forget_traceback,
    _route_handler,
    _route_websocket_handler,
    _run_handler,
)
from microasgi.requests import (
    Request,
    _refuse_declared_oversize,
)
from microasgi.responses import PlainTextResponse, Response
from microasgi.types import ASGIApp, Message, Receive, Scope, Send
from microasgi.websockets import (
    WebSocket,
    WebSocketDisconnect,
    WebSocketState,
)

AnyApp = Callable[..., Any]
"""An ASGI 3 app, or a legacy ASGI 2 double callable (``app(scope)(receive, send)``)."""


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


_RESPONSE_CALL = Response.__call__


class _StartWatch:
    """A ``send`` that notes whether the response started, for a route answering an exception.

    As in Starlette, a start message counts once it is handed on, even if sending it fails.
    """

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    def __call__(self, message: Message) -> Awaitable[None]:
        # PERF: returns send's awaitable: no coroutine of its own per message.
        if message["type"] == "http.response.start":
            self.started = True
        return self.send(message)


def request_response(func: Callable[[Request], Awaitable[Response] | Response]) -> ASGIApp:
    """Turn a function taking a ``Request`` and returning a ``Response`` into an ASGI app.

    ``async def`` functions are awaited; plain functions run in a worker thread so they cannot
    block the event loop.

    As in Starlette, an exception the function raises is answered here, by the handler the
    enclosing ``ExceptionMiddleware`` has for it (called with the endpoint's own ``Request``), so
    the answer goes out through the middleware of the route and of its mounts. So is one raised
    while the response is sent, if the response has not started. An exception without a
    handler, or raised once the response has started, goes on up as itself.

    Raises:
        TypeError: (per request) the function returned something that is not a response.
    """
    is_async = is_async_callable(func)
    name = getattr(func, "__qualname__", repr(func))
    # PERF: cast once here; a `Callable[...]` written in the body is built on every request.
    async_func = cast(Callable[[Request], Awaitable[Response]], func)
    sync_func = cast(Callable[[Request], Response], func)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        started = False
        watched: _StartWatch | None = None
        try:
            # PERF: a try costs nothing until something is raised (Python 3.11's zero-cost
            # exceptions).
            try:
                # SECURITY: a declared body over the cap is refused before the endpoint runs.
                _refuse_declared_oversize(scope)
                if is_async:
                    response = await async_func(request)
                elif is_cancellable(scope):
                    # The request may end before the thread: stop waiting for it then.
                    response = await run_sync_cancellable(sync_func, request)
                else:
                    response = await run_in_threadpool(sync_func, request)
                if not callable(response):
                    raise TypeError(
                        f"Endpoint {name} returned {response!r}, which is not a Response. Return "
                        "a Response, for example JSONResponse(data) or PlainTextResponse(text)."
                    )
                if (
                    response.__class__.__call__ is _RESPONSE_CALL
                    and response.body.__class__ is bytes
                    and response._trailer_names is None
                ):
                    # PERF: a Response sending bytes without trailers cannot fail before its
                    # start message: whatever it raises comes from send(start) or later, which
                    # counts as started (as _StartWatch counts it). No wrapper per message then.
                    started = True
                    await response(scope, receive, send)
                else:
                    watched = _StartWatch(send)
                    await response(scope, receive, watched)
            except Exception as exc:
                handler = _route_handler(scope, exc)
                if handler is None or started or (watched is not None and watched.started):
                    # Once the response has started, the layers above decide (a buffering
                    # middleware between them may still let an answer through).
                    raise
                answer = await _run_handler(handler, request, exc)
                await answer(scope, receive, send)
                _forget_traceback(exc)
        finally:
            # The form's uploaded files are deleted when the request ends, also on error.
            if request._may_hold_form():
                await request.close()

    return app


def _checked_awaitable(
    func: Callable[[WebSocket], Awaitable[Any]], name: str
) -> Callable[[WebSocket], Awaitable[Any]]:
    """``func`` (not an ``async def``), checked on each call to return something awaitable."""

    def call(websocket: WebSocket) -> Awaitable[Any]:
        awaitable = func(websocket)
        if not inspect.isawaitable(awaitable):
            raise TypeError(
                f"Websocket endpoint {name} returned {awaitable!r}, which is not awaitable. "
                "Define it with 'async def' (or make it return the coroutine of one)."
            )
        return awaitable

    return call


def websocket_session(func: Callable[[WebSocket], Awaitable[Any]]) -> ASGIApp:
    """Turn a function taking a ``WebSocket`` into an ASGI app.

    ``func`` is an ``async def`` function, or any callable that returns an awaitable (a
    decorator's plain ``def`` wrapper around one, a method, a callable object): what it returns
    is awaited. The session ends quietly when the connection does (a ``WebSocketDisconnect`` the
    function lets through is the normal end, not an error). A ``Response`` the function returns
    before accepting denies the handshake (``WebSocket.send_denial_response``). A connection the
    function leaves open is closed with 1000. As in Starlette, another exception is answered
    here by the handler the enclosing ``ExceptionMiddleware`` has for it (with the endpoint's
    ``WebSocket``; a ``WebSocketException`` closes with its code by default), inside the route's
    middleware; without one it goes on up as itself.

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
    call = func if is_async_callable(func) else _checked_awaitable(func, name)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        # This session lets the drain go of the connection however it ends (the finally), so
        # the drain may hold it without a weak reference.
        websocket._let_go_by_owner = True
        try:
            try:
                result = await call(websocket)
            except Exception as exc:
                handler = _route_websocket_handler(scope, exc)
                if handler is None:
                    if isinstance(exc, WebSocketDisconnect):
                        return  # The connection is over; nobody is left to tell.
                    raise
                if not await _answer_websocket(handler, websocket, exc):
                    raise
                return
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
        finally:
            if websocket._drain_held is not None:
                websocket._leave_drain()

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
            if scope["type"] in ("http", "websocket"):  # a lifespan scope gets nothing (Starlette)
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
        cancel_on_disconnect: cancel the endpoint when the client disconnects before the
            response starts (``None``: the enclosing setting; off by default).
        timeout: seconds (or a ``Timeout``) the endpoint and its response may take; 503 past
            it. ``None``: no timeout; default: the enclosing one (see docs/timeouts.md).
        body_timeout: seconds the request body may stop arriving; 408 past it. ``None``: no
            limit; default: the enclosing one.

    Raises:
        ValueError: a malformed path template, a negative ``max_body_size``, or a timeout that
            is not a number of seconds > 0.
        TypeError: ``methods`` given as a single string, or ``cancel_on_disconnect`` not a bool.
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
        cancel_on_disconnect: bool | None = None,
        timeout: TimeoutSetting = ...,
        body_timeout: BodyTimeoutSetting = ...,
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
        settings = check_settings(cancel_on_disconnect, timeout, body_timeout)
        self.cancel_on_disconnect, self.timeout, self.body_timeout = settings
        app = with_limit(_build_stack(app, middleware), self.max_body_size)
        self.app = with_cancellation(app, *settings)

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


# --- helpers the router shares ----------------------------------------------------------------


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
    """404 (or a websocket close); under exception handlers (an application's, or an
    ``ExceptionMiddleware``), raise for them."""
    if scope["type"] == "websocket":
        # SPEC: a close before accept makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1000, "reason": ""})
        return
    if _answered_above(scope):
        raise HTTPException(404)
    await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)


async def method_not_allowed(
    scope: Scope, receive: Receive, send: Send, methods: Collection[str]
) -> None:
    """405 with ``Allow``; under exception handlers, raise for them."""
    headers = {"Allow": ", ".join(sorted(methods))}
    if _answered_above(scope):
        raise HTTPException(405, headers=headers)
    await PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)(
        scope, receive, send
    )
