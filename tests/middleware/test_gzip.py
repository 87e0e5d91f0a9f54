"""``GZipMiddleware``: negotiation, streaming per chunk, what is never compressed, extensions."""

from __future__ import annotations

import gzip
import importlib.util
import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO, ClassVar

import anyio.to_thread
import pytest

import microasgi.middleware.gzip as gzip_module
from microasgi.applications import MicroASGI
from microasgi.datastructures import Headers
from microasgi.middleware import Middleware
from microasgi.middleware.gzip import (
    DEFAULT_EXCLUDED_CONTENT_TYPES,
    HAS_ZSTD,
    GZipMiddleware,
    GZipResponder,
    IdentityResponder,
    unattached_send,
)
from microasgi.requests import Request
from microasgi.responses import FileResponse, PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

BIG = b"x" * 1000
GZIP_HEADERS = [(b"accept-encoding", b"gzip")]


def http_scope(headers: list[tuple[bytes, bytes]] | None = None, **items: Any) -> Scope:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": GZIP_HEADERS if headers is None else headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    scope.update(items)
    return scope


def scripted(*messages: Message) -> ASGIApp:
    """An app that sends ``messages`` in order."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    return app


def start(
    status: int = 200, headers: list[tuple[bytes, bytes]] | None = None, **items: Any
) -> Message:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"text/plain")] if headers is None else headers,
        **items,
    }


def body(data: bytes, more_body: bool = False) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": more_body}


async def run(app: ASGIApp, scope: Scope | None = None, **options: Any) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await GZipMiddleware(app, **options)(scope or http_scope(), receive, send)
    return sent


def headers_of(message: Message) -> Headers:
    return Headers(raw=message["headers"])


# --- what is compressed -------------------------------------------------------------------


async def test_a_single_body_is_compressed_with_its_length() -> None:
    app = scripted(
        start(headers=[(b"content-type", b"text/plain"), (b"content-length", b"1000")]), body(BIG)
    )
    first, second = await run(app)
    headers = headers_of(first)
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert int(headers["content-length"]) == len(second["body"]) < 100
    assert gzip.decompress(second["body"]) == BIG
    assert second["more_body"] is False


async def test_a_single_body_without_length_gets_one() -> None:
    first, second = await run(scripted(start(), body(BIG)))
    assert headers_of(first)["content-length"] == str(len(second["body"]))
    assert gzip.decompress(second["body"]) == BIG


async def test_a_stream_is_compressed_and_flushed_per_chunk() -> None:
    delivered: list[Message] = []
    seen_before_next: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(headers=[(b"content-type", b"text/plain"), (b"content-length", b"9")]))
        for chunk in (b"a", b"bb", b"ccc"):
            await send(body(chunk, more_body=True))
            seen_before_next.append(len(delivered))
        await send(body(b"ddd"))

    async def send(message: Message) -> None:
        delivered.append(message)

    async def receive() -> Message:
        raise AssertionError("not read")

    await GZipMiddleware(app, minimum_size=5)(http_scope(), receive, send)
    # A first chunk below minimum_size is not held back: it goes out with the start.
    assert seen_before_next == [2, 3, 4]
    headers = headers_of(delivered[0])
    assert headers["content-encoding"] == "gzip"
    assert "content-length" not in headers
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
    # Each flushed chunk decodes completely on its own, as it arrives.
    assert [decoder.decompress(m["body"]) for m in delivered[1:]] == [b"a", b"bb", b"ccc", b"ddd"]
    assert decoder.eof
    assert [m["more_body"] for m in delivered[1:]] == [True, True, True, False]


async def test_a_stream_declared_small_is_not_compressed() -> None:
    app = scripted(
        start(headers=[(b"content-length", b"4")]), body(b"ab", more_body=True), body(b"cd")
    )
    sent = await run(app)
    assert "content-encoding" not in headers_of(sent[0])
    assert headers_of(sent[0])["vary"] == "Accept-Encoding"
    assert [m["body"] for m in sent[1:]] == [b"ab", b"cd"]


@pytest.mark.parametrize(
    "length",
    [b"\xd9\xa3", b"9" * 40, b"-1", b"", b"1e3"],
    ids=["non-ascii-digit", "huge", "negative", "empty", "exponent"],
)
async def test_a_malformed_declared_length_is_not_taken_as_small(length: bytes) -> None:
    app = scripted(
        start(headers=[(b"content-length", length)]), body(b"ab", more_body=True), body(b"")
    )
    sent = await run(app)
    assert headers_of(sent[0])["content-encoding"] == "gzip"


async def test_a_small_single_body_without_a_length_is_sent_as_it_is() -> None:
    first, second = await run(scripted(start(), body(b"small")))
    assert headers_of(first).raw == [
        (b"content-type", b"text/plain"),
        (b"vary", b"Accept-Encoding"),
    ]
    assert second["body"] == b"small"


async def test_a_small_single_body_is_sent_as_it_is() -> None:
    app = scripted(start(headers=[(b"content-length", b"5")]), body(b"small"))
    first, second = await run(app)
    assert headers_of(first).raw == [(b"content-length", b"5"), (b"vary", b"Accept-Encoding")]
    assert second["body"] == b"small"


async def test_minimum_size_zero_compresses_an_empty_body() -> None:
    first, second = await run(scripted(start(), body(b"")), minimum_size=0)
    assert headers_of(first)["content-encoding"] == "gzip"
    assert gzip.decompress(second["body"]) == b""


@pytest.mark.parametrize("level", [0, 1, 9])
async def test_compresslevel_is_used(level: int) -> None:
    _, second = await run(scripted(start(), body(BIG)), compresslevel=level)
    assert gzip.decompress(second["body"]) == BIG
    assert (len(second["body"]) > len(BIG)) is (level == 0)


async def test_a_strong_etag_turns_weak_and_ranges_are_no_longer_offered() -> None:
    raw = [(b"etag", b'"abc"'), (b"accept-ranges", b"bytes"), (b"content-type", b"text/css")]
    first, _ = await run(scripted(start(headers=raw), body(BIG)))
    headers = headers_of(first)
    assert headers["etag"] == 'W/"abc"'
    assert "accept-ranges" not in headers
    weak = [(b"etag", b'W/"abc"')]
    first, _ = await run(scripted(start(headers=weak), body(BIG)))
    assert headers_of(first)["etag"] == 'W/"abc"'


async def test_vary_is_merged_with_the_apps() -> None:
    raw = [(b"vary", b"Origin")]
    first, _ = await run(scripted(start(headers=raw), body(BIG)))
    assert headers_of(first)["vary"] == "Origin, Accept-Encoding"
    raw = [(b"vary", b"accept-encoding")]
    first, _ = await run(scripted(start(headers=raw), body(BIG)))
    assert headers_of(first).getlist("vary") == ["accept-encoding"]


async def test_several_accept_encoding_lines_are_one_list() -> None:
    scope = http_scope([(b"accept-encoding", b"br"), (b"accept-encoding", b"gzip;q=0.5")])
    first, _ = await run(scripted(start(), body(BIG)), scope)
    assert headers_of(first)["content-encoding"] == "gzip"


# --- what is not compressed ----------------------------------------------------------------


@pytest.mark.parametrize(
    "accept",
    [None, b"", b"identity", b"gzip;q=0", b"gzip;q=0.000", b"*;q=0", b"br, deflate", b"gzip;q=5"],
)
async def test_a_client_that_does_not_accept_gzip_gets_the_body_as_is(accept: bytes | None) -> None:
    scope = http_scope([] if accept is None else [(b"accept-encoding", accept)])
    first, second = await run(scripted(start(), body(BIG)), scope)
    headers = headers_of(first)
    assert "content-encoding" not in headers
    assert headers["vary"] == "Accept-Encoding"  # a cache must not hand this to a gzip client
    assert second["body"] == BIG


@pytest.mark.parametrize(
    ("raw", "options"),
    [
        ([(b"content-type", b"text/event-stream")], {}),
        ([(b"content-type", b"Text/Event-Stream; charset=utf-8")], {}),
        ([(b"content-type", b"image/png")], {"exclude_content_types": ["image/*"]}),
        ([(b"content-type", b"application/zip")], {"exclude_content_types": ["APPLICATION/ZIP"]}),
        ([(b"content-encoding", b"br")], {}),
        ([(b"content-encoding", b"identity")], {}),
    ],
)
async def test_excluded_and_encoded_responses_pass_untouched(
    raw: list[tuple[bytes, bytes]], options: dict[str, Any]
) -> None:
    message = start(headers=raw)
    sent = await run(scripted(message, body(BIG, more_body=True), body(BIG)), **options)
    assert sent[0] is message
    assert headers_of(sent[0]).raw == raw  # no Vary: the body never varies here
    assert [m["body"] for m in sent[1:]] == [BIG, BIG]


async def test_the_default_exclusions_can_be_dropped() -> None:
    raw = [(b"content-type", b"text/event-stream")]
    sent = await run(scripted(start(headers=raw), body(BIG)), exclude_content_types=())
    assert headers_of(sent[0])["content-encoding"] == "gzip"


def test_the_default_exclusions_are_starlettes() -> None:
    from starlette.middleware import gzip as starlette_gzip

    assert DEFAULT_EXCLUDED_CONTENT_TYPES == starlette_gzip.DEFAULT_EXCLUDED_CONTENT_TYPES


@pytest.mark.parametrize(
    ("content_type", "compressed"),
    [
        ("image/png", False),
        ("image/jpeg", False),
        ("image/webp", False),
        ("image/svg+xml", True),  # text: compresses well
        ("audio/ogg", False),
        ("video/mp4", False),
        ("font/woff2", False),
        ("application/zip", False),
        ("application/gzip", False),
        ("application/grpc", False),
        ("application/grpc+proto", False),
        ("Application/GRPC+json; charset=utf-8", False),
        ("text/event-stream", False),
        ("text/html; charset=utf-8", True),
        ("application/json", True),
    ],
)
async def test_default_exclusions(content_type: str, compressed: bool) -> None:
    raw = [(b"content-type", content_type.encode())]
    sent = await run(scripted(start(headers=raw), body(BIG)))
    assert ("content-encoding" in headers_of(sent[0])) is compressed


async def test_exclusions_are_normalised_not_refused() -> None:
    # Starlette lowercases them and drops their parameters: "Text/HTML; charset=utf-8" works.
    options: Any = {"exclude_content_types": ["Text/HTML; charset=utf-8", " IMAGE/* "]}
    for content_type in (b"text/html", b"image/svg+xml"):
        raw = [(b"content-type", content_type)]
        sent = await run(scripted(start(headers=raw), body(BIG)), **options)
        assert "content-encoding" not in headers_of(sent[0])
    raw = [(b"content-type", b"text/plain")]
    sent = await run(scripted(start(headers=raw), body(BIG)), **options)
    assert headers_of(sent[0])["content-encoding"] == "gzip"


@pytest.mark.parametrize("more_body", [False, True], ids=["one message", "stream"])
async def test_large_bodies_are_compressed_in_a_worker_thread(
    monkeypatch: pytest.MonkeyPatch, more_body: bool
) -> None:
    threaded: list[int] = []
    run_sync = anyio.to_thread.run_sync

    async def recording(func: Any, *args: Any, **kwargs: Any) -> Any:
        threaded.append(len(args[0]))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", recording)
    small, large = b"s" * 600, b"L" * 4000
    messages = [body(small, True), body(large, True), body(b"")] if more_body else [body(large)]
    sent = await run(scripted(start(), *messages), thread_minimum_size=4000)
    assert gzip.decompress(b"".join(m["body"] for m in sent[1:])) == (
        small + large if more_body else large
    )
    assert threaded == [4000]  # the small chunk and the empty end were compressed inline


async def test_every_vary_header_is_kept() -> None:
    """Regression: with two Vary fields, the second (Cookie) was lost when compressing, so a
    shared cache could serve one user's page to another."""
    raw = [
        (b"content-type", b"text/html"),
        (b"vary", b"Accept-Language"),
        (b"x-other", b"1"),
        (b"Vary", b"Cookie, accept-language"),
        (b"VARY", b"User-Agent"),
    ]
    sent = await run(scripted(start(headers=raw), body(BIG)))
    headers = headers_of(sent[0])
    assert headers["content-encoding"] == "gzip"
    assert headers.getlist("vary") == ["Accept-Language, Cookie, User-Agent, Accept-Encoding"]
    assert headers["x-other"] == "1"
    # Not compressed (a small body): the same merge.
    sent = await run(scripted(start(headers=raw), body(b"small")))
    assert headers_of(sent[0]).getlist("vary") == [
        "Accept-Language, Cookie, User-Agent, Accept-Encoding"
    ]


