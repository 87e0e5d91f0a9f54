"""Responses, driven with hand-made scopes, a fake ``receive`` and a recording ``send``."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import anyio
import pytest

from microasgi._asgi import response as response_module
from microasgi.background import BackgroundTask
from microasgi.datastructures import URL
from microasgi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from microasgi.types import Message, Scope

# --- fakes ----------------------------------------------------------------------------------------


def http_scope(
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    spec_version: str | None = None,
    http_version: str = "1.1",
    **extra: Any,
) -> Scope:
    asgi = (
        {"version": "3.0"}
        if spec_version is None
        else {"version": "3.0", "spec_version": spec_version}
    )
    scope: Scope = {
        "type": "http",
        "asgi": asgi,
        "http_version": http_version,
        "method": method,
        "path": "/",
        "query_string": b"",
        "headers": headers or [],
    }
    scope.update(extra)
    return scope


def websocket_scope(extensions: Any = None) -> Scope:
    scope: Scope = {"type": "websocket", "asgi": {"version": "3.0"}, "path": "/", "headers": []}
    if extensions is not None:
        scope["extensions"] = extensions
    return scope


class Recorder:
    """A ``send`` that records messages; ``gone_after=n`` raises OSError from the n+1-th send."""

    def __init__(self, gone_after: int | None = None, log: list[Any] | None = None) -> None:
        self.messages: list[Message] = []
        self.gone_after = gone_after
        self.log = log if log is not None else []

    async def __call__(self, message: Message) -> None:
        if self.gone_after is not None and len(self.messages) >= self.gone_after:
            raise ConnectionResetError("client gone")
        self.messages.append(message)
        self.log.append(message["type"])

    @property
    def body(self) -> bytes:
        return b"".join(bytes(m.get("body", b"")) for m in self.messages if "body" in m["type"])


async def receive_never() -> Message:
    await anyio.Event().wait()
    raise AssertionError("unreachable")  # pragma: no cover


def receive_from(*messages: Message) -> Callable[[], Any]:
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        await anyio.Event().wait()
        raise AssertionError("unreachable")  # pragma: no cover

    return receive


def disconnect_when(event: anyio.Event) -> Callable[[], Any]:
    async def receive() -> Message:
        await event.wait()
        return {"type": "http.disconnect"}

    return receive


# --- construction ---------------------------------------------------------------------------------

LATIN = "caf\u00e9"


@pytest.mark.parametrize(
    ("response", "body", "headers"),
    [
        (Response(), b"", [(b"content-length", b"0")]),
        (Response(b"hi"), b"hi", [(b"content-length", b"2")]),
        (Response(memoryview(b"hey")), b"hey", [(b"content-length", b"3")]),
        (
            Response(LATIN, media_type="text/plain"),
            LATIN.encode(),
            [(b"content-length", b"5"), (b"content-type", b"text/plain; charset=utf-8")],
        ),
        (
            Response(b"x", media_type="text/csv; Charset=latin-1"),
            b"x",
            [(b"content-length", b"1"), (b"content-type", b"text/csv; Charset=latin-1")],
        ),
        (
            Response(b"{}", media_type="application/json"),
            b"{}",
            [(b"content-length", b"2"), (b"content-type", b"application/json")],
        ),
        (
            PlainTextResponse("ok"),
            b"ok",
            [(b"content-length", b"2"), (b"content-type", b"text/plain; charset=utf-8")],
        ),
        (
            HTMLResponse("<b>"),
            b"<b>",
            [(b"content-length", b"3"), (b"content-type", b"text/html; charset=utf-8")],
        ),
        (
            HTMLResponse("x", media_type="text/xml"),
            b"x",
            [(b"content-length", b"1"), (b"content-type", b"text/xml; charset=utf-8")],
        ),
        (
            JSONResponse({"a": [1, None, "\u00e9"]}),
            b'{"a":[1,null,"\xc3\xa9"]}',
            [(b"content-length", b"19"), (b"content-type", b"application/json")],
        ),
        (
            Response(b"x", headers={"X-Thing": "1", "Content-Type": "image/png"}),
            b"x",
            [(b"x-thing", b"1"), (b"content-type", b"image/png"), (b"content-length", b"1")],
        ),
        (
            PlainTextResponse("abc", headers={"content-length": "3"}),
            b"abc",
            [(b"content-length", b"3"), (b"content-type", b"text/plain; charset=utf-8")],
        ),
        (Response(status_code=204), b"", []),
        (Response(status_code=304, headers={"etag": '"1"'}), b"", [(b"etag", b'"1"')]),
        (Response(status_code=101), b"", []),
        (Response(status_code=199), b"", []),
        (Response(status_code=205), b"", [(b"content-length", b"0")]),
    ],
)
def test_construction(response: Response, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    assert bytes(response.body) == body
    assert response.raw_headers == headers


def test_content_length_of_large_bodies_is_not_remembered() -> None:
    size = response_module._LENGTH_HEADERS_LIMIT + 1
    assert Response(b"x" * size).raw_headers == [(b"content-length", str(size).encode())]
    assert size not in response_module._LENGTH_HEADERS


def test_memoryview_content_length_counts_bytes_not_items() -> None:
    view = memoryview(b"\x00" * 8).cast("d")  # one float64 item, eight bytes
    assert Response(view).raw_headers == [(b"content-length", b"8")]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(bytearray, id="bytearray"),
        pytest.param(lambda buffer: memoryview(buffer), id="memoryview"),
        pytest.param(lambda buffer: memoryview(buffer)[::1], id="memoryview-slice"),
        pytest.param(lambda buffer: memoryview(buffer).cast("H"), id="memoryview-cast"),
    ],
)
async def test_buffer_content_is_sent_as_a_bytes_copy(make: Callable[[bytearray], Any]) -> None:
    buffer = bytearray(b"abcd")
    response = Response(make(buffer))
    buffer[:] = b"XXXX"  # the caller reuses its buffer: what is sent must not change
    assert response.raw_headers == [(b"content-length", b"4")]
    for scope in (http_scope(), websocket_scope({"websocket.http.response": {}})):
        send = Recorder()
        await response(scope, receive_never, send)
        assert type(send.messages[1]["body"]) is bytes
        assert send.messages[1]["body"] == b"abcd"


def test_memoryview_of_strided_items_keeps_its_bytes() -> None:
    view = memoryview(b"a.b.c.")[::2]  # not contiguous
    response = Response(view)
    assert response.body == b"abc"
    assert response.raw_headers == [(b"content-length", b"3")]


@pytest.mark.parametrize("body", [bytearray(b"hey"), memoryview(b"hey")])
async def test_buffer_body_from_a_subclass_is_sent_as_bytes(body: Any) -> None:
    # A subclass's render(), or an assignment, may leave a buffer in ``body``.
    class Buffered(Response):
        def render(self, content: Any) -> bytes | memoryview:
            return body  # type: ignore[no-any-return]

    response = Buffered("ignored", trailers={"x-sum": "1"})
    for scope in (
        http_scope(),
        http_scope(headers=[(b"te", b"trailers")], extensions={"http.response.trailers": {}}),
    ):
        send = Recorder()
        await response(scope, receive_never, send)
        assert type(send.messages[1]["body"]) is bytes
        assert send.messages[1]["body"] == b"hey"


def test_class_attributes_and_charset_subclass() -> None:
    class Latin1Text(PlainTextResponse):
        charset = "latin-1"

    assert Response.media_type is None
    assert Response.charset == "utf-8"
    response = Latin1Text(LATIN)
    assert response.body == LATIN.encode("latin-1")
    assert (b"content-type", b"text/plain; charset=latin-1") in response.raw_headers


@pytest.mark.parametrize("content", [{"a": 1}, 3, ["x"], [b"x"]])
def test_render_refuses_other_types(content: Any) -> None:
    with pytest.raises(
        TypeError, match="content must be bytes, bytearray, memoryview, str or None"
    ):
        Response(content)


@pytest.mark.parametrize("status", [99, 600, "200", 200.0, True, None])
def test_status_code_is_validated(status: Any) -> None:
    with pytest.raises(ValueError, match="status_code must be an int from 100 to 599"):
        Response(status_code=status)


def test_status_code_accepts_int_enums() -> None:
    from http import HTTPStatus

    response = Response(status_code=HTTPStatus.CREATED)
    assert response.status_code == 201
    assert type(response.status_code) is int


def test_media_type_must_be_str() -> None:
    with pytest.raises(TypeError, match="media_type must be a str"):
        Response(media_type=b"text/plain")  # type: ignore[arg-type]


def test_headers_property_writes_back_and_validates() -> None:
    response = PlainTextResponse("x")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.append("vary", "accept")
    assert response.raw_headers[-2:] == [(b"x-frame-options", b"DENY"), (b"vary", b"accept")]
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    with pytest.raises(ValueError, match="control character"):
        response.headers["x-evil"] = "a\r\nset-cookie: pwned=1"
    assert all(b"pwned" not in value for _, value in response.raw_headers)


# --- header injection -----------------------------------------------------------------------------

INJECTIONS = ["a\r\nx-injected: 1", "a\nb", "a\rb", "a\x00b"]


@pytest.mark.parametrize("bad", INJECTIONS)
@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda bad: Response(headers={"x-ok": bad}), id="header-value"),
        pytest.param(lambda bad: Response(headers={bad: "1"}), id="header-name"),
        pytest.param(lambda bad: Response(media_type=f"text/{bad}"), id="media_type"),
        pytest.param(lambda bad: PlainTextResponse("x", media_type=bad), id="media_type-sub"),
        pytest.param(lambda bad: RedirectResponse("/", headers={"x": bad}), id="redirect-headers"),
        pytest.param(lambda bad: StreamingResponse([], headers={"x": bad}), id="stream-headers"),
        pytest.param(lambda bad: Response().set_cookie(bad, "v"), id="cookie-name"),
        pytest.param(lambda bad: Response().set_cookie("k", path=bad), id="cookie-path"),
        pytest.param(lambda bad: Response().set_cookie("k", domain=bad), id="cookie-domain"),
        pytest.param(lambda bad: Response().set_cookie("k", expires=bad), id="cookie-expires"),
        pytest.param(lambda bad: Response().set_cookie("k", samesite=bad), id="cookie-samesite"),
        pytest.param(lambda bad: Response().delete_cookie("k", path=bad), id="delete-path"),
    ],
)
def test_header_injection_is_refused(build: Callable[[str], Any], bad: str) -> None:
    with pytest.raises(ValueError, match=r"(?i)invalid|control character|cookie|samesite"):
        build(bad)


@pytest.mark.parametrize("bad", [*INJECTIONS, "a;b", "a; Domain=evil.com"])
def test_cookie_value_cannot_inject(bad: str) -> None:
    response = Response()
    response.set_cookie("k", bad)
    ((name, value),) = response.raw_headers[1:]
    assert name == b"set-cookie"
    # The value is quoted and its separators and controls escaped: one value, one attribute set.
    assert value.startswith(b'k="')
    assert value.endswith(b'"; Path=/; SameSite=lax')
    assert value.count(b";") == 2
    assert not any(c in value for c in b"\r\n\x00")


def test_cookie_value_outside_latin1_is_refused() -> None:
    with pytest.raises(ValueError, match="outside latin-1"):
        Response().set_cookie("k", "\u20ac")


@pytest.mark.parametrize(
    "url",
    ["/a\r\nset-cookie: x=1", "/a\nb", "/a\x00b", "http://x/\r\n\r\n<html>"],
)
def test_redirect_url_cannot_inject(url: str) -> None:
    location = dict(RedirectResponse(url).raw_headers)[b"location"]
    assert not any(c in location for c in b"\r\n\x00")
    assert b"%0D" in location or b"%0A" in location or b"%00" in location


# --- cookies --------------------------------------------------------------------------------------

FIXED_NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


@pytest.fixture
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("microasgi._asgi.response.time.time", lambda: FIXED_NOW)


@pytest.mark.usefixtures("frozen_time")
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "k=v; Path=/; SameSite=lax"),
        ({"value": ""}, 'k=""; Path=/; SameSite=lax'),
        ({"value": "a b"}, 'k="a b"; Path=/; SameSite=lax'),
        ({"value": 'a"b\\'}, 'k="a\\"b\\\\"; Path=/; SameSite=lax'),
        ({"value": "a;b,c"}, 'k="a\\073b\\054c"; Path=/; SameSite=lax'),
        ({"path": None, "samesite": None}, "k=v"),
        ({"path": "/app", "samesite": "strict"}, "k=v; Path=/app; SameSite=strict"),
        ({"samesite": "Lax"}, "k=v; Path=/; SameSite=Lax"),
        ({"samesite": "none", "secure": True}, "k=v; Path=/; SameSite=none; Secure"),
        ({"max_age": 60}, "k=v; Max-Age=60; Path=/; SameSite=lax"),
        ({"expires": 60}, "k=v; expires=Tue, 14 Nov 2023 22:14:20 GMT; Path=/; SameSite=lax"),
        (
            {"expires": datetime(2037, 1, 22, 12, 0, 10, tzinfo=UTC)},
            "k=v; expires=Thu, 22 Jan 2037 12:00:10 GMT; Path=/; SameSite=lax",
        ),
        (
            {"expires": datetime(2037, 1, 22, 14, 0, 10, tzinfo=timezone(timedelta(hours=2)))},
            "k=v; expires=Thu, 22 Jan 2037 12:00:10 GMT; Path=/; SameSite=lax",
        ),
        (
            {"expires": "Thu, 22 Jan 2037 12:00:10 GMT"},
            "k=v; expires=Thu, 22 Jan 2037 12:00:10 GMT; Path=/; SameSite=lax",
        ),
        ({"httponly": True}, "k=v; HttpOnly; Path=/; SameSite=lax"),
        ({"domain": "example.com"}, "k=v; Domain=example.com; Path=/; SameSite=lax"),
        (
            {"partitioned": True, "secure": True, "samesite": "none"},
            "k=v; Partitioned; Path=/; SameSite=none; Secure",
        ),
        (
            {
                "max_age": 10,
                "expires": datetime(2037, 1, 22, 12, 0, 10, tzinfo=UTC),
                "path": "/",
                "domain": "localhost",
                "secure": True,
                "httponly": True,
                "samesite": "none",
                "partitioned": True,
            },
            "k=v; Domain=localhost; expires=Thu, 22 Jan 2037 12:00:10 GMT; HttpOnly; Max-Age=10; "
            "Partitioned; Path=/; SameSite=none; Secure",
        ),
    ],
)
def test_set_cookie(kwargs: dict[str, Any], expected: str) -> None:
    kwargs.setdefault("value", "v")
    response = Response()
    response.set_cookie("k", **kwargs)
    assert response.raw_headers[-1] == (b"set-cookie", expected.encode("latin-1"))


@pytest.mark.usefixtures("frozen_time")
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, 'k=""; expires=Tue, 14 Nov 2023 22:13:20 GMT; Max-Age=0; Path=/; SameSite=lax'),
        (
            {
                "path": "/a",
                "domain": "x.org",
                "secure": True,
                "httponly": True,
                "samesite": None,
                "partitioned": True,
            },
            'k=""; Domain'
            "=x.org; expires=Tue, 14 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=0; "
            "Partitioned; Path=/a; Secure",
        ),
    ],
)
def test_delete_cookie(kwargs: dict[str, Any], expected: str) -> None:
    response = Response()
    response.delete_cookie("k", **kwargs)
    assert response.raw_headers[-1] == (b"set-cookie", expected.encode("latin-1"))


def test_several_cookies_are_several_headers() -> None:
    response = Response()
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    assert [v for n, v in response.raw_headers if n == b"set-cookie"] == [
        b"a=1; Path=/; SameSite=lax",
        b"b=2; Path=/; SameSite=lax",
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"key": ""}, ValueError, "Invalid cookie name"),
        ({"key": "a b"}, ValueError, "Invalid cookie name"),
        ({"key": "a=b"}, ValueError, "Invalid cookie name"),
        ({"key": "a;b"}, ValueError, "Invalid cookie name"),
        ({"key": b"k"}, ValueError, "Invalid cookie name"),
        ({"value": 1}, TypeError, "value must be a str"),
        ({"samesite": "loose"}, ValueError, "samesite must be 'strict', 'lax', 'none' or None"),
        ({"samesite": 1}, ValueError, "samesite must be"),
        ({"max_age": "10"}, ValueError, "max_age must be an int"),
        ({"max_age": True}, ValueError, "max_age must be an int"),
        ({"path": "/; HttpOnly"}, ValueError, "path must be a str without ';'"),
        ({"domain": "a.com; Secure"}, ValueError, "domain must be a str without ';'"),
        ({"domain": 5}, ValueError, "domain must be a str"),
        ({"expires": "x; Domain=evil"}, ValueError, "expires must be a str without ';'"),
        ({"expires": datetime(2037, 1, 1)}, ValueError, "timezone-aware datetime"),
    ],
)
def test_set_cookie_refuses(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    kwargs.setdefault("key", "k")
    with pytest.raises(error, match=match):
        Response().set_cookie(**kwargs)


# --- JSON and redirects ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {"x": [math.nan]}])
def test_json_refuses_nan(bad: Any) -> None:
    with pytest.raises(ValueError, match="JSON has no NaN or Infinity"):
        JSONResponse(bad)


def test_json_unknown_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        JSONResponse({"when": datetime(2020, 1, 1)})


def test_json_matches_the_documented_dumps_call() -> None:
    content = {"b": [1, 2.5, True], "a": "\u2603 \u00e9", "c": {"d": None}}
    expected = json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()
    assert JSONResponse(content).body == expected
    assert JSONResponse(content, media_type="application/vnd.api+json").raw_headers[-1] == (
        b"content-type",
        b"application/vnd.api+json",
    )


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/a/b?x=1&y=2#top", b"/a/b?x=1&y=2#top"),
        ("https://example.com/p", b"https://example.com/p"),
        ("/caf\u00e9 bar", b"/caf%C3%A9%20bar"),
        ("/already%20quoted", b"/already%20quoted"),
        ("/keep/!$&'()*+,;=:@[]", b"/keep/!$&'()*+,;=:@[]"),
        ("/q?next=<script>", b"/q?next=%3Cscript%3E"),
        (URL("https://example.com/x y"), b"https://example.com/x%20y"),
    ],
)
def test_redirect_location(url: str | URL, location: bytes) -> None:
    response = RedirectResponse(url)
    assert response.status_code == 307
    assert response.body == b""
    assert response.raw_headers == [(b"content-length", b"0"), (b"location", location)]


@pytest.mark.parametrize("status", [300, 301, 302, 303, 307, 308])
def test_redirect_statuses(status: int) -> None:
    assert RedirectResponse("/", status_code=status).status_code == status


@pytest.mark.parametrize("status", [200, 304, 305, 306, 404, 299, 309])
def test_redirect_refuses_other_statuses(status: int) -> None:
    with pytest.raises(ValueError, match="must be a redirect status"):
        RedirectResponse("/", status_code=status)


def test_redirect_location_replaces_a_given_one() -> None:
    response = RedirectResponse("/new", headers={"Location": "/old", "x-a": "1"})
    assert response.raw_headers == [
        (b"x-a", b"1"),
        (b"content-length", b"0"),
        (b"location", b"/new"),
    ]


# --- sending --------------------------------------------------------------------------------------


async def test_send_messages_and_background_after_body() -> None:
    log: list[Any] = []
    send = Recorder(log=log)
    response = PlainTextResponse("hi", background=BackgroundTask(log.append, "background"))
    await response(http_scope(), receive_never, send)
    assert send.messages == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"2"), (b"content-type", b"text/plain; charset=utf-8")],
        },
        {"type": "http.response.body", "body": b"hi"},
    ]
    assert log == ["http.response.start", "http.response.body", "background"]


async def test_head_keeps_headers_and_drops_body() -> None:
    send = Recorder()
    await JSONResponse({"a": 1})(http_scope("HEAD"), receive_never, send)
    assert send.messages[0]["headers"] == [
        (b"content-length", b"7"),
        (b"content-type", b"application/json"),
    ]
    assert send.messages[1] == {"type": "http.response.body", "body": b""}


@pytest.mark.parametrize("gone_after", [0, 1])
async def test_client_gone_stops_quietly_and_background_runs(gone_after: int) -> None:
    ran: list[str] = []
    send = Recorder(gone_after=gone_after)
    response = Response(b"x", background=BackgroundTask(ran.append, "yes"))
    await response(http_scope(), receive_never, send)
    assert len(send.messages) == gone_after
    assert ran == ["yes"]


@pytest.mark.parametrize("response_class", [Response, StreamingResponse])
async def test_websocket_denial_with_extension(response_class: type[Response]) -> None:
    send = Recorder()
    ran: list[str] = []
    background = BackgroundTask(ran.append, "bg")
    if response_class is StreamingResponse:
        response: Response = StreamingResponse(
            [b"no", b"pe"], status_code=401, background=background
        )
        bodies = [
            {"type": "websocket.http.response.body", "body": b"no", "more_body": True},
            {"type": "websocket.http.response.body", "body": b"pe", "more_body": True},
            {"type": "websocket.http.response.body", "body": b"", "more_body": False},
        ]
    else:
        response = Response(b"nope", status_code=401, background=background)
        bodies = [{"type": "websocket.http.response.body", "body": b"nope"}]
    scope = websocket_scope({"websocket.http.response": {}})
    await response(scope, receive_never, send)
    assert send.messages == [
        {
            "type": "websocket.http.response.start",
            "status": 401,
            "headers": response.raw_headers,
        },
        *bodies,
    ]
    assert ran == ["bg"]


@pytest.mark.parametrize("extensions", [None, {}, {"tls": {}}])
@pytest.mark.parametrize("response_class", [Response, StreamingResponse])
async def test_websocket_denial_without_extension_closes(
    extensions: Any, response_class: type[Response]
) -> None:
    send = Recorder()
    closed: list[bool] = []

    def chunks() -> Iterator[bytes]:
        try:
            yield b"never"  # pragma: no cover
        finally:
            closed.append(True)  # pragma: no cover

    response = (
        StreamingResponse(chunks()) if response_class is StreamingResponse else Response(b"x")
    )
    await response(websocket_scope(extensions), receive_never, send)
    assert send.messages == [{"type": "websocket.close", "code": 1000}]


@pytest.mark.parametrize("response_class", [Response, StreamingResponse])
async def test_websocket_denial_client_gone_is_quiet(response_class: type[Response]) -> None:
    response = StreamingResponse([b"x"]) if response_class is StreamingResponse else Response(b"x")
    for scope in (websocket_scope(), websocket_scope({"websocket.http.response": {}})):
        send = Recorder(gone_after=0)
        await response(scope, receive_never, send)
        assert send.messages == []


@pytest.mark.parametrize("response_class", [Response, StreamingResponse])
async def test_unknown_scope_type_raises(response_class: type[Response]) -> None:
    response = StreamingResponse([b"x"]) if response_class is StreamingResponse else Response(b"x")
    with pytest.raises(ValueError, match="answers 'http' and 'websocket' scopes, got 'lifespan'"):
        await response({"type": "lifespan"}, receive_never, Recorder())


# --- streaming ------------------------------------------------------------------------------------


async def agen(*chunks: str | bytes) -> AsyncIterator[str | bytes]:
    for chunk in chunks:
        yield chunk


class AsyncChunks:
    """An async iterable that is not a generator (no ``aclose``)."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    def __aiter__(self) -> AsyncChunks:
        return self

    async def __anext__(self) -> bytes:
        if not self.chunks:
            raise StopAsyncIteration
        return self.chunks.pop(0)


