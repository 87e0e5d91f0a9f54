"""The response the test client returns, spelled like HTTPX's, plus what extensions recorded."""

from __future__ import annotations

import codecs
import collections
import http
import json as jsonlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Protocol, cast

from anyio.from_thread import BlockingPortal

from microasgi.datastructures import URL, Headers
from microasgi.testclient._cookies import Cookies
from microasgi.testclient._request import TestRequest
from microasgi.websockets import WebSocketDisconnect

__all__ = ["HTTPStatusError", "TestResponse", "TooManyRedirects", "WebSocketDenialResponse"]

NextChunk = Callable[[], Awaitable[bytes | None]]


class HTTPStatusError(Exception):
    """Raised by :meth:`TestResponse.raise_for_status` for a response that is not a 2xx.

    Attributes:
        request: the request sent.
        response: the response received.
    """

    def __init__(
        self, message: str, *, request: TestRequest | None, response: TestResponse
    ) -> None:
        super().__init__(message)
        self.request = request
        self.response = response


class TooManyRedirects(Exception):
    """The app redirected more times than the client's ``max_redirects`` allows."""


def _charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            name = value.strip().strip('"')
            try:
                return codecs.lookup(name).name
            except LookupError:
                return None
    return None


class _Rechunk:
    """Stage: regroup bytes into ``size``-byte chunks (drop empty chunks when ``size`` is None)."""

    def __init__(self, size: int | None) -> None:
        self._size = size
        self._buffer = b""

    def feed(self, data: Any) -> list[Any]:
        if self._size is None:
            return [data] if data else []
        self._buffer += data
        cut = len(self._buffer) - len(self._buffer) % self._size
        pieces = [self._buffer[i : i + self._size] for i in range(0, cut, self._size)]
        self._buffer = self._buffer[cut:]
        return pieces

    def flush(self) -> list[Any]:
        rest, self._buffer = self._buffer, b""
        return [rest] if rest else []


class _Decode:
    """Stage: decode bytes to text incrementally."""

    def __init__(self, encoding: str) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")

    def feed(self, data: Any) -> list[Any]:
        text = self._decoder.decode(data)
        return [text] if text else []

    def flush(self) -> list[Any]:
        text = self._decoder.decode(b"", final=True)
        return [text] if text else []


class _Lines:
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


class _Stage(Protocol):
    def feed(self, data: Any) -> list[Any]: ...

    def flush(self) -> list[Any]: ...


def _push(stages: list[_Stage], chunk: bytes | None) -> list[Any]:
    """Feed ``chunk`` (None: the end) through ``stages`` and return what comes out."""
    items: list[Any] = [] if chunk is None else [chunk]
    for stage in stages:
        out = [piece for item in items for piece in stage.feed(item)]
        items = out + stage.flush() if chunk is None else out
    return items


class _AsyncPipe(AsyncIterator[Any]):
    """An async iterator over ``pull()`` chunks through ``stages``.

    A class, not an async generator: a test may stop iterating early without leaving an
    unfinished generator for the event loop to finalize.
    """

    def __init__(self, pull: NextChunk, stages: list[_Stage]) -> None:
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
            self._ready.extend(_push(self._stages, chunk))
        return self._ready.popleft()

    def __aiter__(self) -> _AsyncPipe:
        return self


