"""``BaseHTTPMiddleware``: Starlette's ``dispatch(request, call_next)``, without its flaws.

Subclass it and override ``async def dispatch(self, request, call_next)``, or pass
``dispatch=function``; ``response = await call_next(request)`` runs the rest of the app and returns
its response once the app has started it, with the body still to come. It exists for the apps
and libraries that port from Starlette; a plain ASGI middleware is faster and simpler (see the
middleware docs page).

**Design.** ``call_next`` returns a response object while the app may still be producing the
body, so the app cannot run to its end inside ``call_next``: it runs in a child task of a task
group the middleware opens around ``dispatch`` and the sending of dispatch's response. Running the
app in dispatch's own task instead (until the response starts, then resuming it from the body
iterator) would share the context for free, but it leaves the app's cancel scopes and task groups
open underneath dispatch's code, and across whichever task iterates the body, which anyio and trio
refuse. Each flaw Starlette's version draws from its second task is fixed where it arises:

- **Context variables, both ways.** The child task starts inside ``call_next``, so it inherits a
  copy of dispatch's context: values set before ``call_next`` reach the endpoint. When the app
  sends ``http.response.start`` (or ends without a response), the child takes a snapshot of its
  context, and ``call_next`` sets, in dispatch's context, every variable whose value differs
  before returning: values set by the endpoint are visible to dispatch, as with a plain ASGI
  middleware. (Values set while the body streams stay with the app.)
- **Streaming with backpressure.** The app's messages cross a memory object stream with no buffer:
  each ``send`` of the app returns once the response's body iterator has taken the message, so one
  chunk is in flight at a time and nothing is buffered.
- **Background tasks.** The app's last message (the final body, a ``pathsend``, or the trailers)
  is held until dispatch's response has been sent; then the app goes on, runs its background
  tasks, and the middleware waits for the child task before returning: never cancelled.
- **Errors as themselves.** The child task catches the app's exception and hands it to whoever
  waits for the app: ``call_next`` raises it (before the response started), the body iterator
  raises it (while streaming), the middleware raises it at the end (a background task's). Nothing
  escapes the task group, so nothing arrives wrapped in an exception group.
- **The request body and disconnects.** Dispatch's ``Request`` is over the server's ``receive``;
  the app gets a ``receive`` that compares equal to it, so a ``Request`` built over either shares
  dispatch's body reader through the scope: the body, JSON or form read in dispatch is there for
  the endpoint. An app that calls ``receive`` itself (or sits behind a middleware that wraps it)
  gets back what dispatch's reader took: the body it read (an empty one after a ``stream()``),
  the messages ``is_disconnected()`` set aside, then the server's own, and the reader learns what
  went past it, so ``request.is_disconnected()`` in dispatch sees the app's ``http.disconnect``.
- **Discarded responses.** When the response ``call_next`` returned is not sent (dispatch returns
  another one, or closes the body iterator), the app's next ``send`` raises ``OSError``, as a
  server's does once the client has gone (ASGI 2.4), and its ``receive`` answers
  ``http.disconnect``: the app stops as it would for a client that left, and the middleware waits
  for it. If dispatch raises, the app is cancelled.

Per request this costs a task group, a task, a memory object stream and a few small objects.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream

from microasgi._asgi.body import _BodyEvent, _BodyState
from microasgi._asgi.concurrency import unwrap_group
from microasgi.requests import Request
from microasgi.responses import Content, Response
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "AsyncContentStream",
    "BaseHTTPMiddleware",
    "BodyStreamGenerator",
    "DispatchFunction",
    "RequestResponseEndpoint",
]

RequestResponseEndpoint = Callable[[Request], Awaitable[Response]]
"""``call_next``: ``response = await call_next(request)`` runs the rest of the app."""

DispatchFunction = Callable[[Request, RequestResponseEndpoint], Awaitable[Response]]
"""``async def dispatch(request, call_next) -> Response``, given as ``dispatch=``."""

BodyStreamGenerator = AsyncGenerator[bytes | MutableMapping[str, Any], None]
"""The ``body_iterator`` of a response from ``call_next``: the body's chunks as ``bytes``, and the
app's other messages after the start (``http.response.pathsend``, trailers, push) as they are."""