def body_messages(*chunks: bytes) -> list[Message]:
    return [
        *({"type": "http.response.body", "body": c, "more_body": True} for c in chunks),
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(lambda: [b"a", "\u00e9", memoryview(b"c")], id="list"),
        pytest.param(lambda: iter([b"a", "\u00e9", b"c"]), id="iterator"),
        pytest.param(lambda: (c for c in [b"a", "\u00e9", b"c"]), id="generator"),
        pytest.param(lambda: agen(b"a", "\u00e9", b"c"), id="async-generator"),
        pytest.param(lambda: AsyncChunks(b"a", "\u00e9".encode(), b"c"), id="async-iterable"),
    ],
)
@pytest.mark.parametrize("spec_version", [None, "2.3", "2.4"])
async def test_streaming_sends_every_chunk(
    content: Callable[[], Any], spec_version: str | None
) -> None:
    log: list[Any] = []
    send = Recorder(log=log)
    response = StreamingResponse(
        content(), media_type="text/plain", background=BackgroundTask(log.append, "background")
    )
    await response(http_scope(spec_version=spec_version), receive_never, send)
    assert send.messages == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        },
        *body_messages(b"a", "\u00e9".encode(), b"c"),
    ]
    assert log[-1] == "background"


async def test_streaming_sync_iterable_runs_in_a_worker_thread() -> None:
    threads: list[int] = []

    def chunks() -> Iterator[bytes]:
        threads.append(threading.get_ident())
        yield b"x"

    await StreamingResponse(chunks())(http_scope(), receive_never, Recorder())
    assert threads
    assert threads[0] != threading.get_ident()


