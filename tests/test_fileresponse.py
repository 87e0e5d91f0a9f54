"""FileResponse: headers, conditional requests, ranges, transports, disconnects and memory."""

from __future__ import annotations

import mimetypes
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from microasgi._asgi.fileresponse import _read_types_database
from microasgi._sansio.ranges import format_http_date
from microasgi.background import BackgroundTask
from microasgi.responses import FileResponse, Response
from microasgi.testclient import AsyncTestClient, TestResponse, WebSocketDenialResponse
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

CONTENT = b"0123456789abcdefghij"  # 20 bytes
PATHSEND: dict[str, Any] = {"http.response.pathsend": {}}
ZEROCOPY: dict[str, Any] = {"http.response.zerocopysend": {}}
TRANSPORTS = [
    pytest.param(None, id="chunks"),
    pytest.param(PATHSEND, id="pathsend"),
    pytest.param(ZEROCOPY, id="zerocopysend"),
]


@pytest.fixture
def file(tmp_path: Path) -> Path:
    path = tmp_path / "file.txt"
    path.write_bytes(CONTENT)
    return path


def stat_of(path: Path) -> os.stat_result:
    return path.stat()


def write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def serve(path: Path | str, **options: Any) -> ASGIApp:
    """An app answering every request with ``FileResponse(path, **options)``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await FileResponse(path, **options)(scope, receive, send)

    return app


def client(app: ASGIApp, extensions: dict[str, Any] | None = None, **kw: Any) -> AsyncTestClient:
    return AsyncTestClient(app, extensions=extensions, **kw)


async def get(
    path: Path, headers: dict[str, str] | None = None, method: str = "GET", **options: Any
) -> TestResponse:
    return await client(serve(path, **options)).request(method, "/", headers=headers)


def parse_multipart(response: TestResponse) -> list[tuple[str, bytes]]:
    """Return (content-range, data) of each part of a multipart/byteranges body."""
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    boundary = content_type.split("=", 1)[1].encode()
    body = response.content
    assert body.startswith(b"--" + boundary + b"\r\n")
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n")
    parts = []
    for raw in body[: -len(boundary) - 8].split(b"--" + boundary + b"\r\n")[1:]:
        head, _, data = raw.partition(b"\r\n\r\n")
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
        # Part header names are spelled as Starlette writes them (parsers that read them into a
        # dict, as python-multipart does, are case-sensitive).
        assert fields[b"Content-Type"] == b"text/plain; charset=utf-8"
        parts.append((fields[b"Content-Range"].decode(), data.removesuffix(b"\r\n")))
    return parts


# --- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("extensions", TRANSPORTS)
async def test_get_sends_the_file_with_validators(file: Path, extensions: Any) -> None:
    response = await client(serve(file), extensions).get("/")
    assert response.status_code == 200
    assert response.content == CONTENT
    stat_result = stat_of(file)
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "20"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["last-modified"] == format_http_date(stat_result.st_mtime)
    assert response.headers["etag"] == f'"{stat_result.st_mtime_ns:x}-14"'
    assert "content-disposition" not in response.headers


@pytest.mark.parametrize(
    ("name", "media_type", "expected"),
    [
        ("a.html", None, "text/html; charset=utf-8"),
        ("a.png", None, "image/png"),
        # As Starlette: a type nobody knows is sent as opaque bytes, not as text.
        ("a.unknownext", None, "application/octet-stream"),
        ("noextension", None, "application/octet-stream"),
        ("a.html", "application/x-custom", "application/x-custom"),
    ],
)
async def test_media_type(tmp_path: Path, name: str, media_type: str | None, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"x")
    response = await get(path, media_type=media_type)
    assert response.headers["content-type"] == expected


async def test_media_type_is_guessed_from_the_filename(file: Path) -> None:
    response = await get(file, filename="report.json")
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("filename", "kind", "expected"),
    [
        ("report.pdf", "attachment", 'attachment; filename="report.pdf"'),
        ("my report.pdf", "inline", 'inline; filename="my report.pdf"'),
        (
            "résumé.pdf",
            "attachment",
            "attachment; filename=\"resume.pdf\"; filename*=utf-8''r%C3%A9sum%C3%A9.pdf",
        ),
        (
            "résumé.tar.gz",
            "attachment",
            "attachment; filename=\"resume.tar.gz\"; filename*=utf-8''r%C3%A9sum%C3%A9.tar.gz",
        ),
        (
            "ｆｕｌｌ.pdf",  # noqa: RUF001 - fullwidth letters, on purpose
            "attachment",
            'attachment; filename="full.pdf"; '
            "filename*=utf-8''%EF%BD%86%EF%BD%95%EF%BD%8C%EF%BD%8C.pdf",
        ),
        (
            "日本.txt",
            "attachment",
            "attachment; filename=\"download.txt\"; filename*=utf-8''%E6%97%A5%E6%9C%AC.txt",
        ),
        (
            "日本 .txt",
            "attachment",
            "attachment; filename=\"download.txt\"; filename*=utf-8''%E6%97%A5%E6%9C%AC%20.txt",
        ),
        (
            "報告.日本",
            "attachment",
            "attachment; filename=\"download\"; filename*=utf-8''%E5%A0%B1%E5%91%8A.%E6%97%A5%E6%9C%AC",
        ),
        (
            "ключ\x7f.bin",
            "inline",
            "inline; filename=\"download.bin\"; filename*=utf-8''%D0%BA%D0%BB%D1%8E%D1%87%7F.bin",
        ),
        (
            "＂quoted＂.txt",  # noqa: RUF001 - fullwidth quotes NFKD-normalize to '"'
            "attachment",
            "attachment; filename=\"_quoted_.txt\"; filename*=utf-8''%EF%BC%82quoted%EF%BC%82.txt",
        ),
        (
            "日本",
            "attachment",
            "attachment; filename=\"download\"; filename*=utf-8''%E6%97%A5%E6%9C%AC",
        ),
        (
            'a"b\\c%d.txt',
            "attachment",
            "attachment; filename=\"a_b_c_d.txt\"; filename*=utf-8''a%22b%5Cc%25d.txt",
        ),
        (
            "evil\r\nx: y.txt",
            "attachment",
            "attachment; filename=\"evil__x: y.txt\"; filename*=utf-8''evil%0D%0Ax%3A%20y.txt",
        ),
    ],
)
async def test_content_disposition(file: Path, filename: str, kind: str, expected: str) -> None:
    response = await get(file, filename=filename, content_disposition_type=kind)
    assert response.headers["content-disposition"] == expected


@pytest.mark.parametrize("kind", ["", "attach ment", "a;b", 3])
def test_invalid_content_disposition_type(file: Path, kind: Any) -> None:
    with pytest.raises(ValueError, match="content_disposition_type must be an HTTP token"):
        FileResponse(file, filename="a.txt", content_disposition_type=kind)


async def test_given_headers_win(file: Path) -> None:
    headers = {
        "content-disposition": "inline",
        "accept-ranges": "none",
        "etag": '"mine"',
        "cache-control": "max-age=60",
    }
    response = await client(serve(file, headers=headers, filename="x.txt")).get("/")
    assert response.headers["content-disposition"] == "inline"
    assert response.headers["accept-ranges"] == "none"
    assert response.headers.getlist("etag") == ['"mine"']
    assert response.headers["cache-control"] == "max-age=60"
    # Conditional requests compare against the ETag actually sent.
    response = await client(serve(file, headers=headers)).get(
        "/", headers={"if-none-match": '"mine"'}
    )
    assert response.status_code == 304
    assert response.headers["cache-control"] == "max-age=60"


@pytest.mark.parametrize(
    "filename",
    ["résumé.pdf", 'a"b.txt', "x\\y", "tab\there", "日本", "\u202eexe.txt", "ｆ＂\u2028.txt"],  # noqa: RUF001
)
def test_content_disposition_fallback_is_safe_ascii(file: Path, filename: str) -> None:
    value = FileResponse(file, filename=filename).headers["content-disposition"]
    quoted = value.split('filename="', 1)[1].split('"', 1)[0]
    assert quoted
    assert quoted.isascii()
    assert quoted.isprintable()
    assert not set(quoted) & set('"\\%')
    assert value.endswith("; filename*=utf-8''" + quote(filename, safe=""))


def test_stat_result_sets_the_headers_at_construction(file: Path) -> None:
    response = FileResponse(file, stat_result=file.stat())
    assert response.headers["content-length"] == "20"
    assert "etag" in response.headers
    assert "etag" not in FileResponse(file).headers
    assert FileResponse(file).headers["content-type"] == "text/plain; charset=utf-8"


async def test_stat_result_is_not_looked_up_again(file: Path) -> None:
    stat_result = stat_of(file)
    write(file, CONTENT + b"more")  # the response trusts the given stat_result
    response = await client(serve(file, stat_result=stat_result)).get("/")
    assert response.content == CONTENT


async def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    with pytest.raises(RuntimeError, match=r"File at path .*missing\.txt.* does not exist"):
        await client(serve(missing)).get("/")


async def test_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="is not a file"):
        await client(serve(tmp_path)).get("/")


async def never_receive() -> Message:
    raise AssertionError("not called")


async def test_lifespan_scope_is_refused(file: Path) -> None:
    async def send(message: Message) -> None:
        raise AssertionError("not called")

    with pytest.raises(
        ValueError, match="FileResponse answers 'http' and 'websocket' scopes, got 'lifespan'"
    ):
        await FileResponse(file)({"type": "lifespan"}, never_receive, send)


def websocket_scope(extensions: dict[str, Any] | None) -> Scope:
    scope: Scope = {"type": "websocket", "path": "/", "headers": [(b"range", b"bytes=0-1")]}
    if extensions is not None:
        scope["extensions"] = extensions
    return scope


@pytest.mark.parametrize("chunk_size", [64 * 1024, 7])
async def test_websocket_denial_sends_the_file(file: Path, chunk_size: int) -> None:
    # Sent whole with the response's status: Range and validators are for HTTP requests.
    messages: list[Message] = []
    ran: list[str] = []

    async def send(message: Message) -> None:
        messages.append(message)

    response = FileResponse(
        file, status_code=403, filename="denied.txt", background=BackgroundTask(ran.append, "bg")
    )
    response.chunk_size = chunk_size
    await response(websocket_scope({"websocket.http.response": {}}), never_receive, send)
    start = messages[0]
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 403
    headers = dict(start["headers"])
    assert headers[b"content-length"] == b"20"
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert headers[b"content-disposition"] == b'attachment; filename="denied.txt"'
    assert b"etag" in headers
    assert {m["type"] for m in messages[1:]} == {"websocket.http.response.body"}
    assert b"".join(m["body"] for m in messages[1:]) == CONTENT
    assert [m["more_body"] for m in messages[1:]] == [True] * (len(messages) - 2) + [False]
    assert ran == ["bg"]


async def test_websocket_denial_through_the_test_client(file: Path) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        await FileResponse(file, status_code=401, media_type="text/html")(scope, receive, send)

    with pytest.raises(WebSocketDenialResponse) as denial:
        async with AsyncTestClient(app).websocket_connect("/"):
            pass  # pragma: no cover
    assert denial.value.status_code == 401
    assert denial.value.content == CONTENT
    assert denial.value.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("extensions", [None, {}, {"tls": {}}])
async def test_websocket_denial_without_the_extension_is_a_403_close(
    tmp_path: Path, extensions: dict[str, Any] | None
) -> None:
    messages: list[Message] = []
    ran: list[str] = []

    async def send(message: Message) -> None:
        messages.append(message)

    # Nothing is looked up: the file need not exist for a plain refusal.
    response = FileResponse(tmp_path / "missing", background=BackgroundTask(ran.append, "bg"))
    await response(websocket_scope(extensions), never_receive, send)
    assert messages == [{"type": "websocket.close", "code": 1000}]
    assert ran == ["bg"]


async def test_websocket_denial_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    async def send(message: Message) -> None:
        raise AssertionError("not called")

    response = FileResponse(tmp_path / "missing.txt")
    with pytest.raises(RuntimeError, match=r"missing\.txt.* does not exist"):
        await response(websocket_scope({"websocket.http.response": {}}), never_receive, send)


@pytest.mark.parametrize("fail_at", [0, 1, 2])
async def test_websocket_denial_client_gone_is_quiet(file: Path, fail_at: int) -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        if len(sent) == fail_at:
            raise ConnectionResetError("client gone")
        sent.append(message)

    response = FileResponse(file)
    response.chunk_size = 10
    await response(websocket_scope({"websocket.http.response": {}}), never_receive, send)
    assert len(sent) == fail_at  # start, 10 bytes, 10 bytes, the end: stopped at the failure
    sent.clear()
    await response(websocket_scope(None), never_receive, send)
    assert len(sent) == min(fail_at, 1)  # the close


# --- HEAD ------------------------------------------------------------------------------------


@pytest.mark.parametrize("extensions", TRANSPORTS)
async def test_head_has_the_get_headers_and_no_body(file: Path, extensions: Any) -> None:
    app = serve(file)
    got = await client(app, extensions).get("/")
    head = await client(app, extensions).head("/")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers == got.headers
    assert head.extension_messages == []


async def test_method_argument_defers_to_the_request(file: Path) -> None:
    # The request's own method decides; the argument is kept for Starlette compatibility.
    response = await client(serve(file, method="HEAD")).get("/")
    assert response.content == CONTENT
    response = await client(serve(file, method="GET")).head("/")
    assert response.content == b""
    assert response.headers["content-length"] == "20"


@pytest.mark.parametrize("method", ["head", "Head"])
async def test_head_in_any_case_sends_headers_only(file: Path, method: str) -> None:
    # Starlette upper-cases the scope's method; hand-built scopes (and tests) rely on it.
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await raw_call(FileResponse(file), {"method": method}, send)
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert (b"content-length", b"20") in sent[0]["headers"]
    assert sent[1]["body"] == b""


SPEC_24 = {"spec_version": "2.4"}  # the client's departure shows as OSError, not a receive


@pytest.mark.parametrize("method", ["get", "Get"])
async def test_get_in_any_case_honours_range_and_conditions(file: Path, method: str) -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await raw_call(
        FileResponse(file),
        {"method": method, "headers": [(b"range", b"bytes=2-4")], "asgi": SPEC_24},
        send,
    )
    assert sent[0]["status"] == 206
    assert b"".join(message.get("body", b"") for message in sent[1:]) == b"234"
    sent.clear()
    etag = etag_of(file).encode()
    await raw_call(
        FileResponse(file),
        {"method": method, "headers": [(b"if-none-match", etag)], "asgi": SPEC_24},
        send,
    )
    assert sent[0]["status"] == 304


# --- conditional requests ---------------------------------------------------------------------


def etag_of(path: Path) -> str:
    return f'"{path.stat().st_mtime_ns:x}-{path.stat().st_size:x}"'


def modified_of(path: Path) -> str:
    return format_http_date(path.stat().st_mtime)


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", lambda p: {"if-none-match": etag_of(p)}, 304),
        ("HEAD", lambda p: {"if-none-match": f'"x", W/{etag_of(p)}'}, 304),
        ("GET", lambda p: {"if-none-match": "*"}, 304),
        ("GET", lambda p: {"if-none-match": '"other"'}, 200),
        ("POST", lambda p: {"if-none-match": etag_of(p)}, 412),
        ("GET", lambda p: {"if-modified-since": modified_of(p)}, 304),
        ("GET", lambda p: {"if-modified-since": "Sat, 01 Jan 2000 00:00:00 GMT"}, 200),
        ("GET", lambda p: {"if-match": '"other"'}, 412),
        ("GET", lambda p: {"if-match": etag_of(p)}, 200),
        ("PUT", lambda p: {"if-match": "*"}, 200),
        ("GET", lambda p: {"if-unmodified-since": "Sat, 01 Jan 2000 00:00:00 GMT"}, 412),
        ("GET", lambda p: {"if-unmodified-since": modified_of(p)}, 200),
        ("GET", lambda p: {"if-match": '"other"', "if-none-match": etag_of(p)}, 412),
    ],
)
async def test_conditional_requests(file: Path, method: str, headers: Any, status: int) -> None:
    response = await get(file, headers=headers(file), method=method)
    assert response.status_code == status
    if status == 304:
        assert response.content == b""
        assert dict(response.headers) == {"etag": etag_of(file)}
    elif status == 412:
        assert response.content == b""
        assert response.headers["content-length"] == "0"
    elif method != "HEAD":
        assert response.content == CONTENT


async def test_conditions_apply_to_200_only(file: Path) -> None:
    response = await get(
        file, headers={"if-none-match": "*", "range": "bytes=0-1"}, status_code=404
    )
    assert response.status_code == 404
    assert response.content == CONTENT


async def test_background_runs_after_a_304(file: Path) -> None:
    ran: list[str] = []
    response = await get(
        file,
        headers={"if-none-match": "*"},
        background=BackgroundTask(ran.append, "done"),
    )
    assert response.status_code == 304
    assert ran == ["done"]


# --- ranges ----------------------------------------------------------------------------------


@pytest.mark.parametrize("extensions", TRANSPORTS)
@pytest.mark.parametrize(
    ("field", "content_range", "data"),
    [
        ("bytes=0-0", "bytes 0-0/20", b"0"),
        ("bytes=5-9", "bytes 5-9/20", b"56789"),
        ("bytes=15-", "bytes 15-19/20", b"fghij"),
        ("bytes=-3", "bytes 17-19/20", b"hij"),
        ("bytes=18-99", "bytes 18-19/20", b"ij"),
        ("bytes=0-4,3-7", "bytes 0-7/20", b"01234567"),  # merged into one: no multipart
        ("bytes=0-0,0-0,0-0", "bytes 0-0/20", b"0"),
    ],
)
async def test_single_range(
    file: Path, extensions: Any, field: str, content_range: str, data: bytes
) -> None:
    response = await client(serve(file), extensions).get("/", headers={"range": field})
    assert response.status_code == 206
    assert response.headers["content-range"] == content_range
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.content == data
    # pathsend sends whole files only: a range falls back to the next transport.
    assert all(m["type"] != "http.response.pathsend" for m in response.extension_messages)


@pytest.mark.parametrize("extensions", TRANSPORTS)
async def test_multiple_ranges(file: Path, extensions: Any) -> None:
    response = await client(serve(file), extensions).get(
        "/", headers={"range": "bytes=15-16, 0-1, -2, 1-2"}
    )
    assert response.status_code == 206
    assert "content-range" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))
    assert parse_multipart(response) == [
        ("bytes 0-2/20", b"012"),
        ("bytes 15-16/20", b"fg"),
        ("bytes 18-19/20", b"ij"),
    ]


async def test_multipart_boundary_is_random(file: Path) -> None:
    app = serve(file)
    first = await client(app).get("/", headers={"range": "bytes=0-0,2-2"})
    second = await client(app).get("/", headers={"range": "bytes=0-0,2-2"})
    assert first.headers["content-type"] != second.headers["content-type"]


@pytest.mark.parametrize("field", ["bytes=20-", "bytes=30-40", "bytes=-0", "bytes=25-30,40-"])
async def test_unsatisfiable_range_is_416(file: Path, field: str) -> None:
    response = await get(file, headers={"range": field})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */20"
    assert response.content == b""


async def test_range_of_an_empty_file_is_416(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    response = await get(path, headers={"range": "bytes=0-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */0"


@pytest.mark.parametrize(
    "field",
    ["items=0-1", "bytes=5-1", "bytes=abc", "bytes=", "bytes=0-1;2-3", "bytes=" + "0-0," * 5000],
)
async def test_ignored_range_sends_the_whole_file(file: Path, field: str) -> None:
    response = await get(file, headers={"range": field})
    assert response.status_code == 200
    assert response.content == CONTENT


async def test_max_ranges_can_be_lowered(file: Path) -> None:
    class FewRanges(FileResponse):
        max_ranges = 2

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await FewRanges(file)(scope, receive, send)

    two = await client(app).get("/", headers={"range": "bytes=0-0,5-5"})
    assert two.status_code == 206
    three = await client(app).get("/", headers={"range": "bytes=0-0,5-5,9-9"})
    assert three.status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_range_ignored_for_other_methods(file: Path, method: str) -> None:
    response = await get(file, headers={"range": "bytes=0-1"}, method=method)
    assert response.status_code == 200
    assert response.content == CONTENT


async def test_head_range_has_the_206_headers(file: Path) -> None:
    response = await get(file, headers={"range": "bytes=0-1"}, method="HEAD")
    assert response.status_code == 206
    assert response.headers["content-range"] == "bytes 0-1/20"
    assert response.headers["content-length"] == "2"
    assert response.content == b""


@pytest.mark.parametrize(
    ("if_range", "status"),
    [
        (lambda p: etag_of(p), 206),
        (lambda p: modified_of(p), 206),
        (lambda p: '"stale"', 200),
        (lambda p: "W/" + etag_of(p), 200),
        (lambda p: "Sat, 01 Jan 2000 00:00:00 GMT", 200),
    ],
)
async def test_if_range(file: Path, if_range: Any, status: int) -> None:
    response = await get(file, headers={"range": "bytes=0-1", "if-range": if_range(file)})
    assert response.status_code == status
    assert response.content == (b"01" if status == 206 else CONTENT)


async def test_if_none_match_before_range(file: Path) -> None:
    response = await get(file, headers={"range": "bytes=0-1", "if-none-match": etag_of(file)})
    assert response.status_code == 304


# --- transports ------------------------------------------------------------------------------


async def test_pathsend_sends_the_absolute_path(
    file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(file.parent)
    real = os.path.realpath(file)  # noqa: ASYNC240 - a test, not a server
    response = await client(serve("file.txt"), PATHSEND).get("/")
    assert response.content == CONTENT
    assert response.extension_messages == [{"type": "http.response.pathsend", "path": real}]


async def test_pathsend_resolves_a_relative_path_when_sent(
    file: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Built anywhere, the relative path is resolved (in a worker thread) when the response is
    # sent, as a server given Starlette's relative path would resolve it.
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    response = FileResponse("file.txt", stat_result=stat_of(file))
    monkeypatch.chdir(file.parent)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await response(scope, receive, send)

    sent = await client(app, PATHSEND).get("/")
    real = os.path.realpath(file)  # noqa: ASYNC240 - a test, not a server
    assert sent.extension_messages == [{"type": "http.response.pathsend", "path": real}]


@pytest.mark.parametrize(("inited", "reads"), [(False, 1), (True, 0)])
def test_the_types_database_is_read_once(
    monkeypatch: pytest.MonkeyPatch, inited: bool, reads: int
) -> None:
    # Read again, the database would lose the types an app added before importing microasgi.
    calls: list[Any] = []
    monkeypatch.setattr(mimetypes, "init", lambda: calls.append("read"))
    monkeypatch.setattr(mimetypes, "inited", inited)
    _read_types_database()
    assert len(calls) == reads


def test_the_types_database_is_read_at_import() -> None:
    # So that no guess made while serving reads the system's type files on the event loop.
    code = "import mimetypes, microasgi.responses; print(mimetypes.inited)"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout == "True\n"


async def test_zerocopysend_messages_and_the_file_is_closed(file: Path) -> None:
    response = await client(serve(file), ZEROCOPY).get("/")
    (message,) = response.extension_messages
    assert message["offset"] == 0
    assert message["count"] == 20
    assert message["file"].closed


async def test_zerocopysend_multipart_mixes_body_messages(file: Path) -> None:
    messages: list[Message] = []

    async def recorder(scope: Scope, receive: Receive, send: Send) -> None:
        async def record(message: Message) -> None:
            messages.append(message)
            await send(message)

        await FileResponse(file)(scope, receive, record)

    response = await client(recorder, ZEROCOPY).get("/", headers={"range": "bytes=0-0,5-5"})
    assert parse_multipart(response) == [("bytes 0-0/20", b"0"), ("bytes 5-5/20", b"5")]
    kinds = [(m["type"], m.get("more_body")) for m in messages]
    assert kinds == [
        ("http.response.start", None),
        ("http.response.body", True),
        ("http.response.zerocopysend", True),
        ("http.response.body", True),
        ("http.response.zerocopysend", True),
        ("http.response.body", True),
        ("http.response.body", False),
    ]


@pytest.mark.parametrize("extensions", TRANSPORTS)
async def test_empty_file(tmp_path: Path, extensions: Any) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    response = await client(serve(path), extensions).get("/")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "0"
    # SPEC: some sendfile()s read a count of 0 as "to the end": no zerocopysend is sent.
    assert all(m["type"] != "http.response.zerocopysend" for m in response.extension_messages)


async def test_chunks_of_chunk_size(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    data = os.urandom(10_000)
    path.write_bytes(data)
    sizes: list[int] = []

    class SmallChunks(FileResponse):
        chunk_size = 4096

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def record(message: Message) -> None:
            if message["type"] == "http.response.body" and message["body"]:
                sizes.append(len(message["body"]))
            await send(message)

        await SmallChunks(path)(scope, receive, record)

    response = await client(app).get("/")
    assert response.content == data
    assert sizes == [4096, 4096, 1808]
    sizes.clear()
    response = await client(app).get("/", headers={"range": "bytes=100-8291"})
    assert response.content == data[100:8292]
    assert sizes == [4096, 4096]


async def test_file_shrinking_while_sent_is_an_error(file: Path) -> None:
    stat_result = stat_of(file)
    write(file, CONTENT[:5])
    with pytest.raises(RuntimeError, match="shrank while it was being sent"):
        await client(serve(file, stat_result=stat_result), raise_server_exceptions=True).get("/")


# --- the client leaves -------------------------------------------------------------------------


async def raw_call(app: ASGIApp, scope: dict[str, Any], send: Send) -> None:
    async def receive() -> Message:
        return {"type": "http.disconnect"}

    base = {"type": "http", "method": "GET", "headers": [], "path": "/"}
    await app({**base, **scope}, receive, send)


@pytest.mark.parametrize("extensions", [None, PATHSEND, ZEROCOPY])
@pytest.mark.parametrize("fail_at", [1, 2])
async def test_send_raising_oserror_ends_quietly(file: Path, extensions: Any, fail_at: int) -> None:
    sent: list[Message] = []
    ran: list[str] = []

    async def send(message: Message) -> None:
        if len(sent) + 1 == fail_at:
            raise ConnectionResetError("client gone")
        sent.append(message)

    response = FileResponse(file, background=BackgroundTask(ran.append, "ran"))
    await raw_call(response, {"extensions": extensions or {}}, send)
    assert len(sent) == fail_at - 1
    assert ran == ["ran"]


async def test_head_send_raising_oserror_ends_quietly(file: Path) -> None:
    async def send(message: Message) -> None:
        raise ConnectionResetError("client gone")

    await raw_call(FileResponse(file), {"method": "HEAD"}, send)


@pytest.mark.parametrize("spec_version", ["2.0", "bogus"])
async def test_old_spec_scope_without_body_watches_the_disconnect(
    big_file: Path, spec_version: str
) -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"asgi": {"spec_version": spec_version}, "http_version": "1.1"}
    await raw_call(FileResponse(big_file), scope, send)
    # The watcher saw http.disconnect at once and cancelled the reads: far from 128 chunks.
    assert len(sent) < 10


@pytest.mark.parametrize("ranges", [None, "bytes=0-4194303,4194304-8388607"])
async def test_spec_24_send_that_never_raises_still_stops_a_large_body(
    big_file: Path, ranges: str | None
) -> None:
    # gunicorn's asgi worker (27.0.1) says 2.4, yet its HTTP/1.1 send() returns quietly once the
    # client has gone: past 1 MiB a task watches receive() for http.disconnect all the same.
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [] if ranges is None else [(b"range", ranges.encode())]
    scope = {"asgi": SPEC_24, "http_version": "1.1", "headers": headers}
    await raw_call(FileResponse(big_file), scope, send)
    assert len(sent) < 10  # of 128 chunks


@pytest.mark.parametrize("ranges", [None, "bytes=0-0,2-2"])
async def test_spec_24_body_up_to_1_mib_is_sent_without_a_watcher(
    tmp_path: Path, ranges: str | None
) -> None:
    path = tmp_path / "mib.bin"
    path.write_bytes(b"m" * 1024 * 1024)
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("no task should read receive() for a body of 1 MiB or less")

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [] if ranges is None else [(b"range", ranges.encode())]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": headers,
        "asgi": SPEC_24,
        "http_version": "1.1",
    }
    await FileResponse(path)(scope, receive, send)
    body = b"".join(message.get("body", b"") for message in sent)
    if ranges is None:
        assert len(body) == 1024 * 1024
    else:
        assert body.count(b"\r\n\r\nm\r\n") == 2  # two one-byte parts


class Counter:
    """A middleware counting the body chunks the app sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.chunks = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counting(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                self.chunks += 1
            await send(message)

        await self.app(scope, receive, counting)


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    subprocess.run(["truncate", "-s", "8M", str(path)], check=True)  # sparse: 128 chunks
    return path


@pytest.mark.parametrize(
    ("spec_version", "method", "content"),
    [
        ("2.4", "GET", None),  # send() raises OSError
        ("2.3", "GET", None),  # a task watches receive() for http.disconnect
    ],
)
async def test_reading_stops_when_the_client_leaves(
    big_file: Path, spec_version: str, method: str, content: bytes | None
) -> None:
    counter = Counter(serve(big_file))
    async with client(counter, spec_version=spec_version).stream(method, "/") as response:
        async for chunk in response.aiter_bytes():
            assert chunk
            break
    assert 1 <= counter.chunks < 10  # of 128


async def test_old_spec_with_a_request_body_never_steals_it(big_file: Path) -> None:
    # A request body may still be unread: no watcher (it would steal body messages), so the
    # response runs to the end on a server whose send() does not raise, even one whose receive()
    # already reports the disconnect. (The test client cancels an app that is not waiting for
    # it when the test leaves a stream, so this runs on a raw server stand-in.)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "method": "POST",
        "headers": [(b"content-length", b"11")],
        "asgi": {"spec_version": "2.3"},
        "http_version": "1.1",
    }
    await raw_call(FileResponse(big_file), scope, send)
    assert sum(1 for message in sent if message.get("body")) == 128


