"""Regression tests for the known framework-layer attacks, driven end to end.

Each test names the advisory (CVE / GHSA) or the weakness (CWE) it covers in its id and
docstring; the limits themselves are listed in docs/security.md. Every request goes through the
public API: a ``MicroASGI`` app, its middleware and ``microasgi.testclient``. Where the test
client refuses to send a malformed request (a path that does not start with ``/``, a raw
``Host``), the test builds the ASGI scope by hand and calls the app directly.

Time bounds are deliberately generous (a second for work that takes microseconds when linear):
they catch quadratic or exponential behaviour, not slow machines.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.formparsers import FormLimits
from microasgi.middleware import Middleware
from microasgi.middleware.gzip import GZipMiddleware
from microasgi.middleware.proxy_headers import ProxyHeadersMiddleware
from microasgi.middleware.sessions import SessionMiddleware
from microasgi.middleware.trustedhost import TrustedHostMiddleware
from microasgi.requests import Request
from microasgi.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from microasgi.routing import Mount, Route, WebSocketRoute
from microasgi.staticfiles import StaticFiles
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send
from microasgi.websockets import WebSocket, WebSocketDisconnect

# A generous bound on CPU time (not wall time, so a busy machine cannot fail a test): linear
# work on these inputs takes milliseconds.
FAST = 1.0
BOUNDARY = "x-boundary-x"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


# --- the application under attack ---------------------------------------------------------------


async def form_endpoint(request: Request) -> JSONResponse:
    async with request.form() as form:
        return JSONResponse({"items": len(form.multi_items())})


async def json_endpoint(request: Request) -> JSONResponse:
    return JSONResponse({"type": type(await request.json()).__name__})


async def echo_header(request: Request) -> Response:
    return PlainTextResponse("ok", headers={"X-Echo": request.query_params["value"]})


async def go(request: Request) -> RedirectResponse:
    return RedirectResponse(request.query_params["to"])


async def items(request: Request) -> PlainTextResponse:
    return PlainTextResponse("items")


async def session_set(request: Request) -> PlainTextResponse:
    request.session["user"] = request.query_params["user"]
    return PlainTextResponse("set")


async def session_get(request: Request) -> JSONResponse:
    return JSONResponse(dict(request.session))


async def session_clear(request: Request) -> PlainTextResponse:
    request.session.clear()
    return PlainTextResponse("cleared")


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        await websocket.send_bytes(await websocket.receive_bytes())


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A public directory, a secret beside it whose name shares its prefix, and a file."""
    public = tmp_path / "static"
    public.mkdir()
    (public / "index.txt").write_text("public")
    (tmp_path / "static_secret").mkdir()
    (tmp_path / "static_secret" / "key.txt").write_text("SECRET")
    (tmp_path / "static1.txt").write_text("SECRET")
    (tmp_path / "secret.txt").write_text("SECRET")
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 40)
    return tmp_path


def make_app(root: Path, **options: Any) -> MicroASGI:
    data = str(root / "data.bin")

    async def download(request: Request) -> FileResponse:
        return FileResponse(data)

    return MicroASGI(
        routes=[
            Route("/form", form_endpoint, methods=["POST"]),
            Route("/json", json_endpoint, methods=["POST"]),
            Route("/echo", echo_header),
            Route("/go", go),
            Route("/items/", items),
            Route("/file", download),
            Route("/session/set", session_set),
            Route("/session/get", session_get),
            Route("/session/clear", session_clear),
            WebSocketRoute("/ws", ws_echo, max_message_size=1024),
            Mount("/static", StaticFiles(directory=root / "static")),
        ],
        middleware=[
            Middleware(SessionMiddleware, secret_key="s3cret", max_age=60),
            Middleware(GZipMiddleware, minimum_size=10),
        ],
        **options,
    )


@pytest.fixture
def app(site: Path) -> MicroASGI:
    return make_app(site)


def multipart(*parts: tuple[str, bytes, str | None]) -> bytes:
    """A multipart body of (name, data, filename) parts."""
    out = bytearray()
    for name, data, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += data + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out)


async def call_raw(app: Any, scope: dict[str, Any], body: bytes = b"") -> list[Message]:
    """Call ``app`` with a hand-built http scope; return what it sent."""
    full: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": None,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    full.update(scope)
    if full["raw_path"] is None:
        full["raw_path"] = full["path"].encode("latin-1", "replace")
    sent: list[Message] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(full, receive, send)
    return sent


def status_and_headers(sent: list[Message]) -> tuple[int, dict[bytes, bytes]]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    return int(start["status"]), dict(start["headers"])


# --- multipart and forms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "status"),
    [
        pytest.param([(f"f{i}", b"", None) for i in range(1001)], 400, id="CVE-2023-30798-fields"),
        pytest.param(
            [(f"f{i}", b"", "a.txt") for i in range(1001)], 400, id="CVE-2023-30798-files"
        ),
        pytest.param([(f"f{i}", b"", None) for i in range(1000)], 200, id="1000-fields-allowed"),
    ],
)
async def test_multipart_part_flood(app: MicroASGI, parts: Any, status: int) -> None:
    """CVE-2023-30798 / GHSA-74m5-2c7w-9w3x (CWE-400): unlimited fields or files per form.

    Starlette before 0.25.0 accepted any number of parts; microasgi caps fields and files at
    1000 each and answers 400 past that.
    """
    async with AsyncTestClient(app) as client:
        response = await client.post(
            "/form", content=multipart(*parts), headers={"content-type": MULTIPART}
        )
    assert response.status_code == status


