"""Streamed responses: the app runs in a task while the test reads its body chunk by chunk.

The app's ``send`` of a body chunk waits until the test has taken the previous one (a zero-size
memory stream lies between them), so the app never runs ahead of the reader. Closing the response
before its end, leaving the ``stream()`` block early or closing the client disconnects the client,
as a server sees the connection close: the app's ``receive()`` answers ``http.disconnect`` and its
``send()`` fails (ASGI 2.4) or does nothing. An app waiting in ``send`` or ``receive`` learns it
there and ends as it would on a server; an app waiting on anything else is cancelled, as
Starlette's client cancels it, so the test never hangs on it. Once the response is complete,
closing waits for the app to return (its background tasks).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeVar

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream

from microasgi.testclient._http import HTTPExchange, deadline
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

    # Set by whoever opens the stream: what closing does, for the sync and the async client.
    _on_close: Callable[[], None]
    _on_aclose: Callable[[], Awaitable[None]]

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


@asynccontextmanager
async def stream_exchange(
    core: _Core,
    exchange: HTTPExchange,
    chunks: MemoryObjectReceiveStream[bytes],
    record: TestRequest,
    limit: float | None,
) -> AsyncIterator[StreamedResponse]:
    """Run ``exchange`` in a task; yield its response once started, the body still streaming."""
    what = f"{record.method} {record.url}"
    app_scope = anyio.CancelScope()

    async def run_app() -> None:
        with app_scope:
            await exchange.run(core.app)

    def cancel() -> None:
        if exchange.delivered:
            return
        # The client leaves before the end of the response. An app blocked in receive() or
        # send() gets http.disconnect or an OSError (2.4) there, and ends as on a server; one
        # waiting on anything else might wait for ever: it is cancelled.
        waits_for_client = exchange.waits_for_client()
        exchange.disconnect()
        chunks.close()  # fails a send() waiting for the reader
        if not waits_for_client:
            app_scope.cancel()

    async def finish() -> None:
        cancel()
        with deadline(limit, what):
            await exchange.finished.wait()

    async with task_group() as group:
        group.start_soon(run_app)
        with deadline(limit, what):
            await exchange.head_ready.wait()
        if not exchange.started:
            core.surface(exchange)

        async def next_chunk() -> bytes | None:
            try:
                with deadline(limit, what):
                    chunk = await chunks.receive()
            except anyio.EndOfStream:
                core.surface(exchange)
                core.fill(response, exchange)
                return None
            return chunk  # raw: the response undoes content-encoding (iter_raw() does not)

        response: StreamedResponse = core.respond(exchange, record, next_chunk)
        response._on_close = cancel
        response._on_aclose = finish
        try:
            yield response
        except BaseException:
            group.cancel_scope.cancel()  # the test failed: do not wait for the app
            raise
        await finish()
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

    async def open(self, group: anyio.abc.TaskGroup) -> StreamedResponse:
        """Enter the stream in a task of ``group`` and return its response."""
        response: StreamedResponse = await group.start(self._run)
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

    async def aclose(self) -> None:
        """Leave the stream (cancelling an unfinished app), wait, and raise what the app raised."""
        self._release.set()
        await self._done.wait()
        error, self._error = self._error, None
        if error is not None:
            raise error
