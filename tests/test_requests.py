"""HTTPConnection and Request over hand-made scopes and fake receive channels."""

from __future__ import annotations

import io
import math
import sys
from collections import deque
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi import requests as requests_module
from microasgi._asgi import body as body_module
from microasgi.datastructures import URL, Address, FormData, State, UploadFile, URLPath
from microasgi.exceptions import HTTPException
from microasgi.formparsers import MultiPartException
from microasgi.requests import (
    DEFAULT_MAX_BODY_SIZE,
    MAX_BODY_SIZE_KEY,
    ClientDisconnect,
    HTTPConnection,
    Request,
)
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send


def make_scope(**overrides: Any) -> Scope:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"example.org")],
        "client": ("10.0.0.1", 5000),
        "server": ("example.org", 80),
    }
    scope.update(overrides)
    return scope


class FakeReceive:
    """Hands out the given messages, counting calls; then waits forever, as a server would."""

    def __init__(self, *messages: Message) -> None:
        self.messages = deque(messages)
        self.calls = 0

    async def __call__(self) -> Message:
        self.calls += 1
        if self.messages:
            return self.messages.popleft()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover


def body_messages(*chunks: bytes) -> list[Message]:
    """``http.request`` messages for ``chunks``, the last one with ``more_body=False``."""
    return [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]


DISCONNECT: Message = {"type": "http.disconnect"}


async def collect(request: Request, into: list[bytes] | None = None) -> list[bytes]:
    """Read ``request.stream()`` to the end, appending each chunk to ``into`` as it comes."""
    chunks = [] if into is None else into
    async for chunk in request.stream():
        chunks.append(chunk)
    return chunks


def form_scope(content_type: str = "application/x-www-form-urlencoded", **kw: Any) -> Scope:
    return make_scope(
        method="POST", headers=[(b"content-type", content_type.encode("latin-1"))], **kw
    )


# ---------------------------------------------------------------------------------------------
# HTTPConnection


def test_connection_is_a_mapping_over_the_scope() -> None:
    scope = make_scope()
    conn = HTTPConnection(scope)
    assert conn["path"] == "/"
    assert list(conn) == list(scope)
    assert len(conn) == len(scope)
    assert conn.scope is scope
    assert dict(conn) == scope


def test_connections_compare_and_hash_by_identity() -> None:
    scope = make_scope()
    first, second = HTTPConnection(scope), HTTPConnection(scope)
    assert first == first
    assert first != second
    assert len({first, second}) == 2


@pytest.mark.parametrize(
    ("cls", "scope", "message"),
    [
        (
            HTTPConnection,
            {"type": "lifespan"},
            "needs an 'http' or 'websocket' scope, got scope type 'lifespan'",
        ),
        (HTTPConnection, {}, "got scope type None"),
        (
            Request,
            {"type": "websocket"},
            "Request needs an 'http' scope, got scope type 'websocket'",
        ),
        (Request, {"type": "lifespan"}, "For a websocket use WebSocket"),
    ],
)
def test_wrong_scope_type_is_refused(cls: type[HTTPConnection], scope: Scope, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cls(scope)


def test_websocket_scope_is_a_connection() -> None:
    conn = HTTPConnection(make_scope(type="websocket", scheme="ws"))
    assert conn.url.scheme == "ws"


def test_scope_derived_properties() -> None:
    app = object()
    scope = make_scope(
        path="/users/3",
        raw_path=b"/users/3",
        query_string=b"a=1&b=2;c=4&a=3",
        headers=[(b"host", b"example.org"), (b"x-token", b"abc")],
        path_params={"id": 3},
        app=app,
    )
    conn = HTTPConnection(scope)
    assert conn.app is app
    assert conn.url == "http://example.org/users/3?a=1&b=2;c=4&a=3"
    assert conn.headers["X-Token"] == "abc"
    assert conn.query_params.getlist("a") == ["1", "3"]
    assert conn.query_params["b"] == "2;c=4"
    assert conn.path_params == {"id": 3}
    assert conn.client == Address("10.0.0.1", 5000)
    assert conn.client.host == "10.0.0.1"


def test_defaults_for_optional_scope_keys() -> None:
    scope = make_scope(client=None)
    del scope["query_string"]
    conn = HTTPConnection(scope)
    assert conn.client is None
    assert conn.path_params == {}
    assert list(conn.query_params) == []


def test_properties_are_cached() -> None:
    conn = HTTPConnection(make_scope(headers=[(b"cookie", b"a=1")]))
    for name in ("url", "base_url", "headers", "query_params", "cookies", "state"):
        assert getattr(conn, name) is getattr(conn, name), name


def test_ad_hoc_attributes_can_be_set_as_in_starlette() -> None:
    request = Request(make_scope())
    request.custom = 1  # type: ignore[attr-defined]
    assert request.custom == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "http://example.org/"),
        ({"root_path": "/api", "path": "/api/users"}, "http://example.org/api/"),
        ({"root_path": "/api/", "path": "/api/users"}, "http://example.org/api/"),
        # A Mount appends to root_path; app_root_path keeps the application's own root.
        (
            {"root_path": "/api/v1", "app_root_path": "/api", "path": "/api/v1/x"},
            "http://example.org/api/",
        ),
        ({"scheme": "https", "query_string": b"q=1", "path": "/a/b"}, "https://example.org/"),
    ],
)
def test_base_url(overrides: dict[str, Any], expected: str) -> None:
    conn = HTTPConnection(make_scope(**overrides))
    assert conn.base_url == expected
    assert str(conn.base_url).endswith("/")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], {}),
        ([(b"cookie", b"a=1; b=2")], {"a": "1", "b": "2"}),
        # HTTP/2 sends one header per cookie: all are read, the last repeat wins.
        ([(b"cookie", b"a=1"), (b"cookie", b"b=2"), (b"cookie", b"a=3")], {"a": "3", "b": "2"}),
        # Malformed pairs are skipped one by one, the good ones around them kept.
        (
            [(b"cookie", b"good=1; bad=\x01; also=2"), (b"cookie", b'=; ok="q"')],
            {"good": "1", "also": "2", "ok": "q"},
        ),
        ([(b"cookie", b"lone; x=y")], {"": "lone", "x": "y"}),
    ],
)
def test_cookies(headers: list[tuple[bytes, bytes]], expected: dict[str, str]) -> None:
    assert HTTPConnection(make_scope(headers=headers)).cookies == expected


