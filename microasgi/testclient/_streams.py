"""Streamed responses: the app runs in a task while the test reads its body chunk by chunk.

The app's ``send`` of a body message, empty or not, waits until the test takes it (a zero-size
memory stream lies between them), so the app never runs ahead of the reader; the reader skips
empty messages. Extension messages (trailers, debug info) show on the response as soon as the app
sends them. Closing the response before its end (or leaving the ``stream()`` block early)
disconnects the client, as a server sees the connection close: the app's ``receive()`` answers
``http.disconnect`` and its ``send()`` fails (ASGI 2.4) or does nothing. An app waiting in
``send`` or ``receive`` learns it there and ends as it would on a server; an app waiting on
anything else is cancelled, as Starlette's client cancels it, so the test never hangs on it. Once
the response is complete, closing it waits for the app to return (its background tasks).
Closing the client with a response still open aborts it: the app is cancelled wherever it is,
background tasks included, as Starlette's client does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeVar

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream

from microasgi.testclient._http import Chunk, HTTPExchange, deadline
from microasgi.testclient._request import TestRequest
from microasgi.testclient._response import TestResponse
from microasgi.testclient._websocket import task_group
from microasgi.types import ASGIApp

__all__ = ["HeldStream", "StreamedResponse", "stream_exchange"]

_T = TypeVar("_T")


class StreamedResponse(TestResponse):
    """A :class:`TestResponse` whose body streams from the app while the test reads it.

    Closing it (``close()``, ``await aclose()``) before the body's end cancels the app; a sync
    iteration that reaches the end closes it, as HTTPX closes a response read to its end.
    """

    __test__ = False  # not a pytest test class, despite the name

    # Set by whoever opens the stream: what closing does, for the sync and the async client,
    # and (in the event loop) what closing the client does to a response left open.
    _on_close: Callable[[], None]
    _on_aclose: Callable[[], Awaitable[None]]
    _abort: Callable[[], None]

    def close(self) -> None:
        """Stop reading; an unfinished response stops the app (the sync client waits for it)."""
        super().close()
        self._on_close()

    async def aclose(self) -> None:
        """Stop reading; an unfinished response stops the app, and the client waits for it."""
        await super().aclose()
        await self._on_aclose()

    def _closing(self, items: Iterator[_T]) -> Iterator[_T]:
        yield from items
        self.close()

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Yield the body as it arrives (see :meth:`TestResponse.iter_bytes`); close at the end."""
        return self._closing(super().iter_bytes(chunk_size))

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        """Yield the body decoded as it arrives (see :meth:`TestResponse.iter_text`)."""
        return self._closing(super().iter_text(chunk_size))

    def iter_lines(self) -> Iterator[str]:
        """Yield the body line by line as it arrives (see :meth:`TestResponse.iter_lines`)."""
        return self._closing(super().iter_lines())


class _Core(Protocol):
    """What the stream needs of the client core (``ClientCore``)."""

    app: ASGIApp

    def respond(
        self, exchange: HTTPExchange, record: TestRequest, next_chunk: Any
    ) -> StreamedResponse: ...

    def surface(self, exchange: HTTPExchange) -> None: ...

    def fill(self, response: TestResponse, exchange: HTTPExchange) -> None: ...


