"""Clients for the matrix: one request API over HTTP/1.1 (``http.client``) and h2c (``h2``).

A *target* is a server and a protocol: ``hypercorn-h2`` is the hypercorn process spoken to over
cleartext HTTP/2 with prior knowledge. ``fetch`` sends one request (the body may be an iterable of
chunks, sent as they come, honouring HTTP/2 flow control) and ``live`` opens a response to read
incrementally and then drop, as a client that leaves mid-stream. Every socket has a timeout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

from .servers import HOST, IO_TIMEOUT, H2Stream, Server, _h2_event

# target: (server, protocol)
TARGETS: dict[str, tuple[str, str]] = {
    "uvicorn-h11": ("uvicorn-h11", "h1"),
    "uvicorn-httptools": ("uvicorn-httptools", "h1"),
    "uvicorn-zttp": ("uvicorn-zttp", "h1"),
    "uvicorn-zttp-h2": ("uvicorn-zttp", "h2"),
    "hypercorn": ("hypercorn", "h1"),
    "hypercorn-h2": ("hypercorn", "h2"),
    "granian": ("granian", "h1"),
    "granian-h2": ("granian", "h2"),
    "daphne": ("daphne", "h1"),
    "gunicorn": ("gunicorn", "h1"),
    "gunicorn-h2": ("gunicorn", "h2"),
}
TARGET_NAMES = tuple(TARGETS)
Body = bytes | Iterable[bytes]


@dataclasses.dataclass
class Target:
    """A running server and the protocol a test speaks to it."""

    name: str
    server: Server
    protocol: str

    @property
    def port(self) -> int:
        """The server's port."""
        return self.server.port

    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self.server.process.poll() is None


def target(servers: dict[str, Server], name: str) -> Target:
    """The target ``name`` among the running servers."""
    server, protocol = TARGETS[name]
    return Target(name, servers[server], protocol)


@dataclasses.dataclass
class Reply:
    """A complete response: status, headers (names lowercased, in order) and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lowercase), or None."""
        return next((value for key, value in self.headers if key == name), None)


def fetch(
    where: Target,
    method: str,
    path: str,
    headers: Sequence[tuple[str, str]] = (),
    body: Body = b"",
) -> Reply:
    """Send one request on a fresh connection and read the whole response."""
    if where.protocol == "h2":
        with H2Client(where.port) as client:
            stream_id = client.request(method, path, headers, body)
            stream = client.read_stream(stream_id)
        fields = [(key.decode().lower(), value.decode()) for key, value in stream.headers]
        return Reply(stream.status, [item for item in fields if item[0] != ":status"], stream.body)
    connection = http.client.HTTPConnection(HOST, where.port, timeout=IO_TIMEOUT)
    try:
        connection.request(method, path, body=body or None, headers=dict(headers))
        response = connection.getresponse()
        fields = [(key.lower(), value) for key, value in response.getheaders()]
        return Reply(response.status, fields, response.read())
    finally:
        connection.close()


class H2Client:
    """A cleartext HTTP/2 connection (prior knowledge) driven one event batch at a time."""

    def __init__(self, port: int) -> None:
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.connection = h2.connection.H2Connection(config=config)
        self.port = port
        self.sock = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
        # PERF: no Nagle delay on the small frames flow control allows (40 ms each otherwise).
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.streams: dict[int, H2Stream] = {}
        self.connection.initiate_connection()
        self.flush()

    def __enter__(self) -> H2Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()

    def flush(self) -> None:
        """Send what the connection has queued."""
        self.sock.sendall(self.connection.data_to_send())

    def pump(self) -> None:
        """Receive one batch of data and handle its events.

        Raises:
            ConnectionError: the server closed the connection or broke the protocol.
        """
        data = self.sock.recv(1024 * 1024)
        if not data:
            raise ConnectionError(f"The server closed the HTTP/2 connection: {self.streams!r}")
        try:
            events = self.connection.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            raise ConnectionError(f"HTTP/2 protocol error: {exc}") from None
        for event in events:
            _h2_event(self.connection, event, self.streams, {})
        self.flush()

    def request(
        self, method: str, path: str, headers: Sequence[tuple[str, str]], body: Body
    ) -> int:
        """Open a stream with the request and send its body; return the stream id."""
        stream_id = self.connection.get_next_available_stream_id()
        self.streams[stream_id] = H2Stream()
        fields = [
            (":method", method),
            (":path", path),
            (":scheme", "http"),
            (":authority", f"{HOST}:{self.port}"),
            *((key.lower(), value) for key, value in headers),
        ]
        self.connection.send_headers(stream_id, fields, end_stream=not body)
        self.flush()
        if body:
            self._send_body(stream_id, [body] if isinstance(body, bytes) else body)
        return stream_id

    def _send_body(self, stream_id: int, chunks: Iterable[bytes]) -> None:
        deadline = time.monotonic() + IO_TIMEOUT * 3
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                if self.streams[stream_id].ended:
                    return  # the server answered (or reset) before taking the whole body
                window = min(
                    self.connection.local_flow_control_window(stream_id),
                    self.connection.max_outbound_frame_size,
                )
                if window <= 0:
                    if time.monotonic() > deadline:
                        raise TimeoutError("The server's flow-control window never reopened.")
                    self.pump()  # SPEC: wait for WINDOW_UPDATE before sending more
                    continue
                size = min(window, len(view))
                self.connection.send_data(stream_id, view[:size].tobytes())
                self.flush()
                view = view[size:]
        self.connection.end_stream(stream_id)
        self.flush()

    def cancel(self, stream_id: int) -> None:
        """Reset the stream with CANCEL, as a browser does when the user navigates away."""
        self.connection.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        self.flush()

    def read_stream(self, stream_id: int) -> H2Stream:
        """Read until the stream has ended."""
        deadline = time.monotonic() + IO_TIMEOUT
        while not self.streams[stream_id].ended:
            if time.monotonic() > deadline:
                raise TimeoutError(f"HTTP/2 stream {stream_id} did not end: {self.streams!r}")
            self.pump()
        return self.streams[stream_id]


