"""The ASGI extensions: each API sends only when the server offers it, and falls back otherwise.

Everything runs through the test client (on asyncio and trio), which advertises the extensions
named in ``extensions=`` and records what the app sent through each; a few unit tests drive a
response with a fake ``send`` where the test client cannot (HTTP/2, HTTP/1.0, a client gone).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from microasgi._sansio.extensions import TLSInfo, accepts_trailers, offers, tls_info
from microasgi.requests import HTTPConnection, Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.types import (
    HTTPResponseBodyEvent,
    HTTPResponseDebugEvent,
    HTTPResponsePathsendEvent,
    HTTPResponseStartEvent,
    HTTPResponseZerocopysendEvent,
    Message,
    Receive,
    Scope,
    Send,
)

PUSH: dict[str, dict[str, Any]] = {"http.response.push": {}}
HINTS: dict[str, dict[str, Any]] = {"http.response.early_hint": {}}
TRAILERS: dict[str, dict[str, Any]] = {"http.response.trailers": {}}
TE = {"TE": "trailers"}


def make_scope(**overrides: Any) -> Scope:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "2",
        "method": "GET",
        "path": "/",
        "query_string": b"",
        "headers": [(b"te", b"trailers")],
        "extensions": {"http.response.trailers": {}},
    }
    scope.update(overrides)
    return scope


class Recorder:
    """A fake ``send`` that keeps every message; raises ``OSError`` from message ``fail_at``."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.messages: list[Message] = []
        self.fail_at = fail_at

    async def __call__(self, message: Message) -> None:
        if self.fail_at is not None and len(self.messages) >= self.fail_at:
            raise OSError("the client has gone")
        self.messages.append(message)


async def no_receive() -> Message:
    return {"type": "http.disconnect"}


# ---------------------------------------------------------------------------------------------
# offers(): the extensions key may be missing or None


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"type": "http"}, False),
        ({"type": "http", "extensions": None}, False),
        ({"type": "http", "extensions": {}}, False),
        ({"type": "http", "extensions": {"http.response.push": {}}}, True),
    ],
)
def test_offers(scope: Scope, expected: bool) -> None:
    assert offers(scope, "http.response.push") is expected


# ---------------------------------------------------------------------------------------------
# Early hints


def hints_app(links: Any) -> Callable[[Scope, Receive, Send], Any]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        await request.send_early_hints(links)
        await PlainTextResponse("page")(scope, receive, send)

    return app


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        ("</a.css>; rel=preload; as=style", ["</a.css>; rel=preload; as=style"]),
        (b"</a.js>; rel=preload", ["</a.js>; rel=preload"]),
        (
            ["</a.css>; rel=preload", b"</b.js>; rel=modulepreload"],
            ["</a.css>; rel=preload", "</b.js>; rel=modulepreload"],
        ),
        (("  </a.css>; rel=preload  ",), ["</a.css>; rel=preload"]),
    ],
)
async def test_early_hints_are_sent_when_offered(links: Any, expected: list[str]) -> None:
    response = await AsyncTestClient(hints_app(links), extensions=HINTS).get("/")
    assert response.text == "page"
    assert response.early_hints == [expected]
    assert response.extension_messages[0]["type"] == "http.response.early_hint"


@pytest.mark.parametrize("extensions", [None, {}, PUSH])
async def test_early_hints_are_a_no_op_without_the_extension(
    extensions: Mapping[str, Mapping[str, Any]] | None,
) -> None:
    response = await AsyncTestClient(hints_app("</a.css>; rel=preload"), extensions=extensions).get(
        "/"
    )
    assert response.text == "page"
    assert response.early_hints == []


