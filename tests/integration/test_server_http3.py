"""HTTP/3 under hypercorn with aioquic: a request, a streamed response and an upload over QUIC.

hypercorn listens for QUIC on the UDP port numbered as its TCP port, with the self-signed
certificate the test session made (``make_certificate``), which the client trusts as its only
authority. The client is aioquic's sans-I/O QUIC and HTTP/3 connection over a blocking UDP
socket, driven like the HTTP/2 client: send what is queued, wait for a datagram or the next
timer, handle the events. Without aioquic the tests are skipped, saying so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from .clients import FilePart, multipart
from .serverapp import CHUNKS, LINK, SSE_EVENTS, STREAM_CHUNKS
from .servers import HOST, IO_TIMEOUT, Server

pytestmark = pytest.mark.integration

SERVER = "hypercorn-h3"
MIB = 1024 * 1024


@dataclasses.dataclass
class H3Stream:
    """What one request stream received: header blocks (informational ones first), body, end."""

    headers: list[list[tuple[bytes, bytes]]] = dataclasses.field(default_factory=list)
    body: bytes = b""
    ended: bool = False

    @property
    def status(self) -> int:
        """The final status (the last header block before the body)."""
        finals = [block for block in self.headers if not dict(block)[b":status"].startswith(b"1")]
        return int(dict(finals[0])[b":status"])

    @property
    def informational(self) -> list[list[tuple[bytes, bytes]]]:
        """The 1xx header blocks, in order."""
        return [block for block in self.headers if dict(block)[b":status"].startswith(b"1")]


class H3Client:
    """One QUIC connection speaking HTTP/3, over a blocking UDP socket."""

    def __init__(self, port: int, cafile: Path) -> None:
        from aioquic.h3.connection import H3_ALPN, H3Connection
        from aioquic.quic.configuration import QuicConfiguration
        from aioquic.quic.connection import QuicConnection

        configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
        configuration.load_verify_locations(cafile=str(cafile))  # SECURITY: verified, not off
        self.address = (HOST, port)
        self.quic = QuicConnection(configuration=configuration)
        self.http = H3Connection(self.quic)
        self.streams: dict[int, H3Stream] = {}
        self.promises: dict[int, list[tuple[bytes, bytes]]] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(self.address)
        self.quic.connect(self.address, now=time.monotonic())
        self.flush()

    def __enter__(self) -> H3Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.quic.close()
        self.flush()
        self.sock.close()

    def flush(self) -> None:
        """Send the datagrams the connection has queued (flow control allowing)."""
        for data, _ in self.quic.datagrams_to_send(now=time.monotonic()):
            self.sock.send(data)

    def pump(self) -> None:
        """Wait for one datagram or the connection's next timer, then handle what happened."""
        timer = self.quic.get_timer()
        wait = IO_TIMEOUT if timer is None else max(timer - time.monotonic(), 0.0)
        self.sock.settimeout(min(wait, IO_TIMEOUT) or 0.001)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            self.quic.handle_timer(now=time.monotonic())
        else:
            self.quic.receive_datagram(data, self.address, now=time.monotonic())
        self._handle_events()
        self.flush()

    def _handle_events(self) -> None:
        from aioquic.h3.events import DataReceived, HeadersReceived, PushPromiseReceived
        from aioquic.quic.events import ConnectionTerminated

        while (quic_event := self.quic.next_event()) is not None:
            if isinstance(quic_event, ConnectionTerminated):
                raise ConnectionError(f"The server closed the QUIC connection: {quic_event!r}")
            for event in self.http.handle_event(quic_event):
                if isinstance(event, PushPromiseReceived):
                    self.promises[event.push_id] = list(event.headers)
                elif isinstance(event, HeadersReceived | DataReceived) and event.push_id is None:
                    stream = self.streams[event.stream_id]
                    if isinstance(event, HeadersReceived):
                        stream.headers.append(list(event.headers))
                    else:
                        stream.body += event.data
                    stream.ended = stream.ended or event.stream_ended

    def request(
        self,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]] = (),
        body: Iterable[bytes] = (),
        *,
        wait: bool = True,
    ) -> H3Stream:
        """Send one request, its body as given (QUIC flow control paces it), read the answer.

        With ``wait=False``, return the stream as soon as the request is queued.
        """
        stream_id = self.quic.get_next_available_stream_id()
        self.streams[stream_id] = stream = H3Stream()
        fields = [
            (b":method", method.encode()),
            (b":scheme", b"https"),
            (b":authority", f"{HOST}:{self.address[1]}".encode()),
            (b":path", path.encode()),
            *((key.lower().encode(), value.encode()) for key, value in headers),
        ]
        chunks = list(body) if method != "GET" else []
        self.http.send_headers(stream_id, fields, end_stream=not chunks)
        for index, chunk in enumerate(chunks):
            self.http.send_data(stream_id, chunk, end_stream=index == len(chunks) - 1)
        self.flush()
        return self.read(stream, lambda: stream.ended) if wait else stream

    def read(self, stream: H3Stream, done: Callable[[], bool]) -> H3Stream:
        """Handle what arrives until ``done()`` says so (bounded by a deadline)."""
        deadline = time.monotonic() + IO_TIMEOUT * 3
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"HTTP/3 stream did not get there: {stream!r}")
            self.pump()
        return stream