class TestResponse:
    """A response from the app, with HTTPX's attributes and what the app sent through extensions.

    Read the body as ``content``, ``text`` or ``json()``; a streamed response (from
    ``client.stream(...)``) is read chunk by chunk with ``iter_bytes()`` (``aiter_bytes()`` with
    ``AsyncTestClient``), or whole with ``read()`` / ``await aread()``.

    Besides the HTTP response, it records what the app sent through ASGI extensions:
    ``push_promises``, ``early_hints``, ``trailers``, ``debug_info`` (with ``template`` and
    ``context`` when a template was rendered) and ``extension_messages``.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        status_code: int,
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
        content: bytes | None = b"",
        request: TestRequest | None = None,
        next_chunk: NextChunk | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers = Headers(raw=list(headers or []))
        self._request = request
        self.history: list[TestResponse] = []
        self.cookies = Cookies()
        self.push_promises: list[tuple[str, Headers]] = []
        self.early_hints: list[list[str]] = []
        self.trailers: Headers | None = None
        self.debug_info: dict[str, Any] | None = None
        self.extension_messages: list[dict[str, Any]] = []
        self.http_version = "HTTP/1.1"
        self.is_closed = next_chunk is None
        self._content = content
        self._next_chunk = next_chunk
        self._portal: BlockingPortal | None = None
        self._consumed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code} {self.reason_phrase}]>"

    @property
    def request(self) -> TestRequest:
        """The request that got this response."""
        if self._request is None:
            raise RuntimeError("This response was built by hand; it has no request.")
        return self._request

    @property
    def url(self) -> URL:
        """The URL requested (the last one, after redirects)."""
        return self._request.url if self._request is not None else URL()

    @property
    def reason_phrase(self) -> str:
        """The standard reason phrase of ``status_code`` (``"OK"``, ``"Not Found"``, ...)."""
        try:
            return http.HTTPStatus(self.status_code).phrase
        except ValueError:
            return ""

    # --- status ----------------------------------------------------------------------------------

    @property
    def is_informational(self) -> bool:
        """Whether the status is 1xx."""
        return 100 <= self.status_code < 200

    @property
    def is_success(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status_code < 300

    @property
    def is_redirect(self) -> bool:
        """Whether this is a redirect (301, 302, 303, 307 or 308) with a ``location`` header."""
        return self.status_code in (301, 302, 303, 307, 308) and "location" in self.headers

    @property
    def is_client_error(self) -> bool:
        """Whether the status is 4xx."""
        return 400 <= self.status_code < 500

    @property
    def is_server_error(self) -> bool:
        """Whether the status is 5xx."""
        return 500 <= self.status_code < 600

    @property
    def is_error(self) -> bool:
        """Whether the status is 4xx or 5xx."""
        return 400 <= self.status_code < 600

    def raise_for_status(self) -> TestResponse:
        """Return the response if it is a 2xx, else raise :class:`HTTPStatusError`."""
        if self.is_success:
            return self
        kind = {1: "Informational", 3: "Redirect", 4: "Client error", 5: "Server error"}
        message = (
            f"{kind.get(self.status_code // 100, 'Error')} response "
            f"'{self.status_code} {self.reason_phrase}' for url '{self.url}'"
        )
        raise HTTPStatusError(message, request=self._request, response=self)

    # --- body ------------------------------------------------------------------------------------

    @property
    def content(self) -> bytes:
        """The whole body; on a streamed response, call ``read()`` or ``await aread()`` first."""
        if self._content is None:
            raise RuntimeError(
                "This streamed response has not been read. Call response.read() (or "
                "await response.aread()) inside the stream block before using .content/.text/.json()."
            )
        return self._content

    @property
    def encoding(self) -> str:
        """The charset of the ``content-type`` header, else ``"utf-8"``."""
        return _charset(self.headers.get("content-type")) or "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with :attr:`encoding` (undecodable bytes replaced)."""
        return self.content.decode(self.encoding, errors="replace")

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON (``kwargs`` go to ``json.loads``)."""
        return jsonlib.loads(self.content, **kwargs)

    @property
    def template(self) -> Any:
        """The template the app rendered, from its ``http.response.debug`` info."""
        return self._debug("template")

    @property
    def context(self) -> Any:
        """The template context the app rendered with, from its ``http.response.debug`` info."""
        return self._debug("context")

    def _debug(self, key: str) -> Any:
        if self.debug_info is None or key not in self.debug_info:
            raise AttributeError(
                f"This response has no {key!r}: the app sent no 'http.response.debug' info with it."
            )
        return self.debug_info[key]

    def _source(self, *, sync: bool) -> NextChunk:
        """The chunk source of the body: the read ``content``, or the stream (once)."""
        if self._content is not None:
            chunks: list[bytes | None] = [self._content, None]

            async def replay() -> bytes | None:
                return chunks.pop(0)

            return replay
        if self._consumed or self._next_chunk is None:
            raise RuntimeError("The response body was already iterated; a stream is read once.")
        if sync and self._portal is None:
            raise RuntimeError(
                "This response streams from AsyncTestClient: use 'async for ... in "
                "response.aiter_bytes()' instead."
            )
        self._consumed = True
        next_chunk = self._next_chunk

        async def pull() -> bytes | None:
            chunk = await next_chunk()
            self.is_closed = chunk is None
            return chunk

        return pull

    def _iterate(self, stages: list[_Stage]) -> Iterator[Any]:
        if self._content is not None:
            yield from _push(stages, self._content)
            yield from _push(stages, None)
            return
        pull = self._source(sync=True)
        portal = cast(BlockingPortal, self._portal)  # checked by _source
        while (chunk := portal.call(pull)) is not None:
            yield from _push(stages, chunk)
        yield from _push(stages, None)

    def _aiterate(self, stages: list[_Stage]) -> AsyncIterator[Any]:
        return _AsyncPipe(self._source(sync=False), stages)

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Yield the body as it arrives (re-chunked to ``chunk_size`` bytes when given)."""
        return self._iterate([_Rechunk(chunk_size)])

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        """Yield the body decoded incrementally with :attr:`encoding`."""
        return self._iterate([_Rechunk(chunk_size), _Decode(self.encoding)])

    def iter_lines(self) -> Iterator[str]:
        """Yield the body line by line, without line endings."""
        return self._iterate([_Decode(self.encoding), _Lines()])

    def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """Async version of :meth:`iter_bytes`, for ``AsyncTestClient``."""
        return self._aiterate([_Rechunk(chunk_size)])

    def aiter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        """Async version of :meth:`iter_text`."""
        return self._aiterate([_Rechunk(chunk_size), _Decode(self.encoding)])

    def aiter_lines(self) -> AsyncIterator[str]:
        """Async version of :meth:`iter_lines`."""
        return self._aiterate([_Decode(self.encoding), _Lines()])

    def read(self) -> bytes:
        """Read the rest of a streamed body and return the whole ``content``."""
        if self._content is None:
            self._content = b"".join(self.iter_bytes())
        return self._content

    async def aread(self) -> bytes:
        """Async version of :meth:`read`."""
        if self._content is None:
            self._content = b"".join([chunk async for chunk in self.aiter_bytes()])
        return self._content

    def close(self) -> None:
        """Stop reading; the stream block's exit disconnects from the app."""
        self.is_closed = True

    async def aclose(self) -> None:
        """Async version of :meth:`close`."""
        self.is_closed = True


class WebSocketDenialResponse(TestResponse, WebSocketDisconnect):
    """The app refused a websocket handshake with an HTTP response (``websocket.http.response``).

    Raised by ``websocket_connect``; it is both the :class:`TestResponse` the app sent (status,
    headers, body) and a ``WebSocketDisconnect``, as in Starlette.
    """

    def __init__(
        self, status_code: int, headers: list[tuple[bytes, bytes]], content: bytes
    ) -> None:
        TestResponse.__init__(self, status_code, headers=headers, content=content)
        WebSocketDisconnect.__init__(self, 1000, None)

    def __str__(self) -> str:
        return f"The app denied the websocket connection with HTTP {self.status_code}."