async def test_streaming_str_chunks_use_the_charset() -> None:
    class Latin1Stream(StreamingResponse):
        charset = "latin-1"

    send = Recorder()
    await Latin1Stream(["\u00e9"], media_type="text/plain")(http_scope(), receive_never, send)
    assert send.body == b"\xe9"
    assert send.messages[0]["headers"] == [(b"content-type", b"text/plain; charset=latin-1")]


@pytest.mark.parametrize("content", ["text", b"bytes", bytearray(b"b"), memoryview(b"m"), 5, None])
def test_streaming_refuses_non_iterables(content: Any) -> None:
    with pytest.raises(TypeError, match="must be an iterable or async iterable of chunks"):
        StreamingResponse(content)


async def test_streaming_refuses_bad_chunks_and_closes() -> None:
    closed = anyio.Event()

    async def chunks() -> AsyncIterator[Any]:
        try:
            yield {"not": "bytes"}
        finally:
            closed.set()

    with pytest.raises(
        TypeError, match="chunks must be str, bytes, bytearray or memoryview, got dict"
    ):
        await StreamingResponse(chunks())(http_scope(), receive_never, Recorder())
    assert closed.is_set()


@pytest.mark.parametrize("kind", ["bytearray", "memoryview"])
@pytest.mark.parametrize("spec_version", [None, "2.4"])
async def test_streaming_buffer_chunks_are_sent_as_bytes_copies(
    kind: str, spec_version: str | None
) -> None:
    # A producer that reuses one buffer: each chunk must be sent as it was when yielded, even
    # if the server keeps the message while the producer goes on.
    buffer = bytearray(4)

    async def produce() -> AsyncIterator[Any]:
        for text in (b"one!", b"two!", b"six!"):
            buffer[:] = text
            yield buffer if kind == "bytearray" else memoryview(buffer)
        buffer[:] = b"gone"

    send = Recorder()
    await StreamingResponse(produce())(http_scope(spec_version=spec_version), receive_never, send)
    bodies = [message["body"] for message in send.messages[1:]]
    assert bodies == [b"one!", b"two!", b"six!", b""]
    assert all(type(body) is bytes for body in bodies)