def test_state_reads_the_lifespan_copy_and_writes_to_the_scope() -> None:
    scope = make_scope(state={"db": "engine"})
    conn = HTTPConnection(scope)
    assert isinstance(conn.state, State)
    assert conn.state.db == "engine"
    conn.state.user_id = 7
    assert scope["state"] == {"db": "engine", "user_id": 7}
    # A second connection over the same scope (the endpoint after a middleware) sees it.
    assert HTTPConnection(scope).state.user_id == 7


def test_state_is_created_in_the_scope_when_missing() -> None:
    scope = make_scope()
    HTTPConnection(scope).state.x = 1
    assert scope["state"] == {"x": 1}


@pytest.mark.parametrize(
    ("attribute", "middleware"),
    [
        ("session", "SessionMiddleware, secret_key=..."),
        ("auth", "AuthenticationMiddleware, backend=..."),
        ("user", "AuthenticationMiddleware, backend=..."),
    ],
)
def test_middleware_provided_attributes(attribute: str, middleware: str) -> None:
    with pytest.raises(
        RuntimeError, match=rf"request\.{attribute} needs .*Middleware\({middleware}\)"
    ):
        getattr(HTTPConnection(make_scope()), attribute)
    value = {"k": "v"}
    assert getattr(HTTPConnection(make_scope(**{attribute: value})), attribute) is value


class FakeRouter:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        self.calls.append((name, path_params))
        return URLPath(f"/users/{path_params['id']}", protocol="http")


@pytest.mark.parametrize("key", ["router", "app"])
def test_url_for(key: str) -> None:
    router = FakeRouter()
    conn = HTTPConnection(
        make_scope(scheme="https", root_path="/api", path="/api/x", **{key: router})
    )
    url = conn.url_for("user", id=3)
    assert isinstance(url, URL)
    assert url == "https://example.org/api/users/3"
    assert router.calls == [("user", {"id": 3})]


def test_url_for_without_router() -> None:
    with pytest.raises(
        RuntimeError,
        match=r"inside a MicroASGI application or with a router: url_for\('home'\) found neither",
    ):
        HTTPConnection(make_scope()).url_for("home")


# ---------------------------------------------------------------------------------------------
# Request basics


def test_request_method_and_channels() -> None:
    receive = FakeReceive()
    request = Request(make_scope(method="POST"), receive)
    assert request.method == "POST"
    assert request.receive is receive


async def test_reading_without_a_receive_channel() -> None:
    with pytest.raises(
        RuntimeError, match=r"built without a receive channel.*Request\(scope, receive\)"
    ):
        await Request(make_scope()).body()


