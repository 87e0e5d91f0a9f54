"""Reading form bodies into ``FormData``: the machinery ``microasgi.formparsers`` publishes.

An ``application/x-www-form-urlencoded`` body is held while no limit can be reached and parsed
whole (as UTF-8 text, when it is), else fed to the incremental parser of the protocol layer; a
``multipart/form-data`` body goes through the ``multipart`` package's push parser, watched by
the protocol layer's ``MultipartFrame``, and a builder that checks every limit as the parts
arrive and spools files (to disk in worker threads). The limits (``FormLimits``) and the one
error class (``MultiPartException``) are published by ``formparsers``, their home.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from tempfile import SpooledTemporaryFile
from typing import IO, Any, cast

import anyio
import multipart

from microasgi._asgi.upload import FormData, UploadFile
from microasgi._sansio.forms import (
    FieldTooLargeError,
    FormDataError,
    UrlencodedParser,
    decode_form_fields,
    decode_multipart_fields,
    parse_utf8_form,
    size_text,
    text_codec,
    too_many_fields,
)
from microasgi._sansio.headermap import Headers
from microasgi._sansio.multipart import (
    CONTROL_IN_PART_HEADER,
    MultipartFrame,
    is_multipart_boundary,
)
from microasgi._sansio.text import _clip
from microasgi.concurrency import run_in_threadpool
from microasgi.exceptions import HTTPException

__all__ = [
    "FormLimits",
    "MultiPartException",
    "PartCounter",
    "field_too_large",
    "file_too_large",
    "multipart_options",
    "read_multipart",
    "read_urlencoded",
]

_MIB = 1024 * 1024
_MAX_FILE_SIZE = 100 * _MIB
_MAX_FIELDS_MEMORY = 16 * _MIB
_MAX_PART_HEADER_SIZE = 8 * 1024


class MultiPartException(Exception):
    """A form body is malformed or breaks a limit.

    Args:
        message: what is wrong, in a sentence fit for the client.
        status_code: the HTTP status ``Request.form()`` answers with: 400 for a malformed form or
            too many fields or files, 413 for a field, a file or the fields in memory over their
            size limit.
    """

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class FormError(HTTPException, MultiPartException):
    """A bad form, as ``Request.form()`` and ``request.multipart()`` raise it: an
    ``HTTPException`` (400 or 413), which the application answers, and a ``MultiPartException``,
    what Starlette's ``form()`` raises on a request outside an application, so a port's
    ``except`` (or ``pytest.raises``) catches it."""

    def __init__(self, status_code: int, message: str) -> None:
        # Not the bases' __init__: each passes its own arguments on to the other.
        Exception.__init__(self, status_code, message)
        self.status_code = status_code
        self.detail = self.message = message
        self.headers = None


def _check_limit(name: str, value: float, *, unbounded: bool = False) -> float:
    # Starlette accepts float("inf") for the count limits (no limit); ports keep working.
    if unbounded and value == math.inf:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        also = " or math.inf (no limit)" if unbounded else ""
        raise ValueError(f"{name} must be an int >= 0{also}, got {value!r}.")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class FormLimits:
    """The limits a form is parsed with; every one is checked while the body streams in.

    Counts past their limit answer 400 (as Starlette); sizes answer 413. Put one in
    ``scope[FORM_LIMITS_KEY]`` to set an application's (or a route's) defaults; the keyword
    arguments of ``Request.form()`` override it field by field.

    Args:
        max_files: the most file parts a multipart form may hold; ``math.inf`` for no limit.
        max_fields: the most text fields; ``math.inf`` for no limit.
        max_part_size: the largest text field value, in bytes as sent (urlencoded: also the
            longest name).
        max_file_size: the largest uploaded file, in bytes (files go to disk past
            ``spool_max_size``, so this bounds disk use, not memory).
        max_fields_memory: the most bytes a multipart form holds in memory for its text fields
            and part headers together. ``Request.form()`` lowers it to the request's body cap.
        max_part_header_size: the longest header line of a multipart part, in bytes; a part may
            hold at most 8 header lines. It also bounds a preamble before the first boundary.
        spool_max_size: the most bytes of file data a multipart form keeps in memory, all files
            together; past it a file goes to a temporary file on disk. ``None`` means
            ``MultiPartParser.spool_max_size`` (1 MiB).

    Raises:
        ValueError: a limit is not an int >= 0 (or ``math.inf`` for the counts).
    """

    max_files: int | float = 1000
    max_fields: int | float = 1000
    max_part_size: int = _MIB
    max_file_size: int = _MAX_FILE_SIZE
    max_fields_memory: int = _MAX_FIELDS_MEMORY
    max_part_header_size: int = _MAX_PART_HEADER_SIZE
    spool_max_size: int | None = None

    def __post_init__(self) -> None:
        _check_limit("max_files", self.max_files, unbounded=True)
        _check_limit("max_fields", self.max_fields, unbounded=True)
        _check_limit("max_part_size", self.max_part_size)
        _check_limit("max_file_size", self.max_file_size)
        _check_limit("max_fields_memory", self.max_fields_memory)
        _check_limit("max_part_header_size", self.max_part_header_size)
        if self.spool_max_size is not None:
            _check_limit("spool_max_size", self.spool_max_size)


def _is_utf8(charset: str) -> bool:
    try:
        return text_codec(charset) == "utf-8"
    except FormDataError:
        return False  # refused later, after the limits, as decode_form_fields refuses it


async def read_urlencoded(
    stream: AsyncIterable[bytes], charset: str, max_fields: float, max_part_size: int
) -> FormData:
    """The urlencoded form in ``stream``, decoded with ``charset`` (or its ``_charset_`` field)."""
    parser = UrlencodedParser(max_fields=max_fields, max_part_size=max_part_size)
    fields: list[tuple[bytes, bytes]] = []
    # PERF: while no limit can be reached, the chunks are held, and a UTF-8 body is then split
    # and decoded whole, as text, in a few C calls instead of a few per field. Past that point
    # the held chunks go to the incremental parser, which raises what it would have raised.
    held: list[bytes] | None = [] if _is_utf8(charset) else None
    size = separators = 0
    chunks = aiter(stream)
    try:
        async for chunk in chunks:
            if held is not None:
                size += len(chunk)
                separators += chunk.count(b"&")
                if size <= max_part_size and separators < max_fields:
                    held.append(chunk)
                    continue
                for earlier in held:
                    fields += parser.feed(earlier)
                held = None
            fields += parser.feed(chunk)
        if held is not None:
            body = b"".join(held)
            items = parse_utf8_form(body)
            if items is not None:
                return FormData._of(items)
            fields += parser.feed(body)
        fields += parser.close()
        return FormData._of(decode_form_fields(fields, charset))
    except FormDataError as exc:
        status = 413 if isinstance(exc, FieldTooLargeError) else 400
        raise MultiPartException(str(exc), status_code=status) from None
    finally:
        # Stopping early must not leave the body generator to the garbage collector.
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


# SPEC: RFC 7578 parts need three headers at most (Content-Disposition, Content-Type and the
# deprecated Content-Transfer-Encoding); eight leaves room for odd clients and no more.
_MAX_PART_HEADERS = 8

# SECURITY: the library keeps a bare LF (or CR, NUL) inside a header value; such a value would
# reach UploadFile.headers and whatever the application copies them into.
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

# The multipart library's errors, as sentences for the client: (status, message). A message
# the table does not know (a newer library) still becomes a 400 quoting the library's words.
_LIBRARY_ERRORS = {
    "Unexpected end of multipart stream (parser closed)": (
        400,
        "The multipart body ended before its closing boundary: it is truncated.",
    ),
    "Maximum segment header length exceeded": (
        400,
        "A part header line is longer than the limit of {header} bytes (max_part_header_size).",
    ),
    "Maximum segment header count exceeded": (
        400,
        f"A part has more than {_MAX_PART_HEADERS} header lines.",
    ),
    "Missing Content-Disposition segment header": (
        400,
        "A part has no Content-Disposition header; each part of a form needs "
        "'Content-Disposition: form-data; name=\"...\"'.",
    ),
    "Invalid Content-Disposition segment header: Wrong type": (
        400,
        "A part's Content-Disposition is not 'form-data'; each part of a form needs "
        "'Content-Disposition: form-data; name=\"...\"'.",
    ),
    "Segment header failed to decode": (400, "A part header is not valid UTF-8."),
    "Malformed segment header": (400, "A part header line has no ':' between name and value."),
    "Invalid line break in segment header": (400, CONTROL_IN_PART_HEADER),
}


def _library_error(exc: Exception, limits: FormLimits) -> MultiPartException:
    # The first argument is the library's sentence; a second may hold the underlying error.
    text = str(exc.args[0]) if exc.args else str(exc)
    status, message = _LIBRARY_ERRORS.get(text, (400, f"The multipart body is malformed: {text}."))
    message = message.replace("{header}", str(limits.max_part_header_size))
    return MultiPartException(message, status_code=status)


def field_too_large(name: str, limit: int) -> MultiPartException:
    """The 413 for a text field over ``max_part_size``, in Starlette's words."""
    return MultiPartException(f"Part exceeded maximum size of {size_text(limit)}.", status_code=413)