@pytest.mark.parametrize(
    ("links", "error", "match"),
    [
        ([], ValueError, "at least one Link value"),
        ("", ValueError, "is empty"),
        (["   "], ValueError, "is empty"),
        ("</a>\r\nSet-Cookie: x=1", ValueError, "control character"),
        (b"</a>\x00", ValueError, "control character"),
        ("</caf\u00e9\u20ac>", ValueError, "outside latin-1"),
        ([42], TypeError, "must be str or bytes"),
    ],
)
@pytest.mark.parametrize("extensions", [{}, {"http.response.early_hint": {}}])
async def test_early_hints_are_validated_with_or_without_the_extension(
    links: Any, error: type[Exception], match: str, extensions: dict[str, Any]
) -> None:
    request = Request(make_scope(extensions=extensions), no_receive, Recorder())
    with pytest.raises(error, match=match):
        await request.send_early_hints(links)


async def test_early_hints_take_several_links_as_arguments() -> None:
    # Starlette's spelling: send_early_hints(link, *additional_links).
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        await request.send_early_hints("</a.css>; rel=preload", b"</b.js>; rel=modulepreload")
        await request.send_early_hints(["</c.css>; rel=preload"], "</d.css>; rel=preload")
        await PlainTextResponse("page")(scope, receive, send)

    response = await AsyncTestClient(app, extensions=HINTS).get("/")
    assert response.early_hints == [
        ["</a.css>; rel=preload", "</b.js>; rel=modulepreload"],
        ["</c.css>; rel=preload", "</d.css>; rel=preload"],
    ]


def test_early_hints_with_the_sync_client(test_client_factory: Callable[..., TestClient]) -> None:
    client = test_client_factory(hints_app(["</a.css>; rel=preload"]), extensions=HINTS)
    assert client.get("/").early_hints == [["</a.css>; rel=preload"]]


# ---------------------------------------------------------------------------------------------
# Server push


def push_app(path: str) -> Callable[[Scope, Receive, Send], Any]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)

        async def body() -> AsyncIterator[bytes]:
            # SPEC: a push goes after http.response.start and before the end of the body.
            await request.send_push_promise(path)
            yield b"page"

        await StreamingResponse(body(), media_type="text/html")(scope, receive, send)

    return app


async def test_push_is_sent_with_the_cache_headers_of_the_request() -> None:
    client = AsyncTestClient(push_app("/style.css"), extensions=PUSH)
    response = await client.get(
        "/",
        headers={
            "Accept": "text/css",
            "Accept-Encoding": "gzip",
            "Accept-Language": "fr",
            "Cache-Control": "no-cache",
            "User-Agent": "agent",
            "Authorization": "Bearer secret",
        },
        cookies={"session": "secret"},
    )
    assert response.text == "page"
    [(path, headers)] = response.push_promises
    assert path == "/style.css"
    assert sorted(headers.items()) == [
        ("accept", "text/css"),
        ("accept-encoding", "gzip"),
        ("accept-language", "fr"),
        ("cache-control", "no-cache"),
        ("user-agent", "agent"),
    ]


@pytest.mark.parametrize("extensions", [None, {}, HINTS])
async def test_push_is_a_no_op_without_the_extension(
    extensions: Mapping[str, Mapping[str, Any]] | None,
) -> None:
    response = await AsyncTestClient(push_app("/style.css"), extensions=extensions).get("/")
    assert response.text == "page"
    assert response.push_promises == []


async def test_push_without_an_extensions_key_is_a_no_op() -> None:
    sent = Recorder()
    scope = make_scope()
    del scope["extensions"]
    await Request(scope, no_receive, sent).send_push_promise("/a.css")
    assert sent.messages == []


@pytest.mark.parametrize(
    "path",
    ["style.css", "", "//evil.example/x", "/a b", "/a\r\nx", "/a\x00", "/a\x7f", "/a\tb", 42],
)
@pytest.mark.parametrize("extensions", [{}, {"http.response.push": {}}])
async def test_push_paths_are_validated(path: Any, extensions: dict[str, Any]) -> None:
    sent = Recorder()
    request = Request(make_scope(extensions=extensions), no_receive, sent)
    with pytest.raises(ValueError, match="server push path must be a str starting with a single"):
        await request.send_push_promise(path)
    assert sent.messages == []


