"""``StreamingResponse``: a body sent chunk by chunk as a producer yields it (public in
``microasgi.responses``).

It stops its producer when the client leaves, on every spec version, without taking request body
messages from the app.
"""

from __future__ import annotations

import reprlib
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping

import anyio

from microasgi._asgi.concurrency import unwrap_group
from microasgi._asgi.response import (
    _HTTP_TYPES,
    _WEBSOCKET_CLOSE,
    _WEBSOCKET_TYPES,
    Response,
    _as_bytes,
    _body_cannot_be_stolen,
    _check_status,
    _Chunk,
    _offers_denial_response,
    _send_quietly,
    _unsupported_scope,
)
from microasgi._sansio.extensions import (
    TrailersSource,
    accepts_trailers,
)
from microasgi.background import BackgroundTask
from microasgi.concurrency import iterate_in_threadpool, run_in_threadpool
from microasgi.types import (
    HTTPResponseTrailersEvent,
    Message,
    Receive,
    Scope,
    Send,
)


class StreamingResponse(Response):
    """A response whose body comes from an iterable, sent chunk by chunk.

    ``content`` may be an async iterable or a plain iterable (iterated in a worker thread) of
    ``str`` (encoded with ``charset``), ``bytes``, ``bytearray`` or ``memoryview`` (the last two
    copied into ``bytes`` as they come, so a producer may reuse its buffer). The producer stops, and is
    closed, as soon as the client disconnects; see the docs page for how that is detected.

    ``trailers=`` and ``trailer_names=`` work as for ``Response``; a trailers function is called
    after the last chunk, so it can report what the body turned out to be (a checksum, a count,
    a status).
    """

    body_iterator: AsyncIterable[_Chunk]

    def __init__(
        self,
        content: AsyncIterable[_Chunk] | Iterable[_Chunk],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        *,
        trailers: TrailersSource | None = None,
        trailer_names: Iterable[str] | None = None,
    ) -> None:
        self._sync_iterator: Iterator[_Chunk] | None = None
        if isinstance(content, AsyncIterable):
            self.body_iterator = content
        elif isinstance(content, Iterable) and not isinstance(
            content, str | bytes | bytearray | memoryview
        ):
            self._sync_iterator = iter(content)
            self.body_iterator = iterate_in_threadpool(self._sync_iterator)
        else:
            raise TypeError(
                f"StreamingResponse content must be an iterable or async iterable of chunks, got "
                f"{type(content).__name__}: {reprlib.repr(content)}. For a body known up front use "
                "Response; to stream one string wrap it in a list."
            )
        self.status_code = _check_status(status_code)
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.init_headers(headers)
        if trailers is not None or trailer_names is not None:
            self._init_trailers(trailers, trailer_names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream the body, stop when the client leaves, then run the background task.

        An exception raised by the iterator propagates as itself. The background task runs after
        the response is over, whether it completed or the client disconnected.
        """
        scope_type = scope["type"]
        if scope_type == "http":
            if scope.get("method") == "HEAD":
                await self._close_iterator()
                await _send_quietly(send, self._start_message(_HTTP_TYPES[0]))
                await _send_quietly(send, {"type": "http.response.body", "body": b""})
            else:
                with_trailers = self._trailer_names is not None and accepts_trailers(scope)
                start = self._start_message(_HTTP_TYPES[0])
                if with_trailers:
                    start["headers"] = self._trailer_start_headers(scope)
                    start["trailers"] = True
                if _body_cannot_be_stolen(scope):
                    await self._stream_until_disconnect(receive, send, start, with_trailers)
                else:
                    await self._stream(send, _HTTP_TYPES, start, with_trailers)
        elif scope_type == "websocket":
            if _offers_denial_response(scope):
                await self._stream(
                    send, _WEBSOCKET_TYPES, self._start_message(_WEBSOCKET_TYPES[0]), False
                )
            else:
                await self._close_iterator()
                await _send_quietly(send, _WEBSOCKET_CLOSE)  # type: ignore[arg-type]
        else:
            await self._close_iterator()
            raise _unsupported_scope(self, scope)
        if self.background is not None:
            await self.background()

    def _start_message(self, message_type: str) -> Message:
        return {"type": message_type, "status": self.status_code, "headers": self.raw_headers}

    async def _stream(
        self, send: Send, types: tuple[str, str], start: Message, with_trailers: bool
    ) -> None:
        """Send start, each chunk, the final empty body and the trailers if any; stop quietly if
        the client has gone."""
        exhausted = False
        try:
            try:
                await send(start)
            except OSError:
                return  # SPEC: ASGI 2.4, the client has gone.
            body_type = types[1]
            charset = self.charset
            async for item in self.body_iterator:
                if item.__class__ is bytes:
                    chunk: bytes = item
                elif isinstance(item, str):
                    chunk = item.encode(charset)
                elif isinstance(item, bytes | bytearray | memoryview):
                    # SPEC: ASGI bodies are bytes. Copied, also because a producer may reuse
                    # its buffer once it resumes, while the server still holds the message.
                    chunk = _as_bytes(item)
                else:
                    raise TypeError(
                        f"StreamingResponse chunks must be str, bytes, bytearray or memoryview, "
                        f"got {type(item).__name__}: {reprlib.repr(item)}. Yield encoded data."
                    )
                try:
                    await send({"type": body_type, "body": chunk, "more_body": True})
                except OSError:
                    return  # SPEC: ASGI 2.4, the client has gone: stop producing.
            exhausted = True
            if with_trailers:
                # Resolved before the body ends: if the function fails, the body stays
                # incomplete and the client cannot mistake the response for a whole one.
                fields = await self._resolve_trailers()
            try:
                await send({"type": body_type, "body": b"", "more_body": False})
                if with_trailers:
                    trailers: HTTPResponseTrailersEvent = {
                        "type": "http.response.trailers",
                        "headers": fields,
                        "more_trailers": False,
                    }
                    await send(trailers)  # type: ignore[arg-type]
            except OSError:
                return  # SPEC: ASGI 2.4, the client left just before the end.
        finally:
            if not exhausted:
                await self._close_iterator()

    async def _stream_until_disconnect(
        self, receive: Receive, send: Send, start: Message, with_trailers: bool
    ) -> None:
        """Stream while a second task waits for ``http.disconnect`` and cancels the stream."""
        try:
            async with anyio.create_task_group() as task_group:

                async def cancel_on_disconnect() -> None:
                    # Only started when no body data is pending (_body_cannot_be_stolen), so the
                    # http.request messages this may read are empty and meant for nobody.
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    task_group.cancel_scope.cancel()

                async def send_then_yield(message: Message) -> None:
                    await send(message)
                    # Before ASGI 2.4 a server's send may return at once once the client has
                    # gone (uvicorn does), and a producer that never awaits would then never let
                    # the watcher above run: one scheduler turn per chunk keeps it cancellable.
                    await anyio.lowlevel.checkpoint()

                task_group.start_soon(cancel_on_disconnect)
                await self._stream(send_then_yield, _HTTP_TYPES, start, with_trailers)
                task_group.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            raise unwrap_group(group) from None

    async def _close_iterator(self) -> None:
        """Close the producer so its ``finally`` blocks run now, not at garbage collection."""
        # Shielded: this runs while the stream is being cancelled after a disconnect.
        with anyio.CancelScope(shield=True):
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()
            close = getattr(self._sync_iterator, "close", None)
            if close is not None:
                # A sync generator's cleanup may block, so it runs in a worker thread too.
                await run_in_threadpool(close)