async def test_multipart_one_huge_field(app: MicroASGI) -> None:
    """CVE-2024-47874 / GHSA-f96h-pmfr-66vw (CWE-770): a part without a filename buffered whole.

    A text field over ``max_part_size`` (1 MiB) is refused with 413 while it streams.
    """
    body = multipart(("big", b"a" * (1024 * 1024 + 1), None))
    async with AsyncTestClient(app) as client:
        response = await client.post("/form", content=body, headers={"content-type": MULTIPART})
    assert response.status_code == 413


async def test_urlencoded_limits_apply_too(site: Path) -> None:
    """CVE-2026-54283 / GHSA-82w8-qh3p-5jfq (CWE-770): form limits ignored for urlencoded bodies.

    The same ``max_fields`` and ``max_part_size`` hold for ``application/x-www-form-urlencoded``.
    """
    app = make_app(site, form_limits=FormLimits(max_fields=10, max_part_size=100))
    async with AsyncTestClient(app) as client:
        many = await client.post(
            "/form",
            content="&".join(f"a{i}=1" for i in range(11)),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        huge = await client.post(
            "/form",
            content="a=" + "b" * 101,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        fine = await client.post(
            "/form",
            content="a=1&b=2",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert (many.status_code, huge.status_code) == (400, 413)
    assert fine.json() == {"items": 2}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b"\r\n" * 500_000 + multipart(("a", b"1", None)), id="CVE-2024-53981-preamble-crlf"
        ),
        pytest.param(
            b"\n" * 1_000_000 + multipart(("a", b"1", None)), id="CVE-2024-53981-preamble-lf"
        ),
        pytest.param(
            b"x" * 1_000_000 + multipart(("a", b"1", None)), id="CVE-2024-53981-preamble-junk"
        ),
    ],
)
async def test_multipart_preamble_flood(app: MicroASGI, body: bytes) -> None:
    """CVE-2024-53981 / GHSA-59g5-xgcq-4qw3 (CWE-770): CR/LF or junk before the first boundary.

    python-multipart before 0.0.18 skipped such bytes one at a time, logging each. microasgi
    allows 8 KiB before the first boundary and answers 400 past it, in one pass.
    """
    async with AsyncTestClient(app) as client:
        started = time.process_time()
        response = await client.post("/form", content=body, headers={"content-type": MULTIPART})
        elapsed = time.process_time() - started
    assert response.status_code == 400
    assert elapsed < FAST


async def test_multipart_epilogue_flood(app: MicroASGI) -> None:
    """CVE-2024-53981 / GHSA-59g5-xgcq-4qw3 (CWE-770): a megabyte of CR/LF after the last boundary.

    Bytes after the closing boundary are ignored in bulk: the form parses, quickly.
    """
    body = multipart(("a", b"1", None)) + b"\r\n" * 500_000
    async with AsyncTestClient(app) as client:
        started = time.process_time()
        response = await client.post("/form", content=body, headers={"content-type": MULTIPART})
        elapsed = time.process_time() - started
    assert response.status_code == 200
    assert response.json() == {"items": 1}
    assert elapsed < FAST


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=a".encode()
            + b"x" * 20_000
            + b"\r\n\r\n1\r\n"
            + f"--{BOUNDARY}--\r\n".encode(),
            id="CWE-770-endless-part-header",
        ),
        pytest.param(
            f"--{BOUNDARY}\r\n".encode()
            + b"X-A: 1\r\n" * 20
            + b'Content-Disposition: form-data; name="a"\r\n\r\n1\r\n'
            + f"--{BOUNDARY}--\r\n".encode(),
            id="CWE-770-part-header-flood",
        ),
        pytest.param(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nX: \x01\r\n\r\n1\r\n'
            f"--{BOUNDARY}--\r\n".encode(),
            id="CWE-20-control-character-in-part-header",
        ),
        pytest.param(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1'.encode(),
            id="CWE-20-truncated-body",
        ),
    ],
)
async def test_multipart_malformed_headers(app: MicroASGI, body: bytes) -> None:
    """CWE-770 / CWE-20: part headers that never end, too many of them, or malformed parts: 400."""
    async with AsyncTestClient(app) as client:
        response = await client.post("/form", content=body, headers={"content-type": MULTIPART})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param(
            'application/x-www-form-urlencoded; !="\\' + "\\" * 100_000,
            id="CVE-2024-24762-backslashes",
        ),
        pytest.param("multipart/form-data; " + "a=b; " * 20_000, id="CVE-2024-24762-many-options"),
        pytest.param('multipart/form-data; boundary="' + '\\"' * 50_000, id="CWE-1333-open-quote"),
        pytest.param("multipart/form-data; boundary=" + "a" * 100_000, id="CWE-1333-huge-boundary"),
    ],
)
async def test_content_type_redos(app: MicroASGI, content_type: str) -> None:
    """CVE-2024-24762 / GHSA-2jv5-9r88-3w3p / GHSA-93gm-qmq6-w238 (CWE-1333): Content-Type ReDoS.

    python-multipart before 0.0.7 parsed options with a backtracking regex; microasgi's option
    parser is one linear pass, so a hostile value is answered (4xx or parsed) at once.
    """
    async with AsyncTestClient(app) as client:
        started = time.process_time()
        response = await client.post(
            "/form", content=b"a=1", headers={"content-type": content_type}
        )
        elapsed = time.process_time() - started
    assert response.status_code < 500
    assert elapsed < FAST