async def test_streaming_buffer_chunks_from_a_sync_producer_and_in_a_denial() -> None:
    buffer = bytearray(b"ab")

    def produce() -> Iterator[bytearray]:
        yield buffer
        buffer[:] = b"cd"
        yield buffer
        buffer[:] = b"ef"

    send = Recorder()
    scope = websocket_scope({"websocket.http.response": {}})
    await StreamingResponse(produce())(scope, receive_never, send)
    assert [message["body"] for message in send.messages[1:]] == [b"ab", b"cd", b""]


def test_streaming_headers_have_no_content_length() -> None:
    response = StreamingResponse([], status_code=201, headers={"x-a": "1"}, media_type="text/csv")
    assert response.status_code == 201
    assert response.raw_headers == [(b"x-a", b"1"), (b"content-type", b"text/csv; charset=utf-8")]
    assert not hasattr(response, "body")


async def test_streaming_head_sends_headers_and_closes_without_producing() -> None:
    produced: list[bytes] = []
    closed: list[bool] = []

    def chunks() -> Iterator[bytes]:
        try:
            produced.append(b"x")  # pragma: no cover
            yield b"x"  # pragma: no cover
        finally:
            closed.append(True)  # pragma: no cover

    async def achunks() -> AsyncIterator[bytes]:
        produced.append(b"y")  # pragma: no cover
        yield b"y"  # pragma: no cover

    for content in (chunks(), achunks(), [b"z"], AsyncChunks(b"w")):
        send = Recorder()
        response = StreamingResponse(content, headers={"content-length": "1"})
        await response(http_scope("HEAD"), receive_never, send)
        assert send.messages == [
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]},
            {"type": "http.response.body", "body": b""},
        ]
    assert produced == []
    # A generator closed before it started never runs its body, finally included.
    assert closed == []