async def test_vary_star_stays_alone() -> None:
    raw = [(b"content-type", b"text/html"), (b"vary", b"Cookie"), (b"vary", b"*")]
    sent = await run(scripted(start(headers=raw), body(BIG)))
    assert headers_of(sent[0]).getlist("vary") == ["*"]


@pytest.mark.parametrize("status", [204, 206, 304])
async def test_statuses_without_a_compressible_body_pass(status: int) -> None:
    raw = [(b"content-type", b"text/plain"), (b"content-range", b"bytes 0-999/2000")]
    sent = await run(scripted(start(status, raw), body(BIG if status == 206 else b"")))
    headers = headers_of(sent[0])
    assert "content-encoding" not in headers
    assert headers["vary"] == "Accept-Encoding"  # RFC 9110 15.4.5: a 304 carries the 200's Vary
    assert sent[1]["body"] == (BIG if status == 206 else b"")


async def test_head_is_not_compressed() -> None:
    raw = [(b"content-length", b"1000")]
    sent = await run(scripted(start(headers=raw), body(b"")), http_scope(method="HEAD"))
    headers = headers_of(sent[0])
    assert headers["content-length"] == "1000"
    assert "content-encoding" not in headers
    assert headers["vary"] == "Accept-Encoding"


@pytest.mark.parametrize("scope_type", ["websocket", "lifespan"])
async def test_other_scopes_pass_straight_through(scope_type: str) -> None:
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.extend([scope, receive, send])

    scope: Scope = {"type": scope_type}

    async def receive() -> Message:
        raise AssertionError("not read")

    async def send(message: Message) -> None:
        raise AssertionError("not sent")

    await GZipMiddleware(app)(scope, receive, send)
    assert seen == [scope, receive, send]


