"""Websockets under every server, with the ``websockets`` client: echo, close codes, denial."""

from __future__ import annotations

import json

import pytest
import websockets.sync.client
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from .servers import HOST, IO_TIMEOUT, SERVER_NAMES, Server

pytestmark = pytest.mark.integration


def _url(server: Server, path: str) -> str:
    return f"ws://{HOST}:{server.port}{path}"


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_echo_and_close_code(servers: dict[str, Server], name: str) -> None:
    with websockets.sync.client.connect(
        _url(servers[name], "/ws"), open_timeout=IO_TIMEOUT, close_timeout=IO_TIMEOUT
    ) as ws:
        assert json.loads(ws.recv(timeout=IO_TIMEOUT))["type"] == "websocket"
        ws.send("héllo")
        assert ws.recv(timeout=IO_TIMEOUT) == "héllo"
        ws.send(b"\x00\xff")
        assert ws.recv(timeout=IO_TIMEOUT) == b"\x00\xff"
        ws.send("close 4001 going away now")
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(timeout=IO_TIMEOUT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4001
    # Measured: daphne 4.2.3 drops the close reason; the other servers send it.
    assert closed.value.rcvd.reason == ("" if name == "daphne" else "going away now")


# Measured: the servers offering websocket.http.response send the app's 401 and body; daphne and
# gunicorn, which do not offer it, answer the close the app falls back to with a bare 403.
DENIAL = {
    "uvicorn-h11": (401, b"no entry"),
    "uvicorn-httptools": (401, b"no entry"),
    "hypercorn": (401, b"no entry"),
    "granian": (401, b"no entry"),
    "daphne": (403, b""),
    "uvicorn-zttp": (401, b"no entry"),
    "gunicorn": (403, b""),
}


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_denial_response(servers: dict[str, Server], name: str) -> None:
    with pytest.raises(InvalidStatus) as denied:
        websockets.sync.client.connect(_url(servers[name], "/deny"), open_timeout=IO_TIMEOUT)
    response = denied.value.response
    assert (response.status_code, bytes(response.body or b"")) == DENIAL[name]


# Measured: whether the server accepts the client's permessage-deflate offer (the websockets
# client offers it by default), so messages travel compressed.
COMPRESSION = {
    "uvicorn-h11": True,
    "uvicorn-httptools": True,
    "uvicorn-zttp": True,
    "hypercorn": True,
    "granian": False,
    "daphne": False,
    "gunicorn": False,
}


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_permessage_deflate(servers: dict[str, Server], name: str) -> None:
    with websockets.sync.client.connect(
        _url(servers[name], "/ws"), open_timeout=IO_TIMEOUT, close_timeout=IO_TIMEOUT
    ) as ws:
        assert ws.response is not None
        accepted = ws.response.headers.get("sec-websocket-extensions") or ""
        ws.recv(timeout=IO_TIMEOUT)
        ws.send("x" * 4096)
        assert ws.recv(timeout=IO_TIMEOUT) == "x" * 4096
    assert accepted.startswith("permessage-deflate") is COMPRESSION[name], accepted