def file_too_large(filename: str, name: str, limit: int) -> MultiPartException:
    """The 413 for the file ``filename`` of field ``name`` over ``max_file_size``."""
    return MultiPartException(
        f"The file {_clip(filename)!r} in field {_clip(name)!r} is larger than the limit of "
        f"{limit} bytes (max_file_size).",
        status_code=413,
    )


class PartCounter:
    """Checks the parts of a multipart form as the parser reports them: their headers, the
    counts of fields and files, and the bytes held in memory for part headers and text fields
    (``max_fields_memory``). ``form()`` and ``multipart()`` share it, so both answer alike."""

    __slots__ = ("_limits", "_memory", "_memory_limit", "_name", "_size", "fields", "files")

    def __init__(self, limits: FormLimits) -> None:
        self._limits = limits
        self._memory_limit = limits.max_fields_memory
        self.fields = self.files = 0
        self._memory = 0  # bytes held for text fields and part headers
        self._name = ""  # the name of the part being read
        self._size = 0  # the bytes of its body read so far

    def _hold(self, size: int) -> None:
        self._memory += size
        if self._memory > self._memory_limit:
            raise MultiPartException(
                "The form's fields and part headers take more than the limit of "
                f"{self._memory_limit} bytes in memory (max_fields_memory).",
                status_code=413,
            )

    def begin(self, segment: Any) -> tuple[str | None, list[tuple[bytes, bytes]]]:
        """Begin a part, from the library's ``MultipartSegment``: its filename (``None`` for a
        text field) and its headers, raw, once every limit they touch is checked."""
        name: str = segment.name
        if (
            not name
            and multipart.parse_content_disposition(segment.header("Content-Disposition"))[1]
            is None
        ):
            # The library reads a missing name as ""; a field without a name is unusable.
            raise MultiPartException(
                'The Content-Disposition header field "name" must be provided.'
            )
        headerlist: list[tuple[str, str]] = segment.headerlist
        raw: list[tuple[bytes, bytes]] = []
        size = 0
        for key, value in headerlist:
            # PERF: a printable value holds no control character: no regex search for it.
            if not value.isprintable() and _HEADER_CONTROL.search(value) is not None:
                raise MultiPartException(CONTROL_IN_PART_HEADER)
            header = key.lower().encode("latin-1")
            encoded = value.encode()
            raw.append((header, encoded))
            size += len(header) + len(encoded)
        self._hold(size)
        self._name = name
        self._size = 0
        filename: str | None = segment.filename
        limits = self._limits
        if filename is None:
            self.fields += 1
            if self.fields > limits.max_fields:
                raise MultiPartException(too_many_fields(limits.max_fields))
        else:
            self.files += 1
            if self.files > limits.max_files:
                raise MultiPartException(
                    f"Too many files. Maximum number of files is {limits.max_files}."
                )
        return filename, raw