@pytest.fixture
def client(servers: dict[str, Server], certificate: tuple[Path, Path]) -> Iterator[H3Client]:
    with H3Client(servers[SERVER].port, certificate[0]) as connected:
        yield connected


def test_http3_request(client: H3Client) -> None:
    info = json.loads(client.request("GET", "/scope").body)
    # Measured: hypercorn 0.18 over HTTP/3, spec 2.1, offers the same extensions as over HTTP/2.
    assert info["http_version"] == "3"
    assert info["scheme"] == "https"
    assert info["spec_version"] == "2.1"
    assert info["extensions"] == [
        "http.response.early_hint",
        "http.response.push",
        "http.response.trailers",
    ]
    assert info["tls_version"] is None  # no tls extension: request.tls is None
    assert info["has_state"]
    reply = client.request("GET", "/items/5?q=caf%C3%A9")
    assert (reply.status, json.loads(reply.body)["item_id"]) == (200, 5)
    assert client.request("GET", "/items/not-a-number").status == 404
    reply = client.request("POST", "/echo/json", [("content-type", "application/json")], [b"[1]"])
    assert (reply.status, json.loads(reply.body)) == (200, {"received": [1]})


def test_http3_streamed_response_and_events(client: H3Client) -> None:
    reply = client.request("GET", "/stream")
    assert (reply.status, reply.body) == (200, b"".join(STREAM_CHUNKS))
    reply = client.request("GET", "/sse")
    assert reply.status == 200
    assert reply.body.count(b"\n\n") == len(SSE_EVENTS)


def test_http3_early_hints_and_push(client: H3Client) -> None:
    reply = client.request("GET", "/page", [("accept", "text/css")])
    assert (reply.status, reply.body) == (200, b"<html>page</html>")
    # Measured: the 103 arrives with the Link the endpoint gave, and the push is promised (its
    # body comes on a push stream this client does not read).
    assert [dict(block)[b":status"] for block in reply.informational] == [b"103"]
    assert (b"link", LINK.encode()) in reply.informational[0]
    assert [dict(promised)[b":path"] for promised in client.promises.values()] == [b"/style.css"]


def test_http3_trailers_never_end_the_stream(client: H3Client) -> None:
    """Measured: the trailers arrive, but hypercorn 0.18 never ends the stream after them.

    After the trailers it ends the stream with an empty DATA frame, which aioquic refuses once
    trailers were sent (``FrameUnexpected``), so no FIN follows: a client waits for the end of a
    response with trailers until it gives up. A later request on the connection is answered.
    """
    stream = client.request("GET", "/trailers", [("te", "trailers")], wait=False)
    client.read(stream, lambda: len(stream.headers) == 2)
    response, trailers = stream.headers
    assert dict(response)[b":status"] == b"200"
    assert stream.body == b"".join(CHUNKS)
    assert trailers == [(b"x-sha256", hashlib.sha256(stream.body).hexdigest().encode())]
    later = client.request("GET", "/items/6")  # sent after the stream would have ended
    assert (later.status, stream.ended) == (200, False)


def test_http3_upload(client: H3Client) -> None:
    size = 4 * MIB  # aioquic is pure Python: enough to cross many flow-control windows
    data = random.Random(3).randbytes(size)
    part = FilePart("file", "quic.bin", "application/octet-stream", size, [data])
    headers, body = multipart([("note", "quic")], [part], uuid.uuid4().hex)
    chunks = [
        piece[start : start + 64 * 1024]
        for piece in body
        for start in range(0, len(piece), 64 * 1024)
    ]
    reply = client.request("POST", "/upload", headers, chunks)
    assert reply.status == 200, reply.body[:500]
    [note, file] = json.loads(reply.body)["fields"]
    assert note == ["note", "quic"]
    assert file[1]["size"] == size
    assert file[1]["sha256"] == hashlib.sha256(data).hexdigest()
