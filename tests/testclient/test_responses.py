"""Responses as HTTPX (and so Starlette's client) gives them: headers, content decoding, raw bytes."""

from __future__ import annotations

import gzip
import sys
import types
import zlib
from collections.abc import Callable
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest
import zstandard

from microasgi.datastructures import URL, Headers
from microasgi.testclient import (
    AsyncTestClient,
    Cookies,
    HTTPStatusError,
    TestClient,
    TestResponse,
)
from microasgi.testclient._decoding import ContentDecoder, accept_encoding
from microasgi.testclient._headers import ClientHeaders
from microasgi.testclient._request import TestRequest
from microasgi.types import ASGIApp, Receive, Scope, Send

TestClientFactory = Callable[..., TestClient]
TEXT = b"hello, world! " * 200


def respond(*chunks: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> ASGIApp:
    """An app answering with ``headers`` and the body in ``chunks`` (one message each)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": headers or []})
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def split(data: bytes, size: int = 100) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def zstd_frames(data: bytes) -> bytes:
    """Two zstd frames back to back, as a server flushing mid-body sends."""
    compressor = zstandard.ZstdCompressor()
    return compressor.compress(data[:1000]) + compressor.compress(data[1000:])


def hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make ``import module`` fail, as when the package is not installed."""
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


# --- headers -------------------------------------------------------------------------------------

RAW = [
    (b"content-type", b"text/plain"),
    (b"set-cookie", b"a=1; Path=/"),
    (b"vary", b"Accept, Origin"),
    (b"set-cookie", b"b=2; Path=/"),
    (b"vary", b"Cookie"),
]


async def test_repeated_headers_are_joined_as_httpx_does() -> None:
    response = await AsyncTestClient(respond(b"x", headers=RAW)).get("/")
    headers = response.headers
    assert headers["set-cookie"] == "a=1; Path=/, b=2; Path=/"
    assert headers["Set-Cookie"] == headers.get("set-cookie")
    assert headers.get("x-missing") is None
    assert headers.get("x-missing", "default") == "default"
    assert headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert headers.getlist("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert headers.get_list("vary", split_commas=True) == ["Accept", "Origin", "Cookie"]
    assert headers.multi_items() == [(n.decode(), v.decode()) for n, v in RAW]
    assert list(headers) == ["content-type", "set-cookie", "vary"]
    assert list(headers.keys()) == ["content-type", "set-cookie", "vary"]
    assert list(headers.values())[2] == "Accept, Origin, Cookie"
    assert dict(headers.items())["vary"] == "Accept, Origin, Cookie"
    assert dict(headers) == {
        "content-type": "text/plain",
        "set-cookie": "a=1; Path=/, b=2; Path=/",
        "vary": "Accept, Origin, Cookie",
    }
    assert len(headers) == 5
    assert "SET-COOKIE" in headers
    assert headers.raw == RAW
    with pytest.raises(KeyError, match="x-missing"):
        headers["x-missing"]
    assert isinstance(headers, Headers)


def test_headers_sync_client(test_client_factory: TestClientFactory) -> None:
    response = test_client_factory(respond(headers=RAW)).get("/")
    assert response.headers["vary"] == "Accept, Origin, Cookie"
    assert response.request.headers["user-agent"] == "testclient"
    assert isinstance(response.request.headers, ClientHeaders)


def test_header_equality() -> None:
    headers = ClientHeaders(raw=list(RAW))
    assert headers == ClientHeaders(raw=list(reversed(RAW)))
    assert headers == Headers(raw=list(RAW))
    assert headers == [(n.decode().upper(), v.decode()) for n, v in RAW]
    assert headers == RAW
    assert headers != {"content-type": "text/plain"}
    assert ClientHeaders(raw=[(b"a", b"1")]) == {"A": "1"}
    assert headers != [("only-one-item",)]
    assert headers != [(b"x", b"\xff\xfe")]  # not in the headers' encoding (ASCII)
    assert headers != 3


@pytest.mark.parametrize(
    ("raw", "encoding", "value"),
    [
        (b"plain", "ascii", "plain"),
        ("café".encode(), "utf-8", "café"),
        ("café".encode("latin-1"), "iso-8859-1", "café"),
    ],
)
def test_header_encoding_is_detected(raw: bytes, encoding: str, value: str) -> None:
    headers = ClientHeaders(raw=[(b"x-name", raw)])
    assert headers.encoding == encoding
    assert headers["x-name"] == value


def test_header_encoding_can_be_set() -> None:
    headers = ClientHeaders(raw=[(b"x-name", "café".encode())])
    headers.encoding = "iso-8859-1"
    assert headers["x-name"] == "cafÃ©"


def test_header_lookup_of_impossible_names() -> None:
    headers = ClientHeaders(raw=[(b"x", b"1")])
    assert headers.get_list("é") == []  # no ASCII header can have that name
    assert headers.get(3) is None  # type: ignore[arg-type]


def test_headers_copy_and_write() -> None:
    headers = ClientHeaders(raw=[(b"x", b"1")])
    copy = headers.copy()
    copy["x"] = "2"
    copy.append("y", "3")
    assert (headers["x"], copy["x"], copy["y"]) == ("1", "2", "3")
    assert isinstance(copy, ClientHeaders)


# --- content-encoding ----------------------------------------------------------------------------

ENCODED = [
    pytest.param("gzip", gzip.compress(TEXT), id="gzip"),
    pytest.param("deflate", zlib.compress(TEXT), id="deflate"),
    pytest.param("deflate", raw_deflate(TEXT), id="raw-deflate"),
    pytest.param("br", brotli.compress(TEXT), id="br"),
    pytest.param("zstd", zstd_frames(TEXT), id="zstd"),
    pytest.param("gzip, br", brotli.compress(gzip.compress(TEXT)), id="gzip-then-br"),
    pytest.param("identity, GZip", gzip.compress(TEXT), id="identity-gzip"),
]


@pytest.mark.parametrize(("coding", "body"), ENCODED)
async def test_content_is_decoded(coding: str, body: bytes) -> None:
    app = respond(*split(body), headers=[(b"content-encoding", coding.encode())])
    client = AsyncTestClient(app)
    response = await client.get("/")
    assert response.content == TEXT
    assert response.text == TEXT.decode()
    assert b"".join([chunk async for chunk in response.aiter_bytes()]) == TEXT
    assert b"".join([chunk async for chunk in response.aiter_raw()]) == body
    assert response.headers["content-encoding"] == coding
    async with client.stream("GET", "/") as streamed:
        assert b"".join([chunk async for chunk in streamed.aiter_bytes()]) == TEXT
    async with client.stream("GET", "/") as streamed:
        assert [chunk async for chunk in streamed.aiter_raw()] == split(body)
    async with client.stream("GET", "/") as streamed:
        assert await streamed.aread() == TEXT
        assert [chunk async for chunk in streamed.aiter_raw()] == [body]  # read: all at once
    async with client.stream("GET", "/") as streamed:
        assert "".join([text async for text in streamed.aiter_text()]) == TEXT.decode()


@pytest.mark.parametrize(("coding", "body"), ENCODED)
def test_content_is_decoded_sync(
    test_client_factory: TestClientFactory, coding: str, body: bytes
) -> None:
    app = respond(*split(body), headers=[(b"content-encoding", coding.encode())])
    client = test_client_factory(app)
    response = client.get("/")
    assert response.content == TEXT
    assert list(response.iter_raw()) == [body]
    with client.stream("GET", "/") as streamed:
        assert [chunk for chunk in streamed.iter_raw()] == split(body)
    with client.stream("GET", "/") as streamed:
        assert b"".join(streamed.iter_bytes(1000)) == TEXT
    with client.stream("GET", "/") as streamed:
        assert streamed.read() == TEXT


async def test_codings_in_several_headers() -> None:
    body = brotli.compress(gzip.compress(TEXT))
    app = respond(body, headers=[(b"content-encoding", b"gzip"), (b"content-encoding", b"br")])
    response = await AsyncTestClient(app).get("/")
    assert response.headers["content-encoding"] == "gzip, br"
    assert response.content == TEXT


@pytest.mark.parametrize("coding", [b"compress", b"x-unknown", b"gzip, compress"])
async def test_unknown_codings_are_left_as_they_are(coding: bytes) -> None:
    response = await AsyncTestClient(respond(b"kept", headers=[(b"content-encoding", coding)])).get(
        "/"
    )
    assert response.content == b"kept"
    assert response.headers["content-encoding"] == coding.decode()


async def test_brotli_missing_leaves_the_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    hide(monkeypatch, "brotli")
    body = brotli.compress(TEXT)
    client = AsyncTestClient(respond(body, headers=[(b"content-encoding", b"br")]))
    response = await client.get("/")
    assert response.content == body
    assert response.headers["content-encoding"] == "br"
    assert "br" not in (response.request.headers["accept-encoding"])
    # Layers under one the client cannot undo stay as they are too.
    # One body for both sides: gzip stamps the current second into its header.
    layered_body = brotli.compress(gzip.compress(TEXT))
    layered = AsyncTestClient(respond(layered_body, headers=[(b"content-encoding", b"gzip, br")]))
    assert (await layered.get("/")).content == layered_body


def test_brotli_missing_sync(
    test_client_factory: TestClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    hide(monkeypatch, "brotli")
    body = brotli.compress(TEXT)
    client = test_client_factory(respond(body, headers=[(b"content-encoding", b"br")]))
    with client.stream("GET", "/") as response:
        assert b"".join(response.iter_bytes()) == body


async def test_zstd_missing_leaves_the_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    hide(monkeypatch, "compression.zstd", "zstandard")
    body = zstd_frames(TEXT)
    response = await AsyncTestClient(respond(body, headers=[(b"content-encoding", b"zstd")])).get(
        "/"
    )
    assert response.content == body
    assert response.headers["content-encoding"] == "zstd"


class _FakeStdlibZstd:
    """``compression.zstd``'s decompressor (Python 3.14+), played by ``zstandard``'s."""

    def __init__(self) -> None:
        self._inner = zstandard.ZstdDecompressor().decompressobj()

    def decompress(self, data: bytes) -> bytes:
        return self._inner.decompress(data)

    @property
    def eof(self) -> bool:
        return bool(self._inner.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._inner.unused_data)


async def test_zstd_from_the_standard_library(monkeypatch: pytest.MonkeyPatch) -> None:
    stdlib = types.ModuleType("compression.zstd")
    stdlib.ZstdDecompressor = _FakeStdlibZstd  # type: ignore[attr-defined]
    stdlib.ZstdError = zstandard.ZstdError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "compression.zstd", stdlib)
    hide(monkeypatch, "zstandard")
    body = zstd_frames(TEXT)
    response = await AsyncTestClient(respond(body, headers=[(b"content-encoding", b"zstd")])).get(
        "/"
    )
    assert response.content == TEXT


def test_accept_encoding_offers_what_can_be_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert accept_encoding() == "gzip, deflate, br, zstd"
    hide(monkeypatch, "brotli", "compression.zstd", "zstandard")
    assert accept_encoding() == "gzip, deflate"


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("gzip", b"not gzip"),
        ("deflate", b"not deflate at all"),
        ("br", b"not brotli"),
        ("zstd", b"not zstd"),
        ("zstd", zstandard.ZstdCompressor().compress(TEXT)[:-5]),  # the last frame cut short
    ],
)
async def test_a_body_that_does_not_decode(coding: str, body: bytes) -> None:
    response = await AsyncTestClient(
        respond(body, headers=[(b"content-encoding", coding.encode())])
    ).get("/")
    with pytest.raises(ValueError, match=f"not valid '{coding}' data.*iter_raw"):
        _ = response.content
    assert b"".join([chunk async for chunk in response.aiter_raw()]) == body