class _FormBuilder(PartCounter):
    """Collects the parts of a multipart form as the parser reports them, within the limits."""

    __slots__ = (
        "_buffer",
        "_chunks",
        "_filename",
        "_held",
        "_in_memory",
        "_part_charset",
        "_spool",
        "_spooled",
        "_texts",
        "_upload",
        "items",
    )

    _buffer: IO[bytes]  # the current file's BytesIO, while the file is in memory

    def __init__(self, limits: FormLimits, spool_max_size: int) -> None:
        super().__init__(limits)
        self._spool = spool_max_size
        self.items: list[tuple[str, UploadFile | int]] = []
        self._texts: list[tuple[str, bytes, str | None]] = []
        self._held = 0  # bytes of file data held in memory, all files together
        # The part being read: a text field (chunks) or a file (upload).
        self._filename = ""
        self._part_charset: str | None = None
        self._chunks: list[bytes] = []
        self._upload: UploadFile | None = None
        self._spooled: SpooledTemporaryFile[bytes] | None = None
        self._in_memory = False

    def start(self, segment: Any) -> None:
        """Begin a part, from the library's ``MultipartSegment``."""
        filename, raw = self.begin(segment)
        if filename is None:
            self._upload = self._spooled = None
            self._chunks = []
            self._part_charset = segment.charset
            return
        # Its max_size is above the form-wide budget (and never 0, which means "never roll"), so
        # the file never rolls over by itself: data() does it, for all the files at once.
        self._filename = filename
        self._spooled = spooled = SpooledTemporaryFile(max_size=self._spool + 1)
        self._upload = UploadFile(
            spooled,  # type: ignore[arg-type]  # a binary file, not typed as BinaryIO
            size=0,
            filename=filename,
            headers=Headers(raw=raw),
        )
        self._buffer = spooled._file
        self._in_memory = True
        # Listed at once, so that an error from here on closes (deletes) its file too.
        self.items.append((self._name, self._upload))

    def data(self, chunk: bytes) -> bool:
        """Add a chunk of the current part's body; False when it must go to disk: then
        ``to_disk`` writes it."""
        self._size += len(chunk)
        spooled = self._spooled
        if spooled is None:
            if self._size > self._limits.max_part_size:
                raise field_too_large(self._name, self._limits.max_part_size)
            self._hold(len(chunk))
            self._chunks.append(chunk)
            return True
        if self._size > self._limits.max_file_size:
            raise file_too_large(self._filename, self._name, self._limits.max_file_size)
        if self._in_memory and self._held + len(chunk) <= self._spool:
            # PERF: below the file's own rollover size, a write stays in memory: made here,
            # on the event loop, without UploadFile.write's checks (the size is set by end()),
            # into the spooled file's BytesIO (its write is a Python wrapper, which then checks
            # for a rollover that this test rules out).
            self._held += len(chunk)
            self._buffer.write(chunk)
            return True
        return False

    async def to_disk(self, chunk: bytes) -> None:
        """Write a chunk of the current file to disk, in a worker thread (after moving what
        the file held in memory there, if it was in memory)."""
        spooled = cast("SpooledTemporaryFile[bytes]", self._spooled)
        if self._in_memory:
            # SECURITY: files in memory are bounded all together, not one by one (a thousand
            # files each just under the threshold would otherwise hold a gigabyte). The
            # rollover writes to disk, so it runs in a worker thread.
            await run_in_threadpool(spooled.rollover)
            self._held -= self._size - len(chunk)
            self._in_memory = False
        await run_in_threadpool(spooled.write, chunk)

    def end(self) -> bool:
        """Finish the current part; False when its file is on disk: then ``rewind`` moves to
        its start."""
        upload = self._upload
        if upload is None:
            self.items.append((self._name, len(self._texts)))
            self._texts.append((self._name, b"".join(self._chunks), self._part_charset))
            self._chunks = []
            return True
        upload.size = self._size
        if self._in_memory:
            self._buffer.seek(0)
            return True
        return False

    async def rewind(self) -> None:
        """Move to the start of the current file, on disk, in a worker thread."""
        await run_in_threadpool(cast("UploadFile", self._upload).file.seek, 0)

    def finish(self, charset: str) -> FormData:
        """Decode the text fields and return the form."""
        if not self._texts:
            return FormData._of(cast("list[tuple[str, UploadFile | str]]", self.items))
        values = decode_multipart_fields(self._texts, charset)  # never fails: latin-1 at worst
        return FormData._of(
            [
                (name, values[value] if isinstance(value, int) else value)
                for name, value in self.items
            ]
        )

    async def close(self) -> None:
        """Close (delete) every file read so far."""
        for _, value in self.items:
            if isinstance(value, UploadFile):
                await value.close()


