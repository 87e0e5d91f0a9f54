"""HTTP responses: each one is an ASGI app that sends itself.

``Response`` and its subclasses keep Starlette's names, signatures and behaviour, with three
differences worth knowing: every header (including cookies, ``media_type`` and redirect URLs) is
validated when the response is built, so nothing unsafe can reach the wire; a client that has gone
away (ASGI 2.4 ``OSError`` from ``send``) ends the response quietly; and ``StreamingResponse`` stops
its producer when the client leaves on every spec version without stealing request body messages.
"""

from __future__ import annotations

import reprlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any, TypeAlias
from urllib.parse import quote

from microasgi._asgi.conditional import conditional_response, precondition_response
from microasgi._asgi.fileresponse import FileResponse
from microasgi._asgi.response import _JSON_ENCODER, _REDIRECT_STATUSES, Response
from microasgi._asgi.sse import EventSourceResponse, ServerSentEvent, last_event_id
from microasgi._asgi.streaming import StreamingResponse
from microasgi._sansio.extensions import TrailersSource
from microasgi._sansio.headers import encode_header_value
from microasgi.background import BackgroundTask
from microasgi.datastructures import URL

__all__ = [
    "AsyncContentStream",
    "Content",
    "ContentStream",
    "EventSourceResponse",
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "NDJSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "ServerSentEvent",
    "StreamingResponse",
    "SyncContentStream",
    "conditional_response",
    "last_event_id",
    "precondition_response",
]

# Starlette's names for what a StreamingResponse streams, for annotating producers:
# ``async def numbers() -> AsyncContentStream``. StreamingResponse also takes bytearray chunks.
Content: TypeAlias = str | bytes | memoryview
"""One chunk of a ``StreamingResponse`` body: ``str`` (encoded with the charset), ``bytes`` or
``memoryview``."""

SyncContentStream: TypeAlias = Iterable[Content]
"""A plain iterable of chunks (iterated in a worker thread)."""

AsyncContentStream: TypeAlias = AsyncIterable[Content]
"""An async iterable of chunks, such as an async generator."""

ContentStream: TypeAlias = AsyncContentStream | SyncContentStream
"""What ``StreamingResponse`` streams: either kind of iterable of chunks."""


class HTMLResponse(Response):
    """A response with ``Content-Type: text/html; charset=utf-8``."""

    media_type = "text/html"


class PlainTextResponse(Response):
    """A response with ``Content-Type: text/plain; charset=utf-8``."""

    media_type = "text/plain"


class JSONResponse(Response):
    """Data sent as compact UTF-8 JSON (``application/json``).

    Raises:
        ValueError: the content holds NaN or an infinity (not valid JSON) or a circular reference.
        TypeError: the content holds a value ``json`` cannot encode.
    """

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        *,
        trailers: TrailersSource | None = None,
        trailer_names: Iterable[str] | None = None,
    ) -> None:
        super().__init__(
            content,
            status_code,
            headers,
            media_type,
            background,
            trailers=trailers,
            trailer_names=trailer_names,
        )

    def render(self, content: Any) -> bytes:
        """Encode ``content`` as compact JSON without ASCII escapes."""
        try:
            return _JSON_ENCODER.encode(content).encode("utf-8")
        except ValueError as exc:
            raise ValueError(
                f"JSONResponse cannot encode {reprlib.repr(content)}: {exc}. JSON has no NaN or "
                "Infinity: replace such floats with None or a string before responding."
            ) from exc


