"""The HTTP side of TestClient and AsyncTestClient, against small raw ASGI apps."""

from __future__ import annotations

import email.parser
import email.policy
import gzip
import itertools
import json
import zlib
from asyncio import Task
from asyncio import current_task as asyncio_current_task
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, cast

import anyio
import anyio.lowlevel
import pytest
import sniffio
import trio.lowlevel

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.middleware import Middleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse
from microasgi.routing import Route
from microasgi.testclient import (
    ASGIProtocolError,
    AsyncTestClient,
    Cookies,
    HTTPStatusError,
    TestClient,
    TestResponse,
    TooManyRedirects,
)
from microasgi.testclient._decoding import accept_encoding
from microasgi.types import ASGIApp, Message, Receive, Scope, Send
from microasgi.websockets import WebSocket, WebSocketDisconnect

ASGIInstance = Callable[[Receive, Send], Any]


class TestClientFactory(Protocol):
    """The ``test_client_factory`` fixture: ``TestClient`` on the test's backend."""

    __test__: bool  # False: not a pytest test class, despite the name

    def __call__(self, app: ASGIApp, **options: Any) -> TestClient: ...


TestClientFactory.__test__ = False


def respond(
    body: bytes = b"", status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
) -> ASGIApp:
    """An app answering every request with one response."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        await send({"type": "http.response.body", "body": body})

    return app


def script(*messages: Message) -> ASGIApp:
    """An app sending exactly ``messages`` (to trigger each checker rule)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    return app


async def read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    messages = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body, messages


