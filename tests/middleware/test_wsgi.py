"""``WSGIMiddleware``: the environ, the body cap, start_response, streaming, close(), disconnects.

The module warns on import (deprecated, as Starlette's is) and the suite turns warnings into
errors, so it is imported under a filter here; ``test_importing_warns`` checks the warning itself.
"""

from __future__ import annotations

import io
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import anyio
import anyio.from_thread
import flask
import pytest

import microasgi.middleware
from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException, MicroASGIDeprecationWarning
from microasgi.requests import DEFAULT_MAX_BODY_SIZE, MAX_BODY_SIZE_KEY, Request
from microasgi.responses import JSONResponse
from microasgi.routing import Mount
from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

with warnings.catch_warnings():
    warnings.simplefilter("ignore", MicroASGIDeprecationWarning)
    from microasgi.exceptions import StarletteDeprecationWarning
    from microasgi.middleware import wsgi as wsgi_module
    from microasgi.middleware.wsgi import WSGIMiddleware, build_environ

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
ClientFactory = Callable[..., TestClient]


# --- WSGI apps and raw ASGI helpers ---------------------------------------------------------


def hello(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"Hello, ", b"World!"]


def echo(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    body: bytes = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


class Recording:
    """A WSGI app that records whether it was called and the environ it got."""

    def __init__(self) -> None:
        self.environs: list[Environ] = []

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        self.environs.append(environ)
        return echo(environ, start_response)


class Closing:
    """An iterable of chunks with ``close()``, which records that it was called (PEP 3333)."""

    def __init__(self, *chunks: bytes, fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_after:
                raise RuntimeError("the body failed")
            yield chunk

    def close(self) -> None:
        self.closed = True


def returning(body: Closing, headers: list[tuple[str, str]] | None = None) -> Any:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", headers or [])
        return body

    return app


def http_scope(**items: Any) -> Scope:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    scope.update(items)
    return scope


class Recorder:
    """A ``send`` that keeps the messages."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def types(self) -> list[str]:
        return [m["type"] for m in self.messages]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages)


class Inbox:
    """A ``receive`` that gives ``messages``, then ``http.disconnect`` once ``gone`` is set."""

    def __init__(self, *messages: Message) -> None:
        self.messages = list(messages)
        self.taken = 0
        self.gone = anyio.Event()
        self.drained = threading.Event()  # all ``messages`` taken (a WSGI thread may wait on it)

    async def __call__(self) -> Message:
        if self.messages:
            self.taken += 1
            return self.messages.pop(0)
        self.drained.set()
        await self.gone.wait()
        return {"type": "http.disconnect"}


def chunk(body: bytes, more: bool = True) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


def with_cap(app: ASGIApp, limit: int | None) -> ASGIApp:
    """Put ``limit`` into the scope as the body cap, as an application or router does."""

    async def capped(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, MAX_BODY_SIZE_KEY: limit}, receive, send)

    return capped


# --- the deprecation ------------------------------------------------------------------------


def test_importing_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fresh import, the module and the package attribute restored afterwards.
    monkeypatch.delitem(sys.modules, "microasgi.middleware.wsgi")
    monkeypatch.delattr(microasgi.middleware, "wsgi")
    with pytest.warns(StarletteDeprecationWarning) as record:
        from microasgi.middleware import wsgi as fresh
    assert fresh is not wsgi_module
    [warning] = record
    message = str(warning.message)
    # Starlette's text with microasgi's name, so ported filters match, and the way out.
    assert message.startswith(
        "microasgi.middleware.wsgi is deprecated and will be removed in a future release. "
        "Please refer to https://github.com/abersheeran/a2wsgi as a replacement"
    )
    assert "a2wsgi is the maintained one" in message
    assert warning.category is MicroASGIDeprecationWarning
    assert issubclass(warning.category, UserWarning)  # shown by default, as Starlette's
    assert warning.filename == __file__  # points at the import, not at the module itself


# --- requests and responses -----------------------------------------------------------------


def test_hello(test_client_factory: ClientFactory) -> None:
    client = test_client_factory(WSGIMiddleware(hello))
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Hello, World!"


def test_post_body_is_read_through_wsgi_input(test_client_factory: ClientFactory) -> None:
    client = test_client_factory(WSGIMiddleware(echo))
    response = client.post("/", json={"example": 123})
    assert response.text == '{"example":123}'
    assert response.headers["content-length"] == "15"


def test_chunked_body_reaches_flask(test_client_factory: ClientFactory) -> None:
    # No Content-Length: wsgi.input_terminated tells Werkzeug the stream ends with the body.
    app = flask.Flask(__name__)

    @app.post("/")
    def upload() -> str:
        return flask.request.get_data(as_text=True).upper()

    client = test_client_factory(WSGIMiddleware(app))
    response = client.post("/", content=iter([b"chunked ", b"upload"]))
    assert response.text == "CHUNKED UPLOAD"


def test_environ_contents(test_client_factory: ClientFactory) -> None:
    recording = Recording()
    app = MicroASGI(routes=[Mount("/flask", app=WSGIMiddleware(recording))])
    client = test_client_factory(app, base_url="https://example.org")
    response = client.post(
        "/flask/users/caf\u00e9?q=a%20b&x=1",
        content=b'{"a": 1}',
        headers=[
            ("content-type", "application/json"),
            ("accept", "text/html"),
            ("accept", "text/plain"),
            ("x-custom", "yes"),
        ],
    )
    assert response.text == '{"a": 1}'
    [environ] = recording.environs
    assert environ["wsgi.input"].read() == b""  # read by the app already
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["SCRIPT_NAME"] == "/flask"
    assert environ["PATH_INFO"] == "/users/caf\u00e9".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "q=a%20b&x=1"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("example.org", "443")
    assert environ["REMOTE_ADDR"] == "testclient"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == "8"
    assert environ["HTTP_ACCEPT"] == "text/html,text/plain"
    assert environ["HTTP_X_CUSTOM"] == "yes"
    assert environ["HTTP_HOST"] == "example.org"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["wsgi.errors"] is sys.stderr
    assert environ["wsgi.version"] == (1, 0)
    assert environ["wsgi.input_terminated"] is True
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is True
    assert environ["wsgi.run_once"] is False


def test_build_environ() -> None:
    scope = http_scope(
        method="GET",
        scheme="https",
        path="/sub/",
        root_path="/sub",
        query_string=b"a=123&b=456",
        headers=[
            (b"host", b"www.example.org"),
            (b"content-type", b"application/json"),
            (b"content-length", b"18"),
            (b"accept", b"application/json"),
            (b"accept", b"text/plain"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
        ],
        client=("134.56.78.4", 1453),
        server=("www.example.org", 443),
    )
    environ = build_environ(scope, b'{"example":"body"}')
    stream = environ.pop("wsgi.input")
    assert isinstance(stream, io.BytesIO)
    assert stream.read() == b'{"example":"body"}'
    assert environ == {
        "CONTENT_LENGTH": "18",
        "CONTENT_TYPE": "application/json",
        "HTTP_ACCEPT": "application/json,text/plain",
        "HTTP_COOKIE": "a=1; b=2",  # RFC 9113 8.2.3: cookie fields join with "; "
        "HTTP_HOST": "www.example.org",
        "PATH_INFO": "/",
        "QUERY_STRING": "a=123&b=456",
        "REMOTE_ADDR": "134.56.78.4",
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "/sub",
        "SERVER_NAME": "www.example.org",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.errors": sys.stderr,
        "wsgi.input_terminated": True,
        "wsgi.multiprocess": True,
        "wsgi.multithread": True,
        "wsgi.run_once": False,
        "wsgi.url_scheme": "https",
        "wsgi.version": (1, 0),
    }


@pytest.mark.parametrize(
    ("root_path", "path", "script_name", "path_info"),
    [
        ("/app", "/application", "/app", "/application"),  # a prefix, but not a segment
        ("/app", "/app/users", "/app", "/users"),
        ("/app", "/app", "/app", ""),
        ("/app/", "/app/users", "/app/", "users"),
        ("/app", "/users", "/app", "/users"),  # a server whose path lacks root_path
        ("", "/users", "", "/users"),
        ("/\u4e2d\u56fd", "/\u4e2d\u56fd/\u5c0f\u661f", "/\u4e2d\u56fd", "/\u5c0f\u661f"),
    ],
)
def test_build_environ_paths(root_path: str, path: str, script_name: str, path_info: str) -> None:
    environ = build_environ(http_scope(root_path=root_path, path=path), b"")
    # SPEC: PEP 3333 native strings: the UTF-8 bytes, seen as latin-1.
    assert environ["SCRIPT_NAME"] == script_name.encode().decode("latin-1")
    assert environ["PATH_INFO"] == path_info.encode().decode("latin-1")


@pytest.mark.parametrize(
    ("items", "name", "port"),
    [
        ({"server": ("example.org", 8000)}, "example.org", "8000"),
        ({"server": None}, "localhost", "80"),
        ({"server": None, "scheme": "https"}, "localhost", "443"),
        ({"server": ("/run/app.sock", None)}, "/run/app.sock", "80"),  # a Unix socket
    ],
)
def test_build_environ_server(items: dict[str, Any], name: str, port: str) -> None:
    environ = build_environ(http_scope(**items), b"")
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == (name, port)


def test_build_environ_minimal_scope() -> None:
    # The keys ASGI makes optional may be missing: no scheme, root_path, client or headers.
    scope = {"type": "http", "http_version": "2", "method": "GET", "path": "/", "query_string": b""}
    environ = build_environ(scope, b"")
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["SERVER_PROTOCOL"] == "HTTP/2"
    assert "REMOTE_ADDR" not in environ
    assert not [key for key in environ if key.startswith("HTTP_")]


def test_build_environ_query_string_outside_ascii() -> None:
    # A raw UTF-8 query string (clients send them): latin-1, not a UnicodeDecodeError.
    environ = build_environ(http_scope(query_string="q=caf\u00e9".encode()), b"")
    assert environ["QUERY_STRING"].encode("latin-1").decode() == "q=caf\u00e9"


def test_build_environ_drops_header_names_with_underscores() -> None:
    # SECURITY: X_Forwarded_For must not pass for the X-Forwarded-For a proxy vouches for.
    scope = http_scope(
        headers=[(b"x-forwarded-for", b"10.0.0.1"), (b"x_forwarded_for", b"6.6.6.6")]
    )
    environ = build_environ(scope, b"")
    assert environ["HTTP_X_FORWARDED_FOR"] == "10.0.0.1"


def test_head_and_empty_body(test_client_factory: ClientFactory) -> None:
    def empty(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("204 No Content", [("X-Method", environ["REQUEST_METHOD"])])
        return [b"", b""]  # empty chunks are skipped; the start goes out at the end

    client = test_client_factory(WSGIMiddleware(empty))
    for method in ("GET", "HEAD"):
        response = client.request(method, "/")
        assert response.status_code == 204
        assert response.headers["x-method"] == method
        assert response.content == b""


async def test_empty_iterable_sends_start_and_end() -> None:
    send = Recorder()
    app = WSGIMiddleware(returning(Closing()))
    await app(http_scope(), Inbox(chunk(b"", more=False)), send)
    assert send.messages == [
        {"type": "http.response.start", "status": 200, "headers": []},
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]


def test_write_callable(test_client_factory: ClientFactory) -> None:
    # SPEC: PEP 3333, start_response returns write(data); Starlette's returns None.
    def legacy(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"")  # sends the headers, no body
        write(b"written, ")
        return [b"then returned"]

    response = test_client_factory(WSGIMiddleware(legacy)).get("/")
    assert response.text == "written, then returned"


def test_response_headers_are_encoded_as_latin_1(test_client_factory: ClientFactory) -> None:
    app = returning(Closing(b"ok"), [(" X-Name ", " caf\u00e9 "), ("Set-Cookie", "a=1")])
    response = test_client_factory(WSGIMiddleware(app)).get("/")
    assert response.headers.raw == [(b"x-name", b"caf\xe9"), (b"set-cookie", b"a=1")]


@pytest.mark.parametrize("status", ["200", "200 OK", "404 Not Found", "599 Custom reason"])
def test_status_line(test_client_factory: ClientFactory, status: str) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response(status, [])
        return [b"x"]

    assert test_client_factory(WSGIMiddleware(app)).get("/").status_code == int(status[:3])


# --- the body cap ---------------------------------------------------------------------------


async def test_body_over_the_cap_answers_413_without_calling_the_app() -> None:
    recording = Recording()
    inbox = Inbox(*[chunk(b"12345")] * 4, chunk(b"", more=False))
    send = Recorder()
    await with_cap(WSGIMiddleware(recording), 12)(http_scope(), inbox, send)
    assert send.messages[0]["status"] == 413
    assert send.body == b"Content Too Large"
    assert recording.environs == []
    # SECURITY: reading stopped at the first chunk past the cap (15 bytes > 12).
    assert inbox.taken == 3


async def test_body_at_the_cap_is_served() -> None:
    inbox = Inbox(chunk(b"123456"), chunk(b"123456", more=False))
    send = Recorder()
    await with_cap(WSGIMiddleware(echo), 12)(http_scope(), inbox, send)
    assert send.messages[0]["status"] == 200
    assert send.body == b"123456123456"


@pytest.mark.parametrize(
    ("limit", "declared"),
    [
        (12, 13),
        (None, DEFAULT_MAX_BODY_SIZE + 1),  # no scope key: DEFAULT_MAX_BODY_SIZE, as Request's
    ],
)
async def test_declared_length_over_the_cap_is_refused_unread(
    limit: int | None, declared: int
) -> None:
    recording = Recording()
    inbox = Inbox(chunk(b"x" * 13, more=False))
    app: ASGIApp = WSGIMiddleware(recording)
    if limit is not None:
        app = with_cap(app, limit)
    send = Recorder()
    await app(http_scope(headers=[(b"content-length", str(declared).encode())]), inbox, send)
    assert send.messages[0]["status"] == 413
    assert inbox.taken == 0  # SECURITY: not a byte read (an Expect: 100-continue client waits)
    assert recording.environs == []


def test_cap_under_an_application_is_answered_by_its_handlers(
    test_client_factory: ClientFactory,
) -> None:
    async def too_large(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    recording = Recording()
    app = MicroASGI(
        routes=[Mount("/wsgi", app=WSGIMiddleware(recording), max_body_size=4)],
        exception_handlers={413: too_large},
    )
    client = test_client_factory(app)
    for content in (b"12345", iter([b"123", b"45"])):  # declared, then counted as it comes
        response = client.post("/wsgi/", content=content)
        assert response.status_code == 413
        assert response.json() == {"error": "Content Too Large"}
    assert recording.environs == []
    assert client.post("/wsgi/", content=b"1234").text == "1234"


async def test_no_cap() -> None:
    # scope[MAX_BODY_SIZE_KEY] = None: no cap, even past DEFAULT_MAX_BODY_SIZE's declaration.
    inbox = Inbox(chunk(b"x" * 13, more=False))
    headers = [(b"content-length", str(DEFAULT_MAX_BODY_SIZE + 1).encode())]
    send = Recorder()
    await with_cap(WSGIMiddleware(echo), None)(http_scope(headers=headers), inbox, send)
    assert send.body == b"x" * 13


async def test_client_gone_before_the_body_ends_skips_the_app() -> None:
    recording = Recording()
    inbox = Inbox(chunk(b"part"), {"type": "http.disconnect"})
    send = Recorder()
    await WSGIMiddleware(recording)(http_scope(), inbox, send)
    assert recording.environs == []
    assert send.messages == []


async def test_body_read_above_is_shared() -> None:
    # A middleware above read the body through a Request: the WSGI app gets it all the same.
    wsgi = WSGIMiddleware(echo)

    async def reads_first(scope: Scope, receive: Receive, send: Send) -> None:
        assert await Request(scope, receive).body() == b"hello"
        await wsgi(scope, receive, send)

    send = Recorder()
    await reads_first(http_scope(), Inbox(chunk(b"hel"), chunk(b"lo", more=False)), send)
    assert send.body == b"hello"


# --- start_response and errors --------------------------------------------------------------


def exc_info_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    try:
        raise RuntimeError("Something went wrong")
    except RuntimeError:
        start_response("500 Internal Server Error", [], exc_info=sys.exc_info())
        return [b"Internal Server Error"]


def test_exc_info_sends_the_error_page_then_raises(test_client_factory: ClientFactory) -> None:
    client = test_client_factory(WSGIMiddleware(exc_info_app))
    with pytest.raises(RuntimeError, match="Something went wrong"):
        client.get("/")
    client = test_client_factory(WSGIMiddleware(exc_info_app), raise_server_exceptions=False)
    response = client.get("/")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"


def test_exc_info_replaces_headers_not_yet_sent(test_client_factory: ClientFactory) -> None:
    # SPEC: PEP 3333, headers wait for the first body bytes, so an error can still replace them.
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("X-Draft", "yes")])
        try:
            raise ValueError("late")
        except ValueError:
            start_response("503 Service Unavailable", [("Retry-After", "1")], sys.exc_info())
        return [b"try again"]

    client = test_client_factory(WSGIMiddleware(app), raise_server_exceptions=False)
    response = client.get("/")
    assert response.status_code == 503
    assert "x-draft" not in response.headers
    assert response.headers["retry-after"] == "1"


async def test_exc_info_after_the_headers_went_out_reraises_in_the_app() -> None:
    seen: list[BaseException] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"first"
        try:
            raise ValueError("too late")
        except ValueError:
            try:
                start_response("500 Internal Server Error", [], sys.exc_info())
            except ValueError as exc:
                seen.append(exc)
                raise

    send = Recorder()
    with pytest.raises(ValueError, match="too late"):
        await WSGIMiddleware(app)(http_scope(), Inbox(chunk(b"", more=False)), send)
    assert len(seen) == 1
    assert send.types == ["http.response.start", "http.response.body"]  # unfinished


def test_exception_from_the_app(test_client_factory: ClientFactory) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        raise RuntimeError("Something went wrong")

    with pytest.raises(RuntimeError, match="Something went wrong"):
        test_client_factory(WSGIMiddleware(app)).get("/")
    # Under an application, the error middleware answers it 500.
    application = MicroASGI(routes=[Mount("/", app=WSGIMiddleware(app))])
    response = test_client_factory(application, raise_server_exceptions=False).get("/")
    assert response.status_code == 500


async def test_exception_while_streaming_closes_the_iterable() -> None:
    body = Closing(b"one", b"two", fail_after=1)
    send = Recorder()
    with pytest.raises(RuntimeError, match="the body failed"):
        await WSGIMiddleware(returning(body))(http_scope(), Inbox(chunk(b"", more=False)), send)
    assert body.closed
    assert send.types == ["http.response.start", "http.response.body"]
    assert send.body == b"one"


def twice(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [])
    start_response("201 Created", [])
    return [b""]  # pragma: no cover - start_response raised


def body_first(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    return [b"no start_response"]


def never_starts(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    return []


def text_body(environ: Environ, start_response: StartResponse) -> Iterable[Any]:
    start_response("200 OK", [])
    return ["text, not bytes"]


def bad_status(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("OK", [])
    return [b""]  # pragma: no cover - start_response raised


def split_header(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("X-Bad", "a\r\nSet-Cookie: stolen=1")])
    return [b""]  # pragma: no cover - start_response raised


@pytest.mark.parametrize(
    ("app", "error", "match"),
    [
        (twice, RuntimeError, "a second time without exc_info"),
        (body_first, RuntimeError, "without calling start_response"),
        (never_starts, RuntimeError, "without calling start_response"),
        (text_body, TypeError, "body must be bytes, got str"),
        (bad_status, ValueError, "got 'OK'"),
        (split_header, ValueError, "control character"),
    ],
)
def test_misbehaving_app_errors_say_what_went_wrong(
    test_client_factory: ClientFactory, app: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        test_client_factory(WSGIMiddleware(app)).get("/")


# --- streaming, close(), disconnects, backpressure -----------------------------------------


async def test_chunks_stream_as_they_are_produced() -> None:
    # The generator waits for the client to have read its first chunk: were the response
    # buffered, the first chunk would never arrive and the wait would time out.
    first_read = threading.Event()
    finished: list[bool] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            yield b"first;"
            assert first_read.wait(timeout=10), "the first chunk was not streamed"
            yield b"second"
        finally:
            finished.append(True)

    async with AsyncTestClient(WSGIMiddleware(app)) as client:
        async with client.stream("GET", "/") as response:
            chunks = response.aiter_raw()
            assert await chunks.__anext__() == b"first;"
            first_read.set()
            assert b"".join([c async for c in chunks]) == b"second"
    assert finished == [True]


def test_close_is_called(test_client_factory: ClientFactory) -> None:
    body = Closing(b"a", b"b")
    response = test_client_factory(WSGIMiddleware(returning(body))).get("/")
    assert response.text == "ab"
    assert body.closed


def endless(count: list[int], at: int, event: anyio.Event, closed: list[bool]) -> Any:
    """A WSGI app streaming forever; after ``at`` chunks it sets ``event`` (from its thread)."""

    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        write = start_response("200 OK", [])
        try:
            while True:
                count[0] += 1
                if count[0] == at:
                    anyio.from_thread.run_sync(event.set)
                if environ["PATH_INFO"] == "/write":
                    write(b"tick")
                else:
                    yield b"tick"
        finally:
            closed.append(True)

    return app


@pytest.mark.parametrize("path", ["/yield", "/write"])
async def test_disconnect_mid_response_stops_the_stream_and_closes(path: str) -> None:
    count: list[int] = [0]
    closed: list[bool] = []
    inbox = Inbox(chunk(b"", more=False))
    app = WSGIMiddleware(endless(count, 3, inbox.gone, closed))
    send = Recorder()
    await app(http_scope(path=path), inbox, send)
    assert closed == [True]
    # What was produced before the channel broke, and nothing more: no end of body was sent.
    assert count[0] <= 3 + 3
    assert send.types[:2] == ["http.response.start", "http.response.body"]
    assert all(m["more_body"] for m in send.messages[1:])


async def test_disconnect_through_the_client() -> None:
    count: list[int] = [0]
    closed: list[bool] = []
    app = WSGIMiddleware(endless(count, 1, anyio.Event(), closed))
    async with (
        AsyncTestClient(app) as client,
        client.stream("GET", "/") as response,
    ):
        assert await response.aiter_raw().__anext__() == b"tick"
    # The client waits for the app to return: the iterable is already closed.
    assert closed == [True]


async def test_error_from_send_surfaces_as_itself_and_closes() -> None:
    count: list[int] = [0]
    closed: list[bool] = []

    async def failing_send(message: Message) -> None:
        if message["type"] == "http.response.body":
            raise RuntimeError("the server failed")

    app = WSGIMiddleware(endless(count, 0, anyio.Event(), closed))
    with pytest.raises(RuntimeError, match="the server failed"):  # not an exception group
        await app(http_scope(), Inbox(chunk(b"", more=False)), failing_send)
    assert closed == [True]


async def test_empty_request_messages_are_not_a_disconnect() -> None:
    # After the body, receive() may give empty http.request messages: the watcher skips them.
    inbox = Inbox(chunk(b"", more=False), chunk(b"", more=False))

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        assert inbox.drained.wait(timeout=10)  # the watcher has seen the extra message
        start_response("200 OK", [])
        return [b"ok"]

    send = Recorder()
    await WSGIMiddleware(app)(http_scope(), inbox, send)
    assert send.body == b"ok"


async def test_backpressure_bounds_what_the_app_runs_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The server's send blocks on the first body chunk: the WSGI thread may fill the channel
    # (one message) and then wait with one more in hand, and no further.
    channels: list[Any] = []

    def channel() -> Any:
        pair = anyio.create_memory_object_stream[Message](wsgi_module._CHANNEL_SIZE)
        channels.append(pair[1])
        return pair

    monkeypatch.setattr(wsgi_module, "_channel", channel)
    count: list[int] = [0]
    closed: list[bool] = []
    blocked = anyio.Event()
    release = anyio.Event()

    async def slow_send(message: Message) -> None:
        if message["type"] == "http.response.body":
            blocked.set()
            await release.wait()
            raise OSError("the client has gone")  # SPEC: ASGI 2.4

    app = WSGIMiddleware(endless(count, 0, anyio.Event(), closed))
    async with anyio.create_task_group() as group:
        group.start_soon(app, http_scope(), Inbox(chunk(b"", more=False)), slow_send)
        await blocked.wait()
        [outbox] = channels
        with anyio.fail_after(10):
            while outbox.statistics().tasks_waiting_send == 0:
                await anyio.lowlevel.checkpoint()
        assert outbox.statistics().current_buffer_used == 1
        assert count[0] == 3  # one being sent, one in the channel, one waiting to go in
        release.set()
    assert count[0] == 3
    assert closed == [True]


# --- scopes and applications ----------------------------------------------------------------


async def test_websocket_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="'http' scopes only, got 'websocket': WSGI has no"):
        await WSGIMiddleware(hello)({"type": "websocket"}, Inbox(), Recorder())


async def test_lifespan_scope_returns_at_once() -> None:
    # SPEC: returning on the lifespan scope means "no lifespan support": nothing is exchanged.
    inbox, send = Inbox(), Recorder()
    await WSGIMiddleware(hello)({"type": "lifespan", "state": {}}, inbox, send)
    assert (inbox.taken, send.messages) == (0, [])


def test_test_client_with_block_runs(test_client_factory: ClientFactory) -> None:
    with test_client_factory(WSGIMiddleware(hello)) as client:  # a lifespan, skipped
        assert client.get("/").text == "Hello, World!"


def test_mounted_flask_app_with_lifespan(test_client_factory: ClientFactory) -> None:
    flask_app = flask.Flask(__name__)

    @flask_app.get("/hello/<name>")
    def greet(name: str) -> str:
        return f"{flask.request.script_root}|{flask.url_for('greet', name=name)}"

    app = MicroASGI(routes=[Mount("/flask", app=WSGIMiddleware(flask_app))])
    # The application drives its mounts' lifespans: the WSGI app, without one, is skipped.
    with test_client_factory(app) as client:
        response = client.get("/flask/hello/ada")
    assert response.text == "/flask|/flask/hello/ada"
