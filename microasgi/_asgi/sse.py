"""Server-Sent Events: ``ServerSentEvent`` framing and ``EventSourceResponse``.

Re-exported from ``microasgi.responses``. The response is a ``StreamingResponse`` whose chunks are
encoded events, so it inherits its disconnect handling: the producer stops, and is closed, as soon
as the client leaves, on every ASGI spec version. What it adds is the framing (WHATWG HTML,
"Server-sent events", section 9.2), keep-alive pings while the producer is idle, and the end of
the stream when the application drains (a last event, a ``retry:`` hint).
"""

from __future__ import annotations

import dataclasses
import reprlib
import sys
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

import anyio
import anyio.abc

from microasgi._asgi.concurrency import collapse_excgroups
from microasgi._asgi.drain import Drain, current_asyncio_task, drain_of
from microasgi._asgi.streaming import StreamingResponse
from microasgi.background import BackgroundTask
from microasgi.types import Receive, Scope, Send

if TYPE_CHECKING:
    import asyncio

    from microasgi._asgi.connection import HTTPConnection

# The fields an event dict may hold: ServerSentEvent's arguments.
_FIELDS = frozenset({"data", "event", "id", "retry", "comment"})
# Headers every event stream needs unless the caller gave their own: caches must not keep the
# stream, and nginx must not buffer it (X-Accel-Buffering). No Connection header: it is
# hop-by-hop, the server's business, and forbidden on HTTP/2.
_STREAM_HEADERS = ((b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no"))
_PING = b": ping\n\n"
_LINE_BREAKS = "\r\n"
# SPEC: a client ignores an id holding NUL, so the event would silently lose its id.
_ID_FORBIDDEN = "\0\r\n"


def _lines(text: str) -> list[str]:
    # SPEC: CRLF, a lone CR and a lone LF all end a line in an event stream, so each is a split
    # point. str.splitlines() would also split on \v, \f, \x1c and U+2028, which must stay.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _single_line(name: str, value: str, forbidden: str) -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"ServerSentEvent {name} must be a str or None, got {type(value).__name__}: "
            f"{reprlib.repr(value)}."
        )
    if any(char in value for char in forbidden):
        # SECURITY: a line break would end the field and let the value forge other fields or
        # events on the client.
        shown = "NUL, CR or LF" if "\0" in forbidden else "CR or LF"
        raise ValueError(
            f"ServerSentEvent {name} must not contain {shown}, got {value!r}. "
            "Remove the line breaks; only data and comment may span several lines."
        )
    return value


def _frame(
    data: str | None,
    event: str | None,
    id: str | int | None,
    retry: int | None,
    comment: str | None,
) -> bytes:
    """Validate the fields of one event and return its encoded frame, blank line included."""
    lines: list[str] = []
    if comment is not None:
        if not isinstance(comment, str):
            raise TypeError(
                f"ServerSentEvent comment must be a str or None, got {type(comment).__name__}: "
                f"{reprlib.repr(comment)}."
            )
        lines.extend(f": {line}" for line in _lines(comment))
    if id is not None:
        if isinstance(id, int) and not isinstance(id, bool):
            id = str(id)
        lines.append(f"id: {_single_line('id', cast(str, id), _ID_FORBIDDEN)}")
    if event is not None:
        lines.append(f"event: {_single_line('event', event, _LINE_BREAKS)}")
    if data is not None:
        if not isinstance(data, str):
            raise TypeError(
                f"ServerSentEvent data must be a str or None, got {type(data).__name__}: "
                f"{reprlib.repr(data)}. Encode structured data first, e.g. data=json.dumps(value)."
            )
        # SPEC: the client joins several data lines with LF, so multi-line data round-trips.
        lines.extend(f"data: {line}" for line in _lines(data))
    if retry is not None:
        if not isinstance(retry, int) or isinstance(retry, bool) or retry < 0:
            raise ValueError(
                f"ServerSentEvent retry must be an int of milliseconds >= 0, got {retry!r}."
            )
        lines.append(f"retry: {retry}")
    lines.append("\n")  # the blank line that dispatches the event
    return "\n".join(lines).encode("utf-8")


@dataclasses.dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One event of an event stream, validated and encoded once, when it is built.

    Args:
        data: the payload. Several lines (split on CR, LF or CRLF) become several ``data:``
            lines, which the browser joins back with LF. Browsers dispatch no event without
            data; ``data=""`` dispatches an empty one.
        event: the event type (``addEventListener(event, ...)`` on the client); the client's
            default is ``"message"``.
        id: the event id the browser sends back as ``Last-Event-ID`` when it reconnects; an
            int is written in decimal, and ``""`` resets the client's last id.
        retry: the client's reconnection delay, in milliseconds.
        comment: a comment line (``: ...``), ignored by clients; useful to keep a connection
            alive or to annotate a stream.

    Raises:
        ValueError: ``id`` holds NUL, CR or LF, ``event`` holds CR or LF, or ``retry`` is not
            an int >= 0.
        TypeError: a field has the wrong type (``data`` must already be a str: serialise
            structured data yourself, e.g. with ``json.dumps``).
    """

    data: str | None = None
    event: str | None = None
    id: str | int | None = None
    retry: int | None = None
    comment: str | None = None
    _encoded: bytes = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        encoded = _frame(self.data, self.event, self.id, self.retry, self.comment)
        object.__setattr__(self, "_encoded", encoded)

    def encode(self) -> bytes:
        """Return the event as UTF-8 bytes, ending with the blank line that dispatches it."""
        return self._encoded


def _encode_item(item: object) -> bytes:
    """Turn one item of an ``EventSourceResponse`` producer into its encoded frame."""
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, str):
        # PERF: no ServerSentEvent object for the common case of a plain data string, and for
        # one line of it (no CR or LF to split on) not even a list: _frame's very result.
        if "\n" not in item and "\r" not in item:
            return f"data: {item}\n\n".encode()
        return _frame(item, None, None, None, None)
    if isinstance(item, bytes | bytearray | memoryview):
        return _frame(bytes(item).decode("utf-8"), None, None, None, None)
    if isinstance(item, Mapping):
        unknown = set(item) - _FIELDS
        if unknown:
            raise TypeError(
                f"EventSourceResponse got an event dict with unknown keys {sorted(unknown)!r}. "
                "Use only data, event, id, retry and comment."
            )
        # PERF: the fields validated and encoded as ServerSentEvent(**item) would, without
        # building one (a frozen dataclass costs more than the encoding).
        get = item.get
        return _frame(get("data"), get("event"), get("id"), get("retry"), get("comment"))
    raise TypeError(
        f"EventSourceResponse items must be ServerSentEvent, dict, str or bytes, got "
        f"{type(item).__name__}: {reprlib.repr(item)}."
    )


async def _aclose(iterator: object) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        # Shielded: this runs while a disconnect is cancelling the stream.
        with anyio.CancelScope(shield=True):
            await aclose()


class _Encoding:
    """The body iterator without pings: each item encoded; closing it closes the producer."""

    __slots__ = ("_events",)

    def __init__(self, events: AsyncIterator[Any]) -> None:
        self._events = events

    def __aiter__(self) -> _Encoding:
        return self

    async def __anext__(self) -> bytes:
        return _encode_item(await anext(self._events))

    async def aclose(self) -> None:
        """Close the producer, whether or not it was ever iterated."""
        await _aclose(self._events)


class _Drainable:
    """The body iterator without pings under a drain: no task, and no cancel scope per step.

    Only a drain interrupts a step (the producer awaiting its next event), and drains are rare,
    so nothing is set up per step but a flag saying that a step is in progress. The drain's
    callback (on the event loop, outside any task) marks the stream drained and, if a step is in
    progress, cancels it: on asyncio it cancels the stream's task, as ``asyncio.timeout`` does,
    and the step takes that cancellation back (``Task.uncancel``) unless someone else cancelled
    the task too; on trio, where only a scope can be cancelled, each step runs in one. The next
    step closes the producer and returns the final chunk; the one after ends the stream.
    """

    __slots__ = (
        "_baseline",
        "_cancelled",
        "_drain_held",
        "_drained",
        "_ended",
        "_events",
        "_final",
        "_scope",
        "_stepping",
        "_task",
    )

    def __init__(self, events: AsyncIterator[Any], drain: Drain, final: bytes) -> None:
        self._events = events
        self._final = final
        self._drained = drain.draining  # opened while draining: ends at once
        self._ended = False
        self._stepping = False
        # The stream's asyncio task (None on trio), its cancel count when the stream began (as
        # asyncio.timeout keeps it), and whether the drain cancelled it.
        task = self._task = current_asyncio_task()
        self._baseline = 0 if task is None else task.cancelling()
        self._cancelled = False
        self._scope: anyio.CancelScope | None = None  # trio: the step in progress
        # Held strongly: EventSourceResponse lets it go in a finally (close()).
        self._drain_held = drain.hold(self)

    def __aiter__(self) -> _Drainable:
        return self

    async def __anext__(self) -> bytes:
        if not self._drained:
            if self._task is None:
                return await self._trio_step()
            self._stepping = True
            try:
                # PERF: no scope entered or left per step (one cost a third of the stream).
                return _encode_item(await anext(self._events))
            except BaseException:
                # PERF: no "as": every stream's end passes here (StopAsyncIteration).
                if not self._cancelled or not self._taken_back(sys.exception()):
                    raise  # the end of the producer, its error, or another cancellation
            finally:
                self._stepping = False
        return await self._goodbye()

    async def _trio_step(self) -> bytes:
        self._stepping = True
        step = self._scope = anyio.CancelScope()
        try:
            with step:
                return _encode_item(await anext(self._events))
        finally:
            self._stepping = False
        return await self._goodbye()

    def _taken_back(self, exc: BaseException | None) -> bool:
        """Withdraw the drain's cancellation of the task; whether ``exc`` was only that."""
        import asyncio

        task = cast("asyncio.Task[Any]", self._task)
        self._cancelled = False
        return task.uncancel() <= self._baseline and isinstance(exc, asyncio.CancelledError)

    async def _goodbye(self) -> bytes:
        # Drained (during this step, or between two): the producer's cleanup, then the final
        # chunk, then the end.
        if self._cancelled:
            # The producer swallowed the drain's cancellation and yielded on: withdraw it.
            self._taken_back(Exception())
        if self._ended:
            raise StopAsyncIteration
        self._ended = True
        await _aclose(self._events)
        if not self._final:
            raise StopAsyncIteration
        return self._final

    def _on_drain(self) -> None:
        self._drained = True
        if not self._stepping:
            return  # between two steps (sending a chunk): the next step says goodbye
        task = self._task
        if task is None:
            cast(anyio.CancelScope, self._scope).cancel()
        else:
            self._cancelled = True
            task.cancel()

    async def aclose(self) -> None:
        """Close the producer, whether or not it was ever iterated."""
        await _aclose(self._events)

    def close(self) -> None:
        """Stop listening to the drain; called once the response is over."""
        self._drain_held.discard(self)


class _Feed:
    """The body iterator with pings or a drain: events from a producer task, in order.

    A user's async generator cannot be raced against a timeout (cancelling it mid-step ends it),
    so a producer task feeds encoded events into an unbuffered memory stream, and a timer task
    puts a ping comment into the same stream whenever nothing was sent for ``interval``
    seconds: each chunk read pushes the timer's deadline back. Reading the stream never loses
    an event, and nothing polls.

    When the application drains, a callback on the event loop cancels the producer (no task
    waits for the drain); once its cleanup has run, the producer task sends the final chunk
    (the ``retry:`` hint and the drain event) and ends the stream.
    """

    __slots__ = (
        "_drain",
        "_drain_key",
        "_drained",
        "_error",
        "_final",
        "_interval",
        "_ping_scope",
        "_produced",
        "_producer_scope",
        "_receive",
        "_send",
        "_source",
        "_started",
        "_timer",
        "task_group",
    )

    def __init__(
        self, source: AsyncIterator[Any], interval: float, drain: Drain | None, final: bytes
    ) -> None:
        self._source = source
        self._interval = interval
        self._drain = drain
        self._drain_key: object | None = None
        self._drained = False
        self._final = final
        self.task_group: anyio.abc.TaskGroup | None = None
        self._send, self._receive = anyio.create_memory_object_stream[bytes](0)
        self._producer_scope = anyio.CancelScope()
        self._ping_scope = anyio.CancelScope()
        self._produced = anyio.Event()
        self._error: Exception | None = None
        self._started = False
        # Expires after ``interval`` idle seconds; every chunk that goes out pushes it back.
        self._timer = anyio.CancelScope()

    def __aiter__(self) -> _Feed:
        return self

    async def __anext__(self) -> bytes:
        if not self._started:
            # Started on the first step, so a response that never streams (HEAD) never runs
            # the producer.
            self._started = True
            task_group = cast(anyio.abc.TaskGroup, self.task_group)
            self._timer = anyio.CancelScope(deadline=anyio.current_time() + self._interval)
            task_group.start_soon(self._ping, self._send.clone())
            if self._drain is not None:
                self._drain_key = self._drain.add_callback(self._on_drain)
            task_group.start_soon(self._produce)
        try:
            chunk = await self._receive.receive()
        except anyio.EndOfStream:
            chunk = None
        if chunk is None:
            if self._error is not None:
                raise self._error  # the producer's own exception, with its own traceback
            raise StopAsyncIteration
        self._timer.deadline = anyio.current_time() + self._interval
        return chunk

    def _on_drain(self) -> None:
        # Runs on the event loop, outside any task: it cancels, the producer task does the rest.
        self._drained = True
        self._producer_scope.cancel()

    async def aclose(self) -> None:
        """Stop the producer and wait until its cleanup has run."""
        if self._started:
            self._producer_scope.cancel()
            await self._produced.wait()
        else:
            await _aclose(self._source)

    def close(self) -> None:
        """Release the stream; called once the task group running the producer has exited."""
        # Not in aclose(): the timer may still be handing over a ping until it is cancelled.
        if self._drain is not None and self._drain_key is not None:
            self._drain.remove(self._drain_key)
        self._send.close()
        self._receive.close()

    async def _produce(self) -> None:
        try:
            with self._producer_scope:
                try:
                    async for item in self._source:
                        await self._send.send(_encode_item(item))
                except Exception as error:
                    # Handed to the reader, which raises it where a plain iterator would.
                    self._error = error
        finally:
            try:
                self._ping_scope.cancel()
                await _aclose(self._source)
                self._produced.set()
                if self._drained and self._final:
                    # After the producer's cleanup, so nothing it sends can follow the goodbye.
                    await self._send.send(self._final)
            finally:
                self._send.close()

    async def _ping(self, send: anyio.abc.ObjectSendStream[bytes]) -> None:
        interval = self._interval
        with self._ping_scope:
            async with send:
                while True:
                    # PERF: one timer per idle period, pushed back by each chunk, not one per
                    # chunk; the scope ends (quietly) only when its deadline passes.
                    with self._timer:
                        await anyio.sleep_forever()
                    await send.send(_PING)
                    self._timer = anyio.CancelScope(deadline=anyio.current_time() + interval)


def _check_ping(ping: float | None) -> float | None:
    if ping is None:
        return None
    if isinstance(ping, int | float) and not isinstance(ping, bool) and ping > 0:
        return float(ping)
    raise ValueError(
        f"EventSourceResponse ping must be a number of seconds > 0, or None to send no pings, "
        f"got {ping!r}."
    )


class EventSourceResponse(StreamingResponse):
    """A ``text/event-stream`` response: Server-Sent Events from an iterable.

    Args:
        content: an async iterable, or a plain iterable (iterated in a worker thread), of
            ``ServerSentEvent``, ``dict`` (keys as ``ServerSentEvent``'s arguments), ``str``
            or ``bytes`` (UTF-8; both sent as ``data``).
        status_code: the HTTP status.
        headers: extra headers. ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no`` are
            added unless given here.
        background: a task run after the stream ends, however it ended.
        ping: seconds of producer idleness after which a ``: ping`` comment is sent to keep
            proxies from closing the connection; ``None`` sends no pings.
        drain_event: an event (``ServerSentEvent``, dict, str or bytes, as the producer
            yields) sent last when the application drains; ``None`` sends none.
        drain_retry: the reconnection delay, in milliseconds, sent (as ``retry:``) last when
            the application drains, so the browser reconnects soon, to a server that is not
            stopping; ``None`` sends no hint.

    The producer stops, and is closed, as soon as the client disconnects (see
    ``StreamingResponse``), and when the application drains (``MicroASGI.begin_drain()``):
    then ``drain_event`` and the ``retry:`` hint are sent and the response ends. An exception
    from the producer propagates as itself.

    Raises:
        TypeError: ``content`` is not an iterable of events (a single event, a dict or a str),
            or ``drain_event`` is not an event.
        ValueError: ``ping`` is not a number > 0 or None, ``drain_retry`` is not an int >= 0
            or None, or a header is invalid.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterable[Any] | Iterable[Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
        *,
        ping: float | None = 15,
        drain_event: ServerSentEvent | Mapping[str, Any] | str | bytes | None = None,
        drain_retry: int | None = 1000,
    ) -> None:
        if isinstance(content, str | bytes | bytearray | memoryview | Mapping | ServerSentEvent):
            raise TypeError(
                f"EventSourceResponse content must be an iterable or async iterable of events, "
                f"got {type(content).__name__}: {reprlib.repr(content)}. To send one event, "
                "wrap it in a list."
            )
        if not isinstance(content, AsyncIterable | Iterable):
            raise TypeError(
                f"EventSourceResponse content must be an iterable or async iterable of events, "
                f"got {type(content).__name__}: {reprlib.repr(content)}. Use an async "
                "generator that yields ServerSentEvent, dict, str or bytes items."
            )
        self.ping_interval = _check_ping(ping)
        """Seconds of producer idleness before a ping comment, or None for no pings."""
        # Encoded now, so a bad drain event fails here rather than while the server stops.
        self._drain_chunk = (b"" if drain_event is None else _encode_item(drain_event)) + (
            b"" if drain_retry is None else _frame(None, None, None, drain_retry, None)
        )
        super().__init__(cast(Any, content), status_code, headers, background=background)
        # StreamingResponse turned a sync iterable into an async one (and keeps the original to
        # close it); the events get encoded on their way to the wire.
        self._events: AsyncIterator[Any] = aiter(self.body_iterator)
        self.body_iterator = _Encoding(self._events)
        names = {name for name, _ in self.raw_headers}
        self.raw_headers.extend(item for item in _STREAM_HEADERS if item[0] not in names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream the events, with pings while the producer is idle; stop when the client leaves
        or the application drains.

        The background task runs after the stream is over, whether it completed, the client
        disconnected or the application drained.
        """
        if scope["type"] != "http" or scope.get("method") == "HEAD":
            await super().__call__(scope, receive, send)
            return
        drain = drain_of(scope)
        if self.ping_interval is None:
            if drain is None:
                await super().__call__(scope, receive, send)
                return
            # PERF: no pings, so no task: the drain cancels the producer's step in place.
            drainable = _Drainable(self._events, drain, self._drain_chunk)
            self.body_iterator = drainable
            try:
                await super().__call__(scope, receive, send)
            finally:
                drainable.close()
            return
        events = _Feed(self._events, self.ping_interval, drain, self._drain_chunk)
        self.body_iterator = events
        try:
            with collapse_excgroups():
                async with anyio.create_task_group() as task_group:
                    events.task_group = task_group
                    try:
                        await super().__call__(scope, receive, send)
                    finally:
                        task_group.cancel_scope.cancel()
        finally:
            events.close()


def last_event_id(connection: HTTPConnection) -> str | None:
    """Return the ``Last-Event-ID`` a reconnecting browser sent, or None.

    The browser sends back the id of the last event it received, encoded as UTF-8, so a
    stream can resume where it stopped. ``request.headers["last-event-id"]`` would decode it as
    Latin-1 (as every header is); this decodes it as UTF-8. A value that is not valid UTF-8 or
    holds NUL, which no id this module sends can produce, counts as absent.
    """
    for name, value in connection.scope["headers"]:
        if name == b"last-event-id":
            try:
                text: str = value.decode("utf-8")
            except UnicodeDecodeError:
                return None
            return None if "\0" in text else text
    return None
