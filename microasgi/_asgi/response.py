"""``Response``: the base of every response, an ASGI app that sends itself (public in
``microasgi.responses``), with the helpers its subclasses share.

Every header (cookies, ``media_type`` and redirect URLs included) is validated when the response is
built, so nothing unsafe can reach the wire; a client that has gone away (ASGI 2.4 ``OSError`` from
``send``) ends the response quietly.
"""

from __future__ import annotations

import email.utils
import http.cookies
import json
import reprlib
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, cast

from microasgi._asgi.body import _BODY_KEY, _BodyReader, _BodyState
from microasgi._sansio.extensions import (
    TrailersSource,
    accepts_trailers,
    check_trailers,
    resolve_trailers,
)
from microasgi._sansio.headers import encode_header_name, encode_header_value
from microasgi.background import BackgroundTask
from microasgi.datastructures import MutableHeaders
from microasgi.types import (
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPResponseTrailersEvent,
    Message,
    Receive,
    Scope,
    Send,
    WebSocketCloseEvent,
)

_WEBSOCKET_DENIAL = "websocket.http.response"
# SPEC: before accept, websocket.close makes the server answer the handshake with HTTP 403.
_WEBSOCKET_CLOSE: WebSocketCloseEvent = {"type": "websocket.close", "code": 1000}
_HTTP_TYPES = ("http.response.start", "http.response.body")
_WEBSOCKET_TYPES = ("websocket.http.response.start", "websocket.http.response.body")
_REDIRECT_STATUSES = frozenset({300, 301, 302, 303, 307, 308})
_SAMESITE = frozenset({"strict", "lax", "none"})
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
# PERF: one encoder built once; json.dumps() with non-default options builds a new one per call.
_JSON_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
)
_COOKIE_CODEC = http.cookies.SimpleCookie()
# What a StreamingResponse producer may yield.
_Chunk = str | bytes | bytearray | memoryview