class Live:
    """A response read incrementally, which the test may abandon by closing the socket."""

    def __init__(self, where: Target, path: str) -> None:
        self._h2: H2Client | None = None
        self._sock: socket.socket | None = None
        self._raw = b""
        if where.protocol == "h2":
            self._h2 = H2Client(where.port)
            self._stream_id = self._h2.request("GET", path, (), b"")
        else:
            self._sock = socket.create_connection((HOST, where.port), timeout=IO_TIMEOUT)
            request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{where.port}\r\n\r\n"
            self._sock.sendall(request.encode("ascii"))

    @property
    def received(self) -> bytes:
        """What arrived so far: the raw HTTP/1.1 bytes, or the HTTP/2 stream's data."""
        if self._h2 is not None:
            return self._h2.streams[self._stream_id].body
        return self._raw

    def read_until(self, marker: bytes) -> bytes:
        """Read until ``marker`` has arrived; return everything received.

        Raises:
            TimeoutError: it did not arrive within ``IO_TIMEOUT``.
            ConnectionError: the server closed the connection first.
        """
        deadline = time.monotonic() + IO_TIMEOUT
        while marker not in self.received:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{marker!r} did not arrive; got {self.received!r}")
            if self._h2 is not None:
                self._h2.pump()
            elif self._sock is not None:
                data = self._sock.recv(65536)
                if not data:
                    raise ConnectionError(f"Closed before {marker!r}; got {self._raw!r}")
                self._raw += data
        return self.received

    def close(self) -> None:
        """Close the socket, whatever the response is doing."""
        if self._h2 is not None:
            self._h2.sock.close()
        if self._sock is not None:
            self._sock.close()


@contextlib.contextmanager
def live(where: Target, path: str) -> Iterator[Live]:
    """Open ``GET path`` for incremental reading; the socket is always closed at the end."""
    response = Live(where, path)
    try:
        yield response
    finally:
        response.close()


# --- bodies ----------------------------------------------------------------------------------


@dataclasses.dataclass
class FilePart:
    """A file part of a multipart body, its content given as chunks."""

    name: str
    filename: str
    content_type: str
    size: int
    chunks: Iterable[bytes]


def multipart(
    fields: Sequence[tuple[str, str]], files: Sequence[FilePart], boundary: str
) -> tuple[list[tuple[str, str]], Iterator[bytes]]:
    """A ``multipart/form-data`` body streamed part by part: (headers with length, chunks)."""
    dash = f"--{boundary}\r\n".encode()
    pieces: list[bytes | FilePart] = []
    for name, value in fields:
        pieces.append(dash + f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        pieces.append(value.encode() + b"\r\n")
    for part in files:
        disposition = f'form-data; name="{part.name}"; filename="{part.filename}"'
        head = f"Content-Disposition: {disposition}\r\nContent-Type: {part.content_type}\r\n\r\n"
        pieces.extend([dash + head.encode(), part, b"\r\n"])
    pieces.append(f"--{boundary}--\r\n".encode())
    length = sum(piece.size if isinstance(piece, FilePart) else len(piece) for piece in pieces)

    def chunks() -> Iterator[bytes]:
        for piece in pieces:
            if isinstance(piece, FilePart):
                yield from piece.chunks
            else:
                yield piece

    content_type = f"multipart/form-data; boundary={boundary}"
    return [("content-type", content_type), ("content-length", str(length))], chunks()


# --- memory ----------------------------------------------------------------------------------


def _parent(stat: str) -> int:
    # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a server may serve from worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                children.setdefault(_parent(stat), []).append(int(entry))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def rss_kib(pid: int) -> int:
    """The resident memory of ``pid`` and its descendants, in KiB (``VmRSS`` summed)."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total
