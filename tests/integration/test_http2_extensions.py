"""Server push, early hints and trailers seen by an HTTP/2 client (h2, cleartext prior knowledge).

Each server's offer is measured in ``test_server_scopes.py``; here a real client checks the
effect: what it received when microasgi's APIs used what the server offered, and that nothing
breaks where the server offers nothing.
"""

from __future__ import annotations

import hashlib
import socket
import time

import pytest

from .serverapp import CHUNKS, LINK, STYLE
from .servers import HOST, IO_TIMEOUT, SERVER_NAMES, Server, h2_get, http1_get

pytestmark = pytest.mark.integration

# server (spoken to over h2c): (103 early hints seen, push seen, trailers sent). Measured.
H2_EFFECTS: dict[str, tuple[bool, bool, bool]] = {
    "hypercorn": (True, True, True),
    "uvicorn-zttp": (True, False, True),  # --http zttp --http2: hints and trailers, no push
    "granian": (False, False, False),
    "gunicorn": (False, False, True),  # trailers; early hints only by its own message (below)
}


@pytest.mark.parametrize("name", H2_EFFECTS)
def test_push_and_early_hints(servers: dict[str, Server], name: str) -> None:
    hints, push, _ = H2_EFFECTS[name]
    result = h2_get(
        servers[name].port, "/page", [("accept", "text/css"), ("user-agent", "h2-test")]
    )
    response = result.response
    assert response.status == 200
    assert response.body == b"<html>page</html>"
    if hints:
        # The 103 came before the response, with the Link value the endpoint gave.
        assert [dict(hints)[b":status"] for hints in response.informational] == [b"103"]
        assert (b"link", LINK.encode()) in response.informational[0]
    else:
        assert response.informational == []
    if not push:
        assert (result.promises, result.pushed) == ({}, {})
        return
    # The push promise names the path and copies the request's cache-relevant headers.
    [(pushed_id, promised)] = result.promises.items()
    assert (b":path", b"/style.css") in promised
    assert (b":method", b"GET") in promised
    assert (b"accept", b"text/css") in promised
    assert (b"user-agent", b"h2-test") in promised
    pushed = result.pushed[pushed_id]
    assert pushed.status == 200
    assert pushed.body == STYLE


@pytest.mark.parametrize("name", H2_EFFECTS)
def test_streaming_trailers(servers: dict[str, Server], name: str) -> None:
    response = h2_get(servers[name].port, "/trailers", [("te", "trailers")]).response
    assert response.status == 200
    assert response.body == b"".join(CHUNKS)
    digest = hashlib.sha256(b"".join(CHUNKS)).hexdigest().encode()
    if H2_EFFECTS[name][2]:
        assert (b"trailer", b"x-sha256") in response.headers
        assert response.trailers == [(b"x-sha256", digest)]
    else:
        assert response.trailers == []
        assert b"trailer" not in dict(response.headers)


@pytest.mark.parametrize("name", [name for name, effects in H2_EFFECTS.items() if effects[2]])
def test_response_trailers(servers: dict[str, Server], name: str) -> None:
    response = h2_get(servers[name].port, "/fixed-trailers", [("te", "trailers")]).response
    assert response.body == b"fixed"
    assert (b"content-length", b"5") in response.headers  # HTTP/2 keeps the length
    assert response.trailers == [(b"x-count", b"1")]


@pytest.mark.parametrize("name", [name for name, effects in H2_EFFECTS.items() if effects[2]])
def test_without_te_trailers_sends_the_body_alone(servers: dict[str, Server], name: str) -> None:
    response = h2_get(servers[name].port, "/trailers").response
    assert response.body == b"".join(CHUNKS)
    assert response.trailers == []
    assert b"trailer" not in dict(response.headers)


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_http1_falls_back_without_the_extensions(servers: dict[str, Server], name: str) -> None:
    """Over HTTP/1.1 no server offers push, hints or trailers: the page is served alone."""
    status, headers, body = http1_get(servers[name].port, "/page")
    assert status == 200
    assert body == b"<html>page</html>"
    status, headers, body = http1_get(servers[name].port, "/trailers")
    assert body == b"".join(CHUNKS)
    assert "trailer" not in {key.lower() for key in headers}


def _raw_http1_get(port: int, path: str) -> bytes:
    """Everything the server sent for one ``Connection: close`` GET, 1xx answers included."""
    received = b""
    with socket.create_connection((HOST, port), timeout=IO_TIMEOUT) as sock:
        request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode("ascii"))
        deadline = time.monotonic() + IO_TIMEOUT
        while data := sock.recv(65536):
            received += data
            assert time.monotonic() < deadline, received
    return received


def test_gunicorn_http1_early_hints(servers: dict[str, Server]) -> None:
    """gunicorn offers no extension over HTTP/1.1, yet writes a 103 for its own message.

    ``request.send_early_hints`` sends nothing there (``http.response.early_hint`` is not
    offered); gunicorn's non-standard ``http.response.informational`` message, sent by a raw
    ASGI endpoint, reaches the client as a 103 before the 200.
    """
    port = servers["gunicorn"].port
    page = _raw_http1_get(port, "/page")
    assert page.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b" 103 " not in page
    assert page.endswith(b"<html>page</html>\r\n0\r\n\r\n")  # chunked
    raw = _raw_http1_get(port, "/informational")
    hint, final = raw.split(b"\r\n\r\n", 1)
    assert hint.split(b"\r\n") == [b"HTTP/1.1 103 Early Hints", b"link: " + LINK.encode()]
    assert final.startswith(b"HTTP/1.1 200 OK\r\n")


def test_gunicorn_http2_informational_message(servers: dict[str, Server]) -> None:
    response = h2_get(servers["gunicorn"].port, "/informational").response
    assert [dict(hints)[b":status"] for hints in response.informational] == [b"103"]
    assert (b"link", LINK.encode()) in response.informational[0]
    assert (response.status, response.body) == (200, b"after the hint")