def _check_part_headers(boundary: str, limits: FormLimits, lines: bytes) -> None:
    """Raise the error the library finds in a part's first header ``lines``, if any.

    The frame found a bare LF in a header section that the parser, given the whole chunk, would
    read past; a parser of its own reads the lines before the fault, as the first one would have.
    """
    parser = _library_parser(boundary, limits)
    list(parser.parse(b"--" + boundary.encode("latin-1") + b"\r\n" + lines))  # no event: cut


class CRLFChunks:
    """The body's chunks, cut again so that no chunk but the last ends with a CR.

    The library's check of a header line still waiting for its end counts a CR that arrived
    without its LF: a line of exactly ``max_part_header_size`` bytes was refused when a chunk
    ended between its CR and LF, and accepted otherwise. Holding that CR back for the next
    chunk makes every answer independent of where the body was cut.
    """

    __slots__ = ("_chunks", "_held")

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._held = b""

    def __aiter__(self) -> CRLFChunks:
        return self

    async def __anext__(self) -> bytes:
        while True:
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                held, self._held = self._held, b""
                if held:
                    return held  # the body ends with it: the last chunk
                raise
            if self._held:
                chunk, self._held = self._held + chunk, b""
            if chunk[-1:] != b"\r":
                return chunk
            # PERF: rare (a chunk of arbitrary bytes ends with a CR once in 256), and a copy then.
            self._held = b"\r"
            if len(chunk) > 1:
                return chunk[:-1]

    async def aclose(self) -> None:
        """Close the body's generator."""
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def _library_parser(boundary: str, limits: FormLimits) -> multipart.PushMultipartParser:
    return multipart.PushMultipartParser(
        boundary,
        max_header_size=limits.max_part_header_size,
        max_header_count=_MAX_PART_HEADERS,
        # The builder bounds each part on every chunk, with the field or file limit that
        # applies (the library cannot tell them apart, and would check a chunk before the
        # builder sees it). The count is a backstop the builder always reaches first.
        max_segment_size=math.inf,
        max_segment_count=limits.max_fields + limits.max_files + 1,
    )


