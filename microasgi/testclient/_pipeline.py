"""The stages a response body goes through on its way to the test, chunk by chunk.

Each stage takes what the previous one produced (``feed``) and gives what it can so far; at the
end of the body ``flush`` gives the rest. ``iter_raw`` is the chunks re-cut, ``iter_bytes`` adds
the content decoding, ``iter_text`` the charset decoding and ``iter_lines`` the line split.
"""

from __future__ import annotations

import codecs
import collections
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from microasgi.testclient._decoding import ContentDecoder

__all__ = [
    "AsyncPipe",
    "Decode",
    "Decompress",
    "Lines",
    "NextChunk",
    "Rechunk",
    "Stage",
    "push",
]

NextChunk = Callable[[], Awaitable[bytes | None]]


class Rechunk:
    """Stage: regroup bytes or text into ``size``-long chunks (drop empty ones when ``size`` is None)."""

    def __init__(self, size: int | None) -> None:
        self._size = size
        self._buffer: Any = None

    def feed(self, data: Any) -> list[Any]:
        if self._size is None:
            return [data] if data else []
        buffer = data if self._buffer is None else self._buffer + data
        cut = len(buffer) - len(buffer) % self._size
        self._buffer = buffer[cut:]
        return [buffer[i : i + self._size] for i in range(0, cut, self._size)]

    def flush(self) -> list[Any]:
        rest, self._buffer = self._buffer, None
        return [rest] if rest else []


class Decode:
    """Stage: decode bytes to text incrementally."""

    def __init__(self, encoding: str) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")

    def feed(self, data: Any) -> list[Any]:
        text = self._decoder.decode(data)
        return [text] if text else []

    def flush(self) -> list[Any]:
        text = self._decoder.decode(b"", final=True)
        return [text] if text else []


class Lines:
    """Stage: split text into lines across chunks, as HTTPX does (``\\r\\n``, ``\\n``, ``\\r``)."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: Any) -> list[Any]:
        lines = (self._buffer + text).splitlines(keepends=True)
        self._buffer = ""
        last = lines[-1]
        # Unfinished: no line break yet, or a "\r" that may be the first half of "\r\n".
        if last.endswith("\r") or last == last.splitlines()[0]:
            self._buffer = lines.pop()
        return [line.splitlines()[0] for line in lines]

    def flush(self) -> list[Any]:
        rest, self._buffer = self._buffer, ""
        return rest.splitlines()


class Decompress:
    """Stage: undo the response's ``content-encoding`` (see ``_decoding``)."""

    def __init__(self, decoder: ContentDecoder) -> None:
        self._decoder = decoder

    def feed(self, data: Any) -> list[Any]:
        decoded = self._decoder.decode(data)
        return [decoded] if decoded else []

    def flush(self) -> list[Any]:
        rest = self._decoder.flush()
        return [rest] if rest else []


class Stage(Protocol):
    def feed(self, data: Any) -> list[Any]: ...

    def flush(self) -> list[Any]: ...


def push(stages: list[Stage], chunk: bytes | None) -> list[Any]:
    """Feed ``chunk`` (None: the end) through ``stages`` and return what comes out."""
    items: list[Any] = [] if chunk is None else [chunk]
    for stage in stages:
        out = [piece for item in items for piece in stage.feed(item)]
        items = out + stage.flush() if chunk is None else out
    return items


class AsyncPipe(AsyncIterator[Any]):
    """An async iterator over ``pull()`` chunks through ``stages``.

    A class, not an async generator: a test may stop iterating early without leaving an
    unfinished generator for the event loop to finalize.
    """

    def __init__(self, pull: NextChunk, stages: list[Stage]) -> None:
        self._pull = pull
        self._stages = stages
        self._ready: collections.deque[Any] = collections.deque()
        self._ended = False

    async def __anext__(self) -> Any:
        while not self._ready:
            if self._ended:
                raise StopAsyncIteration
            chunk = await self._pull()
            self._ended = chunk is None
            self._ready.extend(push(self._stages, chunk))
        return self._ready.popleft()

    def __aiter__(self) -> AsyncPipe:
        return self
