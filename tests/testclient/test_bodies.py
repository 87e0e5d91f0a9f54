"""Request bodies, as HTTPX (and so Starlette's client) sends them: raw content, forms, files, JSON."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.testclient._request import encode_multipart, encode_request
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

TestClientFactory = Callable[..., TestClient]
RAW_DATA_WARNING = r"^Use 'content=<\.\.\.>' to upload raw bytes/text content\.$"


def echo() -> ASGIApp:
    """An app answering with the request headers, body and ``http.request`` messages as JSON."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if not message.get("more_body", False):
                break
        answer = {
            "headers": [[n.decode(), v.decode("latin-1")] for n, v in scope["headers"]],
            "body": b"".join(m.get("body", b"") for m in messages).decode("latin-1"),
            "chunks": [[m["body"].decode("latin-1"), m["more_body"]] for m in messages],
        }
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    return app


def header(answer: dict[str, Any], name: str) -> list[str]:
    return [value for key, value in answer["headers"] if key == name]


def chunks(*parts: bytes) -> Iterator[bytes]:
    yield from parts


async def achunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# --- data= that is not a form: raw content, with HTTPX's deprecation ------------------------------


@pytest.mark.parametrize(
    ("data", "body", "framing"),
    [
        (b"raw bytes", "raw bytes", ("content-length", "9")),
        ("text é", "text é".encode().decode("latin-1"), ("content-length", "7")),
        ([b"a", b"b"], "ab", ("transfer-encoding", "chunked")),
    ],
)
def test_raw_data_is_sent_as_content_with_a_warning(
    test_client_factory: TestClientFactory, data: Any, body: str, framing: tuple[str, str]
) -> None:
    client = test_client_factory(echo())
    with pytest.warns(DeprecationWarning, match=RAW_DATA_WARNING) as caught:
        answer = client.post("/", data=data).json()
    assert answer["body"] == body
    assert header(answer, framing[0]) == [framing[1]]
    assert "content-type" not in dict(answer["headers"])
    # The warning points at the test's own line, as HTTPX's does, not into the client.
    assert [w.filename for w in caught] == [__file__]


async def test_raw_data_async_client() -> None:
    client = AsyncTestClient(echo())
    with pytest.warns(DeprecationWarning, match=RAW_DATA_WARNING) as caught:
        answer = (await client.put("/", data=b"xyz")).json()  # type: ignore[arg-type]
    assert answer["body"] == "xyz"
    assert [w.filename for w in caught] == [__file__]


