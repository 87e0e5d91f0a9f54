"""``FileResponse``: a file sent with validators, conditional requests and byte ranges.

Published by ``microasgi.responses``, its public home. The header and range logic it applies is
the protocol layer's (``microasgi._sansio.ranges``).
"""

from __future__ import annotations

import mimetypes
import os
import secrets
import stat
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from typing import BinaryIO
from urllib.parse import quote

import anyio
import anyio.to_thread

from microasgi._asgi.concurrency import unwrap_group
from microasgi._asgi.response import (
    _TOKEN_CHARS,
    Response,
    _body_cannot_be_stolen,
    _check_status,
    _offers_denial_response,
    _unsupported_scope,
)
from microasgi._sansio.headers import encode_header_value
from microasgi._sansio.ranges import (
    MAX_RANGES,
    ByteRange,
    RequestConditions,
    content_range,
    evaluate_preconditions,
    format_http_date,
    make_etag,
    multipart_layout,
    parse_http_date,
    select_ranges,
)
from microasgi.background import BackgroundTask
from microasgi.types import Message, Receive, Scope, Send

__all__ = ["FileResponse"]

PathLike = str | os.PathLike[str]
# A body is a list of segments: literal bytes (multipart delimiters) or a range of the file.
_Segment = bytes | ByteRange