AsyncContentStream = AsyncIterable[Content | MutableMapping[str, Any]]
"""What dispatch may set as the ``body_iterator`` of a response from ``call_next``: the chunks of
``microasgi.responses.AsyncContentStream`` (``Content``), and the app's other messages. As in
Starlette, every ``responses.AsyncContentStream`` is one of these."""

_UNSET: Any = object()
_NO_CONTEXT = contextvars.Context()
_LAST_BODY: Message = {"type": "http.response.body", "body": b"", "more_body": False}


class _Discarded(OSError):
    """What the app's ``send`` raises once its response will not be sent (an ``OSError``, as a
    server raises once the client has gone, so responses stop quietly)."""


class BaseHTTPMiddleware:
    """A middleware written as ``dispatch(request, call_next) -> Response``, as in Starlette.

    Only ``http`` requests go through ``dispatch``; other scopes pass straight to the app.
    Unlike Starlette's, context variables cross ``call_next`` both ways, responses stream as
    they are produced, background tasks run after the response and are never cancelled, the
    body read in ``dispatch`` is read again by the endpoint, disconnects reach the app, and
    errors arrive as themselves (see the module's docstring for how).

    Args:
        app: the app to wrap.
        dispatch: ``async def dispatch(request, call_next) -> Response``; left out, the
            subclass's ``dispatch`` method.

    Raises:
        TypeError: ``dispatch`` is not callable.
    """

    def __init__(self, app: ASGIApp, dispatch: DispatchFunction | None = None) -> None:
        if dispatch is not None and not callable(dispatch):
            raise TypeError(
                f"BaseHTTPMiddleware dispatch must be an async function (request, call_next) -> "
                f"Response, got {dispatch!r}."
            )
        self.app = app
        self.dispatch_func: DispatchFunction = self.dispatch if dispatch is None else dispatch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        failure: Exception | None = None
        async with anyio.create_task_group() as task_group:
            call = _Call(self.app, request, send, task_group)
            try:
                response = await self.dispatch_func(request, call.call_next)
                if not callable(response):
                    raise TypeError(
                        f"dispatch must return a response, got {response!r}. Return the one "
                        "from `await call_next(request)`, or a Response of your own."
                    )
                await response(scope, receive, send)
            except Exception as exc:
                failure = exc
                # The app's response will never be sent: stop the app, wherever it is.
                task_group.cancel_scope.cancel()
            finally:
                call.close()
        if failure is None:
            failure = call.take_error()  # raised after the response: a background task's
        if failure is not None:
            raise failure

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        """Handle one request: override this (or pass ``dispatch=``).

        ``response = await call_next(request)`` runs the rest of the app; return it (headers may
        be changed first), or return a response of your own.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no dispatch: override `async def dispatch(self, request, "
            "call_next)` in the subclass, or pass BaseHTTPMiddleware(app, dispatch=function)."
        )


def _is_last(message: Message, trailers: bool) -> bool:
    """Tell whether ``message`` ends the response (``trailers``: the start announced some)."""
    kind: str = message["type"]
    if trailers:
        return kind == "http.response.trailers" and not message.get("more_trailers", False)
    if kind == "http.response.body" or kind == "http.response.zerocopysend":
        return not message.get("more_body", False)
    return kind == "http.response.pathsend"


def _is_discard(exc: Exception) -> bool:
    """Tell whether the app stopped on the ``_Discarded`` its ``send`` raised (maybe grouped)."""
    if isinstance(exc, BaseExceptionGroup):
        return isinstance(unwrap_group(exc), _Discarded)
    return isinstance(exc, _Discarded)


async def _take(rx: MemoryObjectReceiveStream[Message]) -> Message | None:
    """The app's next message, or None once it has ended."""
    try:
        return await rx.receive()
    except anyio.EndOfStream:
        return None


def _adopt(context: contextvars.Context) -> None:
    """Set, in the current context, every variable whose value differs in ``context``."""
    current = contextvars.copy_context()
    for var, value in context.items():
        if current.get(var, _UNSET) is not value:
            var.set(value)


