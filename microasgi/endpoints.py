"""Class-based endpoints: one method per HTTP method.

``HTTPEndpoint`` is Starlette's: the class is the ASGI app. The router builds an instance per
request with ``(scope, receive, send)`` and awaits it; the instance calls the method named after
the request's method (``get``, ``post`` ...) with a ``Request`` and sends the ``Response`` it
returns.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, ClassVar

from microasgi._utils import is_async_callable
from microasgi.concurrency import run_in_threadpool
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.types import Receive, Scope, Send

__all__ = ["HTTPEndpoint"]

# The methods an endpoint may define, in the order the ``Allow`` header lists them (Starlette's).
# SECURITY: only these names are ever looked up. Looking up ``request.method.lower()`` as it comes
# would let a client call any attribute: a request with method ``DISPATCH`` would run ``dispatch``.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class HTTPEndpoint:
    """An endpoint class with one method per HTTP method it serves.

    Define ``async def get(self, request) -> Response`` (or ``post``, ``put``, ``patch``,
    ``delete``, ``options``, ``head``); plain ``def`` methods run in a worker thread. ``HEAD`` is
    served by ``get`` unless the class defines ``head``. Any other method is answered 405 with an
    ``Allow`` header listing the methods the class serves; inside an application the 405 is raised
    as an ``HTTPException`` so the application's handlers can shape it.

    Use the class itself as the endpoint: ``Route("/users/{id}", UserEndpoint)``.

    Args:
        scope: the ASGI ``http`` scope.
        receive: the ASGI receive callable.
        send: the ASGI send callable.

    Raises:
        ValueError: the scope is not an ``http`` scope.
    """

    # Computed once per class (``__init_subclass__``): method -> (attribute name, is async).
    _handlers: ClassVar[dict[str, tuple[str, bool]]] = {}
    _allow: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # PERF: which methods exist and whether they are async is settled here, not per request.
        handlers: dict[str, tuple[str, bool]] = {}
        for method in _METHODS:
            name = method.lower()
            function = getattr(cls, name, None)
            if function is not None:
                handlers[method] = (name, is_async_callable(function))
        if "GET" in handlers and "HEAD" not in handlers:
            handlers["HEAD"] = handlers["GET"]
        cls._handlers = handlers
        cls._allow = ", ".join(method for method in _METHODS if method in handlers)

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(
                f"{type(self).__name__} serves 'http' scopes, got {scope['type']!r}. Route "
                "websockets to a WebSocketRoute."
            )
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Call the method for this request and send its response."""
        request = Request(self.scope, self.receive, self.send)
        found = self._handlers.get(request.method)
        if found is None:
            response: Any = await self.method_not_allowed(request)
        else:
            name, is_async = found
            handler: Callable[[Request], Any] = getattr(self, name)
            if is_async:
                response = await handler(request)
            else:
                response = await run_in_threadpool(handler, request)
            if not callable(response):
                raise TypeError(
                    f"{type(self).__name__}.{name}() returned {response!r}, which is not a "
                    "Response. Return a Response, for example JSONResponse(data)."
                )
        await response(self.scope, self.receive, self.send)

    async def method_not_allowed(self, request: Request) -> Response:
        """Answer a method the class does not serve: 405 with ``Allow``.

        Raises:
            HTTPException: 405, inside an application, so its handlers can answer.
        """
        headers = {"Allow": self._allow}
        if "app" in self.scope:
            raise HTTPException(405, headers=headers)
        return PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)
