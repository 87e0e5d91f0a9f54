"""The incoming connection: ``HTTPConnection`` (http and websocket scopes) and ``Request`` (http).

Everything is lazy: building a ``Request`` stores two references, and each property parses its part
of the scope once, when first read. The body is read from ``receive`` at most once per scope and
shared, through the scope, with every ``Request`` built over it with the same ``receive`` (a
middleware and then the endpoint), so both can read it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncGenerator, Awaitable, Generator, Iterable
from types import EllipsisType, TracebackType
from typing import Any, cast

import anyio

from microasgi._asgi.body import (
    _BODY_KEY,
    ClientDisconnect,
    _BodyReader,
    _too_large,
)
from microasgi._asgi.connection import HTTPConnection, StateT, empty_receive, empty_send
from microasgi._asgi.context import Current, get_current
from microasgi._asgi.forms import FormError, multipart_options, read_multipart, read_urlencoded
from microasgi._asgi.multipart_stream import (
    MultipartPart,
    MultipartStream,
    read_twice,
    unsupported_type,
)
from microasgi._sansio.body import declared_content_length, json_nesting_exceeds
from microasgi._sansio.cookies import parse_cookie_header
from microasgi._sansio.extensions import (
    EARLY_HINT,
    PUSH,
    TLSInfo,
    check_push_path,
    encode_links,
    offers,
    push_headers,
)
from microasgi._sansio.multipart import is_multipart_boundary
from microasgi._sansio.options import MalformedHeaderError, parse_options_header
from microasgi.datastructures import FormData
from microasgi.exceptions import HTTPException
from microasgi.formparsers import (
    FORM_LIMITS_KEY,
    FormLimits,
    MultiPartException,
    MultiPartParser,
)
from microasgi.types import EarlyHintEvent, HTTPResponsePushEvent, Receive, Scope, Send

__all__ = [
    "ClientDisconnect",
    "DEFAULT_MAX_BODY_SIZE",
    "HTTPConnection",
    "MAX_BODY_SIZE_KEY",
    "MultipartPart",
    "MultipartStream",
    "Request",
    "StateT",
    "TLSInfo",
    "cookie_parser",
    "current_connection",
    "current_request",
    "empty_receive",
    "empty_send",
]

DEFAULT_MAX_BODY_SIZE = 16 * 1024 * 1024
"""The cap, in bytes, on a request body read through ``Request`` (``body()``, ``json()``,
``form()``, multipart uploads included) when no application, router or route sets one."""

MAX_BODY_SIZE_KEY = "microasgi.max_body_size"
"""The scope key that overrides ``DEFAULT_MAX_BODY_SIZE`` for one request: an int, or ``None``
for no limit. The application and router set it; a middleware may too (copy the scope first).
When the key is present it also caps ``stream()``."""

_MISSING: Any = object()

_DEFAULT_FORM_LIMITS = FormLimits()
_URLENCODED = "application/x-www-form-urlencoded"
# The scope key marking the body reader that ``multipart()`` streams: ``form()`` cannot read it.
_PARTS_KEY = "microasgi.multipart"
_PARTS_STREAM_KEY = "microasgi.multipart_stream"
# The limits form() and multipart() take, in the order they pass them to _form_limits.
_LIMIT_NAMES = (
    "max_files", "max_fields", "max_part_size", "max_file_size", "max_fields_memory",
    "max_part_header_size",
)  # fmt: skip

# The public home of these names is this module: docs, reprs and error messages name it.
for _public in (
    ClientDisconnect,
    HTTPConnection,
    MultipartPart,
    MultipartStream,
    empty_receive,
    empty_send,
):
    _public.__module__ = __name__
del _public


def cookie_parser(cookie_string: str) -> dict[str, str]:
    """Parse a ``Cookie`` header value into ``{name: value}`` (Starlette's helper).

    Every pair is read and the last of a repeated name wins; a malformed pair is skipped alone.
    """
    return parse_cookie_header(cookie_string)


def _refuse_declared_oversize(scope: Scope) -> None:
    """Raise 413 when the request declares a body (``Content-Length``) over the scope's cap.

    The router calls it before the endpoint runs, so an oversize request is refused whether or
    not the endpoint reads its body (and an ``Expect: 100-continue`` client never sends it).
    """
    limit = scope.get(MAX_BODY_SIZE_KEY)
    if type(limit) is int:  # PERF: None (no cap) and a bad value (Request reports it) skip this
        # A scope built by hand (a unit test of a middleware) may have no headers.
        declared = declared_content_length(scope.get("headers", ()))
        # A malformed length is the server's to refuse: it frames the body, not us.
        if declared is not None and declared > limit:
            raise _too_large(limit)


_MULTIPART = "multipart/form-data"
_MULTIPART_PREFIX = _MULTIPART + "; boundary="


def _form_type(content_type: str) -> tuple[str, str, str]:
    """The media type of a form's ``Content-Type``, its boundary (multipart) and its charset.

    Raises:
        MalformedHeaderError: the header does not parse.
        MultiPartException: a multipart type without a valid boundary.
    """
    # PERF: what browsers and HTTP clients send, answered as the full parse would answer it,
    # without it: a valid boundary holds no quote, no ";" and no trailing space, so it is the
    # whole rest of the header (the full parse drops a leading space: left to it).
    if content_type == _URLENCODED:
        return _URLENCODED, "", "utf-8"
    if content_type.startswith(_MULTIPART_PREFIX):
        boundary = content_type[len(_MULTIPART_PREFIX) :]
        if boundary[:1] != " " and is_multipart_boundary(boundary):
            return _MULTIPART, boundary, "utf-8"
    media_type, params = parse_options_header(content_type)
    if media_type == _MULTIPART:
        return (media_type, *multipart_options(params))
    return media_type, "", params.get("charset", "utf-8")


class _FormContext:
    """What ``Request.form()`` returns: await it, or use it with ``async with`` (closes the form)."""

    __slots__ = ("_awaitable", "_form", "_request")

    _form: FormData  # set by __aenter__; Python calls __aexit__ only after it succeeded

    def __init__(self, awaitable: Awaitable[FormData], request: Request[Any]) -> None:
        self._awaitable = awaitable
        self._request = request

    def __await__(self) -> Generator[Any, None, FormData]:
        return self._awaitable.__await__()

    async def __aenter__(self) -> FormData:
        self._form = await self._awaitable
        return self._form

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._form.close()
        # PERF: the form is the scope's and it is closed: the router has nothing left to close.
        self._request._body_reader().files = False


class Request(HTTPConnection[StateT]):
    """An HTTP request: the scope's data plus the body, read lazily from ``receive``.

    Args:
        scope: an ASGI ``http`` scope.
        receive: the ASGI receive callable; without it, reading the body raises a clear error.
        send: the ASGI send callable, used only by ``send_push_promise`` and
            ``send_early_hints``.

    Raises:
        ValueError: the scope is not an ``http`` scope.
    """

    __slots__ = ("_form", "_json", "_reader", "_send")

    max_json_depth: int = 256
    """How deeply ``json()`` lets arrays and objects nest before answering 400 (subclass to change
    it). Legitimate documents rarely pass a few dozen levels."""

    def __init__(
        self, scope: Scope, receive: Receive = empty_receive, send: Send = empty_send
    ) -> None:
        if scope.get("type") != "http":
            raise ValueError(
                f"Request needs an 'http' scope, got scope type {scope.get('type')!r}. "
                "For a websocket use WebSocket(scope, receive, send)."
            )
        # PERF: the parent's assignments, inlined: one call and one scope check fewer per request.
        self._scope = scope
        self._receive = receive
        self._url = self._base_url = None
        self._headers = None
        self._query_params = None
        self._cookies = None
        self._state = None
        self._send = send
        self._reader: _BodyReader | None = None
        self._json: Any = _MISSING
        self._form: FormData | None = None

    @property
    def method(self) -> str:
        """The request method, uppercase (``"GET"``)."""
        method: str = self._scope["method"]
        return method

    @property
    def receive(self) -> Receive:
        """The ASGI receive callable."""
        return self._receive

    def _body_reader(self) -> _BodyReader:
        reader = self._reader
        if reader is None:
            shared = self._scope.get(_BODY_KEY)
            if isinstance(shared, _BodyReader) and (
                shared.receive == self._receive or self._receive is empty_receive
            ):
                reader = shared
            else:
                reader = self._scope[_BODY_KEY] = _BodyReader(self._receive)
            self._reader = reader
        return reader

    def _limit(self, *, explicit: bool) -> int | None:
        limit = self._scope.get(MAX_BODY_SIZE_KEY, _MISSING)
        if limit is _MISSING:
            return None if explicit else DEFAULT_MAX_BODY_SIZE
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ValueError(
                f"scope[{MAX_BODY_SIZE_KEY!r}] must be an int >= 0 or None (no limit), "
                f"got {limit!r}."
            )
        result: int | None = limit
        return result

    def _read(
        self, limit: int | None, *, share: bool = False, keep: bool = False, end: bool = False
    ) -> AsyncGenerator[bytes, None]:
        declared = self.headers.get("content-length") if limit is not None else None
        return self._body_reader().read(limit, declared, share=share, keep=keep, end=end)

    def stream(self) -> AsyncGenerator[bytes, None]:
        """Yield the body chunk by chunk as it arrives, without buffering it.

        The body's non-empty chunks are yielded, then an empty one (``b""``) at the end, as in
        Starlette. After ``body()`` (here or in an earlier ``Request`` over the same scope), the
        cached body is yielded in one chunk instead, then ``b""``. Several ``stream()``
        iterators over one request share the body, as in Starlette: each chunk goes to the
        iterator that asked for it.

        The stream is capped only when ``scope[MAX_BODY_SIZE_KEY]`` is set (the application and
        router set it); ``DEFAULT_MAX_BODY_SIZE`` applies to the in-memory readers alone.

        Raises:
            RuntimeError: the body was already streamed ("Stream consumed").
            ClientDisconnect: the client left before the end of the body.
            HTTPException: 413 when the body passes ``scope[MAX_BODY_SIZE_KEY]``.
        """
        return self._read(self._limit(explicit=True), share=True, end=True)

    async def body(self) -> bytes:
        """Read the whole body into memory, once; later calls return the same bytes.

        Raises:
            HTTPException: 413 when ``Content-Length`` or the bytes received pass the cap
                (``scope[MAX_BODY_SIZE_KEY]``, else ``DEFAULT_MAX_BODY_SIZE``); reading stops
                there.
            RuntimeError: the body was already consumed by ``stream()``.
            ClientDisconnect: the client left before the end of the body.
        """
        reader = self._body_reader()
        if reader.body is None:
            reader.body = b"".join(
                [chunk async for chunk in self._read(self._limit(explicit=False))]
            )
        return reader.body

    async def json(self) -> Any:
        """Parse the body as JSON, once.

        Raises:
            HTTPException: 400 when the body is not valid JSON, not valid UTF-8 (or UTF-16/32),
                or nested too deeply; 413 as ``body()``.
        """
        if self._json is _MISSING:
            body = await self.body()
            # SECURITY: bound the nesting before parsing, so the answer does not depend on the
            # interpreter's recursion limit and deep input never reaches the C stack's limit.
            if json_nesting_exceeds(body, self.max_json_depth):
                raise HTTPException(
                    400,
                    detail=f"Request body is JSON nested too deeply (over {self.max_json_depth} levels).",
                )
            try:
                self._json = json.loads(body)
            except UnicodeDecodeError as exc:
                raise HTTPException(
                    400, detail=f"Request body is not valid UTF-8 JSON: {exc.reason}."
                ) from None
            except ValueError as exc:
                raise HTTPException(400, detail=f"Request body is not valid JSON: {exc}.") from None
            except RecursionError:
                raise HTTPException(
                    400,
                    detail=f"Request body is JSON nested too deeply (over {self.max_json_depth} levels).",
                ) from None
        return self._json

    def form(
        self,
        *,
        max_files: int | float | EllipsisType = ...,
        max_fields: int | float | EllipsisType = ...,
        max_part_size: int | EllipsisType = ...,
        max_file_size: int | EllipsisType = ...,
        max_fields_memory: int | EllipsisType = ...,
        max_part_header_size: int | EllipsisType = ...,
    ) -> _FormContext:
        """Parse the body as a form, once: ``await request.form()`` or ``async with request.form()``.

        ``application/x-www-form-urlencoded`` and ``multipart/form-data`` bodies are parsed as
        they stream in, with every limit checked on each chunk. Any other content type, or none,
        gives an empty ``FormData``, as in Starlette. The context manager form closes the form
        (deletes its uploaded files) on exit; the router closes it when the request ends.

        A limit left out (``...``) comes from ``scope[FORM_LIMITS_KEY]`` (a ``FormLimits`` an
        application or middleware put there), else from ``FormLimits``' defaults (shown here).
        The whole body, multipart files included, is capped by the request's body cap
        (``scope[MAX_BODY_SIZE_KEY]``, else ``DEFAULT_MAX_BODY_SIZE``): 413 past it. Files go to
        disk past ``FormLimits.spool_max_size``, each bounded by ``max_file_size`` too; a route
        that takes uploads larger than the cap raises its own ``max_body_size``.

        Args:
            max_files: the most files a multipart form may hold (400 beyond it), default 1000;
                ``math.inf`` for no limit.
            max_fields: the most text fields (400 beyond it), default 1000; ``math.inf`` for no
                limit.
            max_part_size: the largest text field, in bytes as sent (413 beyond it), default
                1 MiB.
            max_file_size: the largest uploaded file, in bytes (413 beyond it), default 100 MiB.
            max_fields_memory: the most bytes of text fields and part headers a multipart form
                holds in memory (413 beyond it), default 16 MiB.
            max_part_header_size: the longest header line of a multipart part (400 beyond it),
                default 8 KiB.

        Raises:
            ValueError: a limit is not an int >= 0, or ``math.inf`` for the counts (raised here,
                not when awaited).
            TypeError: ``scope[FORM_LIMITS_KEY]`` is not a ``FormLimits``.
            HTTPException: 400 for a malformed ``Content-Type`` or form, too many fields or
                files; 413 for a field, a file, the fields in memory or a body over its limit.
            RuntimeError: ``multipart()`` streams this request's body.
        """
        limits = self._form_limits(
            max_files, max_fields, max_part_size, max_file_size, max_fields_memory,
            max_part_header_size,
        )  # fmt: skip
        return _FormContext(self._get_form(limits), self)

    def multipart(
        self,
        *,
        max_files: int | float | EllipsisType = ...,
        max_fields: int | float | EllipsisType = ...,
        max_part_size: int | EllipsisType = ...,
        max_file_size: int | EllipsisType = ...,
        max_fields_memory: int | EllipsisType = ...,
        max_part_header_size: int | EllipsisType = ...,
    ) -> MultipartStream:
        """Stream a ``multipart/form-data`` body part by part, storing nothing:
        ``async for part in request.multipart(): ...`` (see ``MultipartPart``).

        Takes the limits of ``form()``, with its defaults and answers, and its body cap. The
        body streams once: ``form()`` cannot read it too (unless ``body()`` read it first).

        Raises:
            ValueError: a limit is not an int >= 0, or ``math.inf`` for the counts.
            TypeError: ``scope[FORM_LIMITS_KEY]`` is not a ``FormLimits``.
            HTTPException: 415 without a ``multipart/form-data`` ``Content-Type``; 400 for a
                malformed one (a bad boundary); while iterating, as ``form()``.
            RuntimeError: ``form()`` or ``multipart()`` already read the body.
        """
        limits = self._form_limits(
            max_files, max_fields, max_part_size, max_file_size, max_fields_memory,
            max_part_header_size,
        )  # fmt: skip
        reader = self._body_reader()
        form, parts = reader.form, self._scope.get(_PARTS_KEY) is reader
        if reader.body is None and (form is not None or parts):
            raise read_twice("multipart()" if form is None else "form()")
        content_type = self.headers.get("content-type")
        if content_type is None:
            raise unsupported_type(content_type)
        try:
            media_type, boundary, charset = _form_type(content_type)
        except MalformedHeaderError as exc:
            raise HTTPException(400, detail=str(exc)) from None
        except MultiPartException as exc:
            raise FormError(exc.status_code, exc.message) from None
        if media_type != _MULTIPART:
            raise unsupported_type(content_type)
        self._scope[_PARTS_KEY] = reader
        chunks = self._read(self._limit(explicit=False))
        stream = MultipartStream(chunks, boundary, charset, limits)
        # Closed when the request ends (close(), which the route calls when files is set): an
        # iteration left early would leave the body's generator to the garbage collector.
        self._scope[_PARTS_STREAM_KEY] = stream
        reader.files = True
        return stream

    def _form_limits(self, *values: Any) -> FormLimits:
        """The ``FormLimits`` of the scope, overridden by the limits given (``...``: not given),
        in the order of ``_LIMIT_NAMES``."""
        limits = self._scope.get(FORM_LIMITS_KEY, _DEFAULT_FORM_LIMITS)
        if not isinstance(limits, FormLimits):
            raise TypeError(
                f"scope[{FORM_LIMITS_KEY!r}] must be a FormLimits, got {limits!r}. Set it to "
                "microasgi.formparsers.FormLimits(...)."
            )
        # PERF: the usual call gives no limit: no dict, no new FormLimits to validate.
        if values.count(...) != len(values):
            pairs = zip(_LIMIT_NAMES, values, strict=True)
            given = {name: value for name, value in pairs if value is not ...}
            limits = dataclasses.replace(limits, **given)
        return limits

    async def _get_form(self, limits: FormLimits) -> FormData:
        form = self._form
        if form is None:
            reader = self._body_reader()
            form = reader.form
            if form is None:
                form = reader.form = await self._parse_form(reader, limits)
            self._form = form
        return form

    async def _parse_form(self, reader: _BodyReader, limits: FormLimits) -> FormData:
        content_type = self.headers.get("content-type")
        if content_type is None:
            return FormData()
        try:
            media_type, boundary, charset = _form_type(content_type)
            if media_type == _MULTIPART:
                if self._scope.get(_PARTS_KEY) is reader and reader.body is None:
                    raise read_twice("multipart()")
                reader.files = True
                # SECURITY: the body cap bounds the whole multipart body too, files included, as
                # it bounds every other way of reading the body: files spool to disk, but a cap
                # that a multipart upload could pass would let any client fill that disk. Routes
                # taking large uploads raise their own max_body_size.
                chunks = self._read(self._limit(explicit=False))
                spool = limits.spool_max_size
                if spool is None:
                    spool = MultiPartParser.spool_max_size
                return await read_multipart(chunks, boundary, charset, limits, spool)
            if media_type == _URLENCODED:
                # A urlencoded body is capped in memory anyway: keep it, so body() and a later
                # Request over the same scope can still read it.
                chunks = self._read(self._limit(explicit=False), keep=True)
                return await read_urlencoded(
                    chunks, charset, limits.max_fields, limits.max_part_size
                )
        except MalformedHeaderError as exc:
            raise HTTPException(400, detail=str(exc)) from None
        except MultiPartException as exc:
            raise FormError(exc.status_code, exc.message) from None
        return FormData()

    def _may_hold_form(self) -> bool:
        """Whether ``close`` has anything to do: a multipart form (which may hold files) was
        parsed over this scope, or its body streamed by ``multipart()``."""
        # PERF: the router asks this first, so every request but a multipart one skips ``close``.
        reader = self._reader if self._reader is not None else self._scope.get(_BODY_KEY)
        return isinstance(reader, _BodyReader) and reader.files

    async def close(self) -> None:
        """Close the form, if it was parsed here or by another ``Request`` over the same scope
        (its uploaded files are deleted), and the ``multipart()`` stream of the request."""
        stream = self._scope.pop(_PARTS_STREAM_KEY, None)
        if isinstance(stream, MultipartStream):
            with anyio.CancelScope(shield=True):
                await stream.aclose()
        form = self._form
        if form is None:
            reader = self._reader if self._reader is not None else self._scope.get(_BODY_KEY)
            form = reader.form if isinstance(reader, _BodyReader) else None
        if form is None:
            return
        if form._closes_in_memory():
            # PERF: closing awaits nothing that could be cancelled midway: no cancel scope.
            await form.close()
            return
        # Even when the request is cancelled (the client left): its files must not linger.
        with anyio.CancelScope(shield=True):
            await form.close()

    async def is_disconnected(self) -> bool:
        """Tell whether the client has disconnected, without waiting.

        A body message received while checking is kept, and ``stream()`` yields it in order: no
        message is ever lost. Past the body cap, unread messages are no longer taken, and the
        answer is what was seen so far.
        """
        return await self._body_reader().poll(self._limit(explicit=False))

    async def send_push_promise(self, path: str) -> None:
        """Ask the server to push ``path`` (HTTP/2 server push), when it offers the extension.

        The pushed request copies the ``Accept*``, ``Cache-Control`` and ``User-Agent`` headers
        of this one, so the pushed response matches what the browser would have asked for.
        Without the ``http.response.push`` extension this does nothing. The spec allows the
        push after ``http.response.start`` and before the end of the body (push from a
        ``StreamingResponse`` body); hypercorn also accepts it before the response starts.

        Args:
            path: a decoded absolute path of this site, such as ``"/style.css"``.

        Raises:
            ValueError: the path is not absolute or holds whitespace or control characters
                (checked whether or not the server offers push).
        """
        check_push_path(path)
        if not offers(self._scope, PUSH):
            return
        message: HTTPResponsePushEvent = {
            "type": "http.response.push",
            "path": path,
            "headers": push_headers(self._scope),
        }
        await self._send(message)  # type: ignore[arg-type]

    async def send_early_hints(
        self, link: str | bytes | Iterable[str | bytes], /, *additional_links: str | bytes
    ) -> None:
        """Send a ``103 Early Hints`` answer with ``Link`` headers, when the server offers it.

        Call it before returning the response: the browser can start fetching what the page
        will need while the endpoint is still working. The servers that offer the
        ``http.response.early_hint`` extension accept it only before ``http.response.start``.
        Without the extension this does nothing (the links are still validated).

        Args:
            link: a ``Link`` value, ``str`` (latin-1) or ``bytes``, such as
                ``"</style.css>; rel=preload; as=style"``, or a list of them; each value becomes
                one ``Link`` header.
            *additional_links: more ``Link`` values, as in Starlette:
                ``send_early_hints("</a.css>; rel=preload", "</b.js>; rel=preload")``.

        Raises:
            ValueError: no link, an empty link, or a link holding CR, LF, NUL or another control
                character.
            TypeError: a link is neither ``str`` nor ``bytes``.
        """
        first = [link] if isinstance(link, str | bytes) else list(link)
        encoded = encode_links([*first, *additional_links])
        if not offers(self._scope, EARLY_HINT):
            return
        message: EarlyHintEvent = {"type": "http.response.early_hint", "links": encoded}
        await self._send(message)  # type: ignore[arg-type]


def current_request() -> Request:
    """The HTTP request the running code serves, for code that was not handed it (a logging
    helper, a data layer deep in the call stack).

    Needs ``MicroASGI(..., request_context=True)``: the application sets it when a request
    enters and resets it when the request leaves. It is right in the endpoint and the
    middleware, in worker threads (sync endpoints, ``run_in_threadpool``), in the request's
    background tasks and in tasks the request starts, and never shows another request, also on
    a connection that pipelines requests (where context variables leak on current CPython).

    Each call during a request returns the same ``Request``. Its body is read through the
    application's ``receive`` and shared with the endpoint's ``Request`` (read once), unless a
    middleware handed the endpoint a ``receive`` of its own.

    Raises:
        RuntimeError: no request is running here (``request_context`` is off, or the code runs
            outside a request or in work that outlived it), or the connection is a websocket
            session (use ``current_connection()``).
    """
    current = get_current("current_request")
    if current.scope["type"] != "http":
        raise RuntimeError(
            "current_request() was called in a websocket session, which is not an HTTP "
            "request. Use microasgi.requests.current_connection() there."
        )
    # The scope is an http one, so the connection is the Request built for it.
    return cast(Request, _connection(current))


def current_connection() -> HTTPConnection:
    """The connection the running code serves: the ``Request`` of an HTTP request (the one
    ``current_request()`` returns), an ``HTTPConnection`` over a websocket session's scope (its
    URL, headers, path parameters, state, session and user).

    Same rules as ``current_request()``.

    Raises:
        RuntimeError: no request or websocket session is running here.
    """
    return _connection(get_current("current_connection"))


def _connection(current: Current) -> HTTPConnection:
    connection: HTTPConnection | None = current.connection
    if connection is None:
        if current.scope["type"] == "http":
            connection = Request(current.scope, current.receive, current.send)
        else:
            connection = HTTPConnection(current.scope, current.receive)
        # Two threads asking at once may each build one: both read the same scope and body.
        current.connection = connection
    return connection