class _Call:
    """One request's run of the app: started by ``call_next``, released by ``close``."""

    __slots__ = (
        "_app",
        "_called",
        "_closed",
        "_context",
        "_error",
        "_info",
        "_receive",
        "_request",
        "_rx",
        "_send",
        "_sent",
        "_started",
        "_task_group",
        "_trailers",
        "_tx",
    )

    def __init__(
        self, app: ASGIApp, request: Request, send: Send, task_group: anyio.abc.TaskGroup
    ) -> None:
        self._app = app
        self._request = request
        self._send = send
        self._task_group = task_group
        self._called = self._closed = self._started = self._trailers = False
        # The app's context when it started its response (or ended without one).
        self._context = _NO_CONTEXT
        self._error: Exception | None = None
        self._info: Any = None
        self._sent: anyio.Event | None = None

    async def call_next(self, request: Request) -> Response:
        """Run the app until it starts its response; return that response, body to come."""
        if self._called:
            raise RuntimeError(
                "call_next() was already called for this request: it runs the app once. Keep "
                "the response the first call returned."
            )
        self._called = True
        self._receive = _Receive(self._request)
        self._tx, self._rx = anyio.create_memory_object_stream[Message](0)
        # Started here, so the app's task inherits dispatch's context as it is now.
        self._task_group.start_soon(self._run)
        start = await _take(self._rx)
        _adopt(self._context)
        if start is None:
            error = self.take_error()
            if error is not None:
                raise error  # raised outside the except clause: its context stays the app's
            raise RuntimeError("No response returned.")
        return _CallNextResponse(start, self._info, self._body())

    async def _run(self) -> None:
        try:
            await self._app(self._request.scope, self._receive, self._app_send)
        except Exception as exc:
            if not (self._closed and _is_discard(exc)):
                self._error = exc
        finally:
            if not self._started:
                self._context = contextvars.copy_context()
            self._tx.close()

    async def _app_send(self, message: Message) -> None:
        if self._closed:
            raise _Discarded("The response will not be sent (dispatch dropped it): stop sending.")
        if not self._started:
            kind = message["type"]
            if kind == "http.response.debug":
                self._info = message.get("info")  # sent again with the response, if it is sent
                return
            if kind != "http.response.start":
                await self._send(message)  # early hints and the like go out at once
                return
            self._started = True
            self._trailers = bool(message.get("trailers", False))
            self._context = contextvars.copy_context()
        try:
            await self._tx.send(message)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise _Discarded(
                "The response will not be sent (dispatch dropped it): stop sending."
            ) from None
        if _is_last(message, self._trailers) and not self._closed:
            # Held until dispatch's response is out, so the app's background tasks run after it.
            sent = self._sent = anyio.Event()
            await sent.wait()

    async def _body(self) -> BodyStreamGenerator:
        finished = False
        try:
            while not finished:
                message = await _take(self._rx)
                if message is None:
                    error = self.take_error()
                    if error is not None:
                        raise error
                    return
                finished = _is_last(message, self._trailers)
                if message["type"] != "http.response.body":
                    yield message
                elif message.get("body"):
                    yield message["body"]
        finally:
            if not finished:
                self.close()  # closed before the end: nobody will send the rest

    def take_error(self) -> Exception | None:
        """The app's exception nobody has raised yet (then forgotten: it is raised once)."""
        error, self._error = self._error, None
        return error

    def close(self) -> None:
        """The response is over, sent or dropped: release the app."""
        if self._closed or not self._called:
            return
        self._closed = True
        self._receive.close()
        self._rx.close()
        self._tx.close()
        if self._sent is not None:
            self._sent.set()