class NDJSONResponse(StreamingResponse):
    """Objects streamed as JSON Lines (``application/x-ndjson``): one compact JSON text a line.

    ``content`` is an async iterable, or a plain iterable (iterated, and each item encoded, in a
    worker thread), of JSON-serialisable objects. Each is encoded as ``JSONResponse`` encodes its
    content (UTF-8, no ASCII escapes, no NaN, compact separators) and followed by ``\\n``.
    Override ``render(item)`` to change the encoder, as for ``JSONResponse``. Everything else is
    ``StreamingResponse``'s: the producer stops and is closed when the client leaves, HEAD gets
    the headers only, the background task runs after the response.

    An item that cannot be encoded raises from the stream, as a failing ``StreamingResponse``
    producer does: the status and the lines before it have been sent, so the client sees a
    truncated body. The error (``TypeError`` or ``ValueError``) names the item's position.

    Raises:
        TypeError: ``content`` is not an iterable of items (a ``str``, ``bytes`` or mapping:
            wrap one object in a list, or use ``JSONResponse``).
    """

    media_type = "application/x-ndjson"

    def __init__(
        self,
        content: AsyncIterable[Any] | Iterable[Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        *,
        trailers: TrailersSource | None = None,
        trailer_names: Iterable[str] | None = None,
    ) -> None:
        lines: AsyncIterable[bytes] | Iterable[bytes]
        if isinstance(content, AsyncIterable):
            lines = _AsyncLines(aiter(content), self._line)
        elif isinstance(content, Iterable) and not isinstance(
            content, str | bytes | bytearray | memoryview | Mapping
        ):
            lines = _SyncLines(iter(content), self._line)
        else:
            raise TypeError(
                f"NDJSONResponse content must be an iterable or async iterable of objects, got "
                f"{type(content).__name__}: {reprlib.repr(content)}. To stream one object wrap "
                "it in a list; to send one JSON document use JSONResponse."
            )
        super().__init__(
            lines,
            status_code,
            headers,
            media_type,
            background,
            trailers=trailers,
            trailer_names=trailer_names,
        )

    def render(self, content: Any) -> bytes:
        """Encode one item as compact JSON without ASCII escapes (no newline: it is added)."""
        try:
            return _JSON_ENCODER.encode(content).encode("utf-8")
        except ValueError as exc:
            raise ValueError(
                f"NDJSONResponse cannot encode {reprlib.repr(content)}: {exc}. JSON has no NaN "
                "or Infinity: replace such floats with None or a string before yielding them."
            ) from exc

    def _line(self, item: Any, index: int) -> bytes:
        """One line of the body: ``render(item)`` and a newline."""
        try:
            line = self.render(item)
        except Exception as exc:
            exc.add_note(
                f"While encoding item {index} of an NDJSONResponse stream, after the response "
                "had started: the client got a truncated body."
            )
            raise
        # SPEC: JSON Lines, one JSON text a line: a render() that indents would break framing.
        if b"\n" in line:
            raise ValueError(
                f"NDJSONResponse.render() returned a line break for item {index} "
                f"({reprlib.repr(item)}): each JSON text must fit on one line. Encode without "
                "indent (compact JSON escapes line breaks inside strings)."
            )
        return line + b"\n"


class _AsyncLines:
    """The encoded lines of an async iterator of items; ``aclose()`` closes the source."""

    __slots__ = ("_encode", "_index", "_source")

    def __init__(self, source: AsyncIterator[Any], encode: Callable[[Any, int], bytes]) -> None:
        self._source = source
        self._encode = encode
        self._index = 0

    def __aiter__(self) -> _AsyncLines:
        return self

    async def __anext__(self) -> bytes:
        item = await anext(self._source)
        self._index += 1
        return self._encode(item, self._index)

    async def aclose(self) -> None:
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()


class _SyncLines:
    """The encoded lines of an iterator of items, encoded where it is iterated (a worker
    thread); ``close()`` closes the source."""

    __slots__ = ("_encode", "_index", "_source")

    def __init__(self, source: Iterator[Any], encode: Callable[[Any, int], bytes]) -> None:
        self._source = source
        self._encode = encode
        self._index = 0

    def __iter__(self) -> _SyncLines:
        return self

    def __next__(self) -> bytes:
        item = next(self._source)
        self._index += 1
        return self._encode(item, self._index)

    def close(self) -> None:
        close = getattr(self._source, "close", None)
        if close is not None:
            close()


class RedirectResponse(Response):
    """A redirect to ``url`` (``str`` or ``URL``) with an empty body.

    The URL is percent-quoted as Starlette does, keeping URL delimiters, so a user-supplied
    URL cannot break the ``location`` header.

    Raises:
        ValueError: ``status_code`` is not a redirect status (300-303, 307, 308).
    """

    def __init__(
        self,
        url: str | URL,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        if status_code not in _REDIRECT_STATUSES:
            raise ValueError(
                f"RedirectResponse status_code must be a redirect status (300, 301, 302, 303, 307 "
                f"or 308), got {status_code!r}. Use Response for other statuses."
            )
        super().__init__(
            content=b"", status_code=status_code, headers=headers, background=background
        )
        location = quote(str(url), safe=":/%#?=@[]!$&'()*+,;")
        # A location given in ``headers`` is replaced, as assigning response.headers would.
        raw = [item for item in self.raw_headers if item[0] != b"location"]
        raw.append((b"location", encode_header_value(location, "location")))
        self.raw_headers = raw


# The public home of the names defined in private modules is this one: docs, reprs and error
# messages name it.
for _public in (
    EventSourceResponse,
    FileResponse,
    Response,
    ServerSentEvent,
    StreamingResponse,
    conditional_response,
    precondition_response,
):
    _public.__module__ = __name__
del _public