def scope_echo() -> ASGIApp:
    """An app answering with its scope (and the body it received) as JSON."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body, messages = await read_body(receive)
        shown = {
            key: value.decode("latin-1") if isinstance(value, bytes) else value
            for key, value in scope.items()
        }
        shown["headers"] = [[n.decode(), v.decode()] for n, v in scope["headers"]]
        shown["body"] = body.decode("latin-1")
        shown["chunks"] = [
            [m.get("body", b"").decode(), m.get("more_body", False)] for m in messages
        ]
        data = json.dumps(shown).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": data})

    return app


START: Message = {"type": "http.response.start", "status": 200, "headers": []}
END: Message = {"type": "http.response.body", "body": b""}


# --- scope ----------------------------------------------------------------------------------------


async def test_scope_is_what_a_server_sends() -> None:
    client = AsyncTestClient(scope_echo())
    scope = (await client.get("/caf%C3%A9/a%2Fb?x=1&y=%20", params={"z": "2"})).json()
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/café/a/b"
    assert scope["raw_path"] == "/caf%C3%A9/a%2Fb"
    assert scope["query_string"] == "x=1&y=%20&z=2"
    assert scope["root_path"] == ""
    assert scope["client"] == ["testclient", 50000]
    assert scope["server"] == ["testserver", 80]
    # What Starlette's client advertises; the lifespan state (empty outside the lifespan block).
    assert scope["extensions"] == {"http.response.debug": {}, "http.response.trailers": {}}
    assert scope["state"] == {}
    assert scope["headers"] == [
        ["host", "testserver"],
        ["accept", "*/*"],
        ["accept-encoding", accept_encoding()],  # gzip, deflate (br, zstd when installed)
        ["connection", "keep-alive"],
        ["user-agent", "testclient"],
    ]
    assert scope["chunks"] == [["", False]]


async def test_scope_options() -> None:
    client = AsyncTestClient(
        scope_echo(),
        base_url="https://example.org:8443/api",
        root_path="/api",
        headers={"X-Client": "1"},
        extensions={"http.response.push": {"x": 1}},
        spec_version="2.3",
        client=("10.0.0.1", 1234),
    )
    scope = (await client.get("/users", headers={"x-client": "2", "Accept": "text/html"})).json()
    assert scope["scheme"] == "https"
    assert scope["path"] == "/api/users"
    assert scope["root_path"] == "/api"
    assert scope["server"] == ["example.org", 8443]
    assert scope["client"] == ["10.0.0.1", 1234]
    assert scope["asgi"]["spec_version"] == "2.3"
    assert scope["extensions"] == {"http.response.push": {"x": 1}}
    headers = dict(scope["headers"])
    assert headers["host"] == "example.org:8443"
    assert headers["x-client"] == "2"
    assert headers["accept"] == "text/html"


@pytest.mark.parametrize(
    ("url", "params", "path", "query"),
    [
        ("/", None, "/", ""),
        ("", None, "/", ""),
        ("?a=1", None, "/", "a=1"),
        ("/p", {"a": ["1", "2"], "b": True, "c": None, "d": 1.5}, "/p", "a=1&a=2&b=true&c=&d=1.5"),
        ("/p?x=1", [("y", "2")], "/p", "x=1&y=2"),
        ("/p", "a=1&b=%20", "/p", "a=1&b=+"),
        ("/p", b"a=1", "/p", "a=1"),
        ("/é x", None, "/é x", ""),
        ("http://other.host/q?k=v", None, "/q", "k=v"),
    ],
)
async def test_urls_and_params(url: str, params: Any, path: str, query: str) -> None:
    scope = (await AsyncTestClient(scope_echo()).get(url, params=params)).json()
    assert scope["path"] == path
    assert scope["query_string"] == query


async def test_query_is_percent_encoded() -> None:
    scope = (await AsyncTestClient(scope_echo()).get("/?q=é x")).json()
    assert scope["query_string"] == "q=%C3%A9%20x"


@pytest.mark.parametrize("base_url", ["testserver", "ftp://host", "http://"])
def test_bad_base_url(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        AsyncTestClient(scope_echo(), base_url=base_url)


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="spec_version"):
        AsyncTestClient(scope_echo(), spec_version="latest")
    with pytest.raises(TypeError, match="extensions"):
        AsyncTestClient(scope_echo(), extensions={"http.response.push": True})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="backend"):
        TestClient(scope_echo(), backend="curio")  # type: ignore[arg-type]


def test_header_injection_is_refused(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(scope_echo())
    with pytest.raises(ValueError, match="control character"):
        client.get("/", headers={"x": "a\r\nb: c"})


# --- request bodies ------------------------------------------------------------------------------


async def agen(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@pytest.mark.parametrize(
    ("content", "chunks", "framing"),
    [
        (b"abc", [["abc", False]], ("content-length", "3")),
        ("é", [["é", False]], ("content-length", "2")),
        (
            [b"a", "b", b"c"],
            [["a", True], ["b", True], ["c", False]],
            ("transfer-encoding", "chunked"),
        ),
        (iter([]), [["", False]], ("transfer-encoding", "chunked")),
    ],
)
async def test_request_body_streams_with_more_body(
    content: Any, chunks: list[Any], framing: tuple[str, str]
) -> None:
    scope = (await AsyncTestClient(scope_echo()).post("/", content=content)).json()
    assert scope["chunks"] == chunks
    assert framing in [tuple(h) for h in scope["headers"]]


async def test_request_body_from_an_async_iterable() -> None:
    scope = (await AsyncTestClient(scope_echo()).put("/", content=agen(b"x", b"y"))).json()
    assert scope["chunks"] == [["x", True], ["y", False]]

    class Chunks:
        """An async iterable that is not a generator: nothing to close."""

        def __init__(self) -> None:
            self.left = [b"p", b"q"]

        def __aiter__(self) -> Chunks:
            return self

        async def __anext__(self) -> bytes:
            if not self.left:
                raise StopAsyncIteration
            return self.left.pop(0)

    scope = (await AsyncTestClient(scope_echo()).put("/", content=Chunks())).json()
    assert scope["body"] == "pq"


@pytest.mark.parametrize("method", ["post", "put", "patch"])
async def test_empty_body_methods_send_content_length_zero(method: str) -> None:
    scope = (await getattr(AsyncTestClient(scope_echo()), method)("/")).json()
    assert ["content-length", "0"] in scope["headers"]


async def test_form_and_json_bodies() -> None:
    client = AsyncTestClient(scope_echo())
    form = (await client.post("/", data={"a": "1", "b": ["x y", "é"]})).json()
    assert form["body"] == "a=1&b=x+y&b=%C3%A9"
    assert ["content-type", "application/x-www-form-urlencoded"] in form["headers"]
    sent = (await client.patch("/", json={"k": ["é", 1]})).json()
    assert json.loads(sent["body"].encode("latin-1")) == {"k": ["é", 1]}
    assert ["content-type", "application/json"] in sent["headers"]


async def test_bad_bodies_are_refused() -> None:
    client = AsyncTestClient(scope_echo())
    with pytest.raises(TypeError, match="content= takes"):
        await client.post("/", content=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must yield bytes or str"):
        await client.post("/", content=[1])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="timeout"):
        await client.get("/", timeout="1")  # type: ignore[arg-type]


async def test_multipart_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(b"a,b\n1,2\n")
    client = AsyncTestClient(scope_echo())
    with path.open("rb") as handle:
        response = await client.post(
            "/",
            data={'ti"tle': 'say "hi"', "tags": ["x", "y"]},
            files=[
                ("upload", handle),
                ("text", ("notes.txt", "héllo")),
                ("raw", (None, b"\x00\x01", "application/x-raw")),
                ("field", (None, b"plain value")),
                ("typed", ("data.bin", b"xyz", "application/custom", {"X-Extra": "1"})),
                ("plain", b"bare"),
                ("guess", ("file.unknownext", b"?")),
            ],
        )
    sent = response.json()
    content_type = dict(sent["headers"])["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    raw = f"Content-Type: {content_type}\r\n\r\n".encode() + sent["body"].encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    parts = [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_content_type() if part["content-type"] else None,
            part.get_payload(decode=True),
            part["x-extra"],
        )
        for part in message.iter_parts()
    ]
    assert parts == [
        ("ti%22tle", None, None, b'say "hi"', None),
        ("tags", None, None, b"x", None),
        ("tags", None, None, b"y", None),
        ("upload", "report.csv", "text/csv", b"a,b\n1,2\n", None),
        ("text", "notes.txt", "text/plain", "héllo".encode(), None),
        ("raw", None, "application/x-raw", b"\x00\x01", None),
        ("field", None, None, b"plain value", None),
        ("typed", "data.bin", "application/custom", b"xyz", "1"),
        ("plain", "upload", "application/octet-stream", b"bare", None),
        ("guess", "file.unknownext", "application/octet-stream", b"?", None),
    ]


async def test_multipart_parses_with_the_multipart_package() -> None:
    import multipart

    sent = (await AsyncTestClient(scope_echo()).post("/", files={"f": ("a.txt", b"data")})).json()
    boundary = dict(sent["headers"])["content-type"].split("boundary=")[1]
    parser = multipart.PushMultipartParser(boundary)
    events = list(parser.parse(sent["body"].encode("latin-1"))) + list(parser.parse(b""))
    segments = [e for e in events if isinstance(e, multipart.MultipartSegment)]
    assert [(s.name, s.filename, s.content_type) for s in segments] == [
        ("f", "a.txt", "text/plain")
    ]
    assert b"".join(e for e in events if isinstance(e, bytes | bytearray)) == b"data"


# --- responses -----------------------------------------------------------------------------------


async def test_response_attributes() -> None:
    app = respond(
        b'{"a": 1}',
        headers=[(b"content-type", b"application/json"), (b"x-multi", b"1"), (b"x-multi", b"2")],
    )
    response = await AsyncTestClient(app).get("/path?q=1")
    assert repr(response) == "<TestResponse [200 OK]>"
    assert response.status_code == 200
    assert response.reason_phrase == "OK"
    assert response.http_version == "HTTP/1.1"
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers.getlist("x-multi") == ["1", "2"]
    assert response.content == b'{"a": 1}'
    assert response.json() == {"a": 1}
    assert response.url == "http://testserver/path?q=1"
    assert response.url.path == "/path"
    assert response.request.method == "GET"
    assert response.request.headers["host"] == "testserver"
    assert response.request.content == b""
    assert repr(response.request) == "<TestRequest [GET] 'http://testserver/path?q=1'>"
    assert response.history == []
    assert response.is_success
    assert not response.is_error
    assert not response.is_redirect
    assert response.raise_for_status() is response
    assert response.is_closed
    assert response.push_promises == []
    assert response.early_hints == []
    assert response.trailers is None
    assert response.debug_info is None
    assert response.extension_messages == []
    assert list(response.iter_bytes()) == [b'{"a": 1}']
    assert [chunk async for chunk in response.aiter_bytes(3)] == [b'{"a', b'": ', b"1}"]
    assert list(response.iter_lines()) == ['{"a": 1}']
    response.close()
    await response.aclose()


@pytest.mark.parametrize(
    ("content_type", "body", "text", "encoding"),
    [
        (b"text/plain; charset=latin-1", "é".encode("latin-1"), "é", "iso8859-1"),
        (b'text/plain; charset="utf-16"', "é".encode("utf-16"), "é", "utf-16"),
        (b"text/plain; charset=bogus", "é".encode(), "é", "utf-8"),
        (b"text/plain; format=flowed", "é".encode(), "é", "utf-8"),
        (b"text/plain", b"\xff", "\ufffd", "utf-8"),
    ],
)
async def test_text_decoding(content_type: bytes, body: bytes, text: str, encoding: str) -> None:
    response = await AsyncTestClient(respond(body, headers=[(b"content-type", content_type)])).get(
        "/"
    )
    assert response.text == text
    assert response.encoding == encoding


@pytest.mark.parametrize(
    ("status", "flags", "error"),
    [
        (101, {"is_informational"}, "Informational response '101 Switching Protocols'"),
        (302, set(), "Redirect response '302 Found'"),
        (404, {"is_client_error", "is_error"}, "Client error '404 Not Found'"),
        (503, {"is_server_error", "is_error"}, "Server error '503 Service Unavailable'"),
        (299, {"is_success"}, None),
        (799, set(), "Invalid status code '799 '"),
    ],
)
def test_status_predicates(status: int, flags: set[str], error: str | None) -> None:
    response = TestResponse(status)
    names = ["is_informational", "is_success", "is_client_error", "is_server_error", "is_error"]
    assert {name for name in names if getattr(response, name)} == flags
    if error is None:
        assert response.raise_for_status() is response
        return
    with pytest.raises(HTTPStatusError, match=error) as caught:
        response.raise_for_status()
    assert caught.value.response is response


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        ([b"a\nb\r\nc\rd"], ["a", "b", "c", "d"]),
        ([b"a\r", b"\nb"], ["a", "b"]),
        ([b"a", b"b\n", b"\n"], ["ab", ""]),
        ([b"line\n"], ["line"]),
        ([b""], []),
    ],
)
async def test_lines_across_chunks(chunks: list[bytes], lines: list[str]) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send(END)

    async with AsyncTestClient(app).stream("GET", "/") as response:
        assert [line async for line in response.aiter_lines()] == lines


def test_lines_sync(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(respond("é\nx".encode()))
    with client.stream("GET", "/") as response:
        assert list(response.iter_lines()) == ["é", "x"]
    with client.stream("GET", "/") as response:
        assert list(response.iter_text()) == ["é\nx"]
    assert list(client.get("/").iter_text()) == ["é\nx"]


async def test_aiter_text_decodes_split_characters() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({**START, "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
        for byte in "é".encode():
            await send({"type": "http.response.body", "body": bytes([byte]), "more_body": True})
        await send({"type": "http.response.body", "body": b"\xc3"})

    async with AsyncTestClient(app).stream("GET", "/") as response:
        assert [text async for text in response.aiter_text()] == ["é", "\ufffd"]


@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        (b"gzip", gzip.compress),
        (b"deflate", zlib.compress),
        (b"identity", lambda data: data),
    ],
)
async def test_content_encoding_is_decoded(
    coding: bytes, compress: Callable[[bytes], bytes]
) -> None:
    body = compress(b"hello " * 100)
    app = respond(body, headers=[(b"content-encoding", coding)])
    client = AsyncTestClient(app)
    assert (await client.get("/")).content == b"hello " * 100
    async with client.stream("GET", "/") as response:
        assert b"".join([c async for c in response.aiter_bytes()]) == b"hello " * 100


async def test_head_response_has_no_body() -> None:
    app = respond(b"body", headers=[(b"content-length", b"4")])
    response = await AsyncTestClient(app).head("/")
    assert response.content == b""
    assert response.headers["content-length"] == "4"


async def test_every_method() -> None:
    client = AsyncTestClient(scope_echo())
    for method in ("get", "head", "options", "delete", "post", "put", "patch"):
        response = await getattr(client, method)("/")
        assert response.request.method == method.upper()
    assert (await client.request("purge", "/")).json()["method"] == "PURGE"


def test_every_method_sync(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(scope_echo())
    for method in ("get", "head", "options", "delete", "post", "put", "patch"):
        response = getattr(client, method)("/", headers={"x": "1"})
        assert response.request.method == method.upper()
        assert response.request.headers["x"] == "1"
    assert client.request("PURGE", "/").json()["method"] == "PURGE"
    assert client.app is not None
    assert client.base_url == "http://testserver"


# --- raise_server_exceptions ---------------------------------------------------------------------


async def test_app_exceptions_surface_as_themselves() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError, match="boom"):
        await AsyncTestClient(app).get("/")
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/")
    assert response.status_code == 500
    assert response.content == b""


def test_app_exceptions_sync(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise ZeroDivisionError("late")

    with pytest.raises(ZeroDivisionError, match="late"):
        test_client_factory(app).get("/")
    response = test_client_factory(app, raise_server_exceptions=False).get("/")
    assert (response.status_code, response.content) == (200, b"partial")


# --- the checker, end to end ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "rule"),
    [
        (script(END), "http.order"),
        (script(START, END, END), "http.order"),
        (script({**START, "status": "200"}), "http.response.start.status"),
        (script({**START, "headers": [("x", "1")]}), "headers.bytes"),
        (script(START, {"type": "http.response.body", "body": "text"}), "http.response.body.body"),
        (
            script(START, {"type": "http.response.push", "path": "/a", "headers": []}),
            "extension.not_advertised",
        ),
        (
            script(
                {**START, "headers": [(b"content-length", b"1")]},
                {"type": "http.response.body", "body": b"12"},
            ),
            "http.content_length",
        ),
        (
            script(
                {**START, "headers": [(b"content-length", b"5")]},
                {"type": "http.response.body", "body": b"12"},
            ),
            "http.content_length",
        ),
        (
            script({**START, "status": 204}, {"type": "http.response.body", "body": b"x"}),
            "http.body.forbidden",
        ),
        (script(START), "http.incomplete"),
        (script(START, {**END, "more_body": True}), "http.incomplete"),
    ],
)
async def test_protocol_errors_raise_naming_the_rule(app: ASGIApp, rule: str) -> None:
    for raise_server_exceptions in (True, False):
        client = AsyncTestClient(app, raise_server_exceptions=raise_server_exceptions)
        with pytest.raises(ASGIProtocolError) as caught:
            await client.get("/")
        assert caught.value.rule == rule


async def test_protocol_errors_cannot_be_swallowed_by_the_app() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({**START, "status": "bad"})
        except AssertionError:
            await send(START)  # an error middleware trying to answer 500 instead

    with pytest.raises(ASGIProtocolError) as caught:
        await AsyncTestClient(app).get("/")
    assert caught.value.rule == "http.response.start.status"


async def test_protocol_errors_while_streaming() -> None:
    app = script(START, {"type": "http.response.body", "body": "text"})
    with pytest.raises(ASGIProtocolError, match="must be bytes"):
        async with AsyncTestClient(app).stream("GET", "/") as response:
            await response.aread()
    with pytest.raises(ASGIProtocolError, match=r"before|waiting"):
        async with AsyncTestClient(script(END)).stream("GET", "/"):
            pass  # pragma: no cover


# --- extensions: recorded on the response --------------------------------------------------------

EVERY_EXTENSION: dict[str, dict[str, Any]] = {
    "http.response.debug": {},
    "http.response.early_hint": {},
    "http.response.push": {},
    "http.response.trailers": {},
}


async def test_extension_messages_are_recorded() -> None:
    messages: list[Message] = [
        {"type": "http.response.debug", "info": {"template": "index.html", "context": {"a": 1}}},
        {"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]},
        {**START, "trailers": True},
        {"type": "http.response.push", "path": "/a.css", "headers": [(b"accept", b"text/css")]},
        {"type": "http.response.body", "body": b"page"},
        {"type": "http.response.trailers", "headers": [(b"x-a", b"1")], "more_trailers": True},
        {"type": "http.response.trailers", "headers": [(b"x-b", b"2")]},
    ]
    response = await AsyncTestClient(script(*messages), extensions=EVERY_EXTENSION).get("/")
    assert response.content == b"page"
    assert response.debug_info == {"template": "index.html", "context": {"a": 1}}
    assert response.template == "index.html"
    assert response.context == {"a": 1}
    assert response.early_hints == [["</a.css>; rel=preload"]]
    assert [(path, dict(headers)) for path, headers in response.push_promises] == [
        ("/a.css", {"accept": "text/css"})
    ]
    assert response.trailers is not None
    assert dict(response.trailers) == {"x-a": "1", "x-b": "2"}
    assert [m["type"] for m in response.extension_messages] == [
        "http.response.debug",
        "http.response.early_hint",
        "http.response.push",
        "http.response.trailers",
        "http.response.trailers",
    ]


async def test_template_needs_debug_info() -> None:
    response = await AsyncTestClient(
        script({"type": "http.response.debug", "info": {}}, START, END)
    ).get("/")
    assert response.debug_info == {}
    with pytest.raises(AttributeError, match="'template'"):
        _ = response.template
    with pytest.raises(AttributeError, match="'context'"):
        _ = (await AsyncTestClient(respond()).get("/")).context


async def test_pathsend_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"from disk")
    app = script(START, {"type": "http.response.pathsend", "path": str(path)})
    client = AsyncTestClient(app, extensions={"http.response.pathsend": {}})
    assert (await client.get("/")).content == b"from disk"
    async with client.stream("GET", "/") as response:
        assert [c async for c in response.aiter_bytes()] == [b"from disk"]
    missing = script(START, {"type": "http.response.pathsend", "path": str(tmp_path / "nope")})
    with pytest.raises(ASGIProtocolError, match="cannot read") as caught:
        await AsyncTestClient(missing, extensions={"http.response.pathsend": {}}).get("/")
    assert caught.value.rule == "http.response.pathsend.path"


async def test_zerocopysend_reads_offset_and_count(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789" * 10000)
    positions: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        with path.open("rb") as file:
            file.seek(5)
            await send(START)
            await send(
                {"type": "http.response.zerocopysend", "file": file, "count": 3, "more_body": True}
            )
            positions.append(file.tell())
            await send(
                {
                    "type": "http.response.zerocopysend",
                    "file": file,
                    "offset": 0,
                    "count": 2,
                    "more_body": True,
                }
            )
            positions.append(file.tell())
            await send({"type": "http.response.body", "body": b"|", "more_body": True})
            await send({"type": "http.response.zerocopysend", "file": file, "offset": 99998})
            await send(
                {"type": "http.response.zerocopysend", "file": file, "offset": 0, "count": 0}
            )  # after the end

    client = AsyncTestClient(app, extensions={"http.response.zerocopysend": {}})
    with pytest.raises(ASGIProtocolError, match=r"http\.order"):
        await client.get("/")
    assert positions == [8, 8]

    async def whole(scope: Scope, receive: Receive, send: Send) -> None:
        with path.open("rb") as file:
            await send(START)
            await send(
                {
                    "type": "http.response.zerocopysend",
                    "file": file,
                    "offset": 0,
                    "count": 2,
                    "more_body": True,
                }
            )
            await send({"type": "http.response.zerocopysend", "file": file})

    response = await AsyncTestClient(whole, extensions={"http.response.zerocopysend": {}}).get("/")
    assert response.content == b"01" + b"0123456789" * 10000


# --- cookies -------------------------------------------------------------------------------------


def cookie_app() -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        headers = [(b"x-got", dict(scope["headers"]).get(b"cookie", b""))]
        if path == "/set":
            headers += [
                (b"set-cookie", b"session=abc; Path=/"),
                (b"set-cookie", b"theme=dark; Path=/"),
                (b"set-cookie", b"scoped=1; Path=/admin"),
                (b"set-cookie", b"gone=1; Max-Age=0"),
            ]
        elif path == "/expire":
            headers.append((b"set-cookie", b"session=; Max-Age=0; Path=/"))
        elif path == "/secure":
            headers.append((b"set-cookie", b"secret=1; Secure; Path=/"))
        elif path == "/other-domain":
            headers.append((b"set-cookie", b"foreign=1; Domain=example.com; Path=/"))
        await send({**START, "headers": headers})
        await send(END)

    return app


async def test_cookies_persist_and_follow_the_rules() -> None:
    client = AsyncTestClient(cookie_app())
    response = await client.get("/set")
    assert dict(response.cookies) == {"session": "abc", "theme": "dark", "scoped": "1"}
    assert (await client.get("/")).headers["x-got"] == "session=abc; theme=dark"
    assert (await client.get("/admin/x")).headers["x-got"] == "scoped=1; session=abc; theme=dark"
    await client.get("/expire")
    assert (await client.get("/")).headers["x-got"] == "theme=dark"
    await client.get("/secure")
    await client.get("/other-domain")
    assert "secret" not in (await client.get("/")).headers["x-got"]
    assert client.cookies.get("foreign") is None
    assert (await client.get("/", cookies={"theme": "light", "x": "1"})).headers[
        "x-got"
    ] == "theme=light; x=1"


async def test_secure_cookies_go_to_https_only() -> None:
    client = AsyncTestClient(cookie_app(), base_url="https://testserver")
    await client.get("/secure")
    assert (await client.get("/")).headers["x-got"] == "secret=1"


def test_cookies_sync(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(cookie_app(), cookies={"preset": "1"})
    client.get("/set")
    assert client.get("/").headers["x-got"] == "preset=1; session=abc; theme=dark"
    client.cookies = {"only": "this"}
    assert client.get("/").headers["x-got"] == "only=this"


def test_cookies_mapping() -> None:
    cookies = Cookies({"a": "1"})
    cookies["b"] = "2"
    cookies.set("c", "3", domain="example.com", path="/x")
    assert sorted(cookies) == ["a", "b", "c"]
    assert len(cookies) == 3
    assert cookies["a"] == "1"
    assert cookies.get("c", domain="example.com", path="/x") == "3"
    assert cookies.get("c", domain="other.com") is None
    assert cookies.get("zzz", "default") == "default"
    assert "a='1' for /" in repr(cookies)
    copy = Cookies(cookies)
    del cookies["a"]
    assert "a" not in cookies
    assert "a" in copy
    with pytest.raises(KeyError):
        _ = cookies["a"]
    with pytest.raises(KeyError):
        del cookies["a"]
    cookies.delete("c", domain="other.com")
    assert "c" in cookies
    cookies.clear()
    assert len(cookies) == 0


# --- redirects -----------------------------------------------------------------------------------


def redirect_app() -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body, _ = await read_body(receive)
        path = scope["path"]
        if path.startswith("/r/"):
            status, target = path.split("/")[2], path.split("/", 3)[3]
            headers = [(b"location", target.replace("~", "/").encode())]
            await send({**START, "status": int(status), "headers": headers})
            await send(END)
            return
        if path == "/loop":
            await send({**START, "status": 302, "headers": [(b"location", b"/loop")]})
            await send(END)
            return
        result = {
            "method": scope["method"],
            "path": path,
            "body": body.decode(),
            "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
        }
        await send(START)
        await send({"type": "http.response.body", "body": json.dumps(result).encode()})

    return app


@pytest.mark.parametrize(
    ("status", "method", "expected_method", "keeps_body"),
    [
        (301, "POST", "GET", False),
        (301, "PUT", "PUT", True),
        (302, "POST", "GET", False),
        (302, "HEAD", "HEAD", False),
        (303, "PUT", "GET", False),
        (307, "POST", "POST", True),
        (308, "PATCH", "PATCH", True),
    ],
)
async def test_redirects(status: int, method: str, expected_method: str, keeps_body: bool) -> None:
    client = AsyncTestClient(redirect_app())
    content = None if method == "HEAD" else b"payload"
    response = await client.request(method, f"/r/{status}/~final", content=content)
    assert response.url == "http://testserver/final"
    assert [r.status_code for r in response.history] == [status]
    assert response.history[0].url == f"http://testserver/r/{status}/~final"
    if method == "HEAD":
        return
    result = response.json()
    assert result["method"] == expected_method
    assert result["body"] == ("payload" if keeps_body else "")
    assert ("content-length" in result["headers"]) == keeps_body


async def test_redirect_to_another_host_drops_authorization() -> None:
    client = AsyncTestClient(redirect_app())
    response = await client.get("/r/307/http:~~other.host~x", headers={"Authorization": "secret"})
    assert response.json()["headers"]["host"] == "other.host"
    assert "authorization" not in response.json()["headers"]
    same = await client.get("/r/307/~x", headers={"Authorization": "secret"})
    assert same.json()["headers"]["authorization"] == "secret"


async def test_redirects_not_followed() -> None:
    client = AsyncTestClient(redirect_app(), follow_redirects=False)
    response = await client.get("/r/302/~final")
    assert response.status_code == 302
    assert response.is_redirect
    assert response.headers["location"] == "/final"
    followed = await client.get("/r/302/~final", follow_redirects=True)
    assert followed.status_code == 200


async def test_too_many_redirects() -> None:
    with pytest.raises(TooManyRedirects, match="max_redirects=20"):
        await AsyncTestClient(redirect_app()).get("/loop")
    with pytest.raises(TooManyRedirects, match="2 times"):
        await AsyncTestClient(redirect_app(), max_redirects=2).get("/loop")


async def test_streamed_body_cannot_be_replayed() -> None:
    with pytest.raises(RuntimeError, match="streamed from an iterator"):
        await AsyncTestClient(redirect_app()).post("/r/307/~x", content=agen(b"a"))


async def test_streamed_redirects() -> None:
    async with AsyncTestClient(redirect_app()).stream("GET", "/r/302/~final") as response:
        assert [r.status_code for r in response.history] == [302]
        assert json.loads(await response.aread())["path"] == "/final"


def test_redirects_sync(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(redirect_app())
    response = client.post("/r/303/~done", data={"a": "1"})
    assert response.json()["method"] == "GET"
    with client.stream("GET", "/r/301/~done") as streamed:
        assert json.loads(streamed.read())["path"] == "/done"


# --- timeouts ------------------------------------------------------------------------------------


async def test_timeout_bounds_the_request() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep_forever()

    with pytest.raises(TimeoutError, match=r"GET http://testserver/slow within timeout=0.01"):
        await AsyncTestClient(app).get("/slow", timeout=0.01)
    async with AsyncTestClient(respond(b"fast")).stream("GET", "/", timeout=5) as response:
        assert await response.aread() == b"fast"


async def test_timeout_bounds_a_stream() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        await anyio.sleep_forever()

    with pytest.raises(TimeoutError, match=r"timeout=0\.01"):
        async with AsyncTestClient(app).stream("GET", "/", timeout=0.01) as response:
            await response.aread()


def test_timeout_sync(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep_forever()

    with pytest.raises(TimeoutError, match="timeout"):
        test_client_factory(app).get("/", timeout=0.01)


# --- misc ----------------------------------------------------------------------------------------


def test_hand_built_response_has_no_request() -> None:
    response = TestResponse(200, content=b"x")
    assert response.url == ""
    with pytest.raises(RuntimeError, match="no request"):
        _ = response.request


def test_not_collected_by_pytest() -> None:
    assert TestClient.__test__ is False
    assert TestResponse.__test__ is False


def test_client_headers_are_mutable(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(scope_echo(), headers=[("x-a", "1")])
    client.headers["x-b"] = "2"
    headers = dict(map(tuple, client.get("/").json()["headers"]))
    assert (headers["x-a"], headers["x-b"]) == ("1", "2")


def test_a_given_host_header_replaces_the_url_host(test_client_factory: Any) -> None:
    seen: list[list[tuple[bytes, bytes]]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append([h for h in scope["headers"] if h[0] == b"host"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = test_client_factory(app)
    client.get("/", headers={"Host": "tenant.example.com"})
    client.get("/")
    assert seen == [[(b"host", b"tenant.example.com")], [(b"host", b"testserver")]]


# --- defaults, as Starlette's client (HTTPX) sends them ------------------------------------------


def test_default_headers(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(scope_echo())
    assert client.headers.items() == [
        ("accept", "*/*"),
        ("accept-encoding", accept_encoding()),
        ("connection", "keep-alive"),
        ("user-agent", "testclient"),
    ]
    assert client.headers["User-Agent"] == "testclient"  # names are case-insensitive
    client.headers["user-agent"] = "custom"
    del client.headers["accept-encoding"]
    sent = dict(map(tuple, client.get("/").json()["headers"]))
    assert sent["user-agent"] == "custom"
    assert "accept-encoding" not in sent
    client.headers = {"X-Token": "t"}  # assigning keeps the defaults, as HTTPX
    assert client.headers["x-token"] == "t"
    assert client.headers["user-agent"] == "testclient"


def test_positional_arguments_in_starlettes_order(anyio_backend_name: str) -> None:
    backend: Any = anyio_backend_name
    client = TestClient(
        scope_echo(),
        "http://h",
        True,
        "/r",
        backend,
        {},
        {"c": "1"},
        {"x": "1"},
        False,
        ("1.2.3.4", 5),
    )
    scope = client.get("/").json()
    assert (scope["server"], scope["root_path"], scope["client"]) == (
        ["h", 80],
        "/r",
        ["1.2.3.4", 5],
    )
    assert dict(map(tuple, scope["headers"]))["cookie"] == "c=1"
    assert client.headers["x"] == "1"
    async_client = AsyncTestClient(
        scope_echo(), "http://h", True, "", None, None, True, ("5.6.7.8", 9)
    )
    assert async_client.base_url == "http://h"


async def test_given_headers_replace_the_defaults() -> None:
    client = AsyncTestClient(scope_echo(), headers={"User-Agent": "mine", "Accept": "text/html"})
    sent = dict(map(tuple, (await client.get("/")).json()["headers"]))
    assert (sent["user-agent"], sent["accept"], sent["connection"]) == (
        "mine",
        "text/html",
        "keep-alive",
    )


@pytest.mark.parametrize(
    ("base_url", "server", "host"),
    [
        ("http://[::1]", ["::1", 80], "[::1]"),
        ("http://[::1]:8000", ["::1", 8000], "[::1]:8000"),
        ("http://[::1]:0", ["::1", 0], "[::1]:0"),
        ("https://example.org:0", ["example.org", 0], "example.org:0"),
    ],
)
async def test_base_url_port_zero_is_kept(base_url: str, server: list[Any], host: str) -> None:
    scope = (await AsyncTestClient(scope_echo(), base_url=base_url).get("/")).json()
    assert scope["server"] == server
    assert dict(map(tuple, scope["headers"]))["host"] == host


def test_strict_reaches_every_checker(test_client_factory: TestClientFactory) -> None:
    upper = respond(b"", headers=[(b"X-Upper", b"1")])
    assert test_client_factory(upper).get("/").headers["x-upper"] == "1"  # as servers accept
    client = test_client_factory(upper, strict=True)
    assert client.strict is True
    with pytest.warns(UserWarning, match="headers.lowercase"):
        client.get("/")

    async def ws(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept", "headers": [(b"X-Upper", b"1")]})
        await send({"type": "websocket.close", "code": 1000})

    with pytest.warns(UserWarning, match="headers.lowercase"):
        with test_client_factory(ws, strict=True).websocket_connect("/") as session:
            assert session.receive()["type"] == "websocket.close"

    async def lifespan(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": 3})

    with pytest.raises(RuntimeError, match="startup failed: 3"):
        with test_client_factory(lifespan):
            pass  # pragma: no cover
    with pytest.raises(ASGIProtocolError, match="must be str"):
        with test_client_factory(lifespan, strict=True):
            pass  # pragma: no cover


async def test_strict_async() -> None:
    client = AsyncTestClient(respond(b"", headers=[(b"X-Upper", b"1")]), strict=True)
    assert client.strict is True
    with pytest.warns(UserWarning, match="headers.lowercase"):
        await client.get("/")


# --- apps: ASGI 2, disconnects -----------------------------------------------------------------


def asgi2_function_app(scope: Scope) -> Callable[[Receive, Send], Any]:
    async def instance(receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await respond(scope["type"].encode())(scope, receive, send)

    return instance


class ASGI2ClassApp:
    """The classic ASGI 2 shape: the class is called with the scope, the instance awaited."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        await respond(b"class")(self.scope, receive, send)