def test_deflate_that_breaks_after_the_first_chunk() -> None:
    decoder = ContentDecoder(["deflate"])
    assert decoder.decode(zlib.compress(TEXT)[:20])
    with pytest.raises(ValueError, match="not valid 'deflate' data"):
        decoder.decode(b"garbage" * 10)


def test_decoders_take_empty_chunks() -> None:
    decoder = ContentDecoder(["br", "zstd"])
    assert decoder.decode(b"") == b""
    assert decoder.flush() == b""


# --- iter_raw, iter_text and the rest ------------------------------------------------------------


async def test_raw_and_text_rechunked() -> None:
    client = AsyncTestClient(respond(b"abc", "défg".encode(), b"h"))
    async with client.stream("GET", "/") as response:
        assert [c async for c in response.aiter_raw(2)] == [b"ab", b"cd", b"\xc3\xa9", b"fg", b"h"]
    async with client.stream("GET", "/") as response:
        assert [t async for t in response.aiter_text(3)] == ["abc", "déf", "gh"]
    response = await client.get("/")
    assert list(response.iter_raw(4)) == [b"abcd", b"\xc3\xa9fg", b"h"]
    assert list(response.iter_text(5)) == ["abcdé", "fgh"]


def test_iter_raw_sync_stream(test_client_factory: TestClientFactory) -> None:
    with test_client_factory(respond(b"ab", b"c")).stream("GET", "/") as response:
        assert list(response.iter_raw()) == [b"ab", b"c"]
        with pytest.raises(RuntimeError, match="already iterated"):
            response.read()


