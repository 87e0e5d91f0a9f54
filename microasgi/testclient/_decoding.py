"""Undoing a response's ``Content-Encoding`` as HTTPX does: gzip, deflate, br and zstd.

gzip and deflate come with the standard library. ``br`` needs the ``brotli`` package and
``zstd`` either ``compression.zstd`` (Python 3.14+) or the ``zstandard`` package; both are looked
up when a response needs them, never at import. A coding the client cannot undo (unknown, or its
package missing) is left as it is: the body stays as the app sent it from that layer inwards, and
the ``content-encoding`` header still says how it is encoded.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, Protocol

__all__ = ["ContentDecoder", "accept_encoding"]


class _Codec(Protocol):
    def decode(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


def _optional(name: str) -> ModuleType | None:
    """Import ``name``, or None when it is not installed (or hidden by a test)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _decoding_error(coding: str, exc: BaseException) -> ValueError:
    return ValueError(
        f"The response body is not valid {coding!r} data, although its content-encoding says so "
        f"({exc}). Read the bytes as sent with response.iter_raw(), or fix the app's encoder."
    )


class _Gzip:
    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)

    def decode(self, data: bytes) -> bytes:
        try:
            return self._inflate.decompress(data)
        except zlib.error as exc:
            raise _decoding_error("gzip", exc) from None

    def flush(self) -> bytes:
        return self._inflate.flush()


class _Deflate:
    """``deflate`` is meant to be zlib-wrapped; servers also send raw deflate, which HTTPX accepts."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj()
        self._first = True

    def decode(self, data: bytes) -> bytes:
        first, self._first = self._first, False
        try:
            return self._inflate.decompress(data)
        except zlib.error as exc:
            if first:
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data)
            raise _decoding_error("deflate", exc) from None

    def flush(self) -> bytes:
        return self._inflate.flush()


class _Brotli:
    def __init__(self, brotli: ModuleType) -> None:
        self._error: type[Exception] = brotli.error
        self._decompressor = brotli.Decompressor()

    def decode(self, data: bytes) -> bytes:
        if not data:
            return b""
        try:
            return bytes(self._decompressor.process(data))
        except self._error as exc:
            raise _decoding_error("br", exc) from None

    def flush(self) -> bytes:
        return b""


class _Zstd:
    """One decompressor per frame: a body may hold several frames, back to back."""

    def __init__(self, new: Callable[[], Any], error: type[Exception]) -> None:
        self._new = new
        self._error = error
        self._decompressor = new()
        self._seen = False

    def decode(self, data: bytes) -> bytes:
        out: list[bytes] = []
        try:
            while data:
                self._seen = True
                if self._decompressor.eof:
                    self._decompressor = self._new()
                out.append(self._decompressor.decompress(data))
                data = self._decompressor.unused_data if self._decompressor.eof else b""
        except self._error as exc:
            raise _decoding_error("zstd", exc) from None
        return b"".join(out)

    def flush(self) -> bytes:
        if self._seen and not self._decompressor.eof:
            raise _decoding_error("zstd", ValueError("the last frame is incomplete"))
        return b""


def _brotli() -> Callable[[], _Codec] | None:
    brotli = _optional("brotli")
    if brotli is None:
        return None
    return lambda: _Brotli(brotli)


def _zstd() -> Callable[[], _Codec] | None:
    stdlib = _optional("compression.zstd")  # Python 3.14+
    if stdlib is not None:
        new: Callable[[], Any] = stdlib.ZstdDecompressor
        error: type[Exception] = stdlib.ZstdError
    else:
        zstandard = _optional("zstandard")
        if zstandard is None:
            return None
        new = lambda: zstandard.ZstdDecompressor().decompressobj()  # noqa: E731
        error = zstandard.ZstdError
    return lambda: _Zstd(new, error)


def _factory(coding: str) -> Callable[[], _Codec] | None:
    if coding == "gzip":
        return _Gzip
    if coding == "deflate":
        return _Deflate
    if coding == "br":
        return _brotli()
    if coding == "zstd":
        return _zstd()
    return None


def accept_encoding() -> str:
    """The ``accept-encoding`` the client sends: the codings it can undo, as HTTPX advertises."""
    return ", ".join(c for c in ("gzip", "deflate", "br", "zstd") if _factory(c) is not None)


class ContentDecoder:
    """Undo the codings of one response body, chunk by chunk.

    Args:
        values: the ``content-encoding`` header values (each may list codings, comma-separated).
            Codings apply in the order listed, so they are undone from the last; at the first
            one the client cannot undo, decoding stops and the rest is left as it is.
    """

    def __init__(self, values: Iterable[str]) -> None:
        codings = [c.strip().lower() for value in values for c in value.split(",")]
        self._steps: list[_Codec] = []
        for coding in reversed(codings):
            if coding in ("", "identity"):
                continue
            factory = _factory(coding)
            if factory is None:
                break
            self._steps.append(factory())

    def decode(self, data: bytes) -> bytes:
        """Decode one chunk of the body."""
        for step in self._steps:
            data = step.decode(data)
        return data

    def flush(self) -> bytes:
        """Decode what the codings still hold at the end of the body."""
        data = b""
        for step in self._steps:
            data = step.decode(data) + step.flush()
        return data