def test_asgi2_apps_are_driven(test_client_factory: TestClientFactory) -> None:
    with test_client_factory(asgi2_function_app) as client:  # type: ignore[arg-type]
        assert client.app is cast(Any, asgi2_function_app)  # the app as given
        assert client.get("/").text == "http"
        with client.stream("GET", "/") as response:
            assert response.read() == b"http"
    assert test_client_factory(ASGI2ClassApp).get("/").text == "class"  # type: ignore[arg-type]


def test_starlette_asgi_aliases_type_the_apps(test_client_factory: TestClientFactory) -> None:
    from collections.abc import Awaitable

    from microasgi.testclient import ASGI2App, ASGI3App
    from microasgi.testclient import ASGIInstance as Instance

    assert Instance == Callable[[Receive, Send], Awaitable[None]]
    assert ASGI2App == Callable[[Scope], Instance]
    assert ASGI3App == Callable[[Scope, Receive, Send], Awaitable[None]]
    legacy: ASGI2App = asgi2_function_app
    modern: ASGI3App = respond(b"three")
    assert test_client_factory(cast(Any, legacy)).get("/").text == "http"
    assert test_client_factory(modern).get("/").text == "three"


async def test_asgi2_apps_are_driven_async() -> None:
    async with AsyncTestClient(asgi2_function_app) as client:  # type: ignore[arg-type]
        assert (await client.get("/")).text == "http"
    assert (await AsyncTestClient(ASGI2ClassApp).get("/")).text == "class"  # type: ignore[arg-type]