async def test_streamed_content_before_read() -> None:
    async with AsyncTestClient(respond(b"x")).stream("GET", "/") as response:
        with pytest.raises(RuntimeError, match="has not been read"):
            _ = response.content


async def test_encoding_can_be_set() -> None:
    app = respond("é".encode("latin-1"), headers=[(b"content-type", b"text/plain")])
    response = await AsyncTestClient(app).get("/")
    assert response.charset_encoding is None
    assert response.text == "\ufffd"
    response.encoding = "latin-1"
    assert response.text == "é"
    assert response.encoding == "latin-1"


def test_charset_encoding() -> None:
    response = TestResponse(200, headers=[(b"content-type", b"text/html; charset=UTF-8")])
    assert response.charset_encoding == "utf-8"


def test_redirect_predicates_are_httpx_s() -> None:
    assert TestResponse(304).is_redirect
    assert not TestResponse(304).has_redirect_location
    assert not TestResponse(302).has_redirect_location
    assert TestResponse(302, headers=[(b"location", b"/x")]).has_redirect_location
    assert not TestResponse(200).is_redirect


def test_raise_for_status_message_is_httpx_s() -> None:
    request = TestRequest("GET", URL("http://testserver/a"), Headers(), b"")
    response = TestResponse(307, headers=[(b"location", b"/b")], request=request)
    with pytest.raises(HTTPStatusError) as caught:
        response.raise_for_status()
    assert str(caught.value) == (
        "Redirect response '307 Temporary Redirect' for url 'http://testserver/a'\n"
        "Redirect location: '/b'\n"
        "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/307"
    )
    assert caught.value.request is request