class _Receive:
    """The app's ``receive``: the server's, after what dispatch's ``Request`` took from it.

    It compares equal to the server's ``receive`` (``Request`` compares channels with ``==``),
    so a ``Request`` built over it shares dispatch's body reader; the exceptions are a reader in
    the middle of a stream, or whose stream was read without keeping the body, which cannot be
    shared: a ``Request`` over this one then reads what it replays.
    """

    __slots__ = ("_closed", "_delivered", "_owned", "_reader", "_receive")

    def __init__(self, request: Request) -> None:
        self._receive = request.receive
        # Created now if dispatch never read the body, so it learns what the app takes.
        self._reader = request._body_reader()
        # A reader over an outer middleware's receive is that middleware's to keep up to date.
        self._owned = self._reader.receive is self._receive
        self._delivered = False  # the body's last message was handed to the app
        self._closed = False

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        reader = self._reader
        if reader.state is _BodyState.STREAMING or (
            reader.state is _BodyState.CONSUMED and reader.body is None and reader.form is None
        ):
            return False
        return bool(self._receive == other)

    def __hash__(self) -> int:
        return hash(self._receive)

    def close(self) -> None:
        self._closed = True

    async def __call__(self) -> Message:
        if self._closed:
            return {"type": "http.disconnect"}  # the response is over: nobody is listening
        if self._owned:
            message = self._replay()
            if message is not None:
                return message
        message = await self._receive()
        if self._owned:
            self._track(message)
        return message

    def _replay(self) -> Message | None:
        """What dispatch's reader holds for the app, if anything: the body, then the rest."""
        reader = self._reader
        if reader.state is _BodyState.CONSUMED:
            if not self._delivered:
                self._delivered = True
                return {"type": "http.request", "body": reader.body or b"", "more_body": False}
        elif reader.pending and reader.pending[0].get("type") == "http.request":
            # Taken by is_disconnected() and never read by dispatch: the app's, in order.
            message = reader.pending.popleft()
            reader.pending_size -= len(message.get("body", b"")) + 1
            self._track(message)
            return message
        if reader.disconnected:
            return {"type": "http.disconnect"}
        return None

    def _track(self, message: Message) -> None:
        """Keep dispatch's reader in step with what the app received."""
        reader = self._reader
        kind = message.get("type")
        if kind == "http.request":
            more = bool(message.get("more_body", False))
            if reader.state is _BodyState.UNREAD:
                reader.step(_BodyEvent.START)
                if not more:
                    reader.body = message.get("body", b"")  # whole: dispatch may read it too
            if not more and reader.state is _BodyState.STREAMING:
                reader.step(_BodyEvent.END)
            self._delivered = self._delivered or not more
        elif kind == "http.disconnect":
            reader.disconnected = True
            if reader.state is _BodyState.UNREAD or reader.state is _BodyState.STREAMING:
                # Where dispatch's own read will find it, and raise ClientDisconnect.
                reader.pending.append(message)
                reader.pending_size += 1


async def _emit(send: Send, message: Message) -> bool:
    """Send ``message``; False when the client has gone (ASGI 2.4 ``OSError``)."""
    try:
        await send(message)
    except OSError:
        return False
    return True


class _CallNextResponse(Response):
    """The app's response as ``call_next`` returns it: status and headers now, the body as the
    app sends it (``body_iterator``)."""

    def __init__(self, start: Message, info: Any, body: BodyStreamGenerator) -> None:
        self.status_code = start["status"]
        # A copy: dispatch may edit the headers, and the app's list may belong to a reused
        # Response.
        self.raw_headers = list(start.get("headers") or ())
        self.background = None
        self.info = info
        self.body_iterator: AsyncContentStream = body
        self._start = start

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exhausted = False
        try:
            exhausted = await self._stream(send)
        finally:
            if not exhausted:
                await self._close_iterator()
        if self.background is not None:
            await self.background()

    async def _stream(self, send: Send) -> bool:
        """Send the response; True when the body iterator was read to its end."""
        if self.info is not None:
            if not await _emit(send, {"type": "http.response.debug", "info": self.info}):
                return False
        start = {**self._start, "status": self.status_code, "headers": self.raw_headers}
        if not await _emit(send, start):
            return False
        body_done = False
        async for piece in self.body_iterator:
            message: Message
            if not isinstance(piece, MutableMapping):
                message = {
                    "type": "http.response.body",
                    "body": self._encode(piece),
                    "more_body": True,
                }
            elif piece["type"] == "http.response.trailers":
                message = piece
                # SPEC: trailers follow the body's last message.
                if not body_done and not await _emit(send, {**_LAST_BODY}):
                    return False
                body_done = True
            else:
                message = piece
                body_done = body_done or _is_last(message, False)
            if not await _emit(send, message):
                return False
        if not body_done:
            await _emit(send, {**_LAST_BODY})
        return True

    def _encode(self, piece: object) -> bytes | memoryview:
        if isinstance(piece, bytes | memoryview):
            return piece
        if isinstance(piece, str):
            return piece.encode(self.charset)
        raise TypeError(
            f"A body_iterator must yield str, bytes, memoryview or ASGI messages, got "
            f"{type(piece).__name__}: {piece!r}."
        )

    async def _close_iterator(self) -> None:
        aclose = getattr(self.body_iterator, "aclose", None)
        if aclose is not None:
            # Shielded: this may run while the response is being cancelled.
            with anyio.CancelScope(shield=True):
                await aclose()