class Response:
    """A complete response whose body is known up front.

    Args:
        content: ``bytes``, ``str`` (encoded with ``charset``), ``bytearray`` or ``memoryview``
            (both copied into ``bytes`` here, so changing the buffer later changes nothing
            sent); ``None`` is empty.
        status_code: the HTTP status, 100 to 599.
        headers: extra headers; each name and value is validated (``ValueError`` on CR, LF, NUL
            or other control characters) and encoded once, here.
        media_type: the ``Content-Type``; ``text/*`` types get ``; charset=...`` appended.
        background: a task run after the response has been sent.
        trailers: trailer fields sent after the body (``http.response.trailers`` extension): a
            mapping, or a function (sync or async) returning one, called once the body is done.
            Sent only when the server offers the extension and the request carries
            ``TE: trailers``; otherwise the body is sent alone and the function is not called.
        trailer_names: the names a trailers function will return, announced in the ``Trailer``
            header before the body; a mapping's keys are its names.

    Raises:
        TypeError: the content has a type ``render`` cannot turn into bytes.
        ValueError: a header, a trailer, the media type or the status code is invalid.
    """

    media_type: str | None = None
    charset = "utf-8"
    trailers: TrailersSource | None = None
    """The trailers to send after the body, as given to the constructor."""
    # The validated trailer names, or None for no trailers; a class default so subclasses that
    # skip Response.__init__ keep working.
    _trailer_names: tuple[bytes, ...] | None = None
    body: bytes | memoryview
    """The encoded body (not set on streaming responses)."""
    # Whether the class keeps render() and init_headers() as Response defines them (see
    # __init_subclass__), so that __init__ may do their work inline.
    _default_hooks = True

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        *,
        trailers: TrailersSource | None = None,
        trailer_names: Iterable[str] | None = None,
    ) -> None:
        # PERF: a plain int in range, the common case, skips the call that explains the error.
        if status_code.__class__ is not int or not 100 <= status_code <= 599:
            status_code = _check_status(status_code)
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        if self._default_hooks and content.__class__ is str and headers is None:
            # PERF: what render() and init_headers() do for text and no extra headers, inlined
            # for the classes that keep both hooks as they are (most responses of most apps).
            body: bytes = content.encode(self.charset)
            self.body = body
            raw_headers: list[tuple[bytes, bytes]] = []
            if status_code >= 200 and status_code != 204 and status_code != 304:
                size = len(body)
                raw_headers.append(_LENGTH_HEADERS.get(size) or _length_header(size))
            media = self.media_type
            if media is not None:
                known = _CONTENT_TYPES.get(media)
                if known is not None and known[0] == self.charset:
                    raw_headers.append(known[1])
                else:
                    raw_headers.append(_content_type_header(media, self.charset))
            self.raw_headers = raw_headers
        else:
            self.body = self.render(content)
            self.init_headers(headers)
        if trailers is not None or trailer_names is not None:
            self._init_trailers(trailers, trailer_names)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._default_hooks = (
            cls.render is Response.render and cls.init_headers is Response.init_headers
        )

    def _init_trailers(
        self, trailers: TrailersSource | None, trailer_names: Iterable[str] | None
    ) -> None:
        self._trailer_names = check_trailers(trailers, trailer_names)
        self.trailers = trailers

    def _trailer_start_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """The start headers of a response with trailers: ``Trailer`` names them."""
        headers = self.raw_headers
        if scope.get("http_version") == "1.1":
            # SPEC: RFC 9112 section 7.1.2, HTTP/1.1 carries trailers only in chunked framing,
            # which the server uses only when no Content-Length is given.
            headers = [item for item in headers if item[0] != b"content-length"]
        return [*headers, (b"trailer", b", ".join(self._trailer_names or ()))]

    async def _resolve_trailers(self) -> list[tuple[bytes, bytes]]:
        """Call (and await) the trailers function, or take the mapping; validate the fields."""
        source = cast(TrailersSource, self.trailers)
        return await resolve_trailers(source, self._trailer_names or ())

    def render(self, content: Any) -> bytes | memoryview:
        """Turn ``content`` into the body bytes; subclasses override this to add formats."""
        # PERF: the exact types first; isinstance against a union is several times slower.
        cls = content.__class__
        if cls is str:
            text: str = content
            return text.encode(self.charset)
        if cls is bytes or content is None:
            data: bytes = content or b""
            return data
        if isinstance(content, bytes | bytearray | memoryview):
            # SPEC: ASGI message bodies are bytes; a copy also keeps what is sent from changing
            # when the caller reuses its buffer.
            return _as_bytes(content)
        if isinstance(content, str):
            return content.encode(self.charset)
        raise TypeError(
            f"{type(self).__name__} content must be bytes, bytearray, memoryview, str or None, got "
            f"{type(content).__name__}: {reprlib.repr(content)}. Use JSONResponse for data to send "
            "as JSON, or convert the content to str or bytes yourself."
        )

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Build ``raw_headers``: the given headers, then ``content-length`` and ``content-type``.

        ``content-length`` is added unless given, unless the status forbids a body (1xx, 204,
        304), or unless the response has no ``body`` (streaming). ``content-type`` is added from
        ``media_type`` unless given.
        """
        if headers is None:
            raw_headers: list[tuple[bytes, bytes]] = []
            add_length = add_type = True
        else:
            # PERF: one plain loop (no comprehensions, no set), each name and value validated.
            raw_headers = []
            add_length = add_type = True
            for name, value in headers.items():
                raw_name = encode_header_name(name)
                raw_headers.append((raw_name, encode_header_value(value, name)))
                if raw_name == b"content-length":
                    add_length = False
                elif raw_name == b"content-type":
                    add_type = False
        body = getattr(self, "body", None)
        if body is not None and add_length:
            status = self.status_code
            # SPEC: RFC 9110 section 8.6, no Content-Length on 1xx and 204; on 304 it would
            # describe the full representation, which this response does not carry.
            if status >= 200 and status != 204 and status != 304:
                size = len(body) if body.__class__ is bytes else memoryview(body).nbytes
                raw_headers.append(_LENGTH_HEADERS.get(size) or _length_header(size))
        media_type = self.media_type
        if media_type is not None and add_type:
            # PERF: a dict hit for the few media types an app uses; validated once, on a miss.
            known = _CONTENT_TYPES.get(media_type)
            if known is not None and known[0] == self.charset:
                raw_headers.append(known[1])
            else:
                raw_headers.append(_content_type_header(media_type, self.charset))
        self.raw_headers = raw_headers

    @property
    def headers(self) -> MutableHeaders:
        """The headers as ``MutableHeaders``; writes go to ``raw_headers`` and are validated."""
        return MutableHeaders(raw=self.raw_headers)

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header.

        Args:
            key: the cookie name, an HTTP token.
            value: the cookie value; quoted as ``http.cookies`` does when it holds separators, so
                it can never add attributes of its own.
            max_age: lifetime in seconds (``Max-Age``).
            expires: ``Expires`` as seconds from now, an aware ``datetime`` or a ready string.
            path: ``Path`` (``None`` to omit it).
            domain: ``Domain``.
            secure: add ``Secure``.
            httponly: add ``HttpOnly``.
            samesite: ``"strict"``, ``"lax"``, ``"none"`` (browsers also require ``secure``) or
                ``None`` to omit it.
            partitioned: add ``Partitioned`` (CHIPS; browsers also require ``secure``).

        Raises:
            ValueError: an invalid name, attribute or ``samesite`` value.
        """
        self.raw_headers.append(
            (
                b"set-cookie",
                _build_cookie(
                    key,
                    value,
                    max_age,
                    expires,
                    path,
                    domain,
                    secure,
                    httponly,
                    samesite,
                    partitioned,
                ),
            )
        )

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Tell the client to drop a cookie (``Max-Age=0`` and an ``Expires`` of now).

        ``path``, ``domain`` and ``partitioned`` must match the ones the cookie was set with.
        """
        self.set_cookie(
            key,
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the response, then run the background task.

        On ``HEAD`` the body is left out and the headers, ``content-length`` included, are kept.
        In a websocket scope (before accept) the response denies the handshake: with the
        ``websocket.http.response`` extension it is sent as is, otherwise the server answers 403.
        If the client has gone (``OSError`` from ``send``, ASGI 2.4) sending stops quietly; the
        background task still runs, since it belongs after the response however that ended.
        """
        scope_type = scope["type"]
        if scope_type == "http" and self._trailer_names is not None and accepts_trailers(scope):
            await self._send_with_trailers(scope, send)
        elif scope_type == "http":
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": self.raw_headers,
            }
            body: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                # SPEC: a HEAD response has the GET headers and no content (RFC 9110 9.3.2).
                "body": b"" if scope.get("method") == "HEAD" else self._body_bytes(),
            }
            try:
                await send(start)  # type: ignore[arg-type]
                await send(body)  # type: ignore[arg-type]
            except OSError:
                pass  # SPEC: ASGI 2.4, the client has gone; nobody is left to tell.
        elif scope_type == "websocket":
            try:
                if _offers_denial_response(scope):
                    await send(
                        {
                            "type": "websocket.http.response.start",
                            "status": self.status_code,
                            "headers": self.raw_headers,
                        }
                    )
                    await send({"type": "websocket.http.response.body", "body": self._body_bytes()})
                else:
                    await send(_WEBSOCKET_CLOSE)  # type: ignore[arg-type]
            except OSError:
                pass  # SPEC: ASGI 2.4, the client has gone.
        else:
            raise _unsupported_scope(self, scope)
        if self.background is not None:
            await self.background()

    def _body_bytes(self) -> bytes:
        """``body`` as ``bytes``: a ``memoryview`` or ``bytearray`` (from a subclass's
        ``render``, or assigned) is copied, as ASGI wants bytes."""
        body = self.body
        # PERF: render() already made bytes; one class check on the hot path.
        return body if body.__class__ is bytes else _as_bytes(body)

    async def _send_with_trailers(self, scope: Scope, send: Send) -> None:
        # The trailers are resolved before anything is sent, so a failing trailers function
        # still lets an error middleware answer 500.
        fields = await self._resolve_trailers()
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self._trailer_start_headers(scope),
            "trailers": True,
        }
        body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": self._body_bytes()}
        trailers: HTTPResponseTrailersEvent = {
            "type": "http.response.trailers",
            "headers": fields,
            "more_trailers": False,
        }
        try:
            await send(start)  # type: ignore[arg-type]
            await send(body)  # type: ignore[arg-type]
            await send(trailers)  # type: ignore[arg-type]
        except OSError:
            pass  # SPEC: ASGI 2.4, the client has gone.