async def test_body_joins_chunks_and_is_cached() -> None:
    receive = FakeReceive(*body_messages(b"ab", b"", b"cd", b"ef"))
    request = Request(make_scope(method="POST"), receive)
    assert await request.body() == b"abcdef"
    assert await request.body() == b"abcdef"
    assert receive.calls == 4


async def test_empty_body() -> None:
    receive = FakeReceive({"type": "http.request"})
    request = Request(make_scope(), receive)
    assert await request.body() == b""
    assert [chunk async for chunk in request.stream()] == [b""]  # the end, as in Starlette


async def test_stream_yields_non_empty_chunks_as_they_come_then_an_empty_one() -> None:
    # As Starlette's: the empty chunk marks the end of the body.
    receive = FakeReceive(*body_messages(b"a", b"", b"b", b""))
    request = Request(make_scope(), receive)
    seen = []
    async for chunk in request.stream():
        seen.append((chunk, receive.calls))
    assert seen == [(b"a", 1), (b"b", 3), (b"", 4)]


async def test_stream_after_body_yields_the_cached_body_once() -> None:
    request = Request(make_scope(), FakeReceive(*body_messages(b"ab", b"cd")))
    await request.body()
    assert [chunk async for chunk in request.stream()] == [b"abcd", b""]
    assert [chunk async for chunk in request.stream()] == [b"abcd", b""]


@pytest.mark.parametrize("second", ["stream", "body"])
async def test_streaming_twice_is_refused(second: str) -> None:
    request = Request(make_scope(), FakeReceive(*body_messages(b"ab", b"cd")))
    assert [chunk async for chunk in request.stream()] == [b"ab", b"cd", b""]
    read_again = collect(request) if second == "stream" else request.body()
    with pytest.raises(
        RuntimeError, match="Stream consumed: cannot start reading in body state 'consumed'"
    ):
        await read_again


async def test_two_streams_share_the_body() -> None:
    # As in Starlette: a second stream() started mid-way takes its share of what is left, and
    # both end with the body (it used to raise "Stream consumed").
    request = Request(make_scope(), FakeReceive(*body_messages(b"a", b"b", b"c")))
    first, second = request.stream(), request.stream()
    assert await first.__anext__() == b"a"
    assert await second.__anext__() == b"b"
    assert await first.__anext__() == b"c"
    assert [chunk async for chunk in second] == [b""]
    assert [chunk async for chunk in first] == [b""]
    with pytest.raises(RuntimeError, match="Stream consumed"):
        await collect(request)


async def test_shared_streams_count_the_cap_together() -> None:
    scope = make_scope(**{MAX_BODY_SIZE_KEY: 5})
    request = Request(scope, FakeReceive(*body_messages(b"abc", b"def")))
    first, second = request.stream(), request.stream()
    assert await first.__anext__() == b"abc"
    with pytest.raises(HTTPException) as raised:
        await second.__anext__()  # 6 bytes in all: past the cap, although each took 3
    assert raised.value.status_code == 413


async def test_abandoned_stream_cannot_restart() -> None:
    request = Request(make_scope(), FakeReceive(*body_messages(b"ab", b"cd")))
    stream = request.stream()
    assert await stream.__anext__() == b"ab"
    await stream.aclose()
    with pytest.raises(RuntimeError, match="body state 'streaming'"):
        await request.body()


@pytest.mark.parametrize(
    "messages",
    [
        [DISCONNECT],
        [*body_messages(b"a", b"b")[:1], DISCONNECT],
    ],
)
async def test_disconnect_while_reading(messages: list[Message]) -> None:
    request = Request(make_scope(), FakeReceive(*messages))
    with pytest.raises(ClientDisconnect, match="disconnected while the request body was read"):
        await request.body()
    with pytest.raises(ClientDisconnect, match="disconnected before the request body was read"):
        [chunk async for chunk in request.stream()]
    assert await request.is_disconnected()


async def test_unexpected_message_while_reading() -> None:
    request = Request(make_scope(), FakeReceive({"type": "websocket.receive"}))
    with pytest.raises(RuntimeError, match=r"Unexpected ASGI message 'websocket\.receive'"):
        await request.body()


def test_illegal_body_steps_name_the_state() -> None:
    reader = body_module._BodyReader(FakeReceive())
    with pytest.raises(RuntimeError, match="cannot receive a body chunk in body state 'unread'"):
        reader.step(body_module._BodyEvent.MORE)