async def test_asgi3_lookalikes_are_not_wrapped() -> None:
    class Endpoint:
        """An awaitable class (as HTTPEndpoint): ASGI 3, built and awaited per call."""

        def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
            self.args = (scope, receive, send)

        def __await__(self) -> Any:
            return respond(b"awaitable")(*self.args).__await__()

    class Instance:
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await respond(b"instance")(scope, receive, send)

    assert (await AsyncTestClient(Endpoint).get("/")).text == "awaitable"
    assert (await AsyncTestClient(Instance()).get("/")).text == "instance"


async def test_is_disconnected_once_the_response_is_complete() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        seen.append(f"before: {await request.is_disconnected()}")

        async def after() -> None:
            seen.append(f"background: {await request.is_disconnected()}")

        await PlainTextResponse("hi", background=BackgroundTask(after))(scope, receive, send)
        seen.append(f"returned: {await request.is_disconnected()}")

    assert (await AsyncTestClient(app).get("/")).text == "hi"
    assert seen == ["before: False", "background: True", "returned: True"]
    seen.clear()
    async with AsyncTestClient(app).stream("GET", "/") as response:
        assert await response.aread() == b"hi"
    assert seen == ["before: False", "background: True", "returned: True"]


def test_is_disconnected_once_the_response_is_complete_sync(
    test_client_factory: TestClientFactory,
) -> None:
    seen: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        await send({"type": "http.response.body", "body": b"x"})
        seen.append(await Request(scope, receive).is_disconnected())

    assert test_client_factory(app).get("/").text == "x"
    assert seen == [True]