def _as_bytes(data: bytes | bytearray | memoryview) -> bytes:
    """A ``bytes`` copy of ``data`` (a ``memoryview`` of any shape or item format: its bytes)."""
    if isinstance(data, memoryview):
        return data.tobytes()
    return bytes(data)


def _check_status(status_code: int) -> int:
    if isinstance(status_code, int) and not isinstance(status_code, bool):
        if 100 <= status_code <= 599:
            return int(status_code)
    raise ValueError(
        f"status_code must be an int from 100 to 599, got {status_code!r}. "
        "Use the constants in microasgi.status, e.g. status.HTTP_404_NOT_FOUND."
    )


# SECURITY: bounded, so an app building media types from client input cannot grow it forever.
_CONTENT_TYPES: dict[str, tuple[str, tuple[bytes, bytes]]] = {}
_CONTENT_TYPES_MAX = 128
# PERF: the Content-Length header of each small body size, built at its first use and shared
# (formatting bytes with % is slow); tuples are immutable, so sharing them is safe.
_LENGTH_HEADERS: dict[int, tuple[bytes, bytes]] = {}
_LENGTH_HEADERS_LIMIT = 4096


def _length_header(size: int) -> tuple[bytes, bytes]:
    """The ``Content-Length`` header for ``size``; remembered when the size is small."""
    header = (b"content-length", b"%d" % size)
    if size < _LENGTH_HEADERS_LIMIT:
        _LENGTH_HEADERS[size] = header
    return header


