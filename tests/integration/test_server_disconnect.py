"""Clients that leave mid-response: the app stops soon, the server lives on and serves the next.

``/leave/<kind>/<key>`` sends a 256 MiB (sparse) file, an endless stream or endless SSE events,
and records for ``/left/<key>`` how the response ended: ``returned`` (microasgi noticed the client
had gone and stopped) or ``cancelled`` (the server cancelled the app), the body bytes it had sent
and whether the producer was closed. ``/send-after-close/<key>`` records what one more ``send()``
does once ``receive()`` has said ``http.disconnect``: ASGI 2.4 says it raises an ``OSError``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from .clients import TARGET_NAMES, TARGETS, H2Client, Target, fetch, live, target
from .serverapp import BIG_SIZE
from .servers import Server

pytestmark = pytest.mark.integration

# What the client waits for before it leaves.
FIRST = {"file": b"\x00" * 4096, "stream": b"tick\n", "sse": b"data: tick\n"}
# The most body a response may have sent when it stops: what the socket buffers took before the
# client left, and a little more. A response reading the file into the void sends it all.
SENT_BOUND = BIG_SIZE // 8


def _left(where: Target, key: str) -> Any:
    reply = fetch(where, "GET", f"/left/{key}")
    assert reply.status == 200
    return json.loads(reply.body)


@pytest.mark.parametrize("kind", ["file", "stream", "sse"])
@pytest.mark.parametrize("name", TARGET_NAMES)
def test_client_leaving_stops_the_response(
    servers: dict[str, Server], name: str, kind: str
) -> None:
    where, key = target(servers, name), uuid.uuid4().hex
    with live(where, f"/leave/{kind}/{key}") as response:
        response.read_until(FIRST[kind])
    # The socket is closed. The response stopped by itself, the producer was closed, and far
    # from the whole file was read.
    left = _left(where, key)
    ended = left.pop("ended")
    if name == "gunicorn-h2" and ended.startswith("raised HTTP2ConnectionError("):
        # Measured: when gunicorn's HTTP/2 writes to the lost connection before it has marked
        # the stream gone, send() raises its HTTP2ConnectionError, which is no OSError (against
        # ASGI 2.4). The response still stopped there and closed its producer; gunicorn logs the
        # error at debug level only.
        ended = "returned"
    assert (ended, left["producer_closed"]) == ("returned", True), left
    assert left["sent"] < SENT_BOUND
    # The next request succeeds and the server process lives on.
    reply = fetch(where, "GET", "/items/5")
    assert (reply.status, json.loads(reply.body)["item_id"]) == (200, 5)
    assert where.alive()


@pytest.mark.parametrize(
    "name", [name for name, (_, protocol) in TARGETS.items() if protocol == "h2"]
)
def test_http2_stream_reset_keeps_the_connection(servers: dict[str, Server], name: str) -> None:
    """Over HTTP/2 the client cancels one stream (RST_STREAM) and reuses the connection."""
    where, key = target(servers, name), uuid.uuid4().hex
    with H2Client(where.port) as client:
        stream_id = client.request("GET", f"/leave/sse/{key}", (), b"")
        while FIRST["sse"] not in client.streams[stream_id].body:
            client.pump()
        client.cancel(stream_id)
        left = client.read_stream(client.request("GET", f"/left/{key}", (), b""))
        assert json.loads(left.body)["producer_closed"]
        reply = client.read_stream(client.request("GET", "/items/6", (), b""))
        assert (reply.status, json.loads(reply.body)["item_id"]) == (200, 6)
    assert where.alive()


# Measured: the http scope's spec_version, and what a send() does once receive() said
# http.disconnect. ASGI 2.4 requires an OSError; no server below 2.4 raises, and gunicorn's
# HTTP/1.1 says 2.4 but returns quietly (so FileResponse watches receive() there too).
RETURNED = {"send_after_close": "returned"}
SEND_AFTER_CLOSE: dict[str, tuple[str | None, dict[str, str]]] = {
    "uvicorn-h11": ("2.3", RETURNED),
    "uvicorn-httptools": ("2.3", RETURNED),
    "uvicorn-zttp": ("2.3", RETURNED),
    "uvicorn-zttp-h2": ("2.3", RETURNED),
    "hypercorn": ("2.1", RETURNED),
    "hypercorn-h2": ("2.1", RETURNED),
    "granian": ("2.3", RETURNED),
    "granian-h2": ("2.3", RETURNED),
    "daphne": (None, RETURNED),
    "gunicorn": ("2.4", RETURNED),
    "gunicorn-h2": ("2.4", {"send_after_close": "raised ClientDisconnected (OSError)"}),
}


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_send_after_the_client_left(servers: dict[str, Server], name: str) -> None:
    where, key = target(servers, name), uuid.uuid4().hex
    with live(where, f"/send-after-close/{key}") as response:
        response.read_until(b"ready\n")
    left = _left(where, key)
    scope_spec = json.loads(fetch(where, "GET", "/scope").body)["spec_version"]
    assert (scope_spec, left) == SEND_AFTER_CLOSE[name]
