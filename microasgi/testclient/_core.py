"""The engine both test clients share: scopes, requests, redirects, streaming, lifespan, websockets.

Everything here is async and runs in the caller's event loop; ``TestClient`` drives it through a
blocking portal, ``AsyncTestClient`` awaits it directly. A buffered request runs the app inline,
without a task group or thread; only streaming, lifespan and websockets start a task.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from microasgi.datastructures import URL, Headers
from microasgi.testclient._cookies import Cookies
from microasgi.testclient._decoding import accept_encoding
from microasgi.testclient._http import HTTPExchange, RequestBody
from microasgi.testclient._lifespan import LifespanRunner
from microasgi.testclient._messages import parse_spec_version
from microasgi.testclient._request import (
    Content,
    FileTypes,
    HeaderTypes,
    ParamTypes,
    TestRequest,
    encode_request,
    merge_headers,
    merge_url,
    redirect_url,
)
from microasgi.testclient._response import TestResponse, TooManyRedirects
from microasgi.testclient._websocket import AsyncWebSocketTestSession, task_group
from microasgi.types import ASGIApp, Scope

__all__ = ["ClientCore", "Outgoing", "check_timeout"]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_BODY_HEADERS = (b"content-length", b"content-type", b"transfer-encoding")


@dataclass(slots=True)
class Outgoing:
    """A request ready to send: the headers here exclude ``host`` and ``cookie`` (set per hop)."""

    method: str
    url: str
    headers: list[tuple[bytes, bytes]]
    body: RequestBody
    replayable: bytes | None
    cookies: Mapping[str, str] | None


@contextmanager
def _deadline(timeout: float | None, what: str) -> Iterator[None]:
    if timeout is None:
        yield
        return
    try:
        with anyio.fail_after(timeout):
            yield
    except TimeoutError:
        raise TimeoutError(
            f"The app did not answer {what} within timeout={timeout!r} seconds. Look for an await "
            "that never completes (an event never set, a body never sent), or raise the timeout."
        ) from None


class ClientCore:
    """Configuration and async machinery of a test client (see ``TestClient`` for the options)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        base_url: str,
        raise_server_exceptions: bool,
        root_path: str,
        cookies: Mapping[str, str] | Cookies | None,
        headers: HeaderTypes | None,
        follow_redirects: bool,
        extensions: Mapping[str, Mapping[str, Any]] | None,
        spec_version: str,
        lifespan_state: bool,
        max_redirects: int,
        client: tuple[str, int],
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"base_url must be an absolute http(s) URL such as 'http://testserver', "
                f"got {base_url!r}."
            )
        if extensions is not None and not all(
            isinstance(k, str) and isinstance(v, Mapping) for k, v in dict(extensions).items()
        ):
            raise TypeError(
                "extensions must map extension names to dicts, such as "
                f"{{'http.response.push': {{}}}}, got {extensions!r}."
            )
        self.app = app
        self.base_url = base_url
        self.raise_server_exceptions = raise_server_exceptions
        self.root_path = root_path
        self.cookies = Cookies(cookies)
        self.headers: dict[str, str] = dict(headers or {})
        self.follow_redirects = follow_redirects
        self.extensions = (
            None if extensions is None else {k: dict(v) for k, v in extensions.items()}
        )
        self.spec_version = spec_version
        self.spec = parse_spec_version(spec_version)
        self.lifespan_state = lifespan_state
        self.max_redirects = max_redirects
        self.client = client
        self.app_state: dict[str, Any] | None = None

    # --- scopes ----------------------------------------------------------------------------------

    def _scope(
        self, kind: str, url: str, headers: list[tuple[bytes, bytes]], default_extensions: str
    ) -> Scope:
        parts = urlsplit(url)
        extensions = self.extensions or {}
        if self.extensions is None:
            extensions = {default_extensions: {}}
        scope: Scope = {
            "type": kind,
            "asgi": {"version": "3.0", "spec_version": self.spec_version},
            "http_version": "1.1",
            "scheme": parts.scheme,
            "path": unquote(parts.path),
            "raw_path": parts.path.encode("ascii"),
            "query_string": parts.query.encode("ascii"),
            "root_path": self.root_path,
            "headers": headers,
            "client": self.client,
            "server": (parts.hostname or "", parts.port or _DEFAULT_PORTS[parts.scheme]),
            "extensions": {name: dict(info) for name, info in extensions.items()},
        }
        if self.app_state is not None:
            # SPEC: every request gets a shallow copy of the lifespan state.
            scope["state"] = dict(self.app_state)
        return scope

    def _wire_headers(
        self, out_url: str, headers: list[tuple[bytes, bytes]], cookies: Mapping[str, str] | None
    ) -> list[tuple[bytes, bytes]]:
        # A host header given by the test replaces the one from the URL, as in HTTPX.
        given = [value for name, value in headers if name == b"host"]
        host = given[-1] if given else urlsplit(out_url).netloc.encode("ascii")
        wire = [(b"host", host), *((name, value) for name, value in headers if name != b"host")]
        pairs = dict(
            part.partition("=")[::2]
            for part in (self.cookies.header_for(out_url) or "").split("; ")
            if part
        )
        pairs.update(cookies or {})
        if pairs:
            # SPEC: HTTP/1.1 sends all cookies in one header, joined with "; ".
            wire.append((b"cookie", "; ".join(f"{k}={v}" for k, v in pairs.items()).encode()))
        return wire

    # --- requests --------------------------------------------------------------------------------

    def build(
        self,
        method: str,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        content: Content | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, FileTypes] | Sequence[tuple[str, FileTypes]] | None = None,
        json: Any = None,
    ) -> Outgoing:
        """Turn the arguments of ``client.request`` into an :class:`Outgoing` request."""
        method = method.upper()
        full_url = merge_url(self.base_url, str(url), params)
        defaults = [
            ("accept", "*/*"),
            ("accept-encoding", accept_encoding()),
            ("connection", "keep-alive"),
            ("user-agent", "testclient"),
        ]
        # The body's headers are defaults: a content-type the test set wins, as in HTTPX.
        merged, body, replayable = encode_request(
            method,
            merge_headers(defaults, self.headers, headers),
            content=content, data=data, files=files, json=json,
        )  # fmt: skip
        return Outgoing(method, full_url, merged, body, replayable, cookies)

    def _record(self, out: Outgoing, wire: list[tuple[bytes, bytes]]) -> TestRequest:
        return TestRequest(out.method, URL(out.url), Headers(raw=wire), out.replayable)

    def _response(
        self, exchange: HTTPExchange, record: TestRequest, next_chunk: Any = None
    ) -> TestResponse:
        if exchange.error is not None and not exchange.started:
            # raise_server_exceptions=False: answer as a server does when the app crashes.
            response = TestResponse(500, content=b"", request=record)
        else:
            raw = exchange.raw_headers()
            content: bytes | None = None
            if next_chunk is None:
                content = b"".join(exchange.chunks)  # the response undoes content-encoding
            response = TestResponse(
                exchange.checker.status,
                headers=raw,
                content=content,
                request=record,
                next_chunk=next_chunk,
            )
            self.cookies.extract(str(record.url), raw)
            response.cookies.extract(str(record.url), raw)
        return response

    def _surface(self, exchange: HTTPExchange) -> None:
        """Raise the exchange's protocol error, and its app error if configured to."""
        if exchange.protocol_error is not None:
            error, exchange.protocol_error = exchange.protocol_error, None
            raise error
        if exchange.error is not None and self.raise_server_exceptions:
            app_error, exchange.error = exchange.error, None
            raise app_error

    @staticmethod
    def _fill(response: TestResponse, exchange: HTTPExchange) -> None:
        summary = exchange.summary()
        response.push_promises = [
            (path, Headers(raw=raw)) for path, raw in summary["push_promises"]
        ]
        response.early_hints = summary["early_hints"]
        trailers = summary["trailers"]
        response.trailers = None if trailers is None else Headers(raw=trailers)
        response.debug_info = summary["debug_info"]
        response.extension_messages = summary["extension_messages"]

    async def _send_one(self, out: Outgoing, limit: float | None) -> TestResponse:
        wire = self._wire_headers(out.url, out.headers, out.cookies)
        scope = self._scope("http", out.url, wire, "http.response.debug")
        scope["method"] = out.method
        exchange = HTTPExchange(scope, out.body, spec_version=self.spec)
        with _deadline(limit, f"{out.method} {out.url}"):
            await exchange.run(self.app)
        self._surface(exchange)
        response = self._response(exchange, self._record(out, wire))
        self._fill(response, exchange)
        return response

    def _next_hop(self, out: Outgoing, response: TestResponse, hops: int) -> Outgoing:
        if hops >= self.max_redirects:
            raise TooManyRedirects(
                f"The app redirected {hops} times (last to {response.headers['location']!r}); "
                f"max_redirects={self.max_redirects}. Look for a redirect loop, or pass "
                "follow_redirects=False to inspect the redirect."
            )
        url = redirect_url(out.url, response.headers["location"])
        status, method = response.status_code, out.method
        # As browsers and HTTPX do: 303 (and 302) become GET, 301 turns a POST into a GET;
        # 307 and 308 repeat the request as it was.
        if (status in (302, 303) and method != "HEAD") or (status == 301 and method == "POST"):
            headers = [(n, v) for n, v in out.headers if n not in _BODY_HEADERS]
            return Outgoing("GET", url, headers, b"", None, out.cookies)
        if out.replayable is None and out.method not in ("GET", "HEAD", "OPTIONS", "DELETE"):
            raise RuntimeError(
                f"The app answered {status}, which repeats the request with its body, but the body "
                "was streamed from an iterator and is gone. Pass the body as bytes (content=b'...')."
            )
        headers = out.headers
        if urlsplit(url).netloc != urlsplit(out.url).netloc:
            headers = [(n, v) for n, v in headers if n != b"authorization"]
        return Outgoing(method, url, headers, out.replayable or b"", out.replayable, out.cookies)

    async def send(
        self, out: Outgoing, *, follow_redirects: bool | None, limit: float | None
    ) -> TestResponse:
        """Send ``out``, following redirects unless told not to."""
        follow = self.follow_redirects if follow_redirects is None else follow_redirects
        history: list[TestResponse] = []
        while True:
            response = await self._send_one(out, limit)
            response.history = list(history)
            if not (follow and response.has_redirect_location):
                return response
            out = self._next_hop(out, response, len(history))
            history.append(response)

    @asynccontextmanager
    async def stream(
        self, out: Outgoing, *, follow_redirects: bool | None, limit: float | None
    ) -> AsyncIterator[TestResponse]:
        """Send ``out`` and yield the response while its body still streams from the app."""
        follow = self.follow_redirects if follow_redirects is None else follow_redirects
        history: list[TestResponse] = []
        while True:
            async with self._stream_one(out, limit) as response:
                if not (follow and response.has_redirect_location):
                    response.history = history
                    yield response
                    return
                await response.aread()
            response.history = list(history)
            out = self._next_hop(out, response, len(history))
            history.append(response)

    @asynccontextmanager
    async def _stream_one(self, out: Outgoing, limit: float | None) -> AsyncIterator[TestResponse]:
        wire = self._wire_headers(out.url, out.headers, out.cookies)
        scope = self._scope("http", out.url, wire, "http.response.debug")
        scope["method"] = out.method
        # PERF: a zero-size buffer makes the app wait for the reader: streaming is incremental.
        send_chunks, receive_chunks = anyio.create_memory_object_stream[bytes](0)
        with send_chunks, receive_chunks:
            exchange = HTTPExchange(scope, out.body, spec_version=self.spec, chunks=send_chunks)
            async with self._streaming(exchange, receive_chunks, out, wire, limit) as response:
                yield response
        self._surface(exchange)
        self._fill(response, exchange)

    @asynccontextmanager
    async def _streaming(
        self,
        exchange: HTTPExchange,
        chunks: MemoryObjectReceiveStream[bytes],
        out: Outgoing,
        wire: list[tuple[bytes, bytes]],
        limit: float | None,
    ) -> AsyncIterator[TestResponse]:
        what = f"{out.method} {out.url}"
        async with task_group() as group:
            group.start_soon(exchange.run, self.app)
            with _deadline(limit, what):
                await exchange.head_ready.wait()
            if not exchange.started:
                self._surface(exchange)
            response: TestResponse

            async def next_chunk() -> bytes | None:
                try:
                    with _deadline(limit, what):
                        chunk = await chunks.receive()
                except anyio.EndOfStream:
                    self._surface(exchange)
                    self._fill(response, exchange)
                    return None
                return chunk  # raw: the response undoes content-encoding (iter_raw() does not)

            response = self._response(exchange, self._record(out, wire), next_chunk)
            try:
                yield response
            except BaseException:
                group.cancel_scope.cancel()  # the test failed: do not wait for the app
                raise
            if not exchange.delivered:
                # The client leaves before the end: receive() returns http.disconnect and send()
                # raises OSError (spec 2.4) or does nothing; the app is expected to return.
                exchange.disconnect()
                chunks.close()
            with _deadline(limit, what):
                await exchange.finished.wait()

    # --- lifespan and websockets -----------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Run the app's lifespan around the block; requests inside get its state."""
        asgi = {"version": "3.0", "spec_version": self.spec_version}
        runner = LifespanRunner(self.app, asgi, with_state=self.lifespan_state)
        try:
            async with task_group() as group:
                await runner.startup(group)
                self.app_state = runner.state
                try:
                    yield
                finally:
                    await runner.shutdown()
        finally:
            runner.close()

    def websocket(
        self,
        url: str,
        *,
        subprotocols: Sequence[str] | None,
        headers: HeaderTypes | None,
        params: ParamTypes | None,
        cookies: Mapping[str, str] | None,
    ) -> AsyncWebSocketTestSession:
        """Build a websocket session to ``url`` (connected when its context is entered)."""
        full_url = merge_url(self.base_url, str(url), params)
        parts = urlsplit(full_url)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        full_url = parts._replace(scheme=scheme).geturl()
        defaults = [
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "testserver=="),
            ("sec-websocket-version", "13"),
            ("user-agent", "testclient"),
        ]
        if subprotocols:
            defaults.append(("sec-websocket-protocol", ", ".join(subprotocols)))
        http_url = parts._replace(scheme="https" if scheme == "wss" else "http").geturl()
        merged = merge_headers(defaults, self.headers, headers)
        wire = self._wire_headers(http_url, merged, cookies)
        scope = self._scope("websocket", full_url, wire, "websocket.http.response")
        scope["subprotocols"] = list(subprotocols or [])
        return AsyncWebSocketTestSession(
            self.app,
            scope,
            spec_version=self.spec,
            raise_server_exceptions=self.raise_server_exceptions,
        )


def check_timeout(timeout: object) -> float | None:
    """Validate a ``timeout=`` argument: None or a number of seconds."""
    if timeout is None or (isinstance(timeout, int | float) and not isinstance(timeout, bool)):
        return timeout
    raise TypeError(f"timeout must be None or a number of seconds, got {timeout!r}.")