# ---------------------------------------------------------------------------------------------
# The body shared between Requests over one scope (a middleware, then the endpoint)


async def test_second_request_over_the_scope_reads_the_cached_body() -> None:
    scope = make_scope(method="POST")
    receive = FakeReceive(*body_messages(b"ab", b"cd"))
    assert await Request(scope, receive).body() == b"abcd"
    endpoint_request = Request(scope, receive)
    assert await endpoint_request.body() == b"abcd"
    assert [chunk async for chunk in Request(scope, receive).stream()] == [b"abcd", b""]
    # Built without a receive channel (in an exception handler, say), it still finds the body.
    assert await Request(scope).body() == b"abcd"
    assert receive.calls == 2


async def test_second_request_sees_the_stream_was_consumed() -> None:
    scope = make_scope()
    receive = FakeReceive(*body_messages(b"ab"))
    assert [chunk async for chunk in Request(scope, receive).stream()] == [b"ab", b""]
    with pytest.raises(RuntimeError, match="Stream consumed"):
        await Request(scope, receive).body()
    assert receive.calls == 1


async def test_new_receive_channel_reads_afresh() -> None:
    # A middleware that rewrites the body hands a new receive to the app: that one is read.
    scope = make_scope()
    assert await Request(scope, FakeReceive(*body_messages(b"gzip"))).body() == b"gzip"
    assert await Request(scope, FakeReceive(*body_messages(b"plain"))).body() == b"plain"


# ---------------------------------------------------------------------------------------------
# JSON


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": [1, 2.5, null, true]}', {"a": [1, 2.5, None, True]}),
        ('"é"'.encode(), "é"),
        ('["é"]'.encode("utf-16"), ["é"]),
    ],
)
async def test_json(body: bytes, expected: Any) -> None:
    receive = FakeReceive(*body_messages(body))
    request = Request(make_scope(method="POST"), receive)
    assert await request.json() == expected
    assert await request.json() is await request.json()
    assert receive.calls == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "Request body is not valid JSON: Expecting value: line 1 column 1 (char 0)."),
        (b"{'a': 1}", "Request body is not valid JSON: Expecting property name"),
        (b'{"a": 1', "not valid JSON"),
        (b'"\xff\xfe\xfa"', "Request body is not valid UTF-8 JSON: invalid start byte."),
        (
            b"[" * 10_000 + b"]" * 10_000,
            "Request body is JSON nested too deeply (over 256 levels).",
        ),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nested too deeply"),
    ],
)
async def test_invalid_json_is_a_400(body: bytes, detail: str) -> None:
    request = Request(make_scope(method="POST"), FakeReceive(*body_messages(body)))
    with pytest.raises(HTTPException) as info:
        await request.json()
    assert info.value.status_code == 400
    assert detail in info.value.detail


# ---------------------------------------------------------------------------------------------
# The body cap


async def test_default_cap_stops_reading_at_the_first_chunk_past_it() -> None:
    chunk = b"x" * (1024 * 1024)
    chunks = 20
    receive = FakeReceive(*body_messages(*[chunk] * chunks))
    request = Request(make_scope(method="POST"), receive)
    with pytest.raises(HTTPException) as info:
        await request.body()
    assert info.value.status_code == 413
    assert info.value.detail == "Content Too Large"  # Starlette's text
    # 16 MiB fit; the 17th chunk passes the cap, and nothing after it is received.
    assert receive.calls == DEFAULT_MAX_BODY_SIZE // len(chunk) + 1
    assert len(receive.messages) == chunks - receive.calls


@pytest.mark.parametrize(
    ("limit", "chunks", "calls"),
    [
        (10, [b"12345", b"67890", b"1"], 3),
        (10, [b"12345678901", b"x"], 1),
        (0, [b"1"], 1),
    ],
)
async def test_cap_from_the_scope(limit: int, chunks: list[bytes], calls: int) -> None:
    receive = FakeReceive(*body_messages(*chunks))
    request = Request(make_scope(**{MAX_BODY_SIZE_KEY: limit}), receive)
    with pytest.raises(HTTPException, match=r"^413: Content Too Large$"):
        await request.body()
    assert receive.calls == calls


async def test_cap_is_inclusive_and_none_means_unlimited() -> None:
    exact = Request(make_scope(**{MAX_BODY_SIZE_KEY: 4}), FakeReceive(*body_messages(b"12", b"34")))
    assert await exact.body() == b"1234"
    big = b"x" * (DEFAULT_MAX_BODY_SIZE + 1)
    unlimited = Request(make_scope(**{MAX_BODY_SIZE_KEY: None}), FakeReceive(*body_messages(big)))
    assert len(await unlimited.body()) == len(big)