# --- JSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, 400, id="CWE-674-nested-arrays"),
        pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400, id="CWE-674-nested-objects"),
        pytest.param(b"[" * 100_000, 400, id="CWE-674-unclosed"),
        pytest.param(b"[" * 256 + b"]" * 256, 200, id="256-levels-allowed"),
        pytest.param(b"{", 400, id="CWE-20-invalid"),
        pytest.param(b"\xff\xfe", 400, id="CWE-20-undecodable"),
    ],
)
async def test_hostile_json(app: MicroASGI, body: bytes, status: int) -> None:
    """CWE-674 (uncontrolled recursion) / CWE-20: deep nesting and broken JSON answer 400, not 500."""
    async with AsyncTestClient(app) as client:
        response = await client.post("/json", content=body)
    assert response.status_code == status


async def test_huge_json_body(site: Path) -> None:
    """CWE-400: a JSON body over the body cap is refused (413) before it is parsed."""
    app = make_app(site, max_body_size=1024 * 1024)
    body = json.dumps(["x" * 1000] * 2000).encode()
    async with AsyncTestClient(app) as client:
        response = await client.post("/json", content=body)
        chunked = await client.post("/json", content=iter([body[:1000], body[1000:]]))
    assert (response.status_code, chunked.status_code) == (413, 413)


# --- hostile headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(
            "bytes=" + ",".join(f"{i * 2}-{i * 2}" for i in range(5000)),
            id="CVE-2025-62727-disjoint",
        ),
        pytest.param("bytes=" + "0-0," * 5000 + "0-0", id="CVE-2025-62727-repeated"),
        pytest.param("bytes=" + "1" * 100_000 + "-", id="CVE-2025-62727-digits"),
        pytest.param("bytes=" + "-" * 100_000, id="CWE-1333-dashes"),
    ],
)
async def test_range_with_thousands_of_parts(app: MicroASGI, value: str) -> None:
    """CVE-2025-62727 / GHSA-7f5h-v6xp-fcq8 (CWE-407): quadratic Range parsing and merging.

    Starlette 0.39.0-0.49.0 merged ranges in O(n^2); microasgi parses in one pass, merges after a
    sort, and serves the whole file (200) past 100 parts, or 416 for what cannot be satisfied.
    """
    async with AsyncTestClient(app) as client:
        started = time.process_time()
        response = await client.get("/file", headers={"range": value})
        elapsed = time.process_time() - started
    assert response.status_code in {200, 206, 416}
    assert len(response.content) <= 10240
    assert elapsed < FAST


async def test_range_amplification(app: MicroASGI) -> None:
    """CWE-400: ``bytes=0-,0-,...`` must not multiply the file in one multipart response."""
    async with AsyncTestClient(app) as client:
        response = await client.get("/file", headers={"range": "bytes=" + ",".join(["0-"] * 50)})
    assert response.status_code == 206
    assert response.content == bytes(range(256)) * 40


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("accept-encoding", "gzip;q=" + "0" * 100_000, id="CWE-1333-accept-encoding-q"),
        pytest.param(
            "accept-encoding", ", " * 100_000 + "gzip", id="CWE-1333-accept-encoding-commas"
        ),
        pytest.param("cookie", "a=" + '"' * 100_000, id="CWE-407-cookie-quotes"),
        pytest.param("cookie", ";" * 100_000, id="CWE-407-cookie-semicolons"),
        pytest.param("cookie", "a=b;" * 20_000, id="CWE-407-cookie-pairs"),
        pytest.param("cookie", "session=" + "\\" * 100_000, id="CWE-407-cookie-backslashes"),
        pytest.param("if-none-match", 'W/"a", ' * 20_000, id="CWE-1333-if-none-match"),
        pytest.param("if-modified-since", "Mon, " * 20_000, id="CWE-1333-if-modified-since"),
        pytest.param("if-range", "x" * 100_000, id="CWE-1333-if-range"),
    ],
)
async def test_redos_shaped_headers(app: MicroASGI, name: str, value: str) -> None:
    """CWE-1333 / CWE-407: long hostile header values are answered fast and never crash.

    Each goes to an endpoint that reads it: the gzip middleware reads Accept-Encoding, the
    session middleware the cookies, the file response the conditional headers.
    """
    async with AsyncTestClient(app) as client:
        started = time.process_time()
        file = await client.get("/file", headers={name: value})
        session = await client.get("/session/get", headers={name: value})
        elapsed = time.process_time() - started
    assert file.status_code in {200, 206, 304, 412}
    assert session.status_code == 200
    assert elapsed < 2 * FAST