async def test_push_keeps_a_decoded_non_ascii_path() -> None:
    sent = Recorder()
    scope = make_scope(extensions=PUSH, headers=[(b"accept", b"*/*")])
    await Request(scope, no_receive, sent).send_push_promise("/caf\u00e9.css?v=2")
    assert sent.messages == [
        {
            "type": "http.response.push",
            "path": "/caf\u00e9.css?v=2",
            "headers": [(b"accept", b"*/*")],
        }
    ]


# ---------------------------------------------------------------------------------------------
# Trailers: API validation at construction


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"trailer_names": ["x-sum"]}, ValueError, "trailer_names= needs trailers="),
        (
            {"trailers": {"x-sum": "1"}, "trailer_names": ["x-sum"]},
            ValueError,
            "only for a trailers function",
        ),
        ({"trailers": lambda: {}}, ValueError, "needs trailer_names="),
        ({"trailers": lambda: {}, "trailer_names": "x-sum"}, ValueError, "needs trailer_names="),
        ({"trailers": lambda: {}, "trailer_names": []}, ValueError, "names no field"),
        ({"trailers": {}}, ValueError, "names no field"),
        ({"trailers": {"content-length": "1"}}, ValueError, "cannot be sent as a trailer"),
        ({"trailers": {"Set-Cookie": "a=1"}}, ValueError, "cannot be sent as a trailer"),
        ({"trailers": {"bad name": "1"}}, ValueError, "Invalid header name"),
        ({"trailers": {"x-sum": "1\r\nx-evil: 1"}}, ValueError, "control character"),
        ({"trailers": lambda: {}, "trailer_names": ["Trailer"]}, ValueError, "cannot be sent"),
        ({"trailers": ["x-sum"]}, TypeError, "must be a mapping of trailer fields or a function"),
    ],
)
@pytest.mark.parametrize("cls", [Response, JSONResponse, StreamingResponse])
def test_trailer_arguments_are_checked_at_construction(
    cls: type[Response], kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    content: Any = [b"x"] if cls is StreamingResponse else "x"
    with pytest.raises(error, match=match):
        cls(content, **kwargs)


def test_trailers_default_to_none() -> None:
    response = Response("x")
    assert response.trailers is None
    source = {"X-Sum": "1"}
    assert Response("x", trailers=source).trailers is source


# ---------------------------------------------------------------------------------------------
# Trailers: sent when offered and asked for


async def test_response_sends_mapping_trailers() -> None:
    app = Response("hello", trailers={"X-Checksum": "abc", "server-timing": "db;dur=5"})
    response = await AsyncTestClient(app, extensions=TRAILERS).get("/", headers=TE)
    assert response.text == "hello"
    assert response.trailers is not None
    assert response.trailers.items() == [("x-checksum", "abc"), ("server-timing", "db;dur=5")]
    assert response.headers["trailer"] == "x-checksum, server-timing"
    # SPEC: HTTP/1.1 carries trailers in chunked framing only, so no Content-Length.
    assert "content-length" not in response.headers


@pytest.mark.parametrize("is_async", [False, True])
async def test_response_calls_a_trailers_function(is_async: bool) -> None:
    calls: list[str] = []

    def compute() -> dict[str, str]:
        calls.append("called")
        return {"x-rows": "3"}

    async def compute_async() -> dict[str, str]:
        return compute()

    app = JSONResponse(
        [1, 2, 3], trailers=compute_async if is_async else compute, trailer_names=["X-Rows"]
    )
    response = await AsyncTestClient(app, extensions=TRAILERS).get("/", headers=TE)
    assert response.json() == [1, 2, 3]
    assert response.trailers is not None
    assert response.trailers["x-rows"] == "3"
    assert response.headers["trailer"] == "x-rows"
    assert calls == ["called"]


@pytest.mark.parametrize(
    "te",
    ["trailers", "TRAILERS", "gzip, trailers", "deflate;q=0.5, trailers;q=1", " trailers "],
)
def test_te_trailers_is_found_among_tokens(te: str) -> None:
    assert accepts_trailers(make_scope(headers=[(b"te", te.encode())]))


@pytest.mark.parametrize(
    "scope",
    [
        make_scope(headers=[]),
        make_scope(headers=[(b"te", b"gzip, deflate")]),
        make_scope(headers=[(b"te", b"xtrailers")]),
        make_scope(extensions={}),
        make_scope(extensions=None),
        make_scope(method="HEAD"),
        make_scope(method="head"),  # the method in any case, as Starlette reads it
        make_scope(http_version="1.0"),
    ],
)
def test_trailers_are_not_possible(scope: Scope) -> None:
    assert not accepts_trailers(scope)


def test_trailers_without_an_extensions_key() -> None:
    scope = make_scope()
    del scope["extensions"]
    assert not accepts_trailers(scope)


@pytest.mark.parametrize(
    ("extensions", "headers", "method"),
    [
        ({"http.response.debug": {}}, TE, "GET"),  # the server does not offer the extension
        ({}, TE, "GET"),
        (TRAILERS, {}, "GET"),  # the client did not send TE: trailers
        (TRAILERS, {"TE": "gzip"}, "GET"),
        (TRAILERS, TE, "HEAD"),  # no body for trailers to follow
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_trailers_fall_back_to_the_body_alone(
    extensions: Mapping[str, Mapping[str, Any]] | None,
    headers: dict[str, str],
    method: str,
    streaming: bool,
) -> None:
    calls: list[int] = []

    def compute() -> dict[str, str]:
        calls.append(1)
        return {"x-sum": "1"}

    app: Response
    if streaming:
        app = StreamingResponse([b"bo", b"dy"], trailers=compute, trailer_names=["x-sum"])
    else:
        app = Response(b"body", trailers=compute, trailer_names=["x-sum"])
    response = await AsyncTestClient(app, extensions=extensions).request(
        method, "/", headers=headers
    )
    assert response.status_code == 200
    assert response.content == (b"" if method == "HEAD" else b"body")
    assert response.trailers is None
    assert "trailer" not in response.headers
    assert calls == []  # the function is not called when its result cannot be sent
    if not streaming:
        assert response.headers["content-length"] == "4"


async def test_streaming_trailers_are_computed_after_the_body() -> None:
    digest = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        for chunk in (b"a", b"b", b"c"):
            digest.update(chunk)
            yield chunk

    app = StreamingResponse(
        body(), trailers=lambda: {"x-sha256": digest.hexdigest()}, trailer_names=["x-sha256"]
    )
    client = AsyncTestClient(app, extensions=TRAILERS)
    response = await client.post("/", headers=TE, content=b"upload")  # body may be pending
    assert response.text == "abc"
    assert response.headers["trailer"] == "x-sha256"
    assert response.trailers is not None
    assert response.trailers["x-sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert response.extension_messages == [
        {
            "type": "http.response.trailers",
            "headers": [(b"x-sha256", hashlib.sha256(b"abc").hexdigest().encode())],
            "more_trailers": False,
        }
    ]


async def test_streaming_trailers_with_a_get_watching_for_disconnect() -> None:
    app = StreamingResponse(iter([b"x"]), trailers={"x-count": "1"})
    response = await AsyncTestClient(app, extensions=TRAILERS).get("/", headers=TE)
    assert response.text == "x"
    assert response.trailers is not None
    assert response.trailers["x-count"] == "1"


def test_streaming_trailers_with_the_sync_client(
    test_client_factory: Callable[..., TestClient],
) -> None:
    app = StreamingResponse(iter(["é"]), trailers={"x-count": "1"})
    response = test_client_factory(app, extensions=TRAILERS).get("/", headers=TE)
    assert response.text == "é"
    assert response.trailers is not None
    assert response.trailers["x-count"] == "1"


@pytest.mark.parametrize(
    ("result", "error", "match"),
    [
        ({"x-other": "1"}, ValueError, "was not announced"),
        ({"x-sum": "1\n"}, ValueError, "control character"),
        (["x-sum"], TypeError, "must return a mapping"),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_a_bad_trailers_result_raises(
    result: Any, error: type[Exception], match: str, streaming: bool
) -> None:
    app: Response
    if streaming:
        app = StreamingResponse([b"x"], trailers=lambda: result, trailer_names=["x-sum"])
    else:
        app = Response(b"x", trailers=lambda: result, trailer_names=["x-sum"])
    sent = Recorder()
    # A declared body: the streaming response does not watch receive() for a disconnect.
    scope = make_scope(headers=[(b"te", b"trailers"), (b"content-length", b"5")])
    with pytest.raises(error, match=match):
        await app(scope, no_receive, sent)
    if streaming:
        # The body is never completed, so no client takes the truncated body for a whole one.
        assert [m.get("more_body") for m in sent.messages[1:]] == [True]
    else:
        assert sent.messages == []  # nothing sent: an error middleware can still answer 500


async def test_response_trailers_keep_content_length_on_http2() -> None:
    sent = Recorder()
    await Response(b"abc", trailers={"x-sum": "6"})(make_scope(), no_receive, sent)
    start, body, trailers = sent.messages
    assert start["trailers"] is True
    assert (b"content-length", b"3") in start["headers"]
    assert (b"trailer", b"x-sum") in start["headers"]
    assert body == {"type": "http.response.body", "body": b"abc"}
    assert trailers == {
        "type": "http.response.trailers",
        "headers": [(b"x-sum", b"6")],
        "more_trailers": False,
    }


@pytest.mark.parametrize("fail_at", [0, 1, 2])
async def test_response_trailers_stop_quietly_when_the_client_has_gone(fail_at: int) -> None:
    sent = Recorder(fail_at=fail_at)
    await Response(b"abc", trailers={"x-sum": "6"})(make_scope(), no_receive, sent)
    assert len(sent.messages) == fail_at


@pytest.mark.parametrize("fail_at", [2, 3])
async def test_streaming_trailers_stop_quietly_when_the_client_has_gone(fail_at: int) -> None:
    sent = Recorder(fail_at=fail_at)
    app = StreamingResponse([b"abc"], trailers={"x-sum": "6"})
    scope = make_scope(
        method="POST", headers=[(b"te", b"trailers"), (b"transfer-encoding", b"chunked")]
    )
    await app(scope, no_receive, sent)
    assert len(sent.messages) == fail_at


async def test_trailers_are_not_used_in_a_websocket_denial() -> None:
    sent = Recorder()
    scope = make_scope(type="websocket", extensions={"websocket.http.response": {}, **TRAILERS})
    await StreamingResponse([b"no"], status_code=401, trailers={"x-sum": "1"})(
        scope, no_receive, sent
    )
    assert [m["type"] for m in sent.messages] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
        "websocket.http.response.body",
    ]
    assert "trailers" not in sent.messages[0]


# ---------------------------------------------------------------------------------------------
# TLS


CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
TLS_INFO = {
    "server_cert": CERT,
    "client_cert_chain": [CERT, CERT + "ca"],
    "client_cert_name": "CN=alice,O=Example",
    "client_cert_error": None,
    "tls_version": 0x0304,
    "cipher_suite": 0x1301,
}


async def tls_echo(scope: Scope, receive: Receive, send: Send) -> None:
    tls = HTTPConnection(scope).tls
    data = None if tls is None else [tls.version, tls.cipher_suite, tls.client_cert_name]
    await JSONResponse(data)(scope, receive, send)


async def test_tls_is_none_on_plain_connections() -> None:
    assert (await AsyncTestClient(tls_echo).get("/")).json() is None
    assert Request(make_scope(extensions=None)).tls is None
    assert Request(make_scope(extensions={"tls": "garbage"})).tls is None


async def test_tls_reads_the_extension() -> None:
    client = AsyncTestClient(tls_echo, base_url="https://testserver", extensions={"tls": TLS_INFO})
    assert (await client.get("/")).json() == ["TLSv1.3", 0x1301, "CN=alice,O=Example"]


def test_tls_info_fields() -> None:
    request = Request(make_scope(extensions={"tls": TLS_INFO}))
    tls = request.tls
    assert tls == TLSInfo(
        server_cert=CERT,
        client_cert_chain=(CERT, CERT + "ca"),
        client_cert_name="CN=alice,O=Example",
        tls_version=0x0304,
        cipher_suite=0x1301,
    )
    assert tls is not None
    assert tls.client_cert == CERT
    assert request.tls is tls  # cached


@pytest.mark.parametrize(
    ("version", "name"),
    [
        (0x0300, "SSLv3"),
        (0x0301, "TLSv1"),
        (0x0302, "TLSv1.1"),
        (0x0303, "TLSv1.2"),
        (0x0304, "TLSv1.3"),
        (0x7F1C, None),
        (None, None),
    ],
)
def test_tls_version_names(version: int | None, name: str | None) -> None:
    assert TLSInfo(tls_version=version).version == name


def test_tls_info_keeps_only_values_of_the_spec_types() -> None:
    info = tls_info(
        {
            "extensions": {
                "tls": {
                    "server_cert": b"bytes",
                    "client_cert_chain": [CERT, 7],
                    "client_cert_name": 3,
                    "client_cert_error": "unknown ca",
                    "tls_version": True,
                    "cipher_suite": "TLS_AES_128_GCM_SHA256",
                }
            }
        }
    )
    assert info == TLSInfo(client_cert_chain=(CERT,), client_cert_error="unknown ca")
    assert info is not None
    assert info.client_cert == CERT
    assert (
        TLSInfo.from_extension({"server_cert": None, "client_cert_chain": None}).client_cert is None
    )


def test_tls_on_a_websocket_connection() -> None:
    scope = make_scope(
        type="websocket",
        extensions={"tls": {"server_cert": None, "tls_version": 0x0303, "cipher_suite": None}},
    )
    tls = HTTPConnection(scope).tls
    assert tls is not None
    assert tls.version == "TLSv1.2"
    assert tls.client_cert_chain == ()


# ---------------------------------------------------------------------------------------------
# pathsend, zerocopysend and debug: typed messages, recorded by the test client


async def test_pathsend_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    path.write_bytes(b"from disk")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"9")],
        }
        await send(start)  # type: ignore[arg-type]
        if offers(scope, "http.response.pathsend"):
            pathsend: HTTPResponsePathsendEvent = {
                "type": "http.response.pathsend",
                "path": str(path),
            }
            await send(pathsend)  # type: ignore[arg-type]
        else:
            body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": path.read_bytes()}
            await send(body)  # type: ignore[arg-type]

    offered = await AsyncTestClient(app, extensions={"http.response.pathsend": {}}).get("/")
    assert offered.content == b"from disk"
    assert offered.extension_messages == [{"type": "http.response.pathsend", "path": str(path)}]
    plain = await AsyncTestClient(app).get("/")
    assert plain.content == b"from disk"
    assert plain.extension_messages == []


async def test_zerocopysend_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(b"0123456789")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        with path.open("rb") as file:
            part: HTTPResponseZerocopysendEvent = {
                "type": "http.response.zerocopysend",
                "file": file,
                "offset": 2,
                "count": 3,
                "more_body": True,
            }
            await send(part)  # type: ignore[arg-type]
            rest: HTTPResponseZerocopysendEvent = {
                "type": "http.response.zerocopysend",
                "file": file,
                "offset": 8,
            }
            await send(rest)  # type: ignore[arg-type]

    client = AsyncTestClient(app, extensions={"http.response.zerocopysend": {}})
    response = await client.get("/")
    assert response.content == b"23489"
    assert [m["type"] for m in response.extension_messages] == ["http.response.zerocopysend"] * 2
    assert [m.get("count") for m in response.extension_messages] == [3, None]


async def test_debug_info_is_recorded() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if offers(scope, "http.response.debug"):
            debug: HTTPResponseDebugEvent = {
                "type": "http.response.debug",
                "info": {"template": "page.html", "context": {"n": 1}},
            }
            await send(debug)  # type: ignore[arg-type]
        await PlainTextResponse("page")(scope, receive, send)

    response = await AsyncTestClient(app).get("/")  # the client offers debug by default
    assert response.debug_info == {"template": "page.html", "context": {"n": 1}}
    assert response.template == "page.html"
    silent = await AsyncTestClient(app, extensions={}).get("/")
    assert silent.debug_info is None