@pytest.mark.parametrize(
    ("content_length", "refused"),
    [
        (b"11", True),
        (b"10", False),
        (b"0000000000000000000000000000011", True),
        (b"0000000000000000000000000000010", False),
        (b"9" * 50, True),
        (b"1" * 5000, True),
        (b"abc", False),
        (b"-1", False),
        (b"\xd9\xa1\xd9\xa1", False),  # Arabic-Indic digits: not a Content-Length
    ],
)
async def test_content_length_past_the_cap_is_refused_before_reading(
    content_length: bytes, refused: bool
) -> None:
    receive = FakeReceive(*body_messages(b"12345"))
    scope = make_scope(headers=[(b"content-length", content_length)], **{MAX_BODY_SIZE_KEY: 10})
    request = Request(scope, receive)
    if refused:
        with pytest.raises(HTTPException) as info:
            await request.body()
        assert info.value.status_code == 413
        assert receive.calls == 0
    else:
        assert await request.body() == b"12345"


async def test_stream_is_uncapped_unless_the_scope_sets_a_cap() -> None:
    big = b"x" * (DEFAULT_MAX_BODY_SIZE + 1)
    request = Request(make_scope(), FakeReceive(*body_messages(big, b"y")))
    assert sum([len(chunk) async for chunk in request.stream()]) == len(big) + 1
    capped = Request(
        make_scope(**{MAX_BODY_SIZE_KEY: 3}), FakeReceive(*body_messages(b"ab", b"cd"))
    )
    seen: list[bytes] = []
    with pytest.raises(HTTPException, match=r"^413: Content Too Large$"):
        await collect(capped, seen)
    assert seen == [b"ab"]


@pytest.mark.parametrize("bad", [-1, "10", 1.5, True])
async def test_bad_cap_in_the_scope(bad: object) -> None:
    request = Request(make_scope(**{MAX_BODY_SIZE_KEY: bad}), FakeReceive(*body_messages(b"")))
    with pytest.raises(
        ValueError, match=r"scope\['microasgi.max_body_size'\] must be an int >= 0 or None"
    ):
        await request.body()


# ---------------------------------------------------------------------------------------------
# Forms


async def test_urlencoded_form() -> None:
    receive = FakeReceive(
        *body_messages(b"name=Ada+Lovelace&tag=a&", b"tag=b&empty=&semi=1;x=2&bad=%zz")
    )
    request = Request(form_scope(), receive)
    form = await request.form()
    assert isinstance(form, FormData)
    assert form.multi_items() == [
        ("name", "Ada Lovelace"),
        ("tag", "a"),
        ("tag", "b"),
        ("empty", ""),
        ("semi", "1;x=2"),
        ("bad", "%zz"),
    ]
    assert await request.form() is form
    # The urlencoded body stays readable after the form.
    assert await request.body() == b"name=Ada+Lovelace&tag=a&tag=b&empty=&semi=1;x=2&bad=%zz"
    assert receive.calls == 2


async def test_form_read_twice_over_one_scope() -> None:
    scope = form_scope()
    receive = FakeReceive(*body_messages(b"a=1"))
    assert (await Request(scope, receive).form())["a"] == "1"
    assert (await Request(scope, receive).form())["a"] == "1"


async def test_form_after_body() -> None:
    request = Request(form_scope(), FakeReceive(*body_messages(b"a=1&b=2")))
    await request.body()
    assert dict(await request.form()) == {"a": "1", "b": "2"}


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/x-www-form-urlencoded; charset=iso-8859-1", b"a=caf%E9", {"a": "café"}),
        ("Application/X-WWW-Form-Urlencoded", b"a=caf%C3%A9", {"a": "café"}),
        (
            "application/x-www-form-urlencoded",
            b"_charset_=latin-1&a=%E9",
            {"_charset_": "latin-1", "a": "é"},
        ),
        # Other content types give an empty form (as Starlette); an empty multipart form is empty.
        ("application/json", b'{"a": 1}', {}),
        ("multipart/form-data; boundary=x", b"--x--", {}),
        ("text/plain", b"a=1", {}),
    ],
)
async def test_form_content_types(content_type: str, body: bytes, expected: dict[str, str]) -> None:
    request = Request(form_scope(content_type), FakeReceive(*body_messages(body)))
    assert dict(await request.form()) == expected