async def test_a_reused_response_is_never_changed() -> None:
    response = PlainTextResponse("x" * 1000)
    original = list(response.raw_headers)
    app = MicroASGI(
        routes=[Route("/", lambda request: response)], middleware=[Middleware(GZipMiddleware)]
    )
    client = AsyncTestClient(app)
    compressed = await client.get("/", headers={"accept-encoding": "gzip"})
    plain = await client.get("/", headers={"accept-encoding": "identity"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert plain.headers["content-length"] == "1000"
    assert compressed.text == plain.text == "x" * 1000
    assert response.raw_headers == original


# --- extensions and odd orderings ----------------------------------------------------------


async def test_trailers_pass_and_the_length_goes() -> None:
    trailers = {
        "type": "http.response.trailers",
        "headers": [(b"x-sum", b"1")],
        "more_trailers": False,
    }
    raw = [(b"content-length", b"1000"), (b"trailer", b"x-sum")]
    sent = await run(scripted(start(headers=raw, trailers=True), body(BIG), trailers))
    headers = headers_of(sent[0])
    assert sent[0]["trailers"] is True
    assert headers["content-encoding"] == "gzip"
    assert "content-length" not in headers  # HTTP/1.1 carries trailers only when chunked
    assert gzip.decompress(sent[1]["body"]) == BIG
    assert sent[2] is trailers


async def test_trailers_through_an_app_with_a_client() -> None:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("y" * 1000, trailers={"x-sum": "abc"})

    app = MicroASGI(routes=[Route("/", endpoint)], middleware=[Middleware(GZipMiddleware)])
    client = AsyncTestClient(app, extensions={"http.response.trailers": {}})
    response = await client.get("/", headers={"te": "trailers", "accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == "y" * 1000
    assert response.trailers is not None
    assert response.trailers["x-sum"] == "abc"


FILE_CONTENT = b"0123456789" * 1000


@pytest.fixture
def big_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "page.txt"
        path.write_bytes(FILE_CONTENT)
        yield path


@pytest.fixture
def big_fd(big_file: Path) -> Iterator[BinaryIO]:
    """The file opened unbuffered at position 3, as a zerocopysend ``file``."""
    with open(big_file, "rb", buffering=0) as file:
        file.seek(3)  # zerocopysend without an offset reads from the current position
        yield file


@pytest.mark.parametrize("extension", ["http.response.pathsend", "http.response.zerocopysend"])
async def test_a_file_the_server_sends_goes_out_uncompressed(
    big_file: Path, extension: str
) -> None:
    app = GZipMiddleware(FileResponse(big_file, media_type="text/plain"))
    response = await AsyncTestClient(app, extensions={extension: {}}).get("/")
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == "10000"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.content == FILE_CONTENT
    assert [m["type"] for m in response.extension_messages] == [extension]


async def test_a_file_read_in_chunks_is_compressed(big_file: Path) -> None:
    app = GZipMiddleware(FileResponse(big_file, media_type="text/plain"))
    response = await AsyncTestClient(app, extensions={}).get("/")
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == FILE_CONTENT


@pytest.mark.parametrize(
    ("offset", "count", "more_body", "expected"),
    [
        (2, 5, False, b"23456"),
        (None, None, False, b"3456789" * 1 + b"0123456789" * 999),
        (9990, None, False, b"0123456789"),
        (0, 0, False, b""),
        (5, 100, True, (b"56789" + b"0123456789" * 10)[:100]),
        (9995, 100, False, b"56789"),  # count past the end: stops at the end of the file
    ],
)
async def test_a_zerocopysend_within_a_compressed_stream_is_read_and_compressed(
    big_fd: BinaryIO, offset: int | None, count: int | None, more_body: bool, expected: bytes
) -> None:
    message: Message = {
        "type": "http.response.zerocopysend",
        "file": big_fd,
        "more_body": more_body,
    }
    if offset is not None:
        message["offset"] = offset
    if count is not None:
        message["count"] = count
    tail = [body(b"!")] if more_body else []
    sent = await run(scripted(start(), body(b"<", more_body=True), message, *tail))
    assert {m["type"] for m in sent[1:]} == {"http.response.body"}
    assert sent[-1]["more_body"] is False
    assert all(m["more_body"] for m in sent[1:-1])
    data = gzip.decompress(b"".join(m["body"] for m in sent[1:]))
    assert data == b"<" + expected + (b"!" if more_body else b"")


async def test_a_large_zerocopysend_is_read_in_bounded_chunks() -> None:
    with tempfile.TemporaryFile(buffering=0) as file:
        file.write(os.urandom(200_000))
        file.seek(0)
        content = file.read()
        message: Message = {"type": "http.response.zerocopysend", "file": file, "offset": 0}
        sent = await run(scripted(start(), body(b"", more_body=True), message))
    # start, first chunk, 4 reads of at most 64 KiB, then the end of the gzip stream
    assert len(sent) == 2 + 4 + 1
    assert all(len(m["body"]) < 70_000 for m in sent[1:])
    assert gzip.decompress(b"".join(m["body"] for m in sent[1:])) == content


async def test_pushes_and_hints_pass_while_the_start_is_held() -> None:
    push = {"type": "http.response.push", "path": "/a.css", "headers": []}
    sent = await run(scripted(start(), push, body(BIG)))
    assert sent[0] is push
    assert headers_of(sent[1])["content-encoding"] == "gzip"


async def test_a_start_without_a_body_is_still_forwarded() -> None:
    message = start()
    sent = await run(scripted(message))
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert headers_of(sent[0])["vary"] == "Accept-Encoding"


async def test_a_stream_through_an_app_streams() -> None:
    produced: list[int] = []

    async def numbers() -> Any:
        for number in range(3):
            produced.append(number)
            yield f"line {number}\n" * 50

    async def endpoint(request: Request) -> Response:
        return StreamingResponse(numbers(), media_type="text/plain")

    app = MicroASGI(routes=[Route("/", endpoint)], middleware=[Middleware(GZipMiddleware)])
    client = AsyncTestClient(app)
    async with client.stream("GET", "/", headers={"accept-encoding": "gzip"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        chunks = []
        async for chunk in response.aiter_bytes():
            chunks.append((chunk, len(produced)))
    assert [text for text, _ in chunks if text] == [f"line {n}\n".encode() * 50 for n in range(3)]
    # The first line was decoded before the producer made the last: nothing was buffered.
    assert next(count for text, count in chunks if text) < 3


# --- zstd --------------------------------------------------------------------------------


class FakeZstdCompressor:
    """A stand-in with ``compression.zstd.ZstdCompressor``'s API, deflating underneath."""

    CONTINUE, FLUSH_BLOCK, FLUSH_FRAME = 0, 1, 2
    modes: ClassVar[list[int]] = []
    levels: ClassVar[list[int]] = []

    def __init__(self, level: int) -> None:
        self.levels.append(level)
        self._z = zlib.compressobj(level % 10)

    def compress(self, data: bytes, mode: int = CONTINUE) -> bytes:
        self.modes.append(mode)
        flush = zlib.Z_SYNC_FLUSH if mode == self.FLUSH_BLOCK else zlib.Z_FINISH
        return self._z.compress(data) + self._z.flush(flush)


@pytest.fixture
def fake_zstd(monkeypatch: pytest.MonkeyPatch) -> type[FakeZstdCompressor]:
    FakeZstdCompressor.modes = []
    FakeZstdCompressor.levels = []
    monkeypatch.setattr(gzip_module, "_zstd", SimpleNamespace(ZstdCompressor=FakeZstdCompressor))
    return FakeZstdCompressor


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        (b"zstd", "zstd"),
        (b"gzip, zstd", "zstd"),
        (b"zstd;q=0.5, gzip", "gzip"),
        (b"zstd;q=0, gzip", "gzip"),
        (b"*", "zstd"),
    ],
)
async def test_zstd_is_preferred_where_available(
    fake_zstd: type[FakeZstdCompressor], accept: bytes, coding: str
) -> None:
    scope = http_scope([(b"accept-encoding", accept)])
    app = scripted(start(), body(b"a" * 300, more_body=True), body(b"b" * 300))
    sent = await run(app, scope)
    assert headers_of(sent[0])["content-encoding"] == coding
    data = b"".join(m["body"] for m in sent[1:])
    decoded = zlib.decompress(data) if coding == "zstd" else gzip.decompress(data)
    assert decoded == b"a" * 300 + b"b" * 300
    if coding == "zstd":
        assert fake_zstd.modes == [fake_zstd.FLUSH_BLOCK, fake_zstd.FLUSH_FRAME]


async def test_zstd_level_none_never_offers_zstd(fake_zstd: type[FakeZstdCompressor]) -> None:
    sent = await run(
        scripted(start(), body(BIG)), http_scope([(b"accept-encoding", b"zstd")]), zstd_level=None
    )
    assert "content-encoding" not in headers_of(sent[0])


async def test_zstd_level_reaches_the_compressor(fake_zstd: type[FakeZstdCompressor]) -> None:
    await run(
        scripted(start(), body(BIG)), http_scope([(b"accept-encoding", b"zstd")]), zstd_level=19
    )
    assert fake_zstd.levels == [19]


async def test_the_real_zstd_or_its_absence() -> None:
    """On Python 3.14+ zstd is really used; before, a zstd-only client gets the body as is."""
    available = importlib.util.find_spec("compression") is not None and (
        importlib.util.find_spec("compression.zstd") is not None
    )
    assert available is HAS_ZSTD
    zstd_only = http_scope([(b"accept-encoding", b"zstd")])
    sent = await run(scripted(start(), body(BIG)), zstd_only)
    if HAS_ZSTD:
        from compression import zstd  # type: ignore[import-not-found,unused-ignore]

        assert headers_of(sent[0])["content-encoding"] == "zstd"
        assert zstd.decompress(sent[1]["body"]) == BIG
    else:
        assert "content-encoding" not in headers_of(sent[0])
        assert sent[1]["body"] == BIG
        both = http_scope([(b"accept-encoding", b"zstd, gzip")])
        sent = await run(scripted(start(), body(BIG)), both)
        assert headers_of(sent[0])["content-encoding"] == "gzip"


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"minimum_size": -1}, ValueError, "minimum_size must be an int >= 0, got -1"),
        ({"minimum_size": "500"}, ValueError, "minimum_size"),
        ({"minimum_size": True}, ValueError, "minimum_size"),
        ({"compresslevel": 10}, ValueError, "compresslevel must be an int from 0 to 9, got 10"),
        ({"compresslevel": -1}, ValueError, "compresslevel"),
        ({"zstd_level": 0}, ValueError, "zstd_level must be an int from 1 to 22, got 0"),
        ({"zstd_level": 23}, ValueError, "zstd_level"),
        ({"exclude_content_types": "text/html"}, TypeError, r"Wrap it in a tuple"),
        ({"exclude_content_types": [b"text/html"]}, TypeError, "media type strings"),
        ({"thread_minimum_size": -1}, ValueError, "thread_minimum_size must be an int >= 0"),
    ],
)
def test_bad_configuration_is_refused_at_construction(
    options: dict[str, Any], error: type[Exception], match: str
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("never called")

    with pytest.raises(error, match=match):
        GZipMiddleware(app, **options)


def test_starlette_positional_signature() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("never called")

    middleware = GZipMiddleware(app, 100, 5)
    assert (middleware.minimum_size, middleware.compresslevel) == (100, 5)
    assert middleware.thread_minimum_size == 128 * 1024
    middleware = GZipMiddleware(app, 100, 5, 4096)
    assert middleware.thread_minimum_size == 4096


# --- Starlette's responders ---------------------------------------------------------------------


async def call(app: ASGIApp, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("accept", [None, b"gzip", b"identity"])
async def test_gzip_responder_compresses_whatever_the_request_accepts(
    fake_zstd: type[FakeZstdCompressor], accept: bytes | None
) -> None:
    # As Starlette's: the caller chose gzip; and zstd, though available here, is never used.
    scope = http_scope([] if accept is None else [(b"accept-encoding", accept)])
    responder = GZipResponder(scripted(start(), body(BIG)), 500)
    for _ in range(2):  # one instance serves any number of requests
        first, second = await call(responder, scope)
        headers = headers_of(first)
        assert headers["content-encoding"] == "gzip"
        assert headers["vary"] == "Accept-Encoding"
        assert headers["content-length"] == str(len(second["body"]))
        assert gzip.decompress(second["body"]) == BIG
    assert fake_zstd.levels == []


async def test_gzip_responder_streams_and_keeps_the_middleware_rules() -> None:
    app = scripted(start(), body(b"a" * 10, more_body=True), body(b"b" * 10))
    sent = await call(GZipResponder(app, 500), http_scope())
    assert "content-length" not in headers_of(sent[0])
    assert gzip.decompress(b"".join(m["body"] for m in sent[1:])) == b"a" * 10 + b"b" * 10
    # A small single body, and an excluded type, go out as they are.
    first, second = await call(GZipResponder(scripted(start(), body(b"tiny")), 500), http_scope())
    assert "content-encoding" not in headers_of(first)
    assert second["body"] == b"tiny"
    png = scripted(start(headers=[(b"content-type", b"image/png")]), body(BIG))
    first, second = await call(GZipResponder(png, 500), http_scope())
    assert "content-encoding" not in headers_of(first)
    assert second["body"] == BIG


async def test_gzip_responder_normalizes_excluded_content_types() -> None:
    app = scripted(start(headers=[(b"content-type", b"application/zip")]), body(b"x" * 4000))
    responder = GZipResponder(app, 500, exclude_content_types=("Application/ZIP; charset=utf-8",))
    assert responder.exclude_content_types == ("application/zip",)
    response = await AsyncTestClient(responder).get("/", headers={"accept-encoding": "gzip"})
    assert response.content == b"x" * 4000
    assert "content-encoding" not in response.headers


def test_responders_take_starlettes_signatures() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("never called")

    responder = GZipResponder(app, 100, 5, thread_minimum_size=4096)
    assert (responder.app, responder.minimum_size, responder.compresslevel) == (app, 100, 5)
    assert responder.thread_minimum_size == 4096
    assert responder.content_encoding == "gzip"
    assert responder.exclude_content_types == tuple(sorted(DEFAULT_EXCLUDED_CONTENT_TYPES))
    identity = IdentityResponder(app, 100, exclude_content_types=())
    assert (identity.app, identity.minimum_size, identity.exclude_content_types) == (app, 100, ())
    with pytest.raises(ValueError, match="compresslevel must be an int from 0 to 9, got 10"):
        GZipResponder(app, 100, 10)
    with pytest.raises(TypeError, match="Wrap it in a tuple"):
        IdentityResponder(app, 100, exclude_content_types="text/html")


@pytest.mark.parametrize("size", [100, 4000])
async def test_identity_responder_sends_the_body_as_it_is(size: int) -> None:
    app = scripted(start(), body(b"x" * size))
    first, second = await call(IdentityResponder(app, 500), http_scope())
    headers = headers_of(first)
    assert "content-encoding" not in headers
    assert headers["vary"] == "Accept-Encoding"  # as GZipMiddleware (docs/migrating.md)
    assert second["body"] == b"x" * size


@pytest.mark.parametrize("responder", [GZipResponder, IdentityResponder])
@pytest.mark.parametrize("scope_type", ["websocket", "lifespan"])
async def test_responders_pass_other_scopes_straight_through(
    responder: type[IdentityResponder], scope_type: str
) -> None:
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.extend([scope, receive, send])

    scope: Scope = {"type": scope_type}

    async def receive() -> Message:
        raise AssertionError("not read")

    async def send(message: Message) -> None:
        raise AssertionError("not sent")

    await responder(app, 500)(scope, receive, send)
    assert seen == [scope, receive, send]


async def test_unattached_send_always_raises() -> None:
    with pytest.raises(RuntimeError, match=r"^send awaitable not set"):
        await unattached_send({"type": "http.response.start"})
