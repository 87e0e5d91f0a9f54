"""``GZipMiddleware``: compress responses the client accepts compressed, streaming as they go.

The coding is negotiated from ``Accept-Encoding`` with q-values (``microasgi._sansio.encoding``): gzip
always, and zstd too on interpreters that have ``compression.zstd`` (Python 3.14+), preferred at
equal weight. Each body message is compressed and flushed as it passes, so a stream stays a
stream; nothing is buffered but the ``http.response.start`` message, held until the first body
message tells whether the body is one message (then ``minimum_size`` decides) or a stream
(compressed from its first chunk, unless its ``Content-Length`` says it is small).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable
from types import ModuleType
from typing import Any, Final, NoReturn, Protocol

import anyio
import anyio.lowlevel
import anyio.to_thread

from microasgi._sansio.encoding import select_encoding
from microasgi.datastructures import Headers, MutableHeaders
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

try:
    from compression import zstd as _zstd  # type: ignore[import-not-found,unused-ignore]  # 3.14+
except ImportError:  # Python < 3.14: gzip only.
    _zstd = None

__all__ = [
    "DEFAULT_EXCLUDED_CONTENT_TYPES",
    "GZipMiddleware",
    "GZipResponder",
    "HAS_ZSTD",
    "IdentityResponder",
    "unattached_send",
]

HAS_ZSTD: Final = _zstd is not None
"""Whether this interpreter has ``compression.zstd`` (Python 3.14+), so zstd can be offered."""

DEFAULT_EXCLUDED_CONTENT_TYPES: Final = (
    "application/grpc",
    "application/gzip",
    "application/x-gzip",
    "application/zip",
    "audio/*",
    "font/woff",
    "font/woff2",
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/event-stream",
    "video/*",
)
"""Media types never compressed by default (Starlette 1.10's list): formats that are compressed
already (images but SVG, audio, video, web fonts, archives), gRPC (which frames and compresses
its own messages; ``application/grpc+proto`` and the like are covered too), and server-sent
events, which must reach the client unbuffered (proxies and browsers may wait for a compressed
block to fill)."""

# The passthrough messages that carry a body the middleware cannot compress in place.
_PATHSEND = "http.response.pathsend"
_ZEROCOPYSEND = "http.response.zerocopysend"
_READ_CHUNK = 64 * 1024
# At most this many compressions run in worker threads at once, apart from anyio's default
# limiter, so large responses never starve sync endpoints of threads (Starlette's bound too).
_THREADS = anyio.lowlevel.RunVar[anyio.CapacityLimiter]("microasgi_gzip_threads")


class _Coder(Protocol):
    def flush(self, data: bytes) -> bytes: ...
    def finish(self, data: bytes) -> bytes: ...


class _GzipCoder:
    __slots__ = ("_z",)

    def __init__(self, level: int) -> None:
        # MAX_WBITS | 16: the gzip container (RFC 1952), header and CRC trailer included.
        self._z = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)

    def flush(self, data: bytes) -> bytes:
        # Z_SYNC_FLUSH ends on a byte boundary, so the client can decode all it got so far.
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush()


class _ZstdCoder:
    __slots__ = ("_z",)

    def __init__(self, module: Any, level: int | None) -> None:
        self._z = module.ZstdCompressor(level=level)

    def flush(self, data: bytes) -> bytes:
        out: bytes = self._z.compress(data, mode=self._z.FLUSH_BLOCK)
        return out

    def finish(self, data: bytes) -> bytes:
        out: bytes = self._z.compress(data, mode=self._z.FLUSH_FRAME)
        return out


class GZipMiddleware:
    """Compress HTTP responses with gzip (or zstd, where available) for clients that accept it.

    A response is compressed when the client accepts a coding this middleware offers (gzip,
    ``x-gzip``, or zstd on Python 3.14+; ``q=0`` refuses one), and the response is not already
    encoded (``Content-Encoding``), is not a ``206 Partial Content``, an answer to ``HEAD``, a
    ``204`` or ``304``, and its media type is not excluded. A body sent as one message is
    compressed when it is at least ``minimum_size`` bytes, with ``Content-Length`` set to the
    compressed size. A streamed body is compressed from its first chunk and flushed after every
    chunk (its ``Content-Length`` is removed), unless its ``Content-Length`` is below
    ``minimum_size``. A body sent with ``http.response.pathsend`` or
    ``http.response.zerocopysend`` as its first message goes out untouched. Trailers pass
    through. Every response whose type could be compressed gets ``Vary: Accept-Encoding``,
    compressed or not, so caches keep the two versions apart. Compressing also turns a strong
    ``ETag`` weak and removes ``Accept-Ranges``: ranges of the compressed bytes are not served.

    Args:
        app: the app to wrap.
        minimum_size: bodies smaller than this many bytes are sent as they are.
        compresslevel: the gzip level, 0 (store) to 9 (smallest, slowest).
        thread_minimum_size: a body message of at least this many bytes is compressed in a
            worker thread, so compressing it does not stall the event loop (128 KiB).
        exclude_content_types: media types never compressed, exact (``"image/png"``) or a whole
            type (``"image/*"``); case and parameters (``; charset=...``) are ignored. An
            ``application/grpc`` entry covers ``application/grpc+proto`` and the like.
        zstd_level: the zstd level (1 to 22) where zstd is available; None never offers zstd.

    Raises:
        ValueError: an option is out of range.
        TypeError: ``exclude_content_types`` is a single string rather than a collection, or
            holds something that is not a string.
    """

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        compresslevel: int = 9,
        thread_minimum_size: int = 128 * 1024,
        *,
        exclude_content_types: Iterable[str] = DEFAULT_EXCLUDED_CONTENT_TYPES,
        zstd_level: int | None = 3,
    ) -> None:
        self.app = app
        self.minimum_size = _check_int("minimum_size", minimum_size, 0, None)
        self.compresslevel = _check_int("compresslevel", compresslevel, 0, 9)
        self.thread_minimum_size = _check_int("thread_minimum_size", thread_minimum_size, 0, None)
        self.zstd_level = (
            None if zstd_level is None else _check_int("zstd_level", zstd_level, 1, 22)
        )
        self._excluded = _check_media_types(exclude_content_types)
        # Read at construction, so a test can put a stand-in module in place first.
        self._zstd: ModuleType | None = _zstd if self.zstd_level is not None else None
        self._codings: tuple[str, ...] = ("zstd", "gzip") if self._zstd is not None else ("gzip",)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding: str | None = None
        if scope.get("method") != "HEAD":
            accept = [value for name, value in scope["headers"] if name == b"accept-encoding"]
            if accept:
                coding = select_encoding(b",".join(accept).decode("latin-1"), self._codings)
        await self._respond(scope, receive, send, coding)

    async def _respond(
        self, scope: Scope, receive: Receive, send: Send, coding: str | None
    ) -> None:
        """Run the app with its response sent in ``coding`` (None: as it is) where it applies."""
        responder = _Responder(self, send, coding)
        await self.app(scope, receive, responder.send)
        held = responder.held
        if held is not None:
            # The app returned after its start message without a body: forward the start, so
            # the server sees (and reports) what the app did.
            await send(held)

    def _is_excluded(self, content_type: str | None) -> bool:
        if content_type is None:
            return False
        media_type = content_type.split(";", 1)[0].strip().lower()
        excluded = self._excluded
        if media_type in excluded or media_type.split("/", 1)[0] + "/*" in excluded:
            return True
        # gRPC names its message format after a "+": application/grpc+proto, +json ...
        return media_type.startswith("application/grpc+") and "application/grpc" in excluded

    async def _compress(self, coder: _Coder, body: bytes, *, last: bool) -> bytes:
        """Compress one body message, in a worker thread when it is large."""
        step = coder.finish if last else coder.flush
        if len(body) < self.thread_minimum_size:
            return step(body)
        # PERF: zlib and zstd release the GIL, and a large body would stall the event loop.
        try:
            limiter = _THREADS.get()
        except LookupError:
            limiter = anyio.CapacityLimiter(40)
            _THREADS.set(limiter)
        return await anyio.to_thread.run_sync(step, body, limiter=limiter)

    def _coder(self, coding: str) -> _Coder:
        if coding == "zstd":
            return _ZstdCoder(self._zstd, self.zstd_level)
        return _GzipCoder(self.compresslevel)


class IdentityResponder:
    """Starlette's responder for clients that do not accept gzip, as an ASGI app over ``app``.

    ``GZipMiddleware`` negotiates the coding itself; this class (and ``GZipResponder``) exists
    for code and tests written against Starlette's. It sends ``app``'s responses uncompressed,
    with ``Vary: Accept-Encoding`` on those of a type that could be compressed, as
    ``GZipMiddleware`` does for a client that accepts no coding it offers. Unlike Starlette's,
    one instance serves any number of requests. Other scopes pass through.
    ``exclude_content_types`` holds the excluded media types normalized (lowercase, without
    parameters), as in Starlette.

    Args:
        app: the app whose responses are sent.
        minimum_size: bodies smaller than this many bytes are never compressed.
        exclude_content_types: media types never compressed, as for ``GZipMiddleware``.

    Raises:
        ValueError, TypeError: an option is invalid, as for ``GZipMiddleware``.
    """

    _coding: str | None = None

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        *,
        exclude_content_types: Iterable[str] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        self._init(app, minimum_size, 9, 128 * 1024, exclude_content_types)

    def _init(
        self,
        app: ASGIApp,
        minimum_size: int,
        compresslevel: int,
        thread_minimum_size: int,
        exclude_content_types: Iterable[str],
    ) -> None:
        # Our middleware does the work, offering gzip only (Starlette's responders know no zstd),
        # and checks the options.
        self._middleware = GZipMiddleware(
            app,
            minimum_size,
            compresslevel,
            thread_minimum_size,
            exclude_content_types=exclude_content_types,
            zstd_level=None,
        )
        self.app = app
        self.minimum_size = minimum_size
        self.exclude_content_types = tuple(sorted(self._middleware._excluded))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self._middleware._respond(scope, receive, send, self._coding)


class GZipResponder(IdentityResponder):
    """Starlette's responder for clients that accept gzip, as an ASGI app over ``app``.

    It compresses ``app``'s responses with gzip as ``GZipMiddleware`` does for a client that
    accepts gzip (the same rules: ``minimum_size``, excluded types, ``Content-Encoding`` already
    set, 204/206/304, streams flushed chunk by chunk), whatever the request's
    ``Accept-Encoding`` says: choosing it is the caller's job, as in Starlette. Use
    ``GZipMiddleware`` in an app; this class is for code written against Starlette's.

    Args:
        app: the app whose responses are compressed.
        minimum_size: bodies smaller than this many bytes are sent as they are.
        compresslevel: the gzip level, 0 (store) to 9 (smallest, slowest).
        thread_minimum_size: body messages of at least this many bytes are compressed in a
            worker thread.
        exclude_content_types: media types never compressed, as for ``GZipMiddleware``.

    Raises:
        ValueError, TypeError: an option is invalid, as for ``GZipMiddleware``.
    """

    _coding = "gzip"
    content_encoding = "gzip"
    """The coding this responder applies."""

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        compresslevel: int = 9,
        *,
        thread_minimum_size: int = 128 * 1024,
        exclude_content_types: Iterable[str] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        self._init(app, minimum_size, compresslevel, thread_minimum_size, exclude_content_types)
        self.compresslevel = compresslevel
        self.thread_minimum_size = thread_minimum_size


async def unattached_send(message: Message) -> NoReturn:
    """Starlette's placeholder ``send`` of a responder not yet called: it always raises.

    Raises:
        RuntimeError: always.
    """
    raise RuntimeError(
        "send awaitable not set: this placeholder stands for the send of an ASGI call that has "
        "not started. Call the app with the server's send instead."
    )


class _Responder:
    """The send wrapper of one response: decides at the start, then compresses or passes."""

    __slots__ = ("_send", "coder", "coding", "config", "held")

    def __init__(self, config: GZipMiddleware, send: Send, coding: str | None) -> None:
        self.config = config
        self._send = send
        self.coding = coding
        self.held: Message | None = None  # the start message, until the first body message
        self.coder: _Coder | None = None  # set while compressing a stream

    async def send(self, message: Message) -> None:
        kind = message["type"]
        coder, held = self.coder, self.held
        if kind == "http.response.start":
            await self._start(message)
        elif coder is not None and kind == "http.response.body":
            await self._stream_body(coder, message)
        elif held is not None and kind == "http.response.body":
            await self._first_body(held, message)
        elif coder is not None and kind == _ZEROCOPYSEND:
            await self._compress_file(coder, message)
        elif held is not None and kind in (_PATHSEND, _ZEROCOPYSEND):
            # SPEC: pathsend carries the whole body and is never mixed with body messages; a
            # zerocopysend first means a file the server sends itself. Neither can be compressed
            # here, and the start has not gone yet, so it goes out without a Content-Encoding.
            self.held = None
            await self._send(held)
            await self._send(message)
        else:
            # Trailers, pushes, early hints, debug info and everything after a passthrough.
            await self._send(message)

    async def _start(self, message: Message) -> None:
        config = self.config
        headers = Headers(raw=message.get("headers") or [])
        if "content-encoding" in headers or config._is_excluded(headers.get("content-type")):
            await self._send(message)
            return
        # Never edit the app's list in place: a Response reused across requests owns it.
        message = {**message, "headers": list(headers.raw)}
        MutableHeaders(scope=message).add_vary_header("Accept-Encoding")
        if (
            self.coding is None
            or message.get("status") in (204, 206, 304)
            or _is_small(headers.get("content-length"), config.minimum_size)
        ):
            await self._send(message)
            return
        self.held = message

    def _encode_start(self, held: Message, coding: str, length: int | None) -> None:
        headers = MutableHeaders(scope=held)
        headers["content-encoding"] = coding
        del headers["accept-ranges"]
        etag = headers.get("etag")
        if etag is not None and not etag.startswith("W/"):
            # SPEC: RFC 9110 section 8.8.1, the compressed bytes are another representation, so
            # a strong validator of the original no longer describes them byte for byte.
            headers["etag"] = "W/" + etag
        if length is None or held.get("trailers"):
            # SPEC: RFC 9112 section 7.1.2, trailers need chunked framing on HTTP/1.1, which the
            # server uses only without a Content-Length.
            del headers["content-length"]
        else:
            headers["content-length"] = str(length)

    async def _first_body(self, held: Message, message: Message) -> None:
        self.held = None
        coding = self.coding or "gzip"  # always set here: a start is held only with a coding
        body: bytes = message.get("body", b"")
        more_body = message.get("more_body", False)
        if not more_body and len(body) < self.config.minimum_size:
            await self._send(held)
            await self._send(message)
            return
        coder = self.config._coder(coding)
        if more_body:
            # Compressed from the first chunk whatever its size: holding chunks back until
            # minimum_size would stall a slow stream (a chat answer token by token) indefinitely.
            self.coder = coder
            self._encode_start(held, coding, None)
            compressed = await self.config._compress(coder, body, last=False)
            await self._send(held)
            await self._send({**message, "body": compressed})
        else:
            compressed = await self.config._compress(coder, body, last=True)
            self._encode_start(held, coding, len(compressed))
            await self._send(held)
            await self._send({**message, "body": compressed})

    async def _stream_body(self, coder: _Coder, message: Message) -> None:
        body: bytes = message.get("body", b"")
        last = not message.get("more_body", False)
        if last:
            self.coder = None
        await self._send({**message, "body": await self.config._compress(coder, body, last=last)})

    async def _compress_file(self, coder: _Coder, message: Message) -> None:
        """Read a zerocopysend file that follows compressed body messages, as compressed chunks."""
        fd: int = message["file"].fileno()
        offset: int | None = message.get("offset")
        remaining: int | None = message.get("count")
        while remaining is None or remaining > 0:
            size = _READ_CHUNK if remaining is None else min(_READ_CHUNK, remaining)
            # File reads block: they run in a worker thread, never on the event loop.
            chunk = await anyio.to_thread.run_sync(_read, fd, size, offset)
            if not chunk:
                break
            if offset is not None:
                offset += len(chunk)
            if remaining is not None:
                remaining -= len(chunk)
            await self._send(
                {"type": "http.response.body", "body": coder.flush(chunk), "more_body": True}
            )
        if not message.get("more_body", False):
            self.coder = None
            await self._send(
                {"type": "http.response.body", "body": coder.finish(b""), "more_body": False}
            )


def _is_small(declared: str | None, minimum_size: int) -> bool:
    """Whether a declared ``Content-Length`` is a valid number below ``minimum_size``."""
    # SECURITY: ASCII digits only (str.isdigit accepts other scripts), and short enough for int().
    return (
        declared is not None
        and declared.isascii()
        and declared.isdigit()
        and len(declared) <= 18
        and int(declared) < minimum_size
    )


def _read(fd: int, size: int, offset: int | None) -> bytes:
    # SPEC: zerocopysend without an offset reads from the file's current position.
    return os.read(fd, size) if offset is None else os.pread(fd, size, offset)


def _check_int(name: str, value: object, low: int, high: int | None) -> int:
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    ):
        return value
    bounds = f">= {low}" if high is None else f"from {low} to {high}"
    raise ValueError(f"GZipMiddleware {name} must be an int {bounds}, got {value!r}.")


def _check_media_types(types: Iterable[str]) -> frozenset[str]:
    if isinstance(types, str | bytes):
        raise TypeError(
            f"exclude_content_types must be a collection of media types, got the single string "
            f"{types!r}. Wrap it in a tuple: exclude_content_types=({types!r},)."
        )
    checked = set()
    for media_type in types:
        if not isinstance(media_type, str):
            raise TypeError(
                f"exclude_content_types must hold media type strings such as 'image/png', got "
                f"{media_type!r}."
            )
        # As Starlette does: "Image/PNG; q=1" stands for image/png.
        checked.add(media_type.split(";", 1)[0].strip().lower())
    return frozenset(checked)