# --- build_request and send, as HTTPX's ----------------------------------------------------------


async def test_build_request_then_send() -> None:
    client = AsyncTestClient(scope_echo(), cookies={"jar": "1"})
    request = client.build_request(
        "post", "/p", params={"a": "1"}, json={"k": 1}, headers={"X-T": "t"}, cookies={"c": "v"}
    )
    assert request.method == "POST"
    assert str(request.url) == "http://testserver/p?a=1"
    assert request.headers["host"] == "testserver"
    assert request.headers["cookie"] == "jar=1; c=v"
    assert request.content == b'{"k":1}'
    response = await client.send(request)
    scope = response.json()
    assert [tuple(h) for h in scope["headers"]] == [
        (name.decode(), value.decode()) for name, value in request.headers.raw
    ]
    assert scope["body"] == '{"k":1}'
    assert response.request.headers == request.headers
    again = await client.send(response.request)  # a sent request can be sent again
    assert again.json()["body"] == '{"k":1}'


def test_build_request_then_send_sync(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(scope_echo())
    request = client.build_request("GET", "/x", headers={"Host": "other.example"})
    assert client.send(request).json()["headers"][0] == ["host", "other.example"]
    streamed = client.build_request("PUT", "/", content=iter([b"a", b"b"]))
    assert streamed.content is None
    assert client.send(streamed).json()["body"] == "ab"
    with pytest.raises(RuntimeError, match="streamed from an iterator and is gone"):
        client.send(streamed)
    with pytest.raises(TypeError, match="build_request"):
        client.send("GET /")  # type: ignore[arg-type]


async def test_a_sent_request_follows_redirects() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/old":
            await respond(b"", 307, [(b"location", b"/new")])(scope, receive, send)
        else:
            await scope_echo()(scope, receive, send)

    client = AsyncTestClient(app)
    response = await client.send(client.build_request("POST", "/old", content=b"body"))
    assert response.json()["path"] == "/new"
    assert response.json()["body"] == "body"
    not_followed = await client.send(client.build_request("GET", "/old"), follow_redirects=False)
    assert not_followed.status_code == 307


# --- Starlette 1.10's tests/test_testclient.py: lifecycle, lifespan, ASGI 2, defaults ---------------
# Ported with the imports changed only (``Starlette(`` -> ``MicroASGI(``); the bodies are Starlette's.


def current_task() -> Task[Any] | trio.lowlevel.Task:
    # anyio's TaskInfo comparisons are invalid after their associated native
    # task object is GC'd https://github.com/agronholm/anyio/issues/324
    asynclib_name = sniffio.current_async_library()
    if asynclib_name == "trio":
        return trio.lowlevel.current_task()

    if asynclib_name == "asyncio":
        task = asyncio_current_task()
        if task is None:
            raise RuntimeError("must be called from a running task")  # pragma: no cover
        return task
    raise RuntimeError(f"unsupported asynclib={asynclib_name}")  # pragma: no cover


def test_use_testclient_as_contextmanager(
    test_client_factory: TestClientFactory, anyio_backend_name: str
) -> None:
    """
    This test asserts a number of properties that are important for an
    app level task_group
    """
    counter = itertools.count()
    identity_runvar = anyio.lowlevel.RunVar[int]("identity_runvar")

    def get_identity() -> int:
        try:
            return identity_runvar.get()
        except LookupError:
            token = next(counter)
            identity_runvar.set(token)
            return token

    startup_task = object()
    startup_loop = None
    shutdown_task = object()
    shutdown_loop = None

    @asynccontextmanager
    async def lifespan_context(app: MicroASGI) -> AsyncGenerator[None, None]:
        nonlocal startup_task, startup_loop, shutdown_task, shutdown_loop

        startup_task = current_task()
        startup_loop = get_identity()
        async with anyio.create_task_group():
            yield
        shutdown_task = current_task()
        shutdown_loop = get_identity()

    async def loop_id(request: Request) -> JSONResponse:
        return JSONResponse(get_identity())

    app = MicroASGI(
        lifespan=lifespan_context,
        routes=[Route("/loop_id", endpoint=loop_id)],
    )

    client = test_client_factory(app)

    with client:
        # within a TestClient context every async request runs in the same thread
        assert client.get("/loop_id").json() == 0
        assert client.get("/loop_id").json() == 0

    # that thread is also the same as the lifespan thread
    assert startup_loop == 0
    assert shutdown_loop == 0

    # lifespan events run in the same task, this is important because a task
    # group must be entered and exited in the same task.
    assert startup_task is shutdown_task

    # outside the TestClient context, new requests continue to spawn in new
    # event loops in new threads
    assert client.get("/loop_id").json() == 1
    assert client.get("/loop_id").json() == 2

    first_task = startup_task

    with client:
        # the TestClient context can be re-used, starting a new lifespan task
        # in a new thread
        assert client.get("/loop_id").json() == 3
        assert client.get("/loop_id").json() == 3

    assert startup_loop == 3
    assert shutdown_loop == 3

    # lifespan events still run in the same task, with the context but...
    assert startup_task is shutdown_task

    # ... the second TestClient context creates a new lifespan task.
    assert first_task is not startup_task


def test_error_on_startup(test_client_factory: TestClientFactory) -> None:
    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncGenerator[None, None]:
        raise RuntimeError("Startup error")
        yield  # type: ignore[unreachable]

    startup_error_app = MicroASGI(lifespan=lifespan)

    with pytest.raises(RuntimeError, match="Startup error"):
        with test_client_factory(startup_error_app):
            pass  # pragma: no cover


def test_exception_in_middleware(test_client_factory: TestClientFactory) -> None:
    class MiddlewareException(Exception):
        pass

    class BrokenMiddleware:
        def __init__(self, app: ASGIApp):
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            raise MiddlewareException()

    broken_middleware = MicroASGI(middleware=[Middleware(BrokenMiddleware)])

    with pytest.raises(MiddlewareException):
        with test_client_factory(broken_middleware):
            pass  # pragma: no cover


def test_testclient_asgi2(test_client_factory: TestClientFactory) -> None:
    def app(scope: Scope) -> ASGIInstance:
        async def inner(receive: Receive, send: Send) -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [[b"content-type", b"text/plain"]],
                }
            )
            await send({"type": "http.response.body", "body": b"Hello, world!"})

        return inner

    client = test_client_factory(app)  # type: ignore
    response = client.get("/")
    assert response.text == "Hello, world!"