async def test_streaming_head_client_gone_is_quiet() -> None:
    send = Recorder(gone_after=0)
    await StreamingResponse([b"x"])(http_scope("HEAD"), receive_never, send)
    assert send.messages == []


# --- disconnects ----------------------------------------------------------------------------------


class Producer:
    """An endless async producer that counts chunks and records when it is closed.

    After ``stop_after`` chunks it sets ``waiting`` and then waits forever, so only a cancel or a
    close can end it: proof that the response stopped it, without sleeping.
    """

    def __init__(self, stop_after: int = 2) -> None:
        self.count = 0
        self.stop_after = stop_after
        self.waiting = anyio.Event()
        self.closed = False

    async def __call__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                self.count += 1
                yield b"chunk"
                if self.count >= self.stop_after:
                    self.waiting.set()
                    await anyio.Event().wait()
        finally:
            self.closed = True


@pytest.mark.parametrize("spec_version", [None, "2.0", "2.3", "2.4"])
@pytest.mark.parametrize(
    ("method", "headers", "http_version"),
    [
        ("GET", [], "1.1"),
        ("GET", [], "2"),
        ("POST", [(b"content-length", b"0")], "1.1"),
        ("POST", [], "1.0"),
        ("DELETE", [(b"host", b"x")], "1.1"),
    ],
)
async def test_http_disconnect_stops_the_producer(
    spec_version: str | None, method: str, headers: list[tuple[bytes, bytes]], http_version: str
) -> None:
    producer = Producer()
    ran: list[str] = []
    send = Recorder()
    response = StreamingResponse(producer(), background=BackgroundTask(ran.append, "bg"))
    scope = http_scope(method, headers, spec_version=spec_version, http_version=http_version)
    await response(scope, disconnect_when(producer.waiting), send)
    assert producer.count == 2
    assert producer.closed
    assert [m["type"] for m in send.messages] == ["http.response.start"] + [
        "http.response.body"
    ] * 2
    assert ran == ["bg"]