async def test_old_spec_complete_download(file: Path) -> None:
    response = await client(serve(file), spec_version="2.3").get("/")
    assert response.content == CONTENT


# --- memory ----------------------------------------------------------------------------------


HUGE = 256 * 1024 * 1024


@pytest.fixture
def huge_file(tmp_path: Path) -> Path:
    path = tmp_path / "huge.bin"
    subprocess.run(["truncate", "-s", str(HUGE), str(path)], check=True)  # sparse
    return path


async def test_256_mib_download_keeps_the_heap_small(huge_file: Path) -> None:
    path, size = huge_file, HUGE
    received = 0
    tracemalloc.start()
    try:
        async with client(serve(path)).stream("GET", "/") as response:
            assert response.headers["content-length"] == str(size)
            async for chunk in response.aiter_bytes():
                received += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_is_a_response() -> None:
    assert issubclass(FileResponse, Response)


async def test_error_under_the_disconnect_watcher_surfaces_as_itself(file: Path) -> None:
    stat_result = stat_of(file)
    write(file, CONTENT[:5])
    with pytest.raises(RuntimeError, match="shrank while it was being sent"):
        await client(serve(file, stat_result=stat_result), spec_version="2.3").get("/")


async def test_validators_removed_by_the_app(file: Path) -> None:
    response = FileResponse(file, stat_result=stat_of(file))
    del response.headers["etag"]
    del response.headers["last-modified"]
    del response.headers["content-type"]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await response(scope, receive, send)

    modified = await client(app).get("/", headers={"if-modified-since": modified_of(file)})
    assert modified.status_code == 200  # no Last-Modified: the date cannot be compared
    assert "etag" not in modified.headers
    assert (await client(app).get("/", headers={"if-none-match": "*"})).status_code == 304
    parts = await client(app).get("/", headers={"range": "bytes=0-0,2-2"})
    assert b"Content-Type: application/octet-stream" in parts.content
