"""One HTTP request/response exchange with an app, as a real server runs it.

The exchange feeds the request body through ``receive`` (``http.request`` chunks with
``more_body``, then ``http.disconnect`` once the body is delivered and the response complete or the
client gone), checks every message the app sends with :class:`HTTPResponseChecker`, and hands the
response to the client: buffered (a list of chunks) or streamed through a zero-size memory object
stream given by the client, one :data:`Chunk` per body message (empty ones too, so the app never
runs ahead of the reader).
"""

from __future__ import annotations

import enum
import os
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectSendStream

from microasgi.testclient._driver import HTTPResponseChecker, HTTPState
from microasgi.testclient._messages import ASGIProtocolError, ClientDisconnectedError, check_headers
from microasgi.types import ASGIApp, Message, Scope

__all__ = ["Chunk", "HTTPExchange", "RequestBody", "RequestState", "deadline"]

RequestBody = bytes | Iterable[bytes | str] | AsyncIterable[bytes | str]
Chunk = tuple[bytes, bool]
"""A streamed body message: its bytes (empty for ``HEAD``) and whether it ends the response."""

_READ_SIZE = 64 * 1024


class RequestState(enum.Enum):
    """The server side of ``receive``: the request body, then the disconnect."""

    STREAMING = "streaming the request body"
    COMPLETE = "body delivered, waiting for the response to complete"
    DISCONNECTED = "disconnected"


@contextmanager
def deadline(timeout: float | None, what: str) -> Iterator[None]:
    """Bound the wait for the app by ``timeout`` seconds (None: no bound), naming ``what``."""
    if timeout is None:
        yield
        return
    try:
        with anyio.fail_after(timeout):
            yield
    except TimeoutError:
        raise TimeoutError(
            f"The app did not answer {what} within timeout={timeout!r} seconds. Look for an await "
            "that never completes (an event never set, a body never sent), or raise the timeout."
        ) from None


async def _chunks(content: RequestBody) -> AsyncGenerator[bytes, None]:
    if isinstance(content, bytes):
        if content:
            yield content
        return
    if isinstance(content, AsyncIterable):
        iterator = aiter(content)
        try:
            async for chunk in iterator:
                yield _as_bytes(chunk)
        finally:
            # The app may answer before reading the whole body (a 413, say): close the caller's
            # generator now rather than leave it to the garbage collector.
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
    else:
        for chunk in content:
            yield _as_bytes(chunk)