def multipart_options(params: Mapping[str, str]) -> tuple[str, str]:
    """The boundary and the charset, from the parameters of a multipart ``Content-Type``."""
    boundary = params.get("boundary")
    if boundary is None:
        raise MultiPartException("Missing boundary in multipart.")  # Starlette's text
    if not is_multipart_boundary(boundary):
        raise MultiPartException(
            f"The multipart boundary {_clip(boundary)!r} is invalid: it must be 1 to 70 "
            "characters among letters, digits, space and '()+_,-./:=? (RFC 2046), not "
            "ending with a space."
        )
    return boundary, params.get("charset", "utf-8")


async def _build(
    chunks: AsyncIterator[bytes],
    parser: multipart.PushMultipartParser,
    frame: MultipartFrame,
    builder: _FormBuilder,
    boundary: str,
    limits: FormLimits,
) -> None:
    """Feed the body's chunks to the frame and the parser, and the parser's events to the
    builder (each part's end to the frame too), up to the closing delimiter."""
    async for chunk in chunks:
        if not chunk:
            continue  # an empty chunk would tell the library the body has ended
        used = frame.feed(chunk)
        # An empty slice would tell the library the body has ended: skip it.
        if used:
            events = parser.parse(chunk if used == len(chunk) else chunk[:used])
            # PERF: the builder's steps in memory are plain calls; only the disk needs an await.
            for event in events:
                if isinstance(event, bytes):
                    if not builder.data(event):
                        await builder.to_disk(event)
                elif event is not None:
                    builder.start(event)
                else:
                    if not builder.end():
                        await builder.rewind()
                    frame.part_end(builder._size)
                    if frame.error is not None:
                        # The parser holds the rest of the chunk: it stops here, and the header
                        # lines before the fault are checked as it would have checked them.
                        events.close()
                        _check_part_headers(boundary, limits, frame.unread)
        if frame.error is not None:
            # Raised once the bytes before the fault are parsed, so an earlier error wins
            # however the body was cut.
            raise MultiPartException(frame.error)
        if frame.done:
            return  # PERF/SECURITY: an epilogue is never read


async def read_multipart(
    stream: AsyncIterable[bytes], boundary: str, charset: str, limits: FormLimits, spool: int
) -> FormData:
    """The multipart form in ``stream``, within ``limits``, its files held in memory up to
    ``spool`` bytes in all (see ``MultiPartParser``)."""
    parser = _library_parser(boundary, limits)
    # SECURITY: the library would skip a preamble and an epilogue of any length; the frame
    # bounds the first and stops the reading at the closing delimiter.
    frame = MultipartFrame(boundary, limits.max_part_header_size)
    builder = _FormBuilder(limits, spool)
    chunks = CRLFChunks(aiter(stream))
    try:
        try:
            # PERF: one coroutine reads the whole body, not one per chunk.
            await _build(chunks, parser, frame, builder, boundary, limits)
            parser.close()
        except multipart.MultipartError as exc:
            raise _library_error(exc, limits) from None
        except FormDataError as exc:
            raise MultiPartException(str(exc)) from None
        return builder.finish(charset)
    except BaseException:
        # Even when cancelled: a temporary file must not outlive the failed parse.
        with anyio.CancelScope(shield=True):
            await builder.close()
        raise
    finally:
        # Stopping early must not leave the body generator to the garbage collector.
        await chunks.aclose()
