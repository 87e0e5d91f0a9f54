"""The engine both test clients share: scopes, requests, redirects, streaming, lifespan, websockets.

Everything here is async and runs in the caller's event loop; ``TestClient`` drives it through a
blocking portal, ``AsyncTestClient`` awaits it directly. A buffered request runs the app inline,
without a task group or thread; only streaming, lifespan and websockets start a task.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import anyio
import anyio.abc

from microasgi._routing.routes import asgi3
from microasgi.datastructures import URL, Headers, MutableHeaders
from microasgi.testclient._cookies import Cookies
from microasgi.testclient._decoding import accept_encoding
from microasgi.testclient._http import Chunk, HTTPExchange, RequestBody, deadline
from microasgi.testclient._lifespan import LifespanRunner
from microasgi.testclient._messages import parse_spec_version
from microasgi.testclient._request import (
    AuthTypes,
    Content,
    FileTypes,
    HeaderTypes,
    ParamTypes,
    TestRequest,
    UseClientDefault,
    authorize,
    check_auth,
    encode_request,
    merge_headers,
    merge_url,
    redirect_url,
)
from microasgi.testclient._response import TestResponse, TooManyRedirects
from microasgi.testclient._streams import StreamedResponse, stream_exchange
from microasgi.testclient._websocket import AsyncWebSocketTestSession, task_group
from microasgi.types import ASGIApp, Scope

__all__ = ["ClientCore", "Outgoing", "check_timeout", "default_headers"]

_R = TypeVar("_R", bound=TestResponse)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_BODY_HEADERS = (b"content-length", b"content-type", b"transfer-encoding")
# What Starlette's client advertises by default (the websocket default is set per session).
_HTTP_EXTENSIONS = ("http.response.debug", "http.response.trailers")


def _host(url: str) -> bytes:
    """The ``host`` header for ``url``: its host and port, without userinfo (as HTTPX sends it)."""
    return urlsplit(url).netloc.rpartition("@")[2].encode("ascii")


def default_headers(headers: HeaderTypes | None) -> MutableHeaders:
    """The client's headers: HTTPX's defaults (user agent ``testclient``), then ``headers``."""
    defaults = [
        ("accept", "*/*"),
        ("accept-encoding", accept_encoding()),
        ("connection", "keep-alive"),
        ("user-agent", "testclient"),
    ]
    return MutableHeaders(raw=merge_headers(defaults, headers))


@dataclass(slots=True)
class Outgoing:
    """A request ready to send: the headers here exclude ``host`` and ``cookie`` (set per hop)."""

    method: str
    url: str
    headers: list[tuple[bytes, bytes]]
    body: RequestBody
    replayable: bytes | None
    cookies: Mapping[str, str] | None


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
        strict: bool = False,
        auth: AuthTypes | None = None,
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
        # An ASGI 2 app (a double callable, as asgiref and Starlette detect it) is driven as one.
        self.app = asgi3(app)
        self.base_url = base_url
        self.raise_server_exceptions = raise_server_exceptions
        self.root_path = root_path
        self.cookies = Cookies(cookies)
        self.headers = default_headers(headers)
        self.follow_redirects = follow_redirects
        self.extensions = (
            None if extensions is None else {k: dict(v) for k, v in extensions.items()}
        )
        self.spec_version = spec_version
        self.spec = parse_spec_version(spec_version)
        self.lifespan_state = lifespan_state
        self.max_redirects = max_redirects
        self.client = client
        self.strict = strict
        self.auth = check_auth(auth)
        self.app_state: dict[str, Any] | None = None
        # The task group of the running lifespan block (AsyncTestClient keeps streams in it).
        self.group: anyio.abc.TaskGroup | None = None

    # --- scopes ----------------------------------------------------------------------------------

    def _scope(
        self,
        kind: str,
        url: str,
        headers: list[tuple[bytes, bytes]],
        default_extensions: Sequence[str],
    ) -> Scope:
        parts = urlsplit(url)
        extensions = self.extensions
        if extensions is None:
            extensions = {name: {} for name in default_extensions}
        port = parts.port
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
            # An explicit port is kept, 0 included (base_url="http://[::1]:0").
            "server": (
                parts.hostname or "",
                _DEFAULT_PORTS[parts.scheme] if port is None else port,
            ),
            "extensions": {name: dict(info) for name, info in extensions.items()},
        }
        if self.lifespan_state:
            # SPEC: every request gets a shallow copy of the lifespan state; as in Starlette's
            # client, an empty one outside the lifespan block.
            scope["state"] = dict(self.app_state or {})
        return scope

    def _wire_headers(
        self, out_url: str, headers: list[tuple[bytes, bytes]], cookies: Mapping[str, str] | None
    ) -> list[tuple[bytes, bytes]]:
        # A host header given by the test replaces the one from the URL, as in HTTPX.
        given = [value for name, value in headers if name == b"host"]
        host = given[-1] if given else _host(out_url)
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
        # The body's headers are defaults: a content-type the test set wins, as in HTTPX.
        merged, body, replayable = encode_request(
            method,
            merge_headers(self.headers.items(), headers),
            content=content, data=data, files=files, json=json,
        )  # fmt: skip
        return Outgoing(method, full_url, merged, body, replayable, cookies)

    def authorize(self, out: Outgoing, auth: AuthTypes | UseClientDefault | None) -> Outgoing:
        """``out`` with HTTP Basic credentials, as HTTPX adds them when it sends a request.

        ``auth`` is a ``(username, password)`` tuple, None for none, or ``USE_CLIENT_DEFAULT`` for
        the client's ``auth``; without credentials, those of the URL's userinfo are used.
        """
        out.headers = authorize(out.headers, self._credentials(auth), out.url)
        return out

    def _credentials(self, auth: AuthTypes | UseClientDefault | None) -> AuthTypes | None:
        return self.auth if isinstance(auth, UseClientDefault) else check_auth(auth)

    def record(self, out: Outgoing) -> TestRequest:
        """The request as ``response.request`` shows it (and ``client.build_request`` returns it)."""
        wire = self._wire_headers(out.url, out.headers, out.cookies)
        return TestRequest(out.method, URL(out.url), Headers(raw=wire), out.replayable)

    def from_request(self, request: TestRequest, body: RequestBody | None) -> Outgoing:
        """The :class:`Outgoing` request a :class:`TestRequest` describes (``client.send``)."""
        url = str(request.url)
        netloc = _host(url)
        headers: list[tuple[bytes, bytes]] = []
        cookies: dict[str, str] = {}
        for name, value in request.headers.raw:
            if name == b"cookie":
                # Sent again from the jar and these, so a redirect recomputes them per hop.
                for part in value.decode("latin-1").split("; "):
                    key, _, cookie = part.partition("=")
                    cookies[key] = cookie
            elif name != b"host" or value != netloc:
                headers.append((name, value))
        content = request.content
        if body is None:
            if content is None:
                raise RuntimeError(
                    f"This request's body was streamed from an iterator and is gone, so it "
                    f"cannot be sent again: {request!r}. Build a new request, or pass the body "
                    "as bytes (content=b'...')."
                )
            body = content
        return Outgoing(request.method, url, headers, body, content, cookies or None)

    def respond(
        self, exchange: HTTPExchange, record: TestRequest, next_chunk: Any
    ) -> StreamedResponse:
        """The response to a streamed exchange, its body still to be read through ``next_chunk``."""
        return self._response(exchange, record, next_chunk, StreamedResponse)

    def _response(
        self,
        exchange: HTTPExchange,
        record: TestRequest,
        next_chunk: Any,
        kind: type[_R],
    ) -> _R:
        if exchange.error is not None and not exchange.started:
            # raise_server_exceptions=False: answer as a server does when the app crashes.
            response = kind(500, content=b"", request=record)
        else:
            raw = exchange.raw_headers()
            content: bytes | None = None
            if next_chunk is None:
                content = b"".join(exchange.chunks)  # the response undoes content-encoding
            response = kind(
                exchange.checker.status,
                headers=raw,
                content=content,
                request=record,
                next_chunk=next_chunk,
            )
            self.cookies.extract(str(record.url), raw)
            response.cookies.extract(str(record.url), raw)
        return response

    def surface(self, exchange: HTTPExchange) -> None:
        """Raise the exchange's protocol error, and its app error if configured to."""
        if exchange.protocol_error is not None:
            error, exchange.protocol_error = exchange.protocol_error, None
            raise error
        if exchange.error is not None and self.raise_server_exceptions:
            app_error, exchange.error = exchange.error, None
            raise app_error

    @staticmethod
    def fill(response: TestResponse, exchange: HTTPExchange) -> None:
        """Record on ``response`` what the app sent through extensions."""
        summary = exchange.summary()
        response.push_promises = [
            (path, Headers(raw=raw)) for path, raw in summary["push_promises"]
        ]
        response.early_hints = summary["early_hints"]
        trailers = summary["trailers"]
        response.trailers = None if trailers is None else Headers(raw=trailers)
        response.debug_info = summary["debug_info"]
        response.extension_messages = summary["extension_messages"]

    def _exchange(self, out: Outgoing, **options: Any) -> tuple[HTTPExchange, TestRequest]:
        record = self.record(out)
        scope = self._scope("http", out.url, record.headers.raw, _HTTP_EXTENSIONS)
        scope["method"] = out.method
        exchange = HTTPExchange(
            scope, out.body, spec_version=self.spec, strict=self.strict, **options
        )
        return exchange, record

    async def _send_one(self, out: Outgoing, limit: float | None) -> TestResponse:
        exchange, record = self._exchange(out)
        with deadline(limit, f"{out.method} {out.url}"):
            await exchange.run(self.app)
        self.surface(exchange)
        response = self._response(exchange, record, None, TestResponse)
        self.fill(response, exchange)
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
    ) -> AsyncIterator[StreamedResponse]:
        """Send ``out`` and yield the response while its body still streams from the app."""
        follow = self.follow_redirects if follow_redirects is None else follow_redirects
        history: list[TestResponse] = []
        while True:
            # PERF: a zero-size buffer makes the app wait for the reader: streaming is incremental.
            send_chunks, receive_chunks = anyio.create_memory_object_stream[Chunk](0)
            with send_chunks, receive_chunks:
                exchange, record = self._exchange(out, chunks=send_chunks)
                async with stream_exchange(
                    self, exchange, receive_chunks, record, limit
                ) as response:
                    if not (follow and response.has_redirect_location):
                        response.history = history
                        yield response
                        return
                    await response.aread()
            response.history = list(history)
            out = self._next_hop(out, response, len(history))
            history.append(response)

    # --- lifespan and websockets -----------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Run the app's lifespan around the block; requests inside get its state."""
        asgi = {"version": "3.0", "spec_version": self.spec_version}
        runner = LifespanRunner(self.app, asgi, with_state=self.lifespan_state, strict=self.strict)
        try:
            async with task_group() as group:
                await runner.startup(group)
                self.app_state = runner.state
                self.group = group
                try:
                    yield
                finally:
                    self.group = None
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
        auth: AuthTypes | UseClientDefault | None,
    ) -> AsyncWebSocketTestSession:
        """Build a websocket session to ``url`` (connected when its context is entered)."""
        full_url = merge_url(self.base_url, str(url), params)
        parts = urlsplit(full_url)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        full_url = parts._replace(scheme=scheme).geturl()
        handshake = [
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "testserver=="),
            ("sec-websocket-version", "13"),
        ]
        if subprotocols:
            handshake.append(("sec-websocket-protocol", ", ".join(subprotocols)))
        http_url = parts._replace(scheme="https" if scheme == "wss" else "http").geturl()
        merged = merge_headers(self.headers.items(), handshake, headers)
        merged = authorize(merged, self._credentials(auth), http_url)
        wire = self._wire_headers(http_url, merged, cookies)
        scope = self._scope("websocket", full_url, wire, ("websocket.http.response",))
        scope["subprotocols"] = list(subprotocols or [])
        return AsyncWebSocketTestSession(
            self.app,
            scope,
            spec_version=self.spec,
            raise_server_exceptions=self.raise_server_exceptions,
            strict=self.strict,
        )


def check_timeout(timeout: object) -> float | None:
    """Validate a ``timeout=`` argument: None or a number of seconds."""
    if timeout is None or (isinstance(timeout, int | float) and not isinstance(timeout, bool)):
        return timeout
    raise TypeError(f"timeout must be None or a number of seconds, got {timeout!r}.")