def _content_type_header(media_type: str, charset: str) -> tuple[bytes, bytes]:
    """Validate and encode a ``Content-Type``; remember it for the next response."""
    if not isinstance(media_type, str):
        raise TypeError(
            f"media_type must be a str, got {type(media_type).__name__}: {media_type!r}."
        )
    value = media_type
    if value.startswith("text/") and "charset=" not in value.lower():
        value = f"{value}; charset={charset}"
    header = (b"content-type", encode_header_value(value, "content-type"))
    if len(_CONTENT_TYPES) < _CONTENT_TYPES_MAX:
        _CONTENT_TYPES[media_type] = (charset, header)
    return header


def _offers_denial_response(scope: Scope) -> bool:
    # SPEC: the extensions key may be missing (uvicorn h11, daphne) or None.
    return _WEBSOCKET_DENIAL in (scope.get("extensions") or ())


def _body_cannot_be_stolen(scope: Scope) -> bool:
    """Tell whether reading ``receive`` now can only yield empty ``http.request`` messages.

    True when a ``Request`` over this scope has received the whole body, or when no reader has
    started and the request declares no body: ``content-length: 0``, or no ``content-length`` and
    no ``transfer-encoding`` on HTTP/1.x (RFC 9112 section 6.3) or on a ``GET`` (RFC 9110 9.3.1
    gives a GET body no meaning).
    """
    reader = scope.get(_BODY_KEY)
    if reader is not None:
        if isinstance(reader, _BodyReader) and reader.state is not _BodyState.UNREAD:
            return reader.state is not _BodyState.STREAMING
    for name, value in scope.get("headers", ()):  # a scope built by hand may have none
        if name == b"content-length":
            return bool(value.strip() == b"0")
        if name == b"transfer-encoding":
            return False
    return bool(scope.get("http_version", "1.1") in ("1.0", "1.1") or scope.get("method") == "GET")


