"""Fake request-body streams shared by the form parser tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator


class Body:
    """An async body stream that records how many chunks were read and whether it was closed."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.read = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            for chunk in self.chunks:
                self.read += 1
                yield chunk
        finally:
            self.closed = True


class PlainChunks:
    """An async iterable without ``aclose``: a parser must not need one."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)

    def __aiter__(self) -> PlainChunks:
        return self

    async def __anext__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            raise StopAsyncIteration from None