# SPEC: RFC 9110 15.4.5, the fields a 304 carries: those a 200 would have sent of these.
_NOT_MODIFIED_FIELDS = frozenset(
    {b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary"}
)
_PATHSEND = "http.response.pathsend"
_ZEROCOPYSEND = "http.response.zerocopysend"
_BODY = "http.response.body"
_WEBSOCKET_START = "websocket.http.response.start"
_WEBSOCKET_BODY = "websocket.http.response.body"
_EMPTY_LAST: Message = {"type": _BODY, "body": b"", "more_body": False}
_DEFAULT_MEDIA_TYPE = "application/octet-stream"
_DEFAULT_FILENAME = "download"
# The largest body sent without a disconnect watcher to an ASGI 2.4 server (see _may_not_raise).
_UNWATCHED_BODY = 1024 * 1024
# SPEC: before accept, websocket.close makes the server answer the handshake with HTTP 403.
_WEBSOCKET_DENIED: Message = {"type": "websocket.close", "code": 1000}


def _read_types_database() -> None:
    """Read the system's media types now, unless done already (which keeps added types)."""
    # PERF: mimetypes reads the system's type files (and on Windows the registry) at its first
    # guess; done at import, so that no guess made while serving touches the disk.
    if not mimetypes.inited:
        mimetypes.init()


_read_types_database()


class FileResponse(Response):
    """A file, sent the fastest way the server offers, with ``Range`` and conditional requests.

    Headers: ``Content-Type`` (from ``media_type``, else guessed from ``filename`` or ``path``,
    else ``application/octet-stream``), ``Content-Length``, ``Last-Modified``, a strong ``ETag``
    (modification time and size), ``Accept-Ranges: bytes`` and, with ``filename``,
    ``Content-Disposition`` (an ASCII ``filename`` plus an RFC 8187 ``filename*`` when the name
    is not plain ASCII). Headers given in ``headers`` win over the computed ones.

    On a 200 response the request's ``If-Match``, ``If-Unmodified-Since`` (412), ``If-None-Match``
    and ``If-Modified-Since`` (304) are applied in RFC 9110 section 13.2.2 order; then, for GET and
    HEAD, ``Range`` (after ``If-Range``): one range gives a 206 with ``Content-Range``, several a
    206 ``multipart/byteranges``, none satisfiable a 416 with ``Content-Range: bytes */size``. A
    malformed ``Range``, or one with more than ``max_ranges`` elements, is ignored (200).

    The body goes out as ``http.response.pathsend`` when the server offers it and the whole file is
    sent, else as ``http.response.zerocopysend`` (the response opens and closes the file), else in
    ``chunk_size`` reads in a worker thread, which stop as soon as the client leaves. HEAD gets
    the GET headers and no body. No file system call runs on the event loop: the lookup, the
    open, each read and the close happen in worker threads.

    In a websocket scope (before accept) the file denies the handshake: sent whole, with the
    response's status, as ``websocket.http.response.start`` and ``.body`` messages when the
    server offers the ``websocket.http.response`` extension; otherwise the server answers 403.

    Args:
        path: the file to send; it is looked up when the response is sent.
        status_code: the status; conditional requests and ranges apply to 200 only.
        headers: extra headers, validated.
        media_type: the ``Content-Type``; guessed when None.
        background: a task run after the response.
        filename: the download name for ``Content-Disposition``.
        stat_result: an ``os.stat`` result for ``path``, to skip the lookup.
        method: accepted for Starlette compatibility and not used: a HEAD request (the scope's
            method in any case, as Starlette reads it) gets the headers only, whatever this says,
            and a GET always gets its body.
        content_disposition_type: ``"attachment"`` (download) or ``"inline"``.

    Raises:
        ValueError: an invalid status, header or ``content_disposition_type``.
        RuntimeError: when sent, if ``path`` does not exist or is not a regular file.
    """

    chunk_size = 64 * 1024
    """The size of each read when the file is sent in chunks."""
    max_ranges = MAX_RANGES
    """The most elements a ``Range`` header may have before it is ignored."""

    def __init__(
        self,
        path: PathLike,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        method: str | None = None,
        content_disposition_type: str = "attachment",
    ) -> None:
        self.path = path
        self.status_code = _check_status(status_code)
        self.filename = filename
        # Starlette's argument, kept so calls port unchanged: the request's method decides, since
        # a GET answered with headers only would break its own Content-Length.
        self.method = method
        if media_type is None:
            # The types database was read at import: this guess is a lookup in memory.
            guessed = mimetypes.guess_type(filename or os.fspath(path))[0]
            media_type = guessed or _DEFAULT_MEDIA_TYPE
        self.media_type = media_type
        self.background = background
        self.init_headers(headers)
        names = {name for name, _ in self.raw_headers}
        if filename is not None and b"content-disposition" not in names:
            self.raw_headers.append(
                (b"content-disposition", _content_disposition(content_disposition_type, filename))
            )
        if b"accept-ranges" not in names:
            self.raw_headers.append((b"accept-ranges", b"bytes"))
        self.stat_result = stat_result
        if stat_result is not None:
            self.raw_headers = _with_stat_headers(self.raw_headers, stat_result)

    def _stat(self) -> os.stat_result:
        try:
            result = os.stat(self.path)
        except FileNotFoundError:
            raise RuntimeError(
                f"File at path {self.path!r} does not exist. Check the path, or answer 404 "
                "before building a FileResponse."
            ) from None
        if not stat.S_ISREG(result.st_mode):
            raise RuntimeError(
                f"File at path {self.path!r} is not a file. FileResponse sends regular files; "
                "use StaticFiles(html=True) to serve a directory's index.html."
            )
        return result

    async def _stat_headers(self) -> tuple[os.stat_result, list[tuple[bytes, bytes]]]:
        """The file's ``os.stat`` result (looked up in a worker thread) and the 200 headers."""
        stat_result = self.stat_result
        if stat_result is None:
            stat_result = await anyio.to_thread.run_sync(self._stat)
            return stat_result, _with_stat_headers(self.raw_headers, stat_result)
        return stat_result, self.raw_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the file (or a 304, 412, 416 or 206 as the request asks), then the background."""
        scope_type = scope["type"]
        if scope_type == "http":
            await self._respond(scope, receive, send)
        elif scope_type == "websocket":
            await self._deny_websocket(scope, send)
        else:
            raise _unsupported_scope(self, scope)
        if self.background is not None:
            await self.background()

    async def _deny_websocket(self, scope: Scope, send: Send) -> None:
        """Answer a websocket handshake with the whole file, or with 403 (see the class)."""
        if not _offers_denial_response(scope):
            await _send_all(send, [_WEBSOCKET_DENIED])
            return
        stat_result, headers = await self._stat_headers()
        start: Message = {"type": _WEBSOCKET_START, "status": self.status_code, "headers": headers}
        file = await anyio.to_thread.run_sync(_open, self.path)
        try:
            segments: list[_Segment] = [(0, stat_result.st_size)]
            await self._send_chunks(send, start, file, segments, _WEBSOCKET_BODY)
        finally:
            await _close(file)

    async def _respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an HTTP request: the file, or a 304, 412, 416 or 206 as the request asks."""
        stat_result, headers = await self._stat_headers()
        # Starlette reads the method in any case ("head" gets headers only, "get" honours Range),
        # though RFC 9110 section 9.1 makes methods case-sensitive; hand-built scopes rely on it.
        method: str = scope.get("method", "GET").upper()
        size = stat_result.st_size
        status = self.status_code
        segments: list[_Segment] = [(0, size)]
        conditions = RequestConditions.from_headers(scope["headers"]) if status == 200 else None
        if conditions:
            etag = _field(headers, b"etag")
            modified = _field(headers, b"last-modified")
            last_modified = None if modified is None else parse_http_date(modified)
            refusal = evaluate_preconditions(conditions, method, etag or '""', last_modified)
            ranges = None
            if refusal is None and (method == "GET" or method == "HEAD"):
                ranges = select_ranges(
                    conditions, etag or '""', last_modified, size, self.max_ranges
                )
            if refusal is not None:
                status, headers, segments = refusal, _refusal_headers(refusal, headers, size), []
            elif ranges == []:
                status, headers, segments = 416, _refusal_headers(416, headers, size), []
            elif ranges is not None:
                status = 206
                headers, segments = self._partial(headers, ranges, size)
        start: Message = {"type": "http.response.start", "status": status, "headers": headers}
        if method == "HEAD" or not segments:
            await _send_all(send, [start, _EMPTY_LAST])
        else:
            await self._send_file(scope, receive, send, start, segments, size)

    def _partial(
        self, headers: list[tuple[bytes, bytes]], ranges: list[ByteRange], size: int
    ) -> tuple[list[tuple[bytes, bytes]], list[_Segment]]:
        """The headers and body segments of a 206 for ``ranges``."""
        if len(ranges) == 1:
            start, stop = ranges[0]
            kept = [item for item in headers if item[0] != b"content-length"]
            kept.append((b"content-range", content_range(start, stop, size).encode("latin-1")))
            kept.append((b"content-length", b"%d" % (stop - start)))
            return kept, [ranges[0]]
        boundary = secrets.token_hex(16)
        part_type = _field(headers, b"content-type") or "application/octet-stream"
        heads, closing, length = multipart_layout(ranges, size, boundary, part_type)
        kept = [item for item in headers if item[0] not in (b"content-length", b"content-type")]
        kept.append((b"content-type", b"multipart/byteranges; boundary=" + boundary.encode()))
        kept.append((b"content-length", b"%d" % length))
        segments: list[_Segment] = []
        for head, byte_range in zip(heads, ranges, strict=True):
            segments += (head, byte_range)
        segments.append(closing)
        return kept, segments

    async def _send_file(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        start: Message,
        segments: list[_Segment],
        size: int,
    ) -> None:
        """Send ``start`` and the body through the best transport the server offers."""
        extensions = scope.get("extensions") or {}
        if _PATHSEND in extensions and segments == [(0, size)]:
            # SPEC: pathsend wants an absolute path; a relative one is resolved against the
            # working directory (getcwd) in a worker thread. It comes once after start and is
            # never mixed with body messages.
            path = os.fspath(self.path)
            if not os.path.isabs(path):
                path = await anyio.to_thread.run_sync(os.path.abspath, path)
            await _send_all(send, [start, {"type": _PATHSEND, "path": path}])
            return
        file = await anyio.to_thread.run_sync(_open, self.path)
        try:
            if _ZEROCOPYSEND in extensions:
                await _send_all(send, [start, *_zerocopy_messages(file, segments)])
            elif _may_not_raise(scope, segments) and _body_cannot_be_stolen(scope):
                await _until_disconnect(
                    receive, lambda: self._send_chunks(send, start, file, segments)
                )
            else:
                await self._send_chunks(send, start, file, segments)
        finally:
            await _close(file)

    async def _send_chunks(
        self,
        send: Send,
        start: Message,
        file: BinaryIO,
        segments: list[_Segment],
        body_type: str = _BODY,
    ) -> None:
        """Read ``segments`` in worker threads and send them as ``body_type`` messages; stop
        quietly if the client left."""
        chunk_size = self.chunk_size
        try:
            await send(start)
            for segment in segments:
                if isinstance(segment, bytes):
                    await send({"type": body_type, "body": segment, "more_body": True})
                    continue
                position, stop = segment
                while position < stop:
                    chunk = await anyio.to_thread.run_sync(
                        _read_at, file, position, min(chunk_size, stop - position)
                    )
                    if not chunk:
                        raise RuntimeError(
                            f"File at path {self.path!r} shrank while it was being sent: no data "
                            f"at byte {position}, {stop - position} bytes short. The response "
                            "is incomplete; do not change files while serving them."
                        )
                    position += len(chunk)
                    await send({"type": body_type, "body": chunk, "more_body": True})
            await send({"type": body_type, "body": b"", "more_body": False})
        except OSError:
            return  # SPEC: ASGI 2.4, the client has gone: stop reading.


def _open(path: PathLike) -> BinaryIO:
    # Unbuffered: reads go straight into the chunk, and the fd is what zerocopysend wants.
    return open(path, "rb", buffering=0)  # closed by the caller


async def _close(file: BinaryIO) -> None:
    # Shielded: the file is closed even when the response is being cancelled (a disconnect).
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(file.close)


def _read_at(file: BinaryIO, position: int, size: int) -> bytes:
    file.seek(position)
    return file.read(size)


def _zerocopy_messages(file: BinaryIO, segments: list[_Segment]) -> list[Message]:
    """The zerocopysend and body messages for ``segments``; the last one ends the body."""
    messages: list[Message] = []
    for segment in segments:
        if isinstance(segment, bytes):
            messages.append({"type": "http.response.body", "body": segment, "more_body": True})
        elif segment[1] > segment[0]:
            # SPEC: a count of 0 means "to the end of the file" to some sendfile()s: never sent.
            messages.append(
                {
                    "type": _ZEROCOPYSEND,
                    "file": file,
                    "offset": segment[0],
                    "count": segment[1] - segment[0],
                    "more_body": True,
                }
            )
    messages.append(_EMPTY_LAST)
    return messages


async def _send_all(send: Send, messages: list[Message]) -> None:
    try:
        for message in messages:
            await send(message)
    except OSError:
        pass  # SPEC: ASGI 2.4, the client has gone; nobody is left to tell.


def _may_not_raise(scope: Scope, segments: list[_Segment]) -> bool:
    """Whether to watch ``receive`` for the client leaving, since ``send`` may not tell."""
    # SPEC: before ASGI 2.4 send() need not raise once the client has gone. From 2.4 on it must
    # raise an OSError, but gunicorn's asgi worker (27.0.1) says 2.4 and its HTTP/1.1 send()
    # returns quietly after the client left. PERF: the watcher is a task per response, so at
    # 2.4 only a body over _UNWATCHED_BODY pays for it: such a server reads at most that much
    # into the void, and a smaller file costs what it did.
    if _spec_version(scope) < (2, 4):
        return True
    size = 0
    for segment in segments:
        size += len(segment) if isinstance(segment, bytes) else segment[1] - segment[0]
    return size > _UNWATCHED_BODY


async def _until_disconnect(receive: Receive, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` while a second task waits for ``http.disconnect`` and cancels it.

    The same approach as ``StreamingResponse``, for servers whose ``send`` may not raise once the
    client has gone (``_may_not_raise``); only used when no request body can be stolen.
    """
    try:
        async with anyio.create_task_group() as task_group:

            async def cancel_on_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                task_group.cancel_scope.cancel()

            task_group.start_soon(cancel_on_disconnect)
            await work()
            task_group.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise unwrap_group(group) from None


def _spec_version(scope: Scope) -> tuple[int, int]:
    # SPEC: spec_version defaults to "2.0"; anything unreadable counts as the oldest.
    version = (scope.get("asgi") or {}).get("spec_version", "2.0")
    major, _, minor = str(version).partition(".")
    if major.isdigit() and minor.isdigit():
        return int(major), int(minor)
    return (2, 0)


def _field(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _with_stat_headers(
    headers: list[tuple[bytes, bytes]], stat_result: os.stat_result
) -> list[tuple[bytes, bytes]]:
    """``headers`` plus ``content-length``, ``last-modified`` and ``etag`` where not given."""
    names = {name for name, _ in headers}
    added = [
        (name, value)
        for name, value in (
            (b"content-length", b"%d" % stat_result.st_size),
            (b"last-modified", format_http_date(stat_result.st_mtime).encode("latin-1")),
            (b"etag", make_etag(stat_result).encode("latin-1")),
        )
        if name not in names
    ]
    return [*headers, *added]


def _refusal_headers(
    status: int, headers: list[tuple[bytes, bytes]], size: int
) -> list[tuple[bytes, bytes]]:
    """The headers of a 304, 412 or 416 built from those of the 200."""
    if status == 304:
        return [item for item in headers if item[0] in _NOT_MODIFIED_FIELDS]
    if status == 416:
        # SPEC: RFC 9110 15.5.17, a 416 to a byte range request sends the current length.
        return [(b"content-range", b"bytes */%d" % size), (b"content-length", b"0")]
    return [(b"content-length", b"0")]


def _content_disposition(kind: str, filename: str) -> bytes:
    """Return a ``Content-Disposition`` value; other names than plain ASCII get a ``filename*``.

    A name of printable ASCII without ``"``, ``\\`` or ``%`` goes as ``filename="..."``, as
    Starlette sends it. Any other name goes exactly, percent-encoded, in RFC 8187
    ``filename*=utf-8''...`` (all Starlette sends then), after an ASCII ``filename`` fallback for
    the clients that ignore ``filename*`` (RFC 6266 section 4.3).
    """
    if not isinstance(kind, str) or not kind or not _TOKEN_CHARS.issuperset(kind):
        raise ValueError(
            f"content_disposition_type must be an HTTP token such as 'attachment' or 'inline', "
            f"got {kind!r}."
        )
    if filename.isascii() and filename.isprintable() and not any(c in filename for c in '"\\%'):
        return encode_header_value(f'{kind}; filename="{filename}"', "content-disposition")
    encoded = quote(filename, safe="")
    value = f"{kind}; filename=\"{_ascii_fallback(filename)}\"; filename*=utf-8''{encoded}"
    return encode_header_value(value, "content-disposition")


def _ascii_fallback(filename: str) -> str:
    """An ASCII stand-in for ``filename``: ``"résumé.pdf"`` gives ``"resume.pdf"``.

    Accents are dropped (NFKD, then non-ASCII characters removed); characters that could end
    the quoted string or be decoded by a browser become ``_``. When no letter or digit is left
    before the extension (``"日本.txt"``), the name becomes ``download`` plus the extension.
    """
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    # SECURITY: printable ASCII only, without '"', '\' or '%' (which some browsers decode).
    name = "".join(c if c.isprintable() and c not in '"\\%' else "_" for c in ascii_name)
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = stem.strip()
    if not any(c.isalnum() for c in stem):
        stem = _DEFAULT_FILENAME
    return f"{stem}.{extension}" if extension.isalnum() else stem