async def test_listener_skips_empty_request_messages() -> None:
    producer = Producer()
    messages: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await producer.waiting.wait()
        return {"type": "http.disconnect"}

    await StreamingResponse(producer())(http_scope(), receive, Recorder())
    assert messages == []
    assert producer.closed


async def test_listener_runs_once_a_request_has_read_the_body() -> None:
    from microasgi.requests import Request

    producer = Producer()
    scope = http_scope("POST", [(b"content-length", b"5")])
    body = receive_from({"type": "http.request", "body": b"hello", "more_body": False})
    assert await Request(scope, body).body() == b"hello"
    await StreamingResponse(producer())(scope, disconnect_when(producer.waiting), Recorder())
    assert producer.closed


async def test_request_stream_echo_loses_nothing() -> None:
    from microasgi.requests import Request

    scope = http_scope("POST", [(b"transfer-encoding", b"chunked")])
    receive = receive_from(
        {"type": "http.request", "body": b"hello", "more_body": True},
        {"type": "http.request", "body": b" world", "more_body": False},
        {"type": "http.disconnect"},
    )
    request = Request(scope, receive)
    stream = request.stream()
    assert await stream.__anext__() == b"hello"  # the reader is now streaming: nobody listens
    send = Recorder()
    await StreamingResponse(stream)(scope, receive, send)
    assert send.body == b" world"


