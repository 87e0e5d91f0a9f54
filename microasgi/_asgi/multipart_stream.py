"""Streaming a ``multipart/form-data`` body part by part: what ``Request.multipart()`` returns.

The parts come from the same machinery as ``form()`` (the ``multipart`` package's push parser,
watched by the protocol layer's ``MultipartFrame``, and ``PartCounter`` checking every limit),
but nothing is stored: the parser is fed one body chunk at a time, only when the application
asks for more, and each part's bytes go to the application as the parser finds them. Memory
stays bounded by the chunk size whatever the size of the upload, and no file is written.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from typing import Any

import anyio
import multipart

from microasgi._asgi.forms import (
    CRLFChunks,
    FormError,
    FormLimits,
    MultiPartException,
    PartCounter,
    _check_part_headers,
    _library_error,
    _library_parser,
    field_too_large,
    file_too_large,
)
from microasgi._sansio.forms import FormDataError, decode_multipart_fields
from microasgi._sansio.headermap import Headers
from microasgi._sansio.multipart import MultipartFrame
from microasgi._sansio.text import _clip
from microasgi.exceptions import HTTPException

__all__ = ["MultipartPart", "MultipartStream", "read_twice", "unsupported_type"]

# What ``MultipartStream._event`` returns once the body has ended (or the stream has failed).
_END: Any = object()


def read_twice(first: str) -> RuntimeError:
    """The error of ``form()`` or ``multipart()`` called when ``first`` already reads the body."""
    return RuntimeError(
        f"request.{first} already reads this request's body, which streams once: use what "
        f"request.{first} returned, or call `await request.body()` first to read it several "
        "times."
    )


def unsupported_type(content_type: str | None) -> HTTPException:
    """The 415 ``multipart()`` answers to a body that is not ``multipart/form-data``."""
    # A form() answers an empty form there, as in Starlette; the caller of multipart() asked
    # for the parts themselves, and no parts would silently drop what the client sent.
    got = "no Content-Type" if content_type is None else f"Content-Type {_clip(content_type)!r}"
    return HTTPException(
        415,
        detail=f"Expected a multipart/form-data body, got {got}; send the parts with "
        "'Content-Type: multipart/form-data; boundary=...'.",
    )


class MultipartPart:
    """One part of a ``multipart/form-data`` body, as ``request.multipart()`` yields it.

    Its bytes are not stored: iterate over it (``async for chunk in part``) to get them as they
    arrive, or ``await part.read()`` (``await part.text()`` for a text field) to get the whole
    of a small part. Each chunk can be read once. A part left unread, or read halfway, is
    skipped when the iteration moves to the next part (its bytes are still checked against the
    limits); reading it afterwards gives nothing more.

    Attributes:
        name: the field name, from the part's ``Content-Disposition``.
        filename: the file name for a file part (``""`` for an empty file input), ``None`` for
            a text field.
        headers: the part's headers, as sent (names lowercased).
    """

    __slots__ = ("_charset", "_done", "_stream", "filename", "headers", "name")

    def __init__(
        self,
        stream: MultipartStream,
        name: str,
        filename: str | None,
        headers: Headers,
        charset: str | None,
    ) -> None:
        self._stream = stream
        self.name = name
        self.filename = filename
        self.headers = headers
        self._charset = charset
        self._done = False

    @property
    def content_type(self) -> str | None:
        """The part's ``Content-Type`` header, or ``None`` when it has none."""
        return self.headers.get("content-type")

    def __repr__(self) -> str:
        return f"MultipartPart(name={self.name!r}, filename={self.filename!r})"

    def __aiter__(self) -> MultipartPart:
        return self

    async def __anext__(self) -> bytes:
        """The next chunk of the part's body, as the parser found it.

        Raises:
            StopAsyncIteration: the part has ended (or was skipped).
            HTTPException: 400 for a malformed body, 413 for a limit (``max_part_size``,
                ``max_file_size``, ``max_fields_memory``, the body cap), as ``form()``.
            ClientDisconnect: the client left before the end of the body.
        """
        if not self._done:
            event = await self._stream._event()
            if isinstance(event, bytes):
                return event
            self._done = True
        raise StopAsyncIteration

    async def read(self) -> bytes:
        """The rest of the part's body (all of it, when nothing was read yet), in memory.

        For small parts: a text field is bounded by ``max_part_size``, a file only by
        ``max_file_size``; iterate over a large file instead.
        """
        return b"".join([chunk async for chunk in self])

    async def text(self) -> str:
        """The rest of the part's body, decoded as ``form()`` decodes a text field: with the
        ``charset`` of the part's ``Content-Type``, else the form's (a ``_charset_`` field
        sent earlier, else the request's ``charset``, else UTF-8); bytes invalid in it, or an
        unknown charset, decode as latin-1, byte for byte."""
        value = await self.read()
        return decode_multipart_fields([(self.name, value, self._charset)], self._stream._charset)[
            0
        ]