async def test_form_without_content_type_is_empty() -> None:
    receive = FakeReceive(*body_messages(b"a=1"))
    assert dict(await Request(make_scope(method="POST"), receive).form()) == {}
    assert receive.calls == 0


@pytest.mark.parametrize(
    ("content_type", "chunks", "kwargs", "status", "detail"),
    [
        ("text", [b""], {}, 400, "Malformed header value 'text'"),
        ('application/x-www-form-urlencoded; charset="utf-8', [b""], {}, 400, "Unbalanced quotes"),
        (
            "application/x-www-form-urlencoded",
            [b"a=1&" * 10_000],
            {},
            400,
            "Too many fields. Maximum number of fields is 1000.",
        ),
        (
            "application/x-www-form-urlencoded",
            [b"a=1&b=2&c=3"],
            {"max_fields": 2},
            400,
            "Maximum number of fields is 2",
        ),
        (
            "application/x-www-form-urlencoded",
            [b"a=" + b"x" * 1024 * 1024, b"x"],
            {},
            413,
            "Field exceeded maximum size of 1024KB",
        ),
        (
            "application/x-www-form-urlencoded",
            [b"a=xxxxx"],
            {"max_part_size": 4},
            413,
            "Field exceeded maximum size",
        ),
        ("application/x-www-form-urlencoded", [b"a=%FF"], {}, 400, "The form is not valid utf-8"),
        (
            "application/x-www-form-urlencoded",
            [b"_charset_=nope&a=1"],
            {},
            400,
            "Unsupported form charset 'nope'",
        ),
        (
            "application/x-www-form-urlencoded; charset=base64",
            [b"a=1"],
            {},
            400,
            "Unsupported form charset 'base64'",
        ),
    ],
)
async def test_bad_forms_are_4xx(
    content_type: str, chunks: list[bytes], kwargs: dict[str, int], status: int, detail: str
) -> None:
    request = Request(form_scope(content_type), FakeReceive(*body_messages(*chunks)))
    with pytest.raises(HTTPException) as info:
        await request.form(**kwargs)
    assert info.value.status_code == status
    assert detail in info.value.detail


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("multipart/form-data", b"--x\r\n", 400),
        ("multipart/form-data; boundary=x", b"not a multipart body", 400),
        ("application/x-www-form-urlencoded", b"a=1&b=2&c=3", 400),
        ("application/x-www-form-urlencoded", b"a=" + b"x" * 2000, 413),
    ],
    ids=["no-boundary", "malformed", "too-many-fields", "field-too-large"],
)
async def test_a_bad_form_is_a_multipartexception_as_in_starlette(
    content_type: str, body: bytes, status: int
) -> None:
    # Starlette's form() raises MultiPartException on a request outside an application (and
    # HTTPException inside one): the error is both, so a port's except clause catches it.
    request = Request(form_scope(content_type), FakeReceive(*body_messages(body)))
    with pytest.raises(MultiPartException) as info:
        await request.form(max_fields=2, max_part_size=1024)
    assert isinstance(info.value, HTTPException)
    assert info.value.status_code == status
    assert info.value.message == info.value.detail


async def test_form_limits_stop_reading_early() -> None:
    receive = FakeReceive(*body_messages(*[b"a=1&"] * 100))
    with pytest.raises(HTTPException, match="Maximum number of fields is 5"):
        await Request(form_scope(), receive).form(max_fields=5)
    assert receive.calls == 6


async def test_form_body_over_the_cap() -> None:
    receive = FakeReceive(*body_messages(b"a=12345", b"6789"))
    scope = form_scope()
    scope[MAX_BODY_SIZE_KEY] = 8
    request = Request(scope, receive)
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert info.value.status_code == 413
    assert receive.calls == 2


@pytest.mark.parametrize("name", ["max_files", "max_fields", "max_part_size"])
def test_form_limits_are_validated_at_call(name: str) -> None:
    request = Request(form_scope(), FakeReceive())
    with pytest.raises(ValueError, match=rf"{name} must be an int >= 0.*, got -1"):
        request.form(**{name: -1})


async def test_form_count_limits_accept_infinity_as_in_starlette() -> None:
    request = Request(form_scope(), FakeReceive(*body_messages(b"a=1&" * 1500)))
    form = await request.form(max_files=math.inf, max_fields=math.inf)
    assert len(form.multi_items()) == 1500