async def test_extensions_hold_trailers_and_debug_info() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.debug", "info": {"template": "t.html"}})
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"x"})
        await send({"type": "http.response.trailers", "headers": [(b"x-sum", b"1")]})

    client = AsyncTestClient(
        app, extensions={"http.response.trailers": {}, "http.response.debug": {}}
    )
    response = await client.get("/")
    assert response.extensions == {
        "http.response.trailers": [(b"x-sum", b"1")],
        "http.response.debug": {"template": "t.html"},
    }
    assert TestResponse(200).extensions == {}


@pytest.mark.parametrize(
    ("link", "links"),
    [
        (
            '<http://t/a?page=2>; rel="next", <http://t/a?page=9>; rel=last',
            {
                "next": {"url": "http://t/a?page=2", "rel": "next"},
                "last": {"url": "http://t/a?page=9", "rel": "last"},
            },
        ),
        ("<http://t/b>", {"http://t/b": {"url": "http://t/b"}}),
        ("<http://t/c>; rel=x; odd; title=y", {"x": {"url": "http://t/c", "rel": "x"}}),
        ("<http://t/d>; a=b=c", {"http://t/d": {"url": "http://t/d"}}),
        ("  ", {}),
    ],
)
def test_links(link: str, links: dict[str, Any]) -> None:
    assert TestResponse(200, headers=[(b"link", link.encode())]).links == links
    assert TestResponse(200).links == {}


# --- cookies -------------------------------------------------------------------------------------


def test_cookies_clear_by_domain_and_path() -> None:
    cookies = Cookies()
    cookies.set("a", "1", domain="one.local", path="/x")
    cookies.set("b", "2", domain="one.local", path="/y")
    cookies.set("c", "3", domain="two.local")
    cookies.clear(domain="one.local", path="/x")
    assert sorted(cookies) == ["b", "c"]
    cookies.clear(domain="one.local")
    assert list(cookies) == ["c"]
    with pytest.raises(ValueError, match=r"clear\(path='/'\) needs the domain too"):
        cookies.clear(path="/")
    cookies.clear()
    assert not cookies