def test_websocket_blocking_receive(test_client_factory: TestClientFactory) -> None:
    def app(scope: Scope) -> ASGIInstance:
        async def respond(websocket: WebSocket) -> None:
            await websocket.send_json({"message": "test"})

        async def asgi(receive: Receive, send: Send) -> None:
            websocket = WebSocket(scope, receive=receive, send=send)
            await websocket.accept()
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(respond, websocket)
                try:
                    # this will block as the client does not send us data
                    # it should not prevent `respond` from executing though
                    await websocket.receive_json()
                except WebSocketDisconnect:
                    pass

        return asgi

    client = test_client_factory(app)  # type: ignore
    with client.websocket_connect("/") as websocket:
        data = websocket.receive_json()
        assert data == {"message": "test"}


def test_websocket_not_block_on_close(test_client_factory: TestClientFactory) -> None:
    cancelled = False

    def app(scope: Scope) -> ASGIInstance:
        async def asgi(receive: Receive, send: Send) -> None:
            nonlocal cancelled
            try:
                websocket = WebSocket(scope, receive=receive, send=send)
                await websocket.accept()
                await anyio.sleep_forever()
            except anyio.get_cancelled_exc_class():
                cancelled = True
                raise

        return asgi

    client = test_client_factory(app)  # type: ignore
    with client.websocket_connect("/"):
        ...
    assert cancelled