@pytest.mark.parametrize(
    "forwarded",
    [
        pytest.param("for=" + ",for=" * 50_000, id="CWE-1333-forwarded-hops"),
        pytest.param('for="' + "\\" * 100_000, id="CWE-1333-forwarded-quote"),
        pytest.param("for=1.2.3.4;" * 30_000, id="CWE-1333-forwarded-params"),
    ],
)
async def test_forwarded_redos(forwarded: str) -> None:
    """CWE-1333 / CWE-348: a hostile ``Forwarded`` from a trusted peer is read fast, or ignored."""

    async def client_of(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse(repr(scope["client"]))(scope, receive, send)

    app = ProxyHeadersMiddleware(client_of, trusted_hosts="*", headers="forwarded")
    started = time.process_time()
    sent = await call_raw(
        app, {"headers": [(b"host", b"testserver"), (b"forwarded", forwarded.encode())]}
    )
    assert time.process_time() - started < FAST
    assert status_and_headers(sent)[0] == 200


async def test_forwarded_from_untrusted_peer_is_ignored() -> None:
    """CWE-348 (use of less trusted source): a client cannot forge its address or scheme."""

    async def client_of(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse(f"{scope['client'][0]} {scope['scheme']}")(scope, receive, send)

    app = ProxyHeadersMiddleware(client_of, trusted_hosts=["10.0.0.1"])
    headers = [(b"host", b"testserver"), (b"x-forwarded-for", b"6.6.6.6"),
               (b"x-forwarded-proto", b"https")]  # fmt: skip
    sent = await call_raw(app, {"headers": headers, "client": ("203.0.113.9", 4000)})
    assert sent[1]["body"] == b"203.0.113.9 http"


# --- hosts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        pytest.param(b"evil.com", id="CWE-644-other-host"),
        pytest.param(b"example.com.evil.com", id="CWE-644-suffix"),
        pytest.param(b"evil.com#example.com", id="CWE-644-fragment"),
        pytest.param(b"example.com@evil.com", id="CWE-644-userinfo"),
        pytest.param(b"example.com\r\nX-Injected: 1", id="CWE-113-crlf"),
        pytest.param(b"example.com/evil", id="CWE-644-path"),
        pytest.param(b"a" * 10_000 + b".example.com", id="CWE-400-huge"),
        pytest.param(b"", id="CWE-644-empty"),
        pytest.param(b"example.com:99999", id="CWE-644-bad-port"),
    ],
)
async def test_forged_hosts_refused(host: bytes) -> None:
    """CWE-644 (host header injection): TrustedHostMiddleware answers 400 to any other host."""
    app = TrustedHostMiddleware(
        PlainTextResponse("inner"), allowed_hosts=["example.com", "*.example.com"]
    )
    started = time.process_time()
    sent = await call_raw(app, {"headers": [(b"host", host)]})
    assert time.process_time() - started < FAST
    assert status_and_headers(sent)[0] == 400
    assert all(m.get("body") != b"inner" for m in sent)


async def test_missing_host_refused_and_good_host_served() -> None:
    """CWE-644: no Host header at all is refused; the allowed ones reach the app."""
    app = TrustedHostMiddleware(
        PlainTextResponse("inner"), allowed_hosts=["example.com", "*.example.com"]
    )
    missing = await call_raw(app, {"headers": []})
    good = await call_raw(app, {"headers": [(b"host", b"api.example.com:8080")]})
    assert status_and_headers(missing)[0] == 400
    assert status_and_headers(good)[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("//evil.com/x", id="CWE-601-double-slash-path"),
        pytest.param("@evil.com", id="CVE-2026-54282-at"),
        pytest.param("@evil.com/x", id="CVE-2026-54282-at-path"),
        pytest.param(":80@evil.com/", id="CVE-2026-54282-port-at"),
    ],
)
async def test_relative_path_cannot_move_the_authority(path: str) -> None:
    """CVE-2026-54282 / GHSA-jp82-jpqv-5vv3 (CWE-20): a path like ``@evil.com`` must not move
    ``url.hostname`` (found reproducing in microasgi by this test, fixed in ``_scope.url_string``).

    ``request.url`` must keep the Host header's host whatever the path holds.
    """

    async def host_of(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        await PlainTextResponse(f"{request.url.hostname}|{request.url.netloc}")(
            scope, receive, send
        )

    sent = await call_raw(host_of, {"path": path, "headers": [(b"host", b"example.com")]})
    hostname, _, netloc = sent[1]["body"].decode().partition("|")
    assert (hostname, netloc) == ("example.com", "example.com")


@pytest.mark.parametrize(
    "host",
    [
        pytest.param(b"[::1]", id="valid-ipv6"),
        pytest.param(b"[A]", id="CWE-20-bracketed-hex"),
        pytest.param(b"[1]:80", id="CWE-20-bracketed-digit"),
        pytest.param(b"[::::]", id="CWE-20-bracketed-colons"),
    ],
)
async def test_bracketed_host_never_breaks_request_url(host: bytes) -> None:
    """CWE-20 / CWE-248 (found by fuzz/fuzz_scope.py): a ``Host`` of ``[A]`` must not make
    ``request.url.hostname`` raise (a client-chosen 500); an invalid host is ignored for URLs."""

    async def host_of(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        await PlainTextResponse(str(request.url.hostname))(scope, receive, send)

    sent = await call_raw(host_of, {"headers": [(b"host", host)]})
    assert sent[1]["body"] in {b"::1", b"testserver"}


# --- response splitting and redirects -----------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("a\r\nSet-Cookie: admin=1", id="CWE-113-crlf"),
        pytest.param("a\nSet-Cookie: admin=1", id="CWE-113-lf"),
        pytest.param("a\rSet-Cookie: admin=1", id="CWE-113-cr"),
        pytest.param("a\x00b", id="CWE-113-nul"),
        pytest.param("a\x0bb", id="CWE-113-vertical-tab"),
    ],
)
async def test_header_injection_through_response_headers(app: MicroASGI, value: str) -> None:
    """CWE-113 (HTTP response splitting): a user value with CR/LF never reaches the wire.

    Setting such a header raises ``ValueError`` (the client gets a plain 500 with no injected
    header); a redirect target is percent-encoded into one harmless ``Location`` line.
    """
    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        response = await client.get("/echo", params={"value": value})
        redirect = await client.get("/go", params={"to": "/x" + value}, follow_redirects=False)
    assert response.status_code == 500
    assert "x-echo" not in response.headers
    assert redirect.status_code == 307
    location = redirect.headers["location"]
    assert location.startswith("/x")
    assert location.isprintable()
    assert " " not in location
    for answer in (response, redirect):
        assert "set-cookie" not in answer.headers
    with pytest.raises(ValueError, match="control"):
        Response("x", headers={"X-Echo": value})
    raw = dict(RedirectResponse("/x" + value).raw_headers)[b"location"]
    assert not any(byte < 0x21 or byte == 0x7F for byte in raw)