def _as_bytes(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    raise TypeError(
        f"A request body iterator must yield bytes or str, got {type(chunk).__name__}: {chunk!r}."
    )


def _read_fd(file: IO[bytes], offset: int | None, count: int | None) -> bytes:
    """Read what ``os.sendfile(out, file, offset, count)`` would send, moving the position alike."""
    fd = file.fileno()
    start = os.lseek(fd, 0, os.SEEK_CUR) if offset is None else offset
    parts: list[bytes] = []
    position, remaining = start, count
    while remaining is None or remaining > 0:
        part = os.pread(
            fd, _READ_SIZE if remaining is None else min(remaining, _READ_SIZE), position
        )
        if not part:
            break
        parts.append(part)
        position += len(part)
        remaining = None if remaining is None else remaining - len(part)
    if offset is None:
        # SPEC: without an offset, sendfile reads from the current position and advances it.
        os.lseek(fd, position, os.SEEK_SET)
    return b"".join(parts)


def _read_path(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise ASGIProtocolError(
            "http.response.pathsend.path",
            f"'http.response.pathsend' names {path!r}, which the server cannot read: {exc}.",
        ) from None


class HTTPExchange:
    """Run one request through ``app`` and collect (or stream) its response.

    Args:
        scope: the complete ``http`` scope.
        body: the request body: bytes, or a sync or async iterable of bytes/str chunks.
        spec_version: the advertised ``asgi.spec_version``; from (2, 4) a ``send`` after the client
            has gone raises ``OSError``, below it is a no-op.
        chunks: when given, the body is streamed: each body message is sent there as a
            :data:`Chunk` as the app sends it (give a zero-size stream and the app waits for the
            reader: truly incremental). The reader calls :meth:`mark_delivered` when it takes
            the last one.
        strict: check the messages against the spec's rules, not only what servers accept.
    """

    def __init__(
        self,
        scope: Scope,
        body: RequestBody,
        *,
        spec_version: tuple[int, int],
        chunks: MemoryObjectSendStream[Chunk] | None = None,
        strict: bool = False,
    ) -> None:
        self.scope = scope
        self.checker = HTTPResponseChecker(
            scope.get("extensions") or {}, scope["method"], strict=strict
        )
        self.request_state = RequestState.STREAMING
        self.chunks: list[bytes] = []
        self.extension_messages: list[Message] = []
        self.error: Exception | None = None
        self.protocol_error: ASGIProtocolError | None = None
        self.client_gone = False
        self.head_ready = anyio.Event()
        self.finished = anyio.Event()
        self._done = anyio.Event()
        self._body = _chunks(body)
        self._lookahead: bytes | None = None
        self._raise_after_close = spec_version >= (2, 4)
        self._send_chunk = chunks
        # Called after each extension message (trailers, debug, ...): a streamed response shows
        # them while the body still streams.
        self.on_extension: Callable[[], None] | None = None

    @property
    def delivered(self) -> bool:
        """Whether the whole response reached the client (or the exchange is over)."""
        return self._done.is_set()

    @property
    def started(self) -> bool:
        """Whether the app has sent ``http.response.start``."""
        return self.checker.status != 0

    # --- the server's side of the ASGI calls -----------------------------------------------------

    async def receive(self) -> Message:
        """``receive`` for the app: body chunks, then ``http.disconnect`` when it is time."""
        if self._done.is_set():
            # SPEC: once the response is complete (or the client gone) the exchange is over: a
            # server answers http.disconnect, an unread request body is dropped (as uvicorn).
            # Without a checkpoint: a poll under a cancelled scope (request.is_disconnected())
            # must see it, not be cancelled before it.
            self.request_state = RequestState.DISCONNECTED
        if self.request_state is RequestState.STREAMING:
            chunk = self._lookahead
            if chunk is None:
                chunk = await anext(self._body, b"")
            self._lookahead = await anext(self._body, None)
            more_body = self._lookahead is not None
            if not more_body:
                self.request_state = RequestState.COMPLETE
            return {"type": "http.request", "body": chunk, "more_body": more_body}
        if self.request_state is RequestState.COMPLETE:
            # SPEC: a server reports the disconnect once the response is sent (or the client left).
            await self._done.wait()
            self.request_state = RequestState.DISCONNECTED
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        """``send`` for the app: check the message against the state table and act on it."""
        if self.client_gone:
            if self._raise_after_close:
                # SPEC: 2.4, send() on a closed connection raises an OSError subclass.
                raise ClientDisconnectedError("The client has disconnected; stop sending.")
            return
        if self.protocol_error is not None:
            raise self.protocol_error
        try:
            event = self.checker.check(message)
            await self._act(event, message)
        except ASGIProtocolError as exc:
            # Sticky: an app that catches the error (an error middleware, say) cannot hide it.
            self.protocol_error = exc
            raise

    async def _act(self, event: str, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.head_ready.set()
        elif kind == "http.response.body":
            await self._deliver(message.get("body", b""))
        elif kind == "http.response.zerocopysend":
            data = await anyio.to_thread.run_sync(
                _read_fd, message["file"], message.get("offset"), message.get("count")
            )
            await self._deliver(data)
        elif kind == "http.response.pathsend":
            await self._deliver(await anyio.to_thread.run_sync(_read_path, message["path"]))
        if kind != "http.response.start" and kind != "http.response.body":
            self.extension_messages.append(dict(message))
            if self.on_extension is not None:
                self.on_extension()
        if self.checker.state is HTTPState.DONE:
            self.checker.check_complete()
            self._finish()

    async def _deliver(self, data: bytes) -> None:
        self.checker.count_body(len(data))
        if self.scope["method"] == "HEAD":
            data = b""  # SPEC: a HEAD response has no body on the wire, whatever the app sends.
        if self._send_chunk is None:
            if data:
                self.chunks.append(data)
            return
        # Empty messages go to the reader too (it skips them): the app waits for the test to take
        # each one, so stream() returns after the start without the app running ahead.
        try:
            await self._send_chunk.send((data, self.checker.state is HTTPState.DONE))
        except anyio.BrokenResourceError:
            # The client left while the app was waiting for it to read this chunk.
            if self._raise_after_close:
                raise ClientDisconnectedError(
                    "The client has disconnected; stop sending."
                ) from None

    def _finish(self) -> None:
        self._done.set()
        self.head_ready.set()
        if self._send_chunk is not None:
            self._send_chunk.close()

    # --- running the app -------------------------------------------------------------------------

    async def run(self, app: ASGIApp) -> None:
        """Call ``app`` and record how it ended; only a protocol error or a cancellation escapes."""
        try:
            await app(self.scope, self.receive, self.send)
        except Exception as exc:
            if not (self.client_gone and isinstance(exc, ClientDisconnectedError)):
                self.error = exc
        else:
            if self.protocol_error is None and not self.client_gone:
                try:
                    self.checker.check_complete()
                except ASGIProtocolError as exc:
                    if self.started:
                        self.protocol_error = exc
                    else:
                        # No response at all: a server answers 500, and so does the client with
                        # raise_server_exceptions=False (as Starlette's does); else it raises this.
                        self.error = exc
        finally:
            self._finish()
            self.finished.set()
            with anyio.CancelScope(shield=True):
                await self._body.aclose()

    def waits_for_client(self) -> bool:
        """Whether a task of the app waits in ``receive()`` or ``send()``, where a disconnect reaches it.

        In ``receive()`` it waits for the disconnect; in ``send()``, for the reader to take a chunk.
        """
        if self._done.statistics().tasks_waiting:
            return True
        return self._send_chunk is not None and bool(
            self._send_chunk.statistics().tasks_waiting_send
        )

    def mark_delivered(self) -> None:
        """The reader took the last body message: the response is complete on the client side.

        The app's ``send`` of that message has not returned yet; closing the response now waits
        for the app instead of cancelling it, and its ``receive()`` answers ``http.disconnect``.
        """
        self._done.set()

    def disconnect(self) -> None:
        """The client goes away: wake the app's ``receive`` and make later sends fail or no-op.

        The reader also closes its end of the chunk stream, which fails a send the app is
        blocked in.
        """
        self.client_gone = True
        self._done.set()

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The response headers the app sent (empty before ``http.response.start``)."""
        return self.checker.headers

    def trailers(self) -> list[tuple[bytes, bytes]] | None:
        """The trailers the app sent, or None when ``http.response.start`` did not announce any."""
        if self.checker.trailers_declared:
            return self.checker.trailers
        return None

    def summary(self) -> dict[str, Any]:
        """What the app sent through extensions, for the response object."""
        pushes = [
            (m["path"], check_headers(m))
            for m in self.extension_messages
            if m["type"] == "http.response.push"
        ]
        hints = [
            [link.decode("latin-1") for link in m["links"]]
            for m in self.extension_messages
            if m["type"] == "http.response.early_hint"
        ]
        return {
            "push_promises": pushes,
            "early_hints": hints,
            "debug_info": self.checker.debug_info,  # the last one, as in Starlette's client
            "trailers": self.trailers(),
            "extension_messages": list(self.extension_messages),
        }
