"""``MicroASGI``: the application, a convenient assembly of the pieces.

At its first call (usually the lifespan startup) it builds its stack, once::

    ServerErrorMiddleware -> user middleware ... -> ExceptionMiddleware -> Router

From then on the app is frozen: adding middleware, routes or handlers raises an error that says
how to declare them up front instead (a stack rebuilt mid-flight would serve two configurations at
once).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from types import EllipsisType
from typing import Any, TypeVar

from typing_extensions import ParamSpec

from microasgi._asgi.context import ConnectionContext
from microasgi._asgi.drain import closing_send
from microasgi.datastructures import State, URLPath
from microasgi.formparsers import FormLimits
from microasgi.lifecycle import SupervisedTasks, _Lifecycle
from microasgi.middleware import Middleware, _build_stack, _MiddlewareFactory
from microasgi.middleware.errors import ServerErrorHandler, ServerErrorMiddleware
from microasgi.middleware.exceptions import ExceptionHandler, ExceptionMiddleware, _check_handler
from microasgi.requests import DEFAULT_MAX_BODY_SIZE
from microasgi.routing import BaseRoute, Router, Timeout
from microasgi.types import ASGIApp, Lifespan, Message, Receive, Scope, Send

__all__ = ["AppType", "MicroASGI"]

P = ParamSpec("P")

AppType = TypeVar("AppType", bound="MicroASGI")
"""An application type (Starlette's name), for code generic over ``MicroASGI`` subclasses:
``def lifespan(app: AppType) -> AsyncContextManager[None]``."""


class MicroASGI:
    """An ASGI application: routes, middleware, exception handlers and a lifespan.

    Args:
        debug: answer unhandled errors with the debug page: each frame with its source, the
            exception chain, the request with its credentials redacted (never in production).
        routes: the routes, in order (``Route``, ``Mount``, ``Host``, any ``BaseRoute``).
        middleware: ``Middleware(cls, **options)`` items; the first listed sees requests first.
        exception_handlers: ``{status code or exception class: handler}``, where a handler is
            ``(request, exc) -> Response`` (sync or async). A handler for ``500`` or
            ``Exception`` answers unhandled errors in ``ServerErrorMiddleware``, and is called too
            (its answer dropped) for an error raised once the response started, such as a
            background task's, so error reporting sees it; the others run in
            ``ExceptionMiddleware``.
        lifespan: an async context manager factory ``lifespan(app)``; a mapping it yields is
            the lifespan state every request reads through ``request.state``.
        max_body_size: the cap, in bytes, on a request body read through ``Request`` (``body()``,
            ``json()``, ``form()``, ``stream()``); 413 past it. ``None`` means unlimited. Routes
            and mounts may set their own.
        form_limits: the application's default ``FormLimits`` for ``request.form()`` (each
            call's keyword arguments override it).
        cancel_on_disconnect: cancel an endpoint when its client disconnects before the
            response starts (routes and mounts may set their own; see docs/timeouts.md).
        timeout: seconds (or a ``microasgi.routing.Timeout``) an endpoint and its response may
            take; 503 past it. None by default (routes and mounts may set their own).
        body_timeout: seconds a request body may stop arriving; 408 past it. None by default.
        drain_signals: signal numbers (``[signal.SIGTERM]``) that begin the drain while the
            lifespan runs, before the handler already in place (the server's) runs as usual;
            see docs/lifecycle.md for the servers where this works. Empty by default.
        shutdown_timeout: seconds that background work started with ``app.tasks.start()`` gets
            to finish at shutdown before it is cancelled.
        request_context: make the current request reachable from code that was not handed it,
            through ``microasgi.requests.current_request()`` (set when a request enters the
            app, reset when it leaves). Off by default: it costs a context variable set and
            reset per request, which apps that never ask should not pay.
        debug_locals: with ``debug``, the debug page shows each frame's local variables too.
            Off by default, so a page can be pasted into a bug report without their values.

    Raises:
        TypeError: an exception handler key or handler is invalid, or ``form_limits`` is not a
            ``FormLimits``.
        ValueError: ``max_body_size`` is not a number of bytes or None, a drain signal is not a
            signal number, or ``shutdown_timeout`` is not a number of seconds >= 0.
    """

    # Routers and routes below raise HTTPException (404, 405, 413 ...) for our exception
    # handlers to answer, and a Mount leaves the body cap to our router's routes.
    _answers_http_exceptions = True
    _applies_body_cap = True

    def __init__(
        self,
        debug: bool = False,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware[Any]] | None = None,
        exception_handlers: Mapping[Any, ExceptionHandler] | None = None,
        lifespan: Lifespan[MicroASGI] | None = None,
        *,
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
        form_limits: FormLimits | None = None,
        cancel_on_disconnect: bool | None = None,
        timeout: Timeout | float | EllipsisType | None = ...,
        body_timeout: float | EllipsisType | None = ...,
        drain_signals: Collection[int] = (),
        shutdown_timeout: float = 10.0,
        request_context: bool = False,
        debug_locals: bool = False,
    ) -> None:
        self._debug = debug
        self._debug_locals = debug_locals
        self._request_context = request_context
        self.state = State()
        self.router = Router(
            routes,
            lifespan=lifespan,
            max_body_size=max_body_size,
            form_limits=form_limits,
            cancel_on_disconnect=cancel_on_disconnect,
            timeout=timeout,
            body_timeout=body_timeout,
        )
        if max_body_size is DEFAULT_MAX_BODY_SIZE:
            # The default, left out or given by its name: it applies where no layer in front
            # of the app (a BodyLimitMiddleware, a Mount's max_body_size) set a cap.
            self.router._default_body_cap(max_body_size)
        self.user_middleware: list[Middleware[Any]] = list(middleware or ())
        self.exception_handlers: dict[Any, ExceptionHandler] = {}
        for key, handler in (exception_handlers or {}).items():
            self.exception_handlers[_check_handler(key, handler)] = handler
        self.middleware_stack: ASGIApp | None = None
        self._build_lock = threading.Lock()
        # The exception layer of the stack, whose handlers routes answer with (see
        # microasgi.middleware.exceptions._enclosing); set when the stack is built.
        self._exception_middleware: ExceptionMiddleware | None = None
        self.tasks = SupervisedTasks(shutdown_timeout)
        """Background work supervised by the lifespan: ``app.tasks.start(func, *args)``."""
        self.tasks._error_handler = self._error_handler
        self._lifecycle = _Lifecycle(self.tasks, drain_signals)
        # Read by responses and websockets through scope["app"] (microasgi._asgi.drain.drain_of).
        self._drain = self._lifecycle.drain

    @property
    def debug(self) -> bool:
        """Whether unhandled errors answer with a traceback page; settable until the app starts."""
        return self._debug

    @debug.setter
    def debug(self, value: bool) -> None:
        # As in Starlette: the stack is built again, at the next call, with the new setting.
        self._debug = value
        self.middleware_stack = None

    def build_middleware_stack(self) -> ASGIApp:
        """Assemble the stack; the application does it once, at its first call."""
        error_handler: ServerErrorHandler | None = None
        handlers: dict[Any, ExceptionHandler] = {}
        for key, handler in self.exception_handlers.items():
            if key == 500 or key is Exception:
                error_handler = handler
            else:
                handlers[key] = handler
        inner = ExceptionMiddleware(self.router, handlers=handlers, debug=self._debug)
        self._exception_middleware = inner
        app = _build_stack(inner, self.user_middleware)
        outer = ServerErrorMiddleware(
            app, handler=error_handler, debug=self._debug, debug_locals=self._debug_locals
        )
        stack: ASGIApp = outer
        if app is inner:
            # PERF: with no user middleware between them, the two error layers are fused into
            # one, which watches the response with a single send wrapper instead of two.
            stack = _ErrorBoundary(outer, inner)
        if self._request_context:
            # Outermost: the error layers and every middleware see the current request too.
            stack = ConnectionContext(stack)
        return stack

    def _build_once(self) -> ASGIApp:
        # Free-threaded CPython: the threads serving one app (granian's workers) may make their
        # first calls at once; one builds the stack, the others wait for it (a stack built twice
        # would hold its middleware twice, each with its own state).
        with self._build_lock:
            stack = self.middleware_stack
            if stack is None:
                stack = self.middleware_stack = self.build_middleware_stack()
            return stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        stack = self.middleware_stack
        if stack is None:
            stack = self._build_once()
        if self._drain.draining and scope["type"] == "http":
            # SPEC: RFC 9113 section 8.2.2, HTTP/2 and HTTP/3 forbid Connection headers.
            if scope.get("http_version", "1.1") in ("1.0", "1.1"):
                send = closing_send(send)
        if stack.__class__ is not _ErrorBoundary or scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifecycle.serve(stack, scope, receive, send)
            else:
                await stack(scope, receive, send)
            return
        # PERF: the fused error layer's work (_ErrorBoundary.__call__), done here rather than in
        # a call of its own: one coroutine fewer on every request.
        watch = _Watch(send)
        try:
            await stack._app(scope, receive, watch)
        except Exception as exc:
            await stack._answer(scope, receive, watch, exc)

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def draining(self) -> bool:
        """Whether the drain has begun (``begin_drain()``, ``lifespan.shutdown.notice``, a
        drain signal); false again once a new lifespan starts."""
        return self._drain.draining

    def begin_drain(self) -> None:
        """Begin draining: readiness answers 503, HTTP/1.x responses carry ``Connection: close``,
        event streams send a last event and end, websockets close with 1012.

        Synchronous and idempotent; safe from another thread and from a signal handler.
        Requests in progress finish normally. See docs/lifecycle.md.
        """
        self._drain.begin()

    async def wait_for_drain(self) -> None:
        """Return once the drain has begun (at once if it has): for endpoints that stream."""
        await self._drain.wait()

    def _error_handler(self) -> Callable[[Any, Any], Any] | None:
        # The handler that reports unhandled errors, for failed background work.
        handlers = self.exception_handlers
        return handlers.get(Exception) or handlers.get(500)

    # --- reading ----------------------------------------------------------------------------

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the app's router, in order."""
        return self.router.routes

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Build the path of the route called ``name``; see ``Router.url_path_for``.

        Raises:
            NoMatchFound: no route has that name and those parameters.
        """
        return self.router.url_path_for(name, **path_params)

    # --- declaring before start -------------------------------------------------------------

    def _refuse_if_started(self, what: str, instead: str) -> None:
        if self.middleware_stack is not None:
            raise RuntimeError(
                f"Cannot {what} after the application has started: its middleware stack is built "
                f"at the first call and then fixed. Declare it when creating the app: {instead}."
            )

    def add_middleware(
        self, middleware_class: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs
    ) -> None:
        """Add a middleware; it becomes the outermost of the user middleware.

        Raises:
            RuntimeError: the application has started.
        """
        self._refuse_if_started(
            "add middleware", "MicroASGI(middleware=[Middleware(cls, **options), ...])"
        )
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))

    def add_exception_handler(
        self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandler
    ) -> None:
        """Register ``handler`` for a status code or an exception class.

        Raises:
            RuntimeError: the application has started.
            TypeError: the key or the handler is invalid.
        """
        self._refuse_if_started(
            "add an exception handler", "MicroASGI(exception_handlers={key: handler, ...})"
        )
        self.exception_handlers[_check_handler(exc_class_or_status_code, handler)] = handler

    def add_route(
        self,
        path: str,
        route: Callable[..., Any],
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """Add ``Route(path, route, ...)`` after the routes declared so far.

        As in Starlette, this works after the application has started too: the router compiles
        its routes again, and the requests that follow see the new route.
        """
        self.router.add_route(
            path, route, methods=methods, name=name, include_in_schema=include_in_schema
        )

    def add_websocket_route(
        self, path: str, route: Callable[..., Any], name: str | None = None
    ) -> None:
        """Add ``WebSocketRoute(path, route, name=name)`` after the routes declared so far.

        As in Starlette, this works after the application has started too: the router compiles
        its routes again, and the requests that follow see the new route.
        """
        self.router.add_websocket_route(path, route, name=name)

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Add ``Mount(path, app, name=name)`` after the routes declared so far.

        As in Starlette, this works after the application has started too: the router compiles
        its routes again, and the requests that follow see the new route.
        """
        self.router.mount(path, app, name=name)

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Add ``Host(host, app, name=name)`` after the routes declared so far.

        As in Starlette, this works after the application has started too: the router compiles
        its routes again, and the requests that follow see the new route.
        """
        self.router.host(host, app, name=name)


class _ErrorBoundary:
    """``ServerErrorMiddleware`` directly around ``ExceptionMiddleware``, in one layer.

    It answers exactly as the two stacked layers would: the exception middleware's handler
    first (while the response has not started), then the server error middleware for whatever
    is left, including a failure of that handler, with one record of whether the response
    started (after the start, the 500 handler is still called for reporting, as in Starlette).
    Websocket and lifespan scopes go through the two layers as they are.
    """

    __slots__ = ("_app", "_errors", "_exceptions")

    def __init__(self, errors: ServerErrorMiddleware, exceptions: ExceptionMiddleware) -> None:
        self._errors = errors
        self._exceptions = exceptions
        router = exceptions.app
        # The router's own stack, skipping one call per request, unless a subclass redefines it.
        if type(router) is Router:
            self._app: ASGIApp = router.middleware_stack
        else:
            self._app = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # In debug mode, a websocket's error before its handshake gets the debug page.
            debug = scope["type"] == "websocket" and self._errors.debug
            await (self._errors if debug else self._exceptions)(scope, receive, send)
            return
        watch = _Watch(send)
        try:
            await self._app(scope, receive, watch)
        except Exception as exc:
            await self._answer(scope, receive, watch, exc)

    async def _answer(self, scope: Scope, receive: Receive, watch: _Watch, exc: Exception) -> None:
        """Answer (or re-raise) what the app raised, as the two stacked layers would."""
        failure = exc
        try:
            if await self._exceptions._answer_http(scope, receive, watch, exc, watch.started):
                return
        except Exception as error:  # the handler itself failed
            failure = error
        await self._errors._answer_http(scope, receive, watch.send, failure, watch.started)


class _Watch:
    """A ``send`` that records whether the response has started."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)