async def _send_quietly(send: Send, message: Message) -> None:
    try:
        await send(message)
    except OSError:
        pass  # SPEC: ASGI 2.4, the client has gone.


def _unsupported_scope(response: Response, scope: Scope) -> ValueError:
    # SPEC: an app should raise on a scope type it does not understand.
    return ValueError(
        f"{type(response).__name__} answers 'http' and 'websocket' scopes, got {scope['type']!r}. "
        "Route lifespan scopes to the application, not to a response."
    )


def _build_cookie(
    key: str,
    value: str,
    max_age: int | None,
    expires: datetime | str | int | None,
    path: str | None,
    domain: str | None,
    secure: bool,
    httponly: bool,
    samesite: str | None,
    partitioned: bool,
) -> bytes:
    """Return one ``Set-Cookie`` value; attributes in ``http.cookies`` order (sorted by name)."""
    # SECURITY: the name is a token and the value is quoted, so neither can add attributes.
    if not isinstance(key, str) or not key or not _TOKEN_CHARS.issuperset(key):
        raise ValueError(
            f"Invalid cookie name {key!r}: use a non-empty HTTP token (letters, digits and "
            "!#$%&'*+-.^_`|~), without spaces, '=', ';' or control characters."
        )
    if not isinstance(value, str):
        raise TypeError(
            f"Cookie {key!r} value must be a str, got {type(value).__name__}: {value!r}."
        )
    parts = [f"{key}={_COOKIE_CODEC.value_encode(value)[1]}"]
    if domain is not None:
        parts.append(f"Domain={_attribute(key, 'domain', domain)}")
    if expires is not None:
        parts.append(f"expires={_expires(key, expires)}")
    if httponly:
        parts.append("HttpOnly")
    if max_age is not None:
        parts.append(f"Max-Age={_max_age(key, max_age)}")
    if partitioned:
        # Written by hand: http.cookies only knows Partitioned from Python 3.14.
        parts.append("Partitioned")
    if path is not None:
        parts.append(f"Path={_attribute(key, 'path', path)}")
    if samesite is not None:
        parts.append(f"SameSite={_samesite(key, samesite)}")
    if secure:
        parts.append("Secure")
    return encode_header_value("; ".join(parts), "set-cookie")


def _max_age(key: str, max_age: int) -> int:
    if not isinstance(max_age, int) or isinstance(max_age, bool):
        raise ValueError(f"Cookie {key!r} max_age must be an int of seconds, got {max_age!r}.")
    return max_age


def _samesite(key: str, samesite: str) -> str:
    if not isinstance(samesite, str) or samesite.lower() not in _SAMESITE:
        raise ValueError(
            f"Cookie {key!r} samesite must be 'strict', 'lax', 'none' or None, got {samesite!r}."
        )
    return samesite


def _attribute(key: str, name: str, value: str) -> str:
    # SECURITY: ';' would end the attribute and start one of the caller's choosing.
    if not isinstance(value, str) or ";" in value:
        raise ValueError(
            f"Cookie {key!r} {name} must be a str without ';', got {value!r}. "
            "Remove the ';' or percent-encode it."
        )
    return value


def _expires(key: str, expires: datetime | str | int) -> str:
    if isinstance(expires, datetime):
        if expires.tzinfo is None:
            raise ValueError(
                f"Cookie {key!r} expires must be a timezone-aware datetime, got {expires!r}. "
                "Use e.g. datetime.now(timezone.utc) + timedelta(days=1)."
            )
        return email.utils.format_datetime(expires.astimezone(UTC), usegmt=True)
    if isinstance(expires, int):
        return email.utils.formatdate(time.time() + expires, usegmt=True)
    return _attribute(key, "expires", expires)