async def test_form_as_context_manager_closes_uploads() -> None:
    request = Request(form_scope(), FakeReceive(*body_messages(b"a=1")))
    async with request.form() as form:
        assert form["a"] == "1"
    upload = UploadFile(io.BytesIO(b"data"), filename="f.txt")
    request = Request(form_scope(), FakeReceive())
    request._form = FormData([("file", upload)])
    async with request.form() as form:
        assert form["file"] is upload
        assert not upload.file.closed
    assert upload.file.closed


async def test_form_context_manager_whose_parse_fails_closes_nothing() -> None:
    request = Request(form_scope("bad"), FakeReceive())
    with pytest.raises(HTTPException):
        async with request.form():
            pass  # pragma: no cover


async def test_close() -> None:
    request = Request(form_scope(), FakeReceive())
    await request.close()  # no form: nothing to do
    upload = UploadFile(io.BytesIO(b"data"))
    request._form = FormData([("file", upload)])
    await request.close()
    assert upload.file.closed


# ---------------------------------------------------------------------------------------------
# Disconnect detection


async def test_is_disconnected_does_not_wait() -> None:
    receive = FakeReceive()
    request = Request(make_scope(), receive)
    with anyio.fail_after(5):
        assert not await request.is_disconnected()
    assert receive.calls == 1


async def test_is_disconnected_never_loses_a_body_message() -> None:
    receive = FakeReceive(*body_messages(b"first", b"second"))
    request = Request(make_scope(), receive)
    assert not await request.is_disconnected()
    assert not await request.is_disconnected()
    assert receive.calls == 2
    assert await request.body() == b"firstsecond"


async def test_is_disconnected_mid_stream_keeps_order() -> None:
    receive = FakeReceive(*body_messages(b"1", b"2", b"3"))
    request = Request(make_scope(), receive)
    stream = request.stream()
    assert await stream.__anext__() == b"1"
    assert not await request.is_disconnected()  # takes b"2" and keeps it
    assert [chunk async for chunk in stream] == [b"2", b"3", b""]


async def test_disconnect_seen_by_polling() -> None:
    receive = FakeReceive(*body_messages(b"a", b"b")[:1], DISCONNECT)
    request = Request(make_scope(), receive)
    assert not await request.is_disconnected()
    assert await request.is_disconnected()
    assert await request.is_disconnected()
    assert receive.calls == 2
    # The body received before the disconnect is still yielded, then the stream stops.
    seen: list[bytes] = []
    with pytest.raises(ClientDisconnect):
        await collect(request, seen)
    assert seen == [b"a"]


async def test_disconnect_after_the_body_is_read() -> None:
    receive = FakeReceive(*body_messages(b"a"), DISCONNECT)
    request = Request(make_scope(), receive)
    assert await request.body() == b"a"
    assert await request.is_disconnected()
    assert await request.body() == b"a"


async def test_polling_buffers_no_more_than_the_cap() -> None:
    receive = FakeReceive(*body_messages(*[b"12345"] * 10))
    request = Request(make_scope(**{MAX_BODY_SIZE_KEY: 10}), receive)
    for _ in range(5):
        assert not await request.is_disconnected()
    # Two messages (12 counted bytes) pass the cap of 10: polling stops taking messages.
    assert receive.calls == 2


@settings(max_examples=50, deadline=None)
@given(
    chunks=st.lists(st.binary(max_size=8), max_size=8),
    polls=st.lists(st.integers(0, 3), min_size=9, max_size=9),
)
def test_polling_never_loses_or_reorders_the_body(chunks: list[bytes], polls: list[int]) -> None:
    # Any number of is_disconnected() calls between any chunks of a stream: the stream still
    # yields every non-empty chunk, in order.
    async def check() -> None:
        request = Request(make_scope(), FakeReceive(*body_messages(*chunks, b"")))
        seen: list[bytes] = []
        stream = request.stream()
        for count in polls:
            for _ in range(count):
                assert not await request.is_disconnected()
            chunk = await anext(stream, None)
            if chunk is None:
                break
            seen.append(chunk)
        seen += [chunk async for chunk in stream]
        assert seen == [*(chunk for chunk in chunks if chunk), b""]

    for backend in ("asyncio", "trio"):
        anyio.run(check, backend=backend)


async def test_is_disconnected_is_shared_by_requests_over_the_scope() -> None:
    scope = make_scope()
    receive = FakeReceive(*body_messages(b"kept"))
    assert not await Request(scope, receive).is_disconnected()
    assert await Request(scope, receive).body() == b"kept"


# ---------------------------------------------------------------------------------------------
# Server push


