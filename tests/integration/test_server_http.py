"""HTTP under every server and protocol: routing, JSON, forms, streaming, SSE, files, lifespan."""

from __future__ import annotations

import hashlib
import json
import urllib.parse
import uuid

import pytest

from .clients import TARGET_NAMES, FilePart, fetch, live, multipart, target
from .serverapp import SSE_EVENTS, STREAM_CHUNKS
from .servers import HOST, Server

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_routing_and_path_params(servers: dict[str, Server], name: str) -> None:
    where = target(servers, name)
    reply = fetch(where, "GET", "/items/42?q=caf%C3%A9")
    assert reply.status == 200
    assert json.loads(reply.body) == {
        "item_id": 42,  # converted by the int convertor
        "url": f"http://{HOST}:{where.port}/items/42",  # url_for from the Host/:authority
        "path": "/items/42",
        "root_path": "",
        "query": {"q": "café"},
    }
    reply = fetch(where, "GET", "/files/a/b%20c.txt")
    # Measured: gunicorn's HTTP/2 puts the path in the scope still percent-encoded (ASGI wants
    # it decoded), so a path parameter keeps its escapes there.
    rest = "a/b%20c.txt" if name == "gunicorn-h2" else "a/b c.txt"
    assert json.loads(reply.body) == {"rest": rest}
    assert fetch(where, "GET", "/items/not-a-number").status == 404
    reply = fetch(where, "DELETE", "/items/1")
    assert (reply.status, reply.header("allow")) == (405, "GET, HEAD")
    reply = fetch(where, "HEAD", "/items/7")
    assert (reply.status, reply.body) == (200, b"")


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_json_round_trip(servers: dict[str, Server], name: str) -> None:
    document = {"name": "zoë ✓", "tags": ["a", "b"], "nested": {"n": 1.5, "none": None}}
    body = json.dumps(document).encode()
    reply = fetch(
        target(servers, name),
        "POST",
        "/echo/json",
        [("content-type", "application/json"), ("content-length", str(len(body)))],
        body,
    )
    assert reply.status == 200
    assert reply.header("content-type") == "application/json"
    assert json.loads(reply.body) == {"received": document}


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_urlencoded_form(servers: dict[str, Server], name: str) -> None:
    fields = [("a", "1"), ("b", "x y&z"), ("a", "2"), ("name", "élan")]
    body = urllib.parse.urlencode(fields).encode()
    headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("content-length", str(len(body))),
    ]
    reply = fetch(target(servers, name), "POST", "/echo/form", headers, body)
    assert reply.status == 200
    assert json.loads(reply.body) == {"fields": [list(field) for field in fields]}


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_multipart_form(servers: dict[str, Server], name: str) -> None:
    content = bytes(range(256)) * 300  # binary, with CR and LF and bytes like the boundary's
    part = FilePart("doc", "données.bin", "application/octet-stream", len(content), [content])
    headers, chunks = multipart([("title", "héllo"), ("n", "3")], [part], uuid.uuid4().hex)
    reply = fetch(target(servers, name), "POST", "/echo/form", headers, chunks)
    assert reply.status == 200
    assert json.loads(reply.body) == {
        "fields": [
            ["title", "héllo"],
            ["n", "3"],
            [
                "doc",
                {
                    "filename": "données.bin",
                    "content_type": "application/octet-stream",
                    "size": len(content),
                    "sha256": hashlib.sha256(content).hexdigest(),
                },
            ],
        ]
    }


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_streaming_response(servers: dict[str, Server], name: str) -> None:
    reply = fetch(target(servers, name), "GET", "/stream")
    assert reply.status == 200
    assert reply.body == b"".join(STREAM_CHUNKS)
    assert reply.header("content-length") is None  # streamed, not buffered into one body


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_streaming_flushes_each_chunk(servers: dict[str, Server], name: str) -> None:
    """The first chunk reaches the client while the endpoint still waits to send the second."""
    where, key = target(servers, name), uuid.uuid4().hex
    with live(where, f"/stream/gated/{key}") as response:
        assert b"second" not in response.read_until(b"first\n")
        assert fetch(where, "POST", f"/gate/{key}").status == 200
        response.read_until(b"second\n")


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_server_sent_events(servers: dict[str, Server], name: str) -> None:
    reply = fetch(target(servers, name), "GET", "/sse")
    assert reply.status == 200
    assert reply.header("content-type") == "text/event-stream; charset=utf-8"
    assert reply.header("cache-control") == "no-cache"
    assert reply.body == b"".join(event.encode() for event in SSE_EVENTS)
    frames = reply.body.decode().split("\n\n")
    assert frames[1] == "id: 2\nevent: multi\ndata: two\ndata: lines"


RANGES = [
    ("bytes=0-99", 0, 100),
    ("bytes=1048570-1048600", 1048570, 31),  # across a 64 KiB read boundary
    ("bytes=-50", -50, 50),  # a suffix range: the last 50 bytes
]


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_file_download_and_range(servers: dict[str, Server], download: bytes, name: str) -> None:
    where = target(servers, name)
    reply = fetch(where, "GET", "/download")
    assert reply.status == 200
    assert reply.header("accept-ranges") == "bytes"
    assert hashlib.sha256(reply.body).digest() == hashlib.sha256(download).digest()
    for header, start, length in RANGES:
        reply = fetch(where, "GET", "/download", [("range", header)])
        first = start % len(download)
        assert reply.status == 206, header
        assert reply.body == download[first : first + length], header
        expected = f"bytes {first}-{first + length - 1}/{len(download)}"
        assert reply.header("content-range") == expected
    reply = fetch(where, "GET", "/download", [("range", f"bytes={len(download)}-")])
    assert (reply.status, reply.header("content-range")) == (416, f"bytes */{len(download)}")


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_lifespan_state(servers: dict[str, Server], name: str) -> None:
    where = target(servers, name)
    first = json.loads(fetch(where, "GET", "/lifespan").body)
    second = json.loads(fetch(where, "GET", "/lifespan").body)
    if where.server.name == "daphne":
        # daphne sends no lifespan events: requests are served without the state, and the
        # router logged its one warning (docs/lifespan.md) to daphne's log.
        assert first == second == {"has_state": False}
        assert where.server.output().count("The server sent no lifespan events") == 1
        return
    assert first["has_state"]
    assert second["has_state"]
    assert first["pid"] == second["pid"]  # yielded once, by the process serving the requests
    # The state is copied shallowly per request, so the counter object it holds is shared.
    assert second["hits"] > first["hits"] >= 1