def test_raw_data_warning_from_a_stream_block(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(echo())
    with pytest.warns(DeprecationWarning, match=RAW_DATA_WARNING) as caught:
        with client.stream("POST", "/", data=b"abc") as response:  # type: ignore[arg-type]
            assert json.loads(response.read())["body"] == "abc"
    assert [w.filename for w in caught] == [__file__]


async def test_a_mapping_stays_a_form() -> None:
    client = AsyncTestClient(echo())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        answer = (await client.post("/", data={"a": "1", "b": ["x", "y"], "c": True})).json()
    assert answer["body"] == "a=1&b=x&b=y&c=true"
    assert header(answer, "content-type") == ["application/x-www-form-urlencoded"]
    assert header(answer, "content-length") == ["18"]


@pytest.mark.parametrize("empty", [{}, None])
async def test_an_empty_form_sends_no_body(empty: Any) -> None:
    answer = (await AsyncTestClient(echo()).post("/", data=empty, files={})).json()
    assert answer["body"] == ""
    assert "content-type" not in dict(answer["headers"])
    assert header(answer, "content-length") == ["0"]


# --- content= ------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["list", "generator", "async generator"])
async def test_iterable_content_streams_in_chunks(source: str) -> None:
    parts = (b"one ", b"two ", b"three")
    content: Any = {
        "list": list(parts),
        "generator": chunks(*parts),
        "async generator": achunks(*parts),
    }[source]
    answer = (await AsyncTestClient(echo()).post("/", content=content)).json()
    assert answer["chunks"] == [["one ", True], ["two ", True], ["three", False]]
    assert header(answer, "transfer-encoding") == ["chunked"]
    assert header(answer, "content-length") == []


@pytest.mark.parametrize("source", ["generator", "async generator"])
def test_iterable_content_streams_in_chunks_sync(
    test_client_factory: TestClientFactory, source: str
) -> None:
    content: Any = chunks(b"a", b"b") if source == "generator" else achunks(b"a", b"b")
    answer = test_client_factory(echo()).post("/", content=content).json()
    assert answer["chunks"] == [["a", True], ["b", False]]
    assert header(answer, "transfer-encoding") == ["chunked"]
    assert header(answer, "content-length") == []


async def test_streamed_content_is_not_kept_on_the_request() -> None:
    response = await AsyncTestClient(echo()).post("/", content=chunks(b"a"))
    assert response.request.content is None
    assert response.request.read() is None
    buffered = await AsyncTestClient(echo()).post("/", content=b"a")
    assert buffered.request.read() == b"a"
    assert await buffered.request.aread() == b"a"


@pytest.mark.parametrize(("method", "length"), [("post", ["0"]), ("get", []), ("delete", [])])
async def test_empty_content(method: str, length: list[str]) -> None:
    client = AsyncTestClient(echo())
    if method == "post":
        answer = (await client.post("/", content=b"")).json()
    else:
        answer = (await client.request(method.upper(), "/", content=b"")).json()
    assert header(answer, "content-length") == length
    assert answer["chunks"] == [["", False]]


async def test_a_file_object_is_read_in_chunks_with_its_length(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 100_000)
    with path.open("rb") as file:
        answer = (await AsyncTestClient(echo()).post("/", content=file)).json()
    assert header(answer, "content-length") == ["100000"]
    assert [len(c) for c, _ in answer["chunks"]] == [65536, 100_000 - 65536]
    assert header(answer, "transfer-encoding") == []


def test_a_bytesio_sends_its_length(test_client_factory: TestClientFactory) -> None:
    stream = io.BytesIO(b"line one\nline two\n")
    answer = test_client_factory(echo()).post("/", content=stream).json()
    assert header(answer, "content-length") == ["18"]
    assert answer["chunks"] == [["line one\nline two\n", False]]


class _Lines:
    """Iterable, with a read() but neither a size nor a position: streamed chunked."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._file)

    def read(self, size: int) -> bytes:
        return self._file.read(size)


class _AsyncFile:
    """An async file object (``aread``), as anyio and aiofiles give."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise AssertionError("read with aread(), not iterated")  # pragma: no cover

    async def aread(self, size: int) -> bytes:
        return self._file.read(size)


async def test_file_like_objects_without_a_size() -> None:
    client = AsyncTestClient(echo())
    answer = (await client.post("/", content=_Lines(b"a\nb\n"))).json()
    assert answer["chunks"] == [["a\nb\n", False]]
    assert header(answer, "transfer-encoding") == ["chunked"]
    answer = (await client.post("/", content=_AsyncFile(b"a\nb\n"))).json()
    assert answer["chunks"] == [["a\nb\n", False]]
    assert header(answer, "transfer-encoding") == ["chunked"]


async def test_a_dict_is_not_content() -> None:
    with pytest.raises(TypeError, match=r"content= takes .* got dict.*data="):
        await AsyncTestClient(echo()).post("/", content={"a": 1})  # type: ignore[dict-item]


# --- the test's own headers win over the body's --------------------------------------------------


async def test_a_given_content_type_wins() -> None:
    client = AsyncTestClient(echo())
    answer = (
        await client.post("/", json={"a": 1}, headers={"Content-Type": "application/vnd+json"})
    ).json()
    assert header(answer, "content-type") == ["application/vnd+json"]
    assert answer["body"] == '{"a":1}'


async def test_a_given_content_length_drops_chunked_framing() -> None:
    answer = (
        await AsyncTestClient(echo()).post(
            "/", content=chunks(b"ab", b"c"), headers={"content-length": "3"}
        )
    ).json()
    assert header(answer, "content-length") == ["3"]
    assert header(answer, "transfer-encoding") == []


async def test_a_given_transfer_encoding_means_no_content_length() -> None:
    answer = (
        await AsyncTestClient(echo()).post("/", headers={"transfer-encoding": "chunked"})
    ).json()
    assert header(answer, "content-length") == []


# --- multipart -----------------------------------------------------------------------------------


def parts(answer: dict[str, Any]) -> list[str]:
    """The multipart body split at its boundary (without the closing delimiter)."""
    boundary = header(answer, "content-type")[0].split("boundary=")[1]
    body: str = answer["body"]
    return body.split(f"--{boundary}")[1:-1]


async def test_custom_part_headers_come_before_content_type() -> None:
    files = {"f": ("name.txt", b"data", "text/plain", {"X-Custom": "1"})}
    answer = (await AsyncTestClient(echo()).post("/", files=files)).json()
    assert parts(answer) == [
        '\r\nContent-Disposition: form-data; name="f"; filename="name.txt"'
        "\r\nX-Custom: 1\r\nContent-Type: text/plain\r\n\r\ndata\r\n"
    ]


def test_custom_part_headers_sync(test_client_factory: TestClientFactory) -> None:
    files = [("f", ("a.csv", "x,y", None, {"X-A": "1", "X-B": "2"}))]
    answer = test_client_factory(echo()).post("/", files=files).json()
    assert parts(answer) == [
        '\r\nContent-Disposition: form-data; name="f"; filename="a.csv"'
        "\r\nX-A: 1\r\nX-B: 2\r\nContent-Type: text/csv\r\n\r\nx,y\r\n"
    ]


@pytest.mark.parametrize(
    ("value", "head"),
    [
        # A content-type among the part's headers wins over the tuple's (HTTPX's rule).
        (
            ("a.txt", b"1", "text/plain", {"content-type": "text/csv"}),
            'name="f"; filename="a.txt"\r\ncontent-type: text/csv',
        ),
        ((None, b"1"), 'name="f"'),  # no filename: neither filename nor content-type
        (("", b"1"), 'name="f"'),
        (
            ("a.bin", b"1", None),
            'name="f"; filename="a.bin"\r\nContent-Type: application/octet-stream',
        ),
        (b"1", 'name="f"; filename="upload"\r\nContent-Type: application/octet-stream'),
        ("1", 'name="f"; filename="upload"\r\nContent-Type: application/octet-stream'),
        (
            ('q"u\\o\x01\x1b.txt', b"1"),
            'name="f"; filename="q%22u\\\\o%01\x1b.txt"\r\nContent-Type: text/plain',
        ),
    ],
)
async def test_file_part_headers(value: Any, head: str) -> None:
    answer = (await AsyncTestClient(echo()).post("/", files={"f": value})).json()
    assert parts(answer) == [f"\r\nContent-Disposition: form-data; {head}\r\n\r\n1\r\n"]


async def test_fields_and_files(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(b"{}")
    with path.open("rb") as handle:
        handle.read()  # the whole file is sent, from its start, as HTTPX does
        answer = (
            await AsyncTestClient(echo()).post(
                "/",
                data={"n": 1, "l": ["a", b"\xff"], "none": None, "b": False},
                files={"doc": handle},
            )
        ).json()
    fields = [part.split("\r\n\r\n", 1) for part in parts(answer)]
    assert fields == [
        ['\r\nContent-Disposition: form-data; name="n"', "1\r\n"],
        ['\r\nContent-Disposition: form-data; name="l"', "a\r\n"],
        ['\r\nContent-Disposition: form-data; name="l"', "\xff\r\n"],
        ['\r\nContent-Disposition: form-data; name="none"', "\r\n"],
        ['\r\nContent-Disposition: form-data; name="b"', "false\r\n"],
        [
            '\r\nContent-Disposition: form-data; name="doc"; filename="report.json"'
            "\r\nContent-Type: application/json",
            "{}\r\n",
        ],
    ]
    assert header(answer, "content-length") == [str(len(answer["body"].encode("latin-1")))]


async def test_an_unseekable_upload_is_read_as_it_is() -> None:
    class Pipe:
        name = "pipe.txt"

        def read(self) -> str:
            return "from a pipe"

    answer = (await AsyncTestClient(echo()).post("/", files={"f": Pipe()})).json()  # type: ignore[dict-item]
    assert parts(answer)[0].endswith("\r\n\r\nfrom a pipe\r\n")


async def test_a_given_multipart_content_type_keeps_its_boundary() -> None:
    headers = {"content-type": 'multipart/form-data; charset=utf-8; boundary="fixed-boundary"'}
    answer = (
        await AsyncTestClient(echo()).post("/", files={"f": ("a.txt", b"1")}, headers=headers)
    ).json()
    assert header(answer, "content-type") == [headers["content-type"]]
    assert answer["body"].startswith("--fixed-boundary\r\n")
    assert answer["body"].endswith("--fixed-boundary--\r\n")


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", "text/plain; boundary=x"],
)
def test_a_content_type_without_a_usable_boundary_gets_one(content_type: str) -> None:
    headers, body, _ = encode_request(
        "POST", [(b"content-type", content_type.encode())], files={"f": b"1"}
    )
    assert dict(headers)[b"content-type"] == content_type.encode()
    assert isinstance(body, bytes)
    assert not body.startswith(b"--x\r\n")
    assert body.endswith(b"--\r\n")


async def test_text_mode_uploads_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hi")
    client = AsyncTestClient(echo())
    with path.open() as text, pytest.raises(TypeError, match=r"text file \(TextIOWrapper\).*'rb'"):
        await client.post("/", files={"f": text})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match=r"text file \(StringIO\)"):
        await client.post("/", files={"f": ("a.txt", io.StringIO("hi"))})  # type: ignore[dict-item]


async def test_bad_form_values_are_refused() -> None:
    with pytest.raises(TypeError, match=r"Form field 'f' must be .* got dict"):
        await AsyncTestClient(echo()).post("/", data={"f": {"x": 1}}, files={"g": b"1"})


def test_encode_multipart_with_a_given_boundary() -> None:
    content_type, body = encode_multipart({"a": "1"}, {}, boundary=b"b0")
    assert content_type == "multipart/form-data; boundary=b0"
    assert body == b'--b0\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b0--\r\n'
