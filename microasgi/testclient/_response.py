"""The response the test client returns, spelled like HTTPX's, plus what extensions recorded."""

from __future__ import annotations

import codecs
import http
import json as jsonlib
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

from anyio.from_thread import BlockingPortal

from microasgi.datastructures import URL, Headers
from microasgi.testclient._cookies import Cookies
from microasgi.testclient._decoding import ContentDecoder
from microasgi.testclient._headers import ClientHeaders
from microasgi.testclient._pipeline import (
    AsyncPipe,
    Decode,
    Decompress,
    Lines,
    NextChunk,
    Rechunk,
    Stage,
    push,
)
from microasgi.testclient._request import TestRequest
from microasgi.websockets import WebSocketDisconnect

__all__ = ["HTTPStatusError", "TestResponse", "TooManyRedirects", "WebSocketDenialResponse"]

_REDIRECTS = (301, 302, 303, 307, 308)
_KINDS = {
    1: "Informational response",
    3: "Redirect response",
    4: "Client error",
    5: "Server error",
}


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


class TestResponse:
    """A response from the app, with HTTPX's attributes and what the app sent through extensions.

    Read the body as ``content``, ``text`` or ``json()``; a streamed response (from
    ``client.stream(...)``) is read chunk by chunk with ``iter_bytes()`` (``aiter_bytes()`` with
    ``AsyncTestClient``), or whole with ``read()`` / ``await aread()``. A ``content-encoding``
    the client can undo (gzip, deflate; br with ``brotli`` installed; zstd with
    ``compression.zstd`` or ``zstandard``) is decoded for all of these; ``iter_raw()`` gives the
    bytes as the app sent them.

    ``headers`` read as HTTPX's do: a repeated header comes back joined with ``", "``, and
    ``get_list(name)`` (or ``getlist``) and ``multi_items()`` keep the values apart.

    Besides the HTTP response, it records what the app sent through ASGI extensions:
    ``push_promises``, ``early_hints``, ``trailers``, ``debug_info`` (with ``template`` and
    ``context`` when a template was rendered) and ``extension_messages``; ``extensions`` holds
    the trailers and debug info under the keys Starlette's client uses.

    Args:
        status_code: the status.
        headers: the ASGI header list the app sent.
        content: the body as the app sent it (still content-encoded), or None while it streams.
        request: the request that got this response.
        next_chunk: for a streamed response, the coroutine function giving the next body chunk
            (None at the end).
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
        self.headers = ClientHeaders(raw=list(headers or []))
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
        self._raw = content
        self._content: bytes | None = None
        self._encoding: str | None = None
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

    @property
    def extensions(self) -> dict[str, Any]:
        """Starlette's client's ``response.extensions``: the trailers and the debug info.

        ``"http.response.trailers"`` is the list of ``(name, value)`` byte pairs the app sent
        (present when the response announced trailers), ``"http.response.debug"`` the info of
        its ``http.response.debug`` message.
        """
        extensions: dict[str, Any] = {}
        if self.trailers is not None:
            extensions["http.response.trailers"] = self.trailers.raw
        if self.debug_info is not None:
            extensions["http.response.debug"] = self.debug_info
        return extensions

    @property
    def links(self) -> dict[str | None, dict[str, str]]:
        """The ``link`` header parsed, keyed by ``rel`` (else by URL), as HTTPX gives it."""
        links: dict[str | None, dict[str, str]] = {}
        for link in _parse_links(self.headers.get("link") or ""):
            links[link.get("rel") or link.get("url")] = link
        return links

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
        """Whether the status is 3xx (HTTPX's meaning; see :attr:`has_redirect_location`)."""
        return 300 <= self.status_code < 400

    @property
    def has_redirect_location(self) -> bool:
        """Whether this is a redirect to follow: 301, 302, 303, 307 or 308 with a ``location``."""
        return self.status_code in _REDIRECTS and "location" in self.headers

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
        """Return the response if it is a 2xx, else raise :class:`HTTPStatusError`.

        The message is HTTPX's: ``"Client error '404 Not Found' for url '...'"`` and so on.
        """
        if self.is_success:
            return self
        status = self.status_code
        kind = _KINDS.get(status // 100, "Invalid status code")
        lines = [f"{kind} '{status} {self.reason_phrase}' for url '{self.url}'"]
        if self.has_redirect_location:
            lines.append(f"Redirect location: '{self.headers['location']}'")
        lines.append(
            "For more information check: "
            f"https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/{status}"
        )
        raise HTTPStatusError("\n".join(lines), request=self._request, response=self)

    # --- body ------------------------------------------------------------------------------------

    @property
    def content(self) -> bytes:
        """The whole body, its ``content-encoding`` undone.

        On a streamed response, call ``read()`` or ``await aread()`` first.

        Raises:
            ValueError: if the body does not decode as its ``content-encoding`` says.
        """
        if self._raw is None:
            raise RuntimeError(
                "This streamed response has not been read. Call response.read() (or "
                "await response.aread()) inside the stream block before using .content/.text/.json()."
            )
        if self._content is None:
            decoder = self._decoder()
            self._content = decoder.decode(self._raw) + decoder.flush()
        return self._content

    @property
    def charset_encoding(self) -> str | None:
        """The charset of the ``content-type`` header, or None."""
        return _charset(self.headers.get("content-type"))

    @property
    def encoding(self) -> str:
        """The encoding of :attr:`text`: the ``content-type`` charset, else ``"utf-8"``.

        Assign to it to decode with another encoding.
        """
        return self._encoding or self.charset_encoding or "utf-8"

    @encoding.setter
    def encoding(self, value: str) -> None:
        self._encoding = value

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

    def _decoder(self) -> ContentDecoder:
        return ContentDecoder(self.headers.get_list("content-encoding"))

    def _stream(self, *, sync: bool) -> NextChunk:
        """The stream of raw body chunks, which can be read once."""
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

    def _loaded(self, *, decoded: bool) -> bytes | None:
        """The body, when it is all here (raw or decoded), else None."""
        if self._raw is None:
            return None
        return self.content if decoded else self._raw

    def _iterate(self, stages: list[Stage], *, decoded: bool) -> Iterator[Any]:
        body = self._loaded(decoded=decoded)
        if body is not None:
            yield from push(stages, body)
            yield from push(stages, None)
            return
        pull = self._stream(sync=True)
        portal = cast(BlockingPortal, self._portal)  # checked by _stream
        if decoded:
            stages = [Decompress(self._decoder()), *stages]
        while (chunk := portal.call(pull)) is not None:
            yield from push(stages, chunk)
        yield from push(stages, None)

    def _aiterate(self, stages: list[Stage], *, decoded: bool) -> AsyncIterator[Any]:
        body = self._loaded(decoded=decoded)
        if body is not None:
            chunks: list[bytes | None] = [body, None]

            async def replay() -> bytes | None:
                return chunks.pop(0)

            return AsyncPipe(replay, stages)
        pull = self._stream(sync=False)
        if decoded:
            stages = [Decompress(self._decoder()), *stages]
        return AsyncPipe(pull, stages)

    def iter_raw(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Yield the body as the app sent it, ``content-encoding`` not undone."""
        return self._iterate([Rechunk(chunk_size)], decoded=False)

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Yield the decoded body as it arrives (re-chunked to ``chunk_size`` bytes when given)."""
        return self._iterate([Rechunk(chunk_size)], decoded=True)

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        """Yield the body decoded incrementally with :attr:`encoding` (``chunk_size`` characters)."""
        return self._iterate([Decode(self.encoding), Rechunk(chunk_size)], decoded=True)

    def iter_lines(self) -> Iterator[str]:
        """Yield the body line by line, without line endings."""
        return self._iterate([Decode(self.encoding), Lines()], decoded=True)

    def aiter_raw(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """Async version of :meth:`iter_raw`, for ``AsyncTestClient``."""
        return self._aiterate([Rechunk(chunk_size)], decoded=False)

    def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """Async version of :meth:`iter_bytes`, for ``AsyncTestClient``."""
        return self._aiterate([Rechunk(chunk_size)], decoded=True)

    def aiter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        """Async version of :meth:`iter_text`."""
        return self._aiterate([Decode(self.encoding), Rechunk(chunk_size)], decoded=True)

    def aiter_lines(self) -> AsyncIterator[str]:
        """Async version of :meth:`iter_lines`."""
        return self._aiterate([Decode(self.encoding), Lines()], decoded=True)

    def read(self) -> bytes:
        """Read the rest of a streamed body and return the whole ``content``."""
        if self._raw is None:
            self._raw = b"".join(self.iter_raw())
        return self.content

    async def aread(self) -> bytes:
        """Async version of :meth:`read`."""
        if self._raw is None:
            self._raw = b"".join([chunk async for chunk in self.aiter_raw()])
        return self.content

    def close(self) -> None:
        """Stop reading; the stream block's exit disconnects from the app."""
        self.is_closed = True

    async def aclose(self) -> None:
        """Async version of :meth:`close`."""
        self.is_closed = True


def _parse_links(value: str) -> list[dict[str, str]]:
    """Split a ``link`` header into ``{"url": ..., param: value}`` dicts (RFC 8288, leniently)."""
    strip = " '\""
    links: list[dict[str, str]] = []
    value = value.strip(strip)
    if not value:
        return links
    for entry in re.split(", *<", value):
        target, _, params = entry.partition(";")
        link = {"url": target.strip("<> '\"")}
        for param in params.split(";") if params else []:
            key, sep, text = param.partition("=")
            if not sep or "=" in text:
                break
            link[key.strip(strip)] = text.strip(strip)
        links.append(link)
    return links


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