@pytest.mark.parametrize(
    ("base_url", "server", "host"),
    [
        ("http://[::1]", ["::1", 80], "[::1]"),
        ("http://[::1]:8000", ["::1", 8000], "[::1]:8000"),
        ("http://[::1]:0", ["::1", 0], "[::1]:0"),
    ],
)
def test_ipv6_base_url(
    test_client_factory: TestClientFactory, base_url: str, server: list[str | int], host: str
) -> None:
    def homepage(request: Request) -> JSONResponse:
        return JSONResponse({"server": request.scope["server"], "host": request.headers["host"]})

    app = MicroASGI(routes=[Route("/", endpoint=homepage)])
    client = test_client_factory(app, base_url=base_url)
    response = client.get("/")
    assert response.json() == {"server": server, "host": host}


@pytest.mark.parametrize("empty", [True, False])
def test_capture_trailers(test_client_factory: TestClientFactory, empty: bool) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert "http.response.trailers" in scope["extensions"]
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"hello"})
        await anyio.lowlevel.checkpoint()
        headers = [] if empty else [(b"x-item", b"one")]
        await send({"type": "http.response.trailers", "headers": headers, "more_trailers": True})
        headers = [] if empty else [(b"x-item", b"two")]
        await send({"type": "http.response.trailers", "headers": headers})

    response = test_client_factory(app).get("/", headers={"te": "trailers"})
    assert response.content == b"hello"
    assert response.extensions["http.response.trailers"] == (
        [] if empty else [(b"x-item", b"one"), (b"x-item", b"two")]
    )
    assert "x-item" not in response.headers
