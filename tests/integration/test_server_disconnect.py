"""A client that leaves mid-stream: the server stops the producer and serves the next request.

The app's endless SSE producer sets an event in its ``finally``; ``/sse/closed/<key>`` waits for
it (bounded), so the test knows the response was torn down, not just that the socket closed.
"""

from __future__ import annotations

import json
import uuid

import pytest

from .clients import TARGET_NAMES, TARGETS, H2Client, fetch, live, target
from .servers import Server

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_socket_closed_mid_stream(servers: dict[str, Server], name: str) -> None:
    where, key = target(servers, name), uuid.uuid4().hex
    with live(where, f"/sse/endless/{key}") as response:
        response.read_until(b"data: tick 3\n\n")
    # The socket is closed: the producer was stopped and closed (its finally ran).
    closed = fetch(where, "GET", f"/sse/closed/{key}")
    assert json.loads(closed.body) == {"closed": True}
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
        stream_id = client.request("GET", f"/sse/endless/{key}", (), b"")
        while b"data: tick 3\n\n" not in client.streams[stream_id].body:
            client.pump()
        client.cancel(stream_id)
        closed = client.read_stream(client.request("GET", f"/sse/closed/{key}", (), b""))
        assert json.loads(closed.body) == {"closed": True}
        reply = client.read_stream(client.request("GET", "/items/6", (), b""))
        assert (reply.status, json.loads(reply.body)["item_id"]) == (200, 6)
    assert where.alive()