async def test_unknown_value_under_the_reader_key_is_ignored() -> None:
    producer = Producer()
    scope = http_scope()
    scope["microasgi.body"] = object()
    await StreamingResponse(producer())(scope, disconnect_when(producer.waiting), Recorder())
    assert producer.closed


@pytest.mark.parametrize("spec_version", [None, "2.3", "2.4"])
async def test_sync_producer_is_closed_on_disconnect(spec_version: str | None) -> None:
    waiting = anyio.Event()
    closed = threading.Event()
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        try:
            while True:
                count += 1
                yield b"x"
        finally:
            closed.set()

    class Send(Recorder):
        async def __call__(self, message: Message) -> None:
            await super().__call__(message)
            if len(self.messages) == 3:
                waiting.set()
                await anyio.Event().wait()

    await StreamingResponse(chunks())(
        http_scope(spec_version=spec_version), disconnect_when(waiting), Send()
    )
    assert closed.is_set()
    assert count == 2


@pytest.mark.parametrize("spec_version", [None, "2.3", "2.4"])
@pytest.mark.parametrize("gone_after", [0, 1, 3, 4])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_oserror_from_send_stops_quietly(
    spec_version: str | None, gone_after: int, method: str
) -> None:
    count = 0
    closed = False
    ran: list[str] = []

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal count, closed
        try:
            for _ in range(3):
                count += 1
                yield b"x"
        finally:
            closed = True

    send = Recorder(gone_after=gone_after)
    scope = http_scope(
        method, [(b"content-length", b"3")] if method == "POST" else [], spec_version
    )
    response = StreamingResponse(chunks(), background=BackgroundTask(ran.append, "bg"))
    await response(scope, receive_never, send)
    assert len(send.messages) == gone_after
    assert count == min(max(gone_after, 0), 3)
    assert closed or gone_after == 0
    assert ran == ["bg"]


async def test_oserror_closes_a_sync_producer() -> None:
    closed = threading.Event()

    def chunks() -> Iterator[bytes]:
        try:
            while True:
                yield b"x"
        finally:
            closed.set()

    send = Recorder(gone_after=2)
    await StreamingResponse(chunks())(http_scope(spec_version="2.4"), receive_never, send)
    assert closed.is_set()
    assert len(send.messages) == 2


@pytest.mark.parametrize(
    ("method", "headers", "http_version"),
    [
        ("POST", [(b"content-length", b"11")], "1.1"),
        ("POST", [(b"transfer-encoding", b"chunked")], "1.1"),
        ("PUT", [], "2"),
    ],
)
@pytest.mark.parametrize("spec_version", [None, "2.3", "2.4"])
async def test_echo_of_the_request_body_loses_nothing(
    method: str, headers: list[tuple[bytes, bytes]], http_version: str, spec_version: str | None
) -> None:
    """A producer streaming the request body must get every chunk: no listener competes."""
    receive = receive_from(
        {"type": "http.request", "body": b"hello", "more_body": True},
        {"type": "http.request", "body": b" ", "more_body": True},
        {"type": "http.request", "body": b"world", "more_body": False},
        {"type": "http.disconnect"},
    )

    async def echo() -> AsyncIterator[bytes]:
        while True:
            message = await receive()
            yield message["body"]
            if not message["more_body"]:
                return

    send = Recorder()
    scope = http_scope(method, headers, spec_version, http_version)
    await StreamingResponse(echo())(scope, receive, send)
    assert send.body == b"hello world"


@pytest.mark.parametrize("listening", [True, False])
@pytest.mark.parametrize("error", [ValueError("boom"), OSError("disk"), KeyError("k")])
async def test_iterator_errors_surface_unwrapped(listening: bool, error: Exception) -> None:
    ran: list[str] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b"x"
        raise error

    scope = http_scope(
        "GET" if listening else "POST", [] if listening else [(b"content-length", b"1")]
    )
    response = StreamingResponse(chunks(), background=BackgroundTask(ran.append, "bg"))
    with pytest.raises(type(error)) as info:
        await response(scope, receive_never, Recorder())
    assert info.value is error
    assert ran == []


async def test_sync_iterator_errors_surface_unwrapped() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"x"
        raise LookupError("sync boom")

    with pytest.raises(LookupError, match="sync boom"):
        await StreamingResponse(chunks())(http_scope(), receive_never, Recorder())


async def test_receive_errors_surface_unwrapped() -> None:
    async def receive() -> Message:
        raise RuntimeError("server broke")

    with pytest.raises(RuntimeError, match="server broke"):
        await StreamingResponse(Producer(stop_after=1000)())(http_scope(), receive, Recorder())