class _Control:
    """What the client does to one streamed exchange: run the app, read, close, abort."""

    def __init__(
        self,
        core: _Core,
        exchange: HTTPExchange,
        chunks: MemoryObjectReceiveStream[Chunk],
        what: str,
        limit: float | None,
    ) -> None:
        self.core = core
        self.exchange = exchange
        self.chunks = chunks
        self.what = what
        self.limit = limit
        self.app_scope = anyio.CancelScope()
        self.response: StreamedResponse  # set once the app started the response

    async def run_app(self) -> None:
        with self.app_scope:
            await self.exchange.run(self.core.app)

    async def next_chunk(self) -> bytes | None:
        """The next non-empty body chunk, raw (the response undoes content-encoding); None at the end."""
        exchange = self.exchange
        while True:
            try:
                with deadline(self.limit, self.what):
                    chunk, last = await self.chunks.receive()
            except anyio.EndOfStream:
                self.core.surface(exchange)
                self.core.fill(self.response, exchange)
                return None
            if last:
                exchange.mark_delivered()
            if chunk:
                return chunk

    def cancel(self) -> None:
        """The response is closed: an unfinished one disconnects the client."""
        exchange = self.exchange
        if exchange.delivered:
            return
        # The client leaves before the end of the response. An app blocked in receive() or
        # send() gets http.disconnect or an OSError (2.4) there, and ends as on a server; one
        # waiting on anything else might wait for ever: it is cancelled.
        waits_for_client = exchange.waits_for_client()
        exchange.disconnect()
        self.chunks.close()  # fails a send() waiting for the reader
        if not waits_for_client:
            self.app_scope.cancel()

    def abort(self) -> None:
        """The client closes with this response open: cancel the app wherever it is.

        Finished body or not (background tasks too), as Starlette's client does: a forgotten
        response never hangs the test. The client is gone as well, so a shielded cleanup's
        ``send()`` fails instead of waiting for a reader.
        """
        self.app_scope.cancel()
        self.exchange.disconnect()
        self.chunks.close()

    async def finish(self) -> None:
        """Close the response and wait for the app to return."""
        self.cancel()
        with deadline(self.limit, self.what):
            await self.exchange.finished.wait()

    def extensions_changed(self) -> None:
        self.core.fill(self.response, self.exchange)


@asynccontextmanager
async def stream_exchange(
    core: _Core,
    exchange: HTTPExchange,
    chunks: MemoryObjectReceiveStream[Chunk],
    record: TestRequest,
    limit: float | None,
) -> AsyncIterator[StreamedResponse]:
    """Run ``exchange`` in a task; yield its response once started, the body still streaming."""
    control = _Control(core, exchange, chunks, f"{record.method} {record.url}", limit)
    async with task_group() as group:
        group.start_soon(control.run_app)
        with deadline(limit, control.what):
            await exchange.head_ready.wait()
        if not exchange.started:
            core.surface(exchange)
        response = control.response = core.respond(exchange, record, control.next_chunk)
        response._on_close = control.cancel
        response._on_aclose = control.finish
        response._abort = control.abort
        core.fill(response, exchange)  # trailers ([] until sent) and debug info, kept up to date
        exchange.on_extension = control.extensions_changed
        try:
            yield response
        except BaseException:
            group.cancel_scope.cancel()  # the test failed: do not wait for the app
            raise
        await control.finish()
    core.surface(exchange)
    core.fill(response, exchange)


class HeldStream:
    """A ``stream()`` context kept open in a task of the client's task group until closed.

    ``AsyncTestClient.send(request, stream=True)`` returns a response that outlives the call:
    its stream is entered in a task that waits for ``aclose()``, which then raises what the
    app raised.
    """

    def __init__(self, stream: AbstractAsyncContextManager[StreamedResponse]) -> None:
        self._stream = stream
        self._release = anyio.Event()
        self._done = anyio.Event()
        self._error: Exception | None = None
        self._response: StreamedResponse  # set by open()

    async def open(self, group: anyio.abc.TaskGroup) -> StreamedResponse:
        """Enter the stream in a task of ``group`` and return its response."""
        response: StreamedResponse = await group.start(self._run)
        self._response = response
        return response

    async def _run(self, *, task_status: anyio.abc.TaskStatus[StreamedResponse]) -> None:
        started = False
        try:
            async with self._stream as response:
                task_status.started(response)
                started = True
                await self._release.wait()
        except Exception as exc:
            if not started:
                raise  # the opener gets it, from group.start()
            self._error = exc
        finally:
            self._done.set()

    async def abort(self) -> None:
        """Cancel the app wherever it is (the client closes), then :meth:`aclose`."""
        self._response._abort()
        await self.aclose()

    async def aclose(self) -> None:
        """Leave the stream (cancelling an unfinished app), wait, and raise what the app raised."""
        self._release.set()
        await self._done.wait()
        error, self._error = self._error, None
        if error is not None:
            raise error