class MultipartStream:
    """The parts of a ``multipart/form-data`` body, in order, as they arrive: what
    ``request.multipart()`` returns (``async for part in request.multipart(): ...``).

    Every limit of ``form()`` applies, with the same answers (``HTTPException`` with the same
    status and detail): the counts of fields and files, ``max_part_size`` for text fields,
    ``max_file_size`` for each file, ``max_fields_memory`` for part headers and text fields,
    ``max_part_header_size`` and the body cap. Once an error was raised, or the body has ended,
    the iteration is over.

    Raises:
        HTTPException: 400 for a malformed body or too many parts, 413 for a size limit.
        ClientDisconnect: the client left before the end of the body.
    """

    __slots__ = (
        "_boundary",
        "_charset",
        "_chunks",
        "_counter",
        "_events",
        "_field_charset",
        "_filename",
        "_frame",
        "_limits",
        "_parser",
        "_part",
    )

    def __init__(
        self,
        chunks: AsyncGenerator[bytes, None],
        boundary: str,
        charset: str,
        limits: FormLimits,
    ) -> None:
        self._chunks: CRLFChunks | None = CRLFChunks(chunks)
        self._boundary = boundary
        self._charset = charset  # the form's default charset (a _charset_ field changes it)
        self._limits = limits
        self._parser = _library_parser(boundary, limits)
        # SECURITY: as for form(), the frame bounds the preamble and stops at the closing
        # delimiter, so an epilogue is never read.
        self._frame = MultipartFrame(boundary, limits.max_part_header_size)
        self._counter = PartCounter(limits)
        # The events of the chunk being parsed, pulled one at a time: PERF/SECURITY, the next
        # chunk is received only once the application has taken what this one holds.
        self._events: Iterator[Any] = iter(())
        self._part: MultipartPart | None = None
        self._filename: str | None = None  # the current part's
        # The bytes of a _charset_ text field being read, which sets the form's charset.
        self._field_charset: list[bytes] | None = None

    def __repr__(self) -> str:
        return f"MultipartStream(boundary={self._boundary!r})"

    def __aiter__(self) -> MultipartStream:
        return self

    async def __aenter__(self) -> MultipartStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def __anext__(self) -> MultipartPart:
        """The next part, once what is left of the current one was skipped."""
        part = self._part
        if part is not None:
            async for _ in part:
                pass  # PERF: each skipped chunk is dropped at once
        # After a part's end, the parser reports a part's start or nothing more.
        event = await self._event()
        if event is _END:
            raise StopAsyncIteration
        result: MultipartPart = event
        return result

    async def aclose(self) -> None:
        """Stop reading: the rest of the body is left unread, and the iteration is over.

        In an application, breaking out of ``async for`` needs no call: the route closes the
        stream when the request ends. Outside one, close it as any async generator
        (``async with request.multipart() as parts:``, or this method), or the body's
        generator is left to the garbage collector (trio warns about it then)."""
        self._part = None
        self._events = iter(())
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            await chunks.aclose()

    def _start(self, segment: Any) -> MultipartPart:
        filename, raw = self._counter.begin(segment)
        self._filename = filename
        name = self._counter._name
        charset: str | None = segment.charset
        # SPEC: RFC 7578 section 4.6, a _charset_ text field sets the charset of the fields
        # after it that have none of their own; kept as it streams (max_part_size bounds it).
        self._field_charset = [] if filename is None and name == "_charset_" else None
        return MultipartPart(self, name, filename, Headers(raw=raw), charset)

    def _data(self, chunk: bytes) -> None:
        counter = self._counter
        counter._size += len(chunk)
        limits = self._limits
        filename = self._filename
        if filename is not None:
            if counter._size > limits.max_file_size:
                raise file_too_large(filename, counter._name, limits.max_file_size)
            return
        # A text field counts as held in memory (max_fields_memory), read or not, as in form().
        if counter._size > limits.max_part_size:
            raise field_too_large(counter._name, limits.max_part_size)
        counter._hold(len(chunk))
        if self._field_charset is not None:
            self._field_charset.append(chunk)

    async def _event(self) -> Any:
        """The parser's next event: a part's start (its ``MultipartPart``), a chunk of its body
        (bytes), its end (``None``), or ``_END`` once the body has ended."""
        try:
            return await self._next_event()
        except MultiPartException as exc:
            await self._fail()
            raise FormError(exc.status_code, exc.message) from None
        except BaseException:
            await self._fail()
            raise

    async def _fail(self) -> None:
        # Even when cancelled: the body generator must not be left to the garbage collector.
        with anyio.CancelScope(shield=True):
            await self.aclose()

    async def _next_event(self) -> Any:
        frame = self._frame
        while True:
            for event in self._events:
                if isinstance(event, bytes):
                    self._data(event)
                elif event is None:
                    self._end()
                else:
                    event = self._part = self._start(event)
                return event
            if self._chunks is None:
                return _END
            if frame.error is not None:
                raise MultiPartException(frame.error)
            chunk = b"" if frame.done else await anext(self._chunks, b"")
            # (The body reader yields no empty chunk: b"" means the body has ended.)
            if not chunk:
                await self.aclose()
                try:
                    self._parser.close()
                except multipart.MultipartError as exc:
                    raise _library_error(exc, self._limits) from None
                return _END
            try:
                used = frame.feed(chunk)
            except FormDataError as exc:
                raise MultiPartException(str(exc)) from None
            # An empty slice would tell the library the body has ended: none is parsed.
            self._events = self._parse(chunk[:used]) if used else iter(())

    def _parse(self, chunk: bytes) -> Iterator[Any]:
        """The parser's events for ``chunk``, its errors told as ``form()`` tells them."""
        try:
            yield from self._parser.parse(chunk)
        except multipart.MultipartError as exc:
            raise _library_error(exc, self._limits) from None

    def _end(self) -> None:
        """End the current part; follow the frame past it."""
        if self._field_charset is not None:
            self._charset = b"".join(self._field_charset).decode("latin-1")
            self._field_charset = None
        frame = self._frame
        frame.part_end(self._counter._size)
        if frame.error is not None:
            # The parser holds the rest of the chunk: it stops here, and the header lines
            # before the fault are checked as it would have checked them.
            self._events = iter(())
            try:
                _check_part_headers(self._boundary, self._limits, frame.unread)
            except multipart.MultipartError as exc:
                raise _library_error(exc, self._limits) from None