async def test_two_errors_at_once_stay_grouped() -> None:
    """Only when the listener and the producer both fail is there a group to report."""

    producing = anyio.Event()

    async def receive() -> Message:
        await producing.wait()
        raise RuntimeError("server broke")

    async def chunks() -> AsyncIterator[bytes]:
        try:
            yield b"x"
            producing.set()
            await anyio.Event().wait()
        finally:
            raise ValueError("cleanup broke")

    with pytest.raises(BaseExceptionGroup) as info:
        await StreamingResponse(chunks())(http_scope(), receive, Recorder())
    assert sorted(type(e).__name__ for e in info.value.exceptions) == ["RuntimeError", "ValueError"]


class _Text(str):
    """A str subclass: not the exact type the fast path takes."""


@pytest.mark.parametrize(
    ("content", "status", "expected"),
    [
        ("text", 200, [(b"content-length", b"4"), (b"content-type", b"text/plain; charset=utf-8")]),
        ("", 204, [(b"content-type", b"text/plain; charset=utf-8")]),
        ("", 304, [(b"content-type", b"text/plain; charset=utf-8")]),
        ("", 101, [(b"content-type", b"text/plain; charset=utf-8")]),
        (
            _Text("text"),
            200,
            [(b"content-length", b"4"), (b"content-type", b"text/plain; charset=utf-8")],
        ),
    ],
)
def test_text_responses_get_the_same_headers_on_every_path(
    content: str, status: int, expected: list[tuple[bytes, bytes]]
) -> None:
    # str content without extra headers takes an inlined path; a subclass overriding a hook
    # takes the general one. Both must build the same headers.
    class Hooked(PlainTextResponse):
        def render(self, content: Any) -> bytes | memoryview:
            return super().render(content)

    for cls in (PlainTextResponse, Hooked):
        response = cls(content, status_code=status)
        assert response.raw_headers == expected, cls
        assert response.body == content.encode()


def test_content_types_are_remembered_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(response_module, "_CONTENT_TYPES", {})
    monkeypatch.setattr(response_module, "_CONTENT_TYPES_MAX", 1)
    assert Response("a", media_type="text/a").raw_headers[-1] == (
        b"content-type",
        b"text/a; charset=utf-8",
    )
    assert Response("b", media_type="text/b").raw_headers[-1][1] == b"text/b; charset=utf-8"
    assert list(response_module._CONTENT_TYPES) == ["text/a"]
    # A remembered type is not reused for another charset.
    latin = Response("c", media_type="text/a")
    latin.charset = "latin-1"
    latin.init_headers()
    assert latin.raw_headers[-1][1] == b"text/a; charset=latin-1"


async def test_a_producer_that_never_awaits_stops_when_the_client_leaves() -> None:
    # Before ASGI 2.4 a server's send may return at once after a disconnect (uvicorn does), and
    # an in-memory generator never awaits: the stream must still give the disconnect watcher a
    # turn, or the worker spins forever and stalls every other connection.
    gone = anyio.Event()
    sent = 0
    produced = 0

    async def numbers() -> AsyncIterator[bytes]:
        nonlocal produced
        while True:
            produced += 1
            if produced > 1000:  # a failure, not a hang, when the stream never stops
                raise AssertionError("the stream went on after the client left")
            yield b"%d\n" % produced

    async def receive() -> Message:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal sent
        if gone.is_set():
            return
        sent += 1
        if sent == 3:
            gone.set()  # the client leaves after the start and two chunks

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "path": "/",
        "headers": [],
    }
    with anyio.fail_after(5):
        await StreamingResponse(numbers())(scope, receive, send)
    assert sent == 3
    assert produced < 10


# --- Starlette's content type aliases ---------------------------------------------------------


def test_content_aliases_are_starlettes() -> None:
    from collections.abc import AsyncIterable, Iterable
    from typing import get_args

    from microasgi.responses import AsyncContentStream, Content, ContentStream, SyncContentStream

    assert set(get_args(Content)) == {str, bytes, memoryview}
    assert SyncContentStream == Iterable[Content]
    assert AsyncContentStream == AsyncIterable[Content]
    assert set(get_args(ContentStream)) == {AsyncContentStream, SyncContentStream}


def test_middleware_base_content_stream_takes_every_response_content_stream() -> None:
    from collections.abc import MutableMapping
    from typing import get_args

    from microasgi.middleware import base
    from microasgi.responses import AsyncContentStream, Content

    (chunk,) = get_args(base.AsyncContentStream)
    assert set(get_args(chunk)) == {*get_args(Content), MutableMapping[str, Any]}

    async def produce() -> AsyncContentStream:
        yield b"x"

    # Type-checked too: a responses.AsyncContentStream is a base.AsyncContentStream.
    body: base.AsyncContentStream = produce()
    assert body is not None


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_content_stream_of_each_kind_streams(kind: str) -> None:
    from microasgi.responses import AsyncContentStream, ContentStream, SyncContentStream

    def sync_chunks() -> SyncContentStream:
        return ["a", b"b", memoryview(b"c")]

    async def async_chunks() -> AsyncContentStream:
        for chunk in sync_chunks():
            yield chunk

    content: ContentStream = sync_chunks() if kind == "sync" else async_chunks()
    recorder = Recorder()
    await StreamingResponse(content)(http_scope(spec_version="2.4"), receive_never, recorder)
    assert recorder.body == b"abc"
