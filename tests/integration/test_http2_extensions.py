"""Server push, early hints and trailers seen by an HTTP/2 client (h2, cleartext prior knowledge)."""

from __future__ import annotations

import hashlib

import pytest

from .serverapp import CHUNKS, LINK, STYLE
from .servers import Server, h2_get

pytestmark = pytest.mark.integration


def test_hypercorn_push_and_early_hints(servers: dict[str, Server]) -> None:
    result = h2_get(
        servers["hypercorn"].port, "/page", [("accept", "text/css"), ("user-agent", "h2-test")]
    )
    response = result.response
    assert response.status == 200
    assert response.body == b"<html>page</html>"
    # The 103 came before the response, with the Link value the endpoint gave.
    assert [dict(hints)[b":status"] for hints in response.informational] == [b"103"]
    assert (b"link", LINK.encode()) in response.informational[0]
    # The push promise names the path and copies the request's cache-relevant headers.
    [(pushed_id, promised)] = result.promises.items()
    assert (b":path", b"/style.css") in promised
    assert (b":method", b"GET") in promised
    assert (b"accept", b"text/css") in promised
    assert (b"user-agent", b"h2-test") in promised
    pushed = result.pushed[pushed_id]
    assert pushed.status == 200
    assert pushed.body == STYLE


def test_hypercorn_streaming_trailers(servers: dict[str, Server]) -> None:
    result = h2_get(servers["hypercorn"].port, "/trailers", [("te", "trailers")])
    response = result.response
    assert response.status == 200
    assert response.body == b"".join(CHUNKS)
    assert (b"trailer", b"x-sha256") in response.headers
    digest = hashlib.sha256(b"".join(CHUNKS)).hexdigest().encode()
    assert response.trailers == [(b"x-sha256", digest)]


def test_hypercorn_response_trailers(servers: dict[str, Server]) -> None:
    response = h2_get(servers["hypercorn"].port, "/fixed-trailers", [("te", "trailers")]).response
    assert response.body == b"fixed"
    assert (b"content-length", b"5") in response.headers  # HTTP/2 keeps the length
    assert response.trailers == [(b"x-count", b"1")]


def test_hypercorn_without_te_trailers_sends_the_body_alone(servers: dict[str, Server]) -> None:
    response = h2_get(servers["hypercorn"].port, "/trailers").response
    assert response.body == b"".join(CHUNKS)
    assert response.trailers == []
    assert b"trailer" not in dict(response.headers)


@pytest.mark.parametrize(
    "name", ["uvicorn-h11", "uvicorn-httptools", "hypercorn", "granian", "daphne"]
)
def test_http1_falls_back_without_the_extensions(servers: dict[str, Server], name: str) -> None:
    """Over HTTP/1.1 no server offers push, hints or trailers: the page is served alone."""
    from .servers import http1_get

    status, headers, body = http1_get(servers[name].port, "/page")
    assert status == 200
    assert body == b"<html>page</html>"
    status, headers, body = http1_get(servers[name].port, "/trailers")
    assert body == b"".join(CHUNKS)
    assert "trailer" not in {key.lower() for key in headers}
