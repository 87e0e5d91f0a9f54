"""Middleware declarations, ``Middleware(cls, *args, **kwargs)``, and helpers for writing them.

A middleware is a plain ASGI class: ``__init__(app, **options)`` and ``async __call__(scope,
receive, send)``. ``Middleware`` records the class and its options so an application, router, mount
or route can build the stack once, when it starts. The options are checked twice: by mypy (the class
is typed through a ``ParamSpec``, so a misspelt option fails type checking) and at construction
against the class's signature (so it fails at import time, not at the first request).

The helpers keep plain ASGI middleware short: ``edit_response_headers`` wraps ``send`` to change
the response's headers, ``read_body`` reads the request body once and hands on a ``receive`` that
replays it downstream.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator, Sequence
from types import EllipsisType
from typing import Any, Generic, Protocol

from typing_extensions import ParamSpec

from microasgi._asgi.concurrency import is_async_callable
from microasgi.datastructures import MutableHeaders
from microasgi.exceptions import HTTPException
from microasgi.requests import DEFAULT_MAX_BODY_SIZE, MAX_BODY_SIZE_KEY, ClientDisconnect
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Middleware", "edit_response_headers", "read_body"]

P = ParamSpec("P")


class _MiddlewareFactory(Protocol[P]):
    def __call__(self, app: ASGIApp, /, *args: P.args, **kwargs: P.kwargs) -> ASGIApp: ...


class Middleware(Generic[P]):
    """A middleware class and the options to build it with.

    ``Middleware(GZipMiddleware, minimum_size=1000)`` builds ``GZipMiddleware(app,
    minimum_size=1000)`` when the stack is assembled. It unpacks as ``cls, args, kwargs`` like
    Starlette's, so code that iterates over it keeps working.

    Args:
        cls: the middleware class (or any factory ``cls(app, *args, **kwargs) -> ASGI app``).
        *args: positional options, after ``app``.
        **kwargs: keyword options.

    Raises:
        TypeError: ``cls`` is not callable, or does not accept these options.
    """

    __slots__ = ("args", "cls", "kwargs")

    def __init__(self, cls: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs) -> None:
        if not callable(cls):
            raise TypeError(
                f"Middleware needs a middleware class (or factory), got {cls!r}. "
                "Pass the class itself: Middleware(GZipMiddleware, minimum_size=1000)."
            )
        _check_options(cls, args, kwargs)
        self.cls = cls
        self.args: tuple[Any, ...] = args
        self.kwargs: dict[str, Any] = kwargs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.cls, self.args, self.kwargs))

    def build(self, app: ASGIApp) -> ASGIApp:
        """Return ``app`` wrapped in this middleware: ``cls(app, *args, **kwargs)``."""
        return self.cls(app, *self.args, **self.kwargs)

    def __repr__(self) -> str:
        options = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"Middleware({', '.join([_name(self.cls), *options])})"


def _name(cls: Any) -> str:
    return str(getattr(cls, "__name__", repr(cls)))


def _check_options(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Raise now, not at the first request, when ``cls(app, *args, **kwargs)`` cannot bind."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return  # Some builtins and C types have no signature: nothing to check against.
    try:
        signature.bind(None, *args, **kwargs)
    except TypeError as exc:
        raise TypeError(
            f"{_name(cls)} does not accept these options: {exc}. "
            f"Its signature is {_name(cls)}{signature}."
        ) from None


def _build_stack(app: ASGIApp, middleware: Sequence[Middleware[Any]] | None) -> ASGIApp:
    """Wrap ``app`` so the first middleware listed is the outermost (it sees requests first)."""
    for item in reversed(middleware or ()):
        app = item.build(app)
    return app


# --- helpers for writing middleware ------------------------------------------------------------

HeaderEditor = Callable[[MutableHeaders, int], Awaitable[None] | None]
"""``edit(headers, status)``, a plain or async function that changes ``headers`` in place."""

_START_TYPES = frozenset({"http.response.start", "websocket.http.response.start"})


def edit_response_headers(send: Send, edit: HeaderEditor) -> Send:
    """Wrap ``send`` so ``edit(headers, status)`` can change the response's headers.

    ``edit`` is called once, with the ``http.response.start`` (or websocket denial start)
    message's headers as ``MutableHeaders`` and its status code, just before the message goes
    out; every other message passes through untouched. The header list is copied first, so a
    ``Response`` reused across requests is never changed, and every name and value written is
    validated (no CR, LF or NUL reaches the wire).

    Args:
        send: the ``send`` the middleware was given.
        edit: a plain or async function ``(headers, status) -> None``.

    Returns:
        The ``send`` to hand to the wrapped app.
    """
    if is_async_callable(edit):

        async def send_edited_async(message: Message) -> None:
            if message["type"] in _START_TYPES:
                message = {**message, "headers": list(message.get("headers") or ())}
                await edit(MutableHeaders(scope=message), message["status"])  # type: ignore[misc]
            await send(message)

        return send_edited_async

    async def send_edited(message: Message) -> None:
        if message["type"] in _START_TYPES:
            message = {**message, "headers": list(message.get("headers") or ())}
            edit(MutableHeaders(scope=message), message["status"])
        await send(message)

    return send_edited


class _Replay:
    """A ``receive`` that first returns the body read before, then defers to the original."""

    __slots__ = ("_body", "_receive")

    def __init__(self, body: bytes, receive: Receive) -> None:
        self._body: bytes | None = body
        self._receive = receive

    async def __call__(self) -> Message:
        body = self._body
        if body is None:
            # After the body: what the server says next (http.disconnect, eventually).
            return await self._receive()
        self._body = None
        return {"type": "http.request", "body": body, "more_body": False}


async def read_body(
    scope: Scope, receive: Receive, *, max_body_size: int | EllipsisType | None = ...
) -> tuple[bytes, Receive]:
    """Read the whole request body, and return it with a ``receive`` that replays it.

    Hand the returned ``receive`` to the wrapped app: its first call gives the body in one
    ``http.request`` message, later calls go to the server's ``receive`` (``http.disconnect``
    when the client leaves). Use it to look at the body in a middleware (a signature check,
    logging) without taking it from the app. Over a microasgi app, ``Request(scope,
    receive).body()`` does the same and is shared with the endpoint.

    Args:
        scope: the request's scope (for ``Content-Length`` and the body cap).
        receive: the ``receive`` the middleware was given.
        max_body_size: the cap in bytes, or None for none; left out, ``scope[MAX_BODY_SIZE_KEY]``
            if set, else ``DEFAULT_MAX_BODY_SIZE``.

    Returns:
        ``(body, receive)``: the body and the replaying ``receive``.

    Raises:
        HTTPException: 413 when ``Content-Length`` or the bytes received pass the cap; reading
            stops there.
        ClientDisconnect: the client left before the end of the body.
    """
    limit = (
        scope.get(MAX_BODY_SIZE_KEY, DEFAULT_MAX_BODY_SIZE)
        if max_body_size is ...
        else max_body_size
    )
    if limit is not None:
        for name, value in scope["headers"]:
            # SECURITY: refuse a declared oversize body before reading a byte of it.
            if (
                name == b"content-length"
                and value.isdigit()
                and (len(value) > 19 or int(value) > limit)
            ):
                raise _too_large(limit)
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect("The client disconnected while the request body was read.")
        chunk: bytes = message.get("body", b"")
        if chunk:
            total += len(chunk)
            if limit is not None and total > limit:
                raise _too_large(limit)  # SECURITY: stop at the first chunk past the cap
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, _Replay(body, receive)


def _too_large(limit: int) -> HTTPException:
    # Starlette's text, as every 413 for the body cap (microasgi._asgi.body._too_large_detail).
    return HTTPException(413, detail="Content Too Large")