async def test_header_injection_through_cookies() -> None:
    """CWE-113: a cookie value with CR/LF is quoted and escaped; a path or domain with CR/LF or
    ``;`` is refused when set."""
    response = Response("x")
    response.set_cookie("name", "a\r\nSet-Cookie: admin=1")
    (header,) = [v for k, v in response.raw_headers if k == b"set-cookie"]
    assert b"\r" not in header
    assert b"\n" not in header
    assert header.startswith(b'name="a\\015\\012Set-Cookie: admin=1"')
    for bad in ({"path": "/\r\nX: 1"}, {"domain": "x;y"}, {"path": "/;x"}):
        with pytest.raises(ValueError, match=r"Cookie 'name'|control character"):
            Response("x").set_cookie("name", "a", **bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("//evil.com/items", id="CWE-601-double-slash"),
        pytest.param("///evil.com/items", id="CWE-601-triple-slash"),
        pytest.param("/\\evil.com/items", id="CWE-601-backslash"),
        pytest.param("/\\/evil.com/items", id="CWE-601-backslash-slash"),
        pytest.param("//evil.com/items/..", id="CWE-601-dot-segment"),
        pytest.param("/%2F/evil.com/items", id="CWE-601-encoded-slash"),
    ],
)
async def test_open_redirect_through_redirect_slashes(app: MicroASGI, path: str) -> None:
    """CWE-601 (open redirect) through ``redirect_slashes``: ``//evil.com/`` must stay on this host.

    The trailing-slash redirect has a relative ``Location`` whose leading slashes and backslashes
    are collapsed, so a browser resolves it against the current origin.
    """
    sent = await call_raw(app, {"path": path})
    status, headers = status_and_headers(sent)
    if status in {301, 302, 303, 307, 308}:
        location = headers[b"location"].decode("latin-1")
        assert location.startswith("/")
        assert not location.startswith(("//", "/\\"))
        assert "\\" not in location
    else:
        assert status == 404


async def test_redirect_slashes_still_works(app: MicroASGI) -> None:
    """The guard above does not break the feature: ``/items`` redirects to ``/items/``."""
    async with AsyncTestClient(app) as client:
        response = await client.get("/items", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/items/"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/items/\n", id="CWE-158-trailing-newline"),
        pytest.param("/items/\x00", id="CWE-158-nul"),
        pytest.param("/items\r\n/", id="CWE-113-crlf-in-path"),
    ],
)
async def test_control_characters_in_paths_never_match(app: MicroASGI, path: str) -> None:
    """CWE-158 / CWE-113: control characters in a path never match a route nor reach a Location."""
    sent = await call_raw(app, {"path": path})
    status, headers = status_and_headers(sent)
    assert status == 404
    assert b"location" not in headers


# --- path traversal through StaticFiles ---------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("/static/../secret.txt", id="CWE-22-dotdot"),
        pytest.param("/static/../static1.txt", id="CVE-2023-29159-shared-prefix-file"),
        pytest.param("/static/../static_secret/key.txt", id="CVE-2023-29159-shared-prefix-dir"),
        pytest.param("/static/%2e%2e/secret.txt", id="CWE-22-percent-dots"),
        pytest.param("/static/%2E%2E/secret.txt", id="CWE-22-percent-dots-upper"),
        pytest.param("/static/..%2fsecret.txt", id="CWE-22-encoded-slash"),
        pytest.param("/static/..%2Fsecret.txt", id="CWE-22-encoded-slash-upper"),
        pytest.param("/static/%2e%2e%2fsecret.txt", id="CWE-22-all-encoded"),
        pytest.param("/static/%252e%252e/secret.txt", id="CWE-22-double-encoded"),
        pytest.param("/static/..%5csecret.txt", id="CWE-22-encoded-backslash"),
        pytest.param("/static/..\\secret.txt", id="CWE-22-backslash"),
        pytest.param("/static/%c0%ae%c0%ae/secret.txt", id="CWE-22-overlong-utf8"),
        pytest.param("/static/..%00/secret.txt", id="CWE-158-nul"),
        pytest.param("/static/index.txt%00.png", id="CWE-158-nul-suffix"),
        pytest.param("/static//etc/passwd", id="CWE-36-absolute"),
        pytest.param("/static/C:/Windows/win.ini", id="CWE-36-drive-letter"),
        pytest.param("/static/\\\\evil.com\\share", id="CVE-2026-48818-unc-path"),
        pytest.param("/static/....//secret.txt", id="CWE-22-four-dots"),
        pytest.param("/static/./../secret.txt", id="CWE-22-dot-dotdot"),
    ],
)
async def test_static_files_path_traversal(app: MicroASGI, site: Path, raw: str) -> None:
    """CWE-22 / CWE-36 path traversal, CVE-2023-29159 / GHSA-v5gw-mw7f-84px (``commonprefix``
    let ``/static/../static1.txt`` through) and CVE-2026-48818 / GHSA-wqp7-x3pw-xc5r (UNC paths):
    nothing outside the directory is ever served, in any encoding.

    The path is sent both as a server would decode it and raw, so each spelling is tried as the
    decoded ``path`` and as the undecoded one.
    """
    from urllib.parse import unquote

    for path in {raw, unquote(raw)}:
        sent = await call_raw(app, {"path": path, "raw_path": raw.encode()})
        status, _ = status_and_headers(sent)
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        assert b"SECRET" not in body, path
        assert status in {404, 400, 405}, (path, status)