async def test_send_push_promise() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"accept", b"text/html"), (b"user-agent", b"ua"), (b"cookie", b"secret=1")]
    plain = Request(make_scope(headers=headers), FakeReceive(), send)
    await plain.send_push_promise("/style.css")
    assert sent == []
    pushing = Request(
        make_scope(headers=headers, extensions={"http.response.push": {}}), FakeReceive(), send
    )
    await pushing.send_push_promise("/style.css")
    assert sent == [
        {
            "type": "http.response.push",
            "path": "/style.css",
            "headers": [(b"accept", b"text/html"), (b"user-agent", b"ua")],
        }
    ]


async def test_send_push_promise_without_send() -> None:
    request = Request(make_scope(extensions={"http.response.push": {}}))
    with pytest.raises(
        RuntimeError, match=r"without a send channel, so it cannot send 'http\.response\.push'"
    ):
        await request.send_push_promise("/x")


def test_all_is_sorted() -> None:
    assert requests_module.__all__ == sorted(requests_module.__all__)


# ---------------------------------------------------------------------------------------------
# End to end, through the test client


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    data: dict[str, Any] = {
        "cookies": request.cookies,
        "disconnected": await request.is_disconnected(),
    }
    path = request.url.path
    try:
        if path == "/json":
            data["json"] = await request.json()
        elif path == "/form":
            data["form"] = (await request.form()).multi_items()
        elif path == "/stream":
            data["chunks"] = [len(chunk) async for chunk in request.stream()]
        else:
            data["body"] = (await request.body()).decode()
        response: Response = JSONResponse(data)
    except HTTPException as exc:
        response = PlainTextResponse(exc.detail, exc.status_code)
    await response(scope, receive, send)


def client(app: ASGIApp, **options: Any) -> AsyncTestClient:
    return AsyncTestClient(app, **options)


def capped(limit: int) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await echo_app({**scope, MAX_BODY_SIZE_KEY: limit}, receive, send)

    return app


async def test_end_to_end_json_form_and_cookies() -> None:
    with_cookie = client(echo_app, cookies={"session": "abc"})
    as_json = await with_cookie.post("/json", json={"a": [1, 2]})
    as_form = await with_cookie.post("/form", data={"name": "Ada", "tags": ["x", "y"]})
    bad_json = await with_cookie.post("/json", content=b"[" * 10_000)
    assert as_json.json() == {
        "cookies": {"session": "abc"},
        "disconnected": False,
        "json": {"a": [1, 2]},
    }
    assert as_form.json()["form"] == [["name", "Ada"], ["tags", "x"], ["tags", "y"]]
    assert (bad_json.status_code, bad_json.text) == (
        400,
        "Request body is JSON nested too deeply (over 256 levels).",
    )


async def test_end_to_end_streaming_and_cap() -> None:
    def pieces() -> Iterator[bytes]:
        yield b"a" * 100
        yield b""
        yield b"b" * 50

    streamed = await client(echo_app).post("/stream", content=pieces())
    assert streamed.json()["chunks"] == [100, 50, 0]
    too_big = await client(capped(120)).post("/body", content=pieces())
    declared = await client(capped(120)).post("/body", content=b"x" * 121)
    fits = await client(capped(150)).post("/body", content=pieces())
    assert (too_big.status_code, declared.status_code) == (413, 413)
    assert fits.json()["body"] == "a" * 100 + "b" * 50


async def test_json_recursion_guard_stays_behind_the_depth_check() -> None:
    # With the depth check lifted, the parser's own recursion guard still answers 400, not 500.
    class Permissive(Request):
        max_json_depth = 1_000_000

    body = b"[" * 100_000 + b"]" * 100_000
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        request = Permissive(make_scope(method="POST"), FakeReceive(*body_messages(body)))
        with pytest.raises(HTTPException) as info:
            await request.json()
    finally:
        sys.setrecursionlimit(limit)
    assert info.value.status_code == 400
    assert "nested too deeply" in info.value.detail


async def test_starlettes_module_helpers() -> None:
    from starlette.requests import cookie_parser as starlette_cookie_parser

    from microasgi.requests import cookie_parser, empty_receive, empty_send

    for header in ("a=1; b=2", "a=1; a=2", 'k="v"; bad; x=%20y', ""):
        assert cookie_parser(header) == starlette_cookie_parser(header)
    with pytest.raises(RuntimeError, match="without a receive channel"):
        await empty_receive()
    with pytest.raises(RuntimeError, match="without a send channel"):
        await empty_send({"type": "http.response.start"})
    request = Request(make_scope())
    assert request.receive is empty_receive
