"""What each server offers, measured: ``scope["extensions"]`` and ``spec_version``.

These tables are the source of the support matrix on the extensions docs page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import websockets.sync.client

from .servers import (
    HOST,
    IO_TIMEOUT,
    SERVER_NAMES,
    TLS_NAMES,
    Server,
    h2_get,
    http1_json,
    https_json,
)

pytestmark = pytest.mark.integration

WS_DENIAL = ["websocket.http.response"]
H2_HYPERCORN = ["http.response.early_hint", "http.response.push", "http.response.trailers"]
GRANIAN = ["http.response.pathsend", "websocket.http.response"]
H2_ZTTP = ["http.response.early_hint", "http.response.trailers"]
H2_GUNICORN = ["http.response.priority", "http.response.trailers"]

# server: (has an extensions key, extensions, spec_version, has lifespan state) per scope kind.
HTTP1: dict[str, tuple[bool, list[str], str | None, bool]] = {
    "uvicorn-h11": (False, [], "2.3", True),
    "uvicorn-httptools": (False, [], "2.3", True),
    "uvicorn-zttp": (False, [], "2.3", True),
    "hypercorn": (True, [], "2.1", True),
    "granian": (True, GRANIAN, "2.3", True),
    "daphne": (False, [], None, False),
    "gunicorn": (False, [], "2.4", True),
}
WEBSOCKET: dict[str, tuple[bool, list[str], str | None, bool]] = {
    "uvicorn-h11": (True, WS_DENIAL, "2.4", True),
    "uvicorn-httptools": (True, WS_DENIAL, "2.4", True),
    "uvicorn-zttp": (True, WS_DENIAL, "2.4", True),
    "hypercorn": (True, WS_DENIAL, "2.3", True),
    "granian": (True, GRANIAN, "2.3", True),
    "daphne": (False, [], None, False),
    "gunicorn": (False, [], "2.4", True),
}
# Over cleartext HTTP/2 with prior knowledge; None: the server does not speak it.
HTTP2: dict[str, list[str] | None] = {
    "uvicorn-h11": None,
    "uvicorn-httptools": None,
    "uvicorn-zttp": H2_ZTTP,
    "hypercorn": H2_HYPERCORN,
    "granian": GRANIAN,
    "daphne": None,
    "gunicorn": H2_GUNICORN,  # with --http-protocols h2,h1 --http2-cleartext both
}


def _facts(info: dict[str, Any]) -> tuple[bool, list[str], str | None, bool]:
    return info["has_extensions_key"], info["extensions"], info["spec_version"], info["has_state"]


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_http1_scope(servers: dict[str, Server], name: str) -> None:
    info = http1_json(servers[name].port, "/scope")
    assert info["http_version"] == "1.1"
    assert info["tls_version"] is None  # request.tls on a plain connection
    assert _facts(info) == HTTP1[name]


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_websocket_scope(servers: dict[str, Server], name: str) -> None:
    url = f"ws://{HOST}:{servers[name].port}/ws"
    with websockets.sync.client.connect(url, open_timeout=IO_TIMEOUT) as ws:
        info = json.loads(ws.recv(timeout=IO_TIMEOUT))
    assert info["tls_version"] is None
    assert _facts(info) == WEBSOCKET[name]


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_http2_scope(servers: dict[str, Server], name: str) -> None:
    expected = HTTP2[name]
    if expected is None:
        # The server answers the HTTP/2 preface without an HTTP/2 response (it speaks HTTP/1.1).
        with pytest.raises(ConnectionError):
            h2_get(servers[name].port, "/scope")
        return
    result = h2_get(servers[name].port, "/scope")
    info = json.loads(result.response.body)
    assert info["http_version"] == "2"
    assert info["extensions"] == expected


# Measured over HTTPS: whether the server offers the tls extension (request.tls) and its scheme.
TLS: dict[str, tuple[list[str], str | None, str]] = {
    "uvicorn-tls": ([], None, "https"),
    "hypercorn-tls": ([], None, "https"),
    "granian-tls": (GRANIAN, None, "https"),
    "daphne-tls": ([], None, "https"),
    "gunicorn-tls": ([], None, "https"),
}


@pytest.mark.parametrize("name", TLS_NAMES)
def test_tls_scope(servers: dict[str, Server], certificate: tuple[Path, Path], name: str) -> None:
    info = https_json(servers[name].port, "/scope", certificate[0])
    assert (info["extensions"], info["tls_version"], info["scheme"]) == TLS[name]