async def test_static_symlink_out_is_refused(app: MicroASGI, site: Path) -> None:
    """CWE-59 (link following): a symlink inside the directory pointing out gives 404."""
    (site / "static" / "link.txt").symlink_to(site / "secret.txt")
    async with AsyncTestClient(app) as client:
        response = await client.get("/static/link.txt")
        fine = await client.get("/static/index.txt")
    assert response.status_code == 404
    assert fine.text == "public"


# --- websockets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("send", ["bytes", "text"])
async def test_oversized_websocket_message(app: MicroASGI, send: str) -> None:
    """CWE-400 / CWE-770: a websocket message over ``max_message_size`` closes with 1009."""
    async with AsyncTestClient(app) as client, client.websocket_connect("/ws") as ws:
        await ws.send_bytes(b"ok")
        assert await ws.receive_bytes() == b"ok"
        if send == "bytes":
            await ws.send_bytes(b"x" * 1025)
        else:
            await ws.send_text("é" * 513)  # 1026 bytes of UTF-8
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_bytes()
    assert closed.value.code == 1009


# --- sessions -----------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from microasgi.middleware import sessions

    now = [1_800_000_000]
    monkeypatch.setattr(sessions, "_now", lambda: now[0])
    return now


def tampered(cookie: str) -> list[str]:
    """Every one-field change an attacker might try on ``payload.timestamp.signature``."""
    payload, stamp, signature = cookie.split(".")
    forged_payload = "eyJ1c2VyIjoiYWRtaW4ifQ"  # base64url of {"user":"admin"}
    return [
        f"{forged_payload}.{stamp}.{signature}",
        f"{payload}.{int(stamp) + 3600}.{signature}",
        f"{payload}.{stamp}.{signature[:-2]}AA",
        f"{payload}.{stamp}.",
        f"{payload}.{stamp}",
        f"{forged_payload}.{stamp}.{signature}.{signature}",
        cookie + "=",
        cookie + "." * 5000,
    ]


async def test_session_tampering(app: MicroASGI, clock: list[int]) -> None:
    """CWE-565 / CWE-345 (insufficient verification): any changed byte gives an empty session."""
    async with AsyncTestClient(app) as client:
        await client.get("/session/set", params={"user": "alice"})
        cookie = client.cookies["session"]
        assert (await client.get("/session/get")).json() == {"user": "alice"}
        for forged in tampered(cookie):
            client.cookies = {"session": forged}
            assert (await client.get("/session/get")).json() == {}, forged


async def test_session_replay_after_expiry(app: MicroASGI, clock: list[int]) -> None:
    """CWE-613 (insufficient session expiration): a copied cookie dies at ``max_age`` on the server.

    The timestamp is signed, so a client cannot extend it, and the server refuses it past 60 s
    even if the browser kept it.
    """
    async with AsyncTestClient(app) as client:
        await client.get("/session/set", params={"user": "alice"})
        stolen = client.cookies["session"]
    clock[0] += 59
    async with AsyncTestClient(app, cookies={"session": stolen}) as replay:
        assert (await replay.get("/session/get")).json() == {"user": "alice"}
    clock[0] += 2
    async with AsyncTestClient(app, cookies={"session": stolen}) as replay:
        assert (await replay.get("/session/get")).json() == {}


async def test_session_from_another_key_or_cookie_name(site: Path, clock: list[int]) -> None:
    """CWE-384 / CWE-345: a cookie signed with another secret or under another name is refused."""
    app = make_app(site)
    async with AsyncTestClient(app) as client:
        await client.get("/session/set", params={"user": "alice"})
        cookie = client.cookies["session"]

    other = MicroASGI(
        routes=[Route("/session/get", session_get)],
        middleware=[Middleware(SessionMiddleware, secret_key="other", max_age=60)],
    )
    renamed = MicroASGI(
        routes=[Route("/session/get", session_get)],
        middleware=[
            Middleware(
                SessionMiddleware, secret_key="s3cret", session_cookie="admin_session", max_age=60
            )
        ],
    )
    async with AsyncTestClient(other, cookies={"session": cookie}) as client:
        assert (await client.get("/session/get")).json() == {}
    async with AsyncTestClient(renamed, cookies={"admin_session": cookie}) as client:
        assert (await client.get("/session/get")).json() == {}


async def test_session_cleared_on_logout_is_not_restored(app: MicroASGI, clock: list[int]) -> None:
    """CWE-613: clearing the session expires the cookie in the browser (documented: a copy taken
    before logout stays valid until ``max_age``, as sessions are stateless)."""
    async with AsyncTestClient(app) as client:
        await client.get("/session/set", params={"user": "alice"})
        response = await client.get("/session/clear")
        assert "max-age=0" in response.headers[
            "set-cookie"
        ].lower() or "expires=thu, 01 jan 1970" in (response.headers["set-cookie"].lower())
        assert (await client.get("/session/get")).json() == {}


async def _name_and_ext(request: Request) -> Response:
    params = request.path_params
    return PlainTextResponse(f"{params['a']}|{params['b']}|{params['c']}")


@pytest.mark.parametrize("standalone", [False, True], ids=["router", "route alone"])
@pytest.mark.parametrize(
    "segment",
    [
        pytest.param("a." * 800, id="CWE-1333-dots"),
        pytest.param("a." * 4000 + "txt", id="CWE-1333-dots-and-ext"),
        pytest.param("." * 3000 + "x", id="CWE-1333-only-dots"),
    ],
)
async def test_crowded_segment_redos(standalone: bool, segment: str) -> None:
    """CWE-1333: a segment with several parameters ({a}.{b}.{c}.txt) is matched by a regex whose
    backtracking grows with a power of the segment's length; such templates only take segments
    of at most 255 characters, so a long hostile segment is a quick 404 (it took seconds)."""
    route = Route("/files/{a}.{b}.{c}.txt", _name_and_ext)
    app: ASGIApp = route if standalone else MicroASGI(routes=[route])
    async with AsyncTestClient(app) as client:
        started = time.process_time()
        response = await client.get("/files/" + segment)
        elapsed = time.process_time() - started
        fits = "x" * 243 + ".y.z.txt"  # 251 characters: still served
        served = await client.get("/files/" + fits)
    assert response.status_code == 404
    assert elapsed < FAST
    assert (served.status_code, served.text) == (200, "x" * 243 + "|y|z")


# --- CWE-770: the body cap bounds every way of reading the body ---------------------------------


def _multipart_file(size: int) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + b"x" * size
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def _upload(request: Request) -> JSONResponse:
    async with request.form() as form:
        upload = form["f"]
        assert not isinstance(upload, str)
        return JSONResponse({"size": len(await upload.read())})


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_cap_bounds_multipart_uploads(chunked: bool) -> None:
    """CWE-770: ``max_body_size`` bounded body(), json() and urlencoded forms, but a multipart
    upload of any size reached the endpoint (a 2,000-byte file passed a 512-byte cap)."""
    app = MicroASGI(routes=[Route("/upload", _upload, methods=["POST"])], max_body_size=512)
    data = _multipart_file(2000)

    async def stream() -> Any:
        for start in range(0, len(data), 300):
            yield data[start : start + 300]

    content: Any = stream() if chunked else data
    async with AsyncTestClient(app) as client:
        refused = await client.post("/upload", content=content, headers={"content-type": MULTIPART})
        small = await client.post(
            "/upload", content=_multipart_file(100), headers={"content-type": MULTIPART}
        )
    assert refused.status_code == 413
    assert refused.text == "Content Too Large"
    assert small.json() == {"size": 100}


async def test_default_body_cap_bounds_multipart_uploads() -> None:
    """CWE-770: the 16 MiB default cap let a file of any size through a multipart form; a route
    that takes larger uploads says so with its own ``max_body_size``."""
    big = _multipart_file(16 * 1024 * 1024 + 1)
    app = MicroASGI(
        routes=[
            Route("/upload", _upload, methods=["POST"]),
            Route("/big", _upload, methods=["POST"], max_body_size=32 * 1024 * 1024),
        ]
    )
    async with AsyncTestClient(app) as client:
        refused = await client.post("/upload", content=big, headers={"content-type": MULTIPART})
        allowed = await client.post("/big", content=big, headers={"content-type": MULTIPART})
    assert refused.status_code == 413
    assert allowed.json() == {"size": 16 * 1024 * 1024 + 1}


async def test_declared_oversize_body_is_refused_before_the_endpoint_runs() -> None:
    """CWE-770: a ``Content-Length`` over the cap answers 413 before the endpoint runs, even
    when it never reads the body (it used to run and answer 200)."""
    ran: list[str] = []

    async def ignores_body(request: Request) -> PlainTextResponse:
        ran.append(request.url.path)
        return PlainTextResponse("ran")

    async def raw(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan: nothing to start
        ran.append(scope["path"])
        await PlainTextResponse("ran")(scope, receive, send)

    app = MicroASGI(
        routes=[
            Route("/ignore", ignores_body, methods=["POST"]),
            Route("/raw", raw, methods=["POST"]),
            Mount("/mounted", app=raw),
            Route("/roomy", ignores_body, methods=["POST"], max_body_size=4096),
        ],
        max_body_size=512,
    )
    async with AsyncTestClient(app) as client:
        answers = [
            await client.post(path, content=b"x" * 1000)
            for path in ("/ignore", "/raw", "/mounted/x", "/roomy")
        ]
    assert [r.status_code for r in answers] == [413, 413, 413, 200]
    assert ran == ["/roomy"]


async def test_body_cap_bounds_raw_apps_reading_receive() -> None:
    """CWE-770: a mounted raw ASGI app (or another framework) reads ``receive()`` directly,
    where no ``Request`` applies the cap: the mount counts the bytes of a body sent without
    ``Content-Length`` and refuses the chunk that passes the cap."""
    received: list[int] = []

    async def raw(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan: nothing to start
        total, more = 0, True
        while more:
            message = await receive()
            total += len(message.get("body", b""))
            more = message.get("more_body", False)
        received.append(total)
        await PlainTextResponse(str(total))(scope, receive, send)

    async def chunks(count: int) -> Any:
        for _ in range(count):
            yield b"x" * 200

    app = MicroASGI(routes=[Mount("/raw", app=raw)], max_body_size=512)
    async with AsyncTestClient(app) as client:
        refused = await client.post("/raw/x", content=chunks(5))
        served = await client.post("/raw/x", content=chunks(2))
    assert refused.status_code == 413
    assert (served.status_code, served.text) == (200, "400")
    assert received == [400]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_bare_router_answers_413(chunked: bool) -> None:
    """CWE-770: a ``Router(max_body_size=...)`` used as the app let the 413 ``HTTPException``
    escape to the server (a 500 and a traceback) instead of answering it."""
    from microasgi.routing import Router

    async def read(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    async def chunks() -> Any:
        for _ in range(5):
            yield b"x" * 200

    router = Router([Route("/read", read, methods=["POST"])], max_body_size=512)
    content: Any = chunks() if chunked else b"x" * 1000
    async with AsyncTestClient(router) as client:
        refused = await client.post("/read", content=content)
        served = await client.post("/read", content=b"x" * 10)
    assert (refused.status_code, refused.text) == (
        413,
        "Content Too Large",
    )
    assert served.text == "10"


# --- CWE-524: cache keys, Vary kept whole ----------------------------------------------------


async def test_gzip_keeps_every_vary_header_so_caches_keep_users_apart() -> None:
    """CWE-524: a response with ``Vary: Accept-Language`` and ``Vary: Cookie`` left compressed
    with ``vary: Accept-Language, Accept-Encoding``; without ``Cookie`` a shared cache could
    serve one user's page to another."""

    async def page(request: Request) -> Response:
        response = PlainTextResponse("personal " * 200)
        response.raw_headers.extend([(b"vary", b"Accept-Language"), (b"Vary", b"Cookie")])
        return response

    app = MicroASGI(
        routes=[Route("/", page)], middleware=[Middleware(GZipMiddleware, minimum_size=10)]
    )
    async with AsyncTestClient(app) as client:
        response = await client.get("/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert [v.strip() for v in response.headers["vary"].split(",")] == [
        "Accept-Language",
        "Cookie",
        "Accept-Encoding",
    ]


async def test_cors_preflight_answers_vary_on_what_they_depend_on() -> None:
    """CWE-524: preflight answers, refused ones included, varied on ``Origin`` alone (and not at
    all with ``allow_origins=["*"]``), so a cache could serve an answer given for one method,
    header list or origin to another request."""
    from microasgi.middleware.cors import CORSMiddleware

    expected = [
        "Origin",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
        "Access-Control-Request-Private-Network",
    ]
    for origins in (["https://app.example"], ["*"]):
        app = MicroASGI(
            routes=[Route("/", items)],
            middleware=[Middleware(CORSMiddleware, allow_origins=origins)],
        )
        async with AsyncTestClient(app) as client:
            for method in ("GET", "DELETE"):  # allowed, refused
                answer = await client.options(
                    "/",
                    headers={
                        "origin": "https://app.example",
                        "access-control-request-method": method,
                    },
                )
                assert [v.strip() for v in answer.headers["vary"].split(",")] == expected
            simple = await client.get("/", headers={"origin": "https://app.example"})
            assert simple.headers["vary"] == "Origin"


# --- CWE-601: reverse URLs stay on the site --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/example.org/a", "/%2Fexample.org/a"),
        ("//example.org/a", "/%2F/example.org/a"),
        ("\\example.org/a", "/%5Cexample.org/a"),
        ("a//b", "/a//b"),  # not at the start: an ordinary path
    ],
)
async def test_reverse_urls_cannot_leave_the_site(value: str, expected: str) -> None:
    """CWE-601: ``url_path_for("catchall", path="/example.org/a")`` for ``/{path:path}`` gave
    ``//example.org/a``, a scheme-relative URL: an open redirect once put in a ``Location``."""

    async def catchall(request: Request) -> Response:
        return RedirectResponse(request.url_for("catchall", path=request.query_params["to"]).path)

    app = MicroASGI(routes=[Route("/{path:path}", catchall)])
    assert app.url_path_for("catchall", path=value) == expected
    async with AsyncTestClient(app, follow_redirects=False) as client:
        response = await client.get("/", params={"to": value})
    assert response.headers["location"] == expected
    assert not response.headers["location"].startswith("//")


def test_reverse_urls_insert_parameter_values_literally() -> None:
    """CWE-74: a value that looks like a placeholder (``category="{id}"``) was substituted again
    by the next parameter's value."""
    app = MicroASGI(routes=[Route("/c/{category}/{id}", items, name="item")])
    assert app.url_path_for("item", category="{id}", id="7") == "/c/{id}/7"
