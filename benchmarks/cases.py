"""The endpoints every implementation serves, and the requests the driver sends them.

Each case is one prebuilt ASGI scope plus the messages ``receive`` hands out, so the driver
measures the application alone: no server, no sockets, no parsing of the wire.
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

FILE_SIZE = 1024 * 1024
UPLOAD_SIZE = 64 * 1024
WS_MESSAGES = 100
BOUNDARY = "----microasgi-bench-boundary"
TEXT = b"Hello, world!"
STATE_GREETING = "hello from the lifespan"

# The 10 request headers the headers endpoint reads (besides host), and the 3 it sets.
READ_HEADERS = tuple(f"x-bench-{i}" for i in range(10))
SET_HEADERS = (("x-one", "1"), ("x-two", "2"), ("x-three", "3"))


def _bench_file() -> str:
    """A 1 MiB file in the temp directory, written once per process."""
    path = os.path.join(tempfile.gettempdir(), f"microasgi-bench-{os.getpid()}.bin")
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(os.urandom(FILE_SIZE))
        atexit.register(os.remove, path)
    return path


FILE_PATH = _bench_file()


@dataclass
class Case:
    """One endpoint: the scope, the messages ``receive`` returns, and the expected outcome."""

    name: str
    label: str
    path: str
    method: str = "GET"
    query: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    websocket: bool = False
    expect_status: int = 200
    expect_body: bytes | None = None
    expect_body_size: int | None = None
    needs_python_multipart: bool = False

    def scope(self) -> dict[str, Any]:
        """The scope a server would build for this request (``state`` is added per request)."""
        return {
            "type": "websocket" if self.websocket else "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": "ws" if self.websocket else "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "root_path": "",
            "query_string": self.query,
            "headers": [(b"host", b"bench.local"), *self.headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "subprotocols": [],
        }

    def messages(self) -> list[dict[str, Any]]:
        """What ``receive`` returns, in order; after the last one it returns a disconnect."""
        if self.websocket:
            return [
                {"type": "websocket.connect"},
                *(
                    {"type": "websocket.receive", "text": f"message {i}"}
                    for i in range(WS_MESSAGES)
                ),
                {"type": "websocket.disconnect", "code": 1000, "reason": ""},
            ]
        if not self.body:
            return [{"type": "http.request", "body": b"", "more_body": False}]
        last = len(self.body) - 1
        return [
            {"type": "http.request", "body": chunk, "more_body": i < last}
            for i, chunk in enumerate(self.body)
        ]


def _form_body() -> bytes:
    return urlencode({f"field{i}": f"value number {i}" for i in range(20)}).encode()


def _multipart_body() -> bytes:
    payload = bytes(range(256)) * (UPLOAD_SIZE // 256)
    b = BOUNDARY.encode()
    return b"".join(
        [
            b"--" + b + b"\r\n",
            b'Content-Disposition: form-data; name="title"\r\n\r\n',
            b"holiday\r\n",
            b"--" + b + b"\r\n",
            b'Content-Disposition: form-data; name="file"; filename="photo.bin"\r\n',
            b"Content-Type: application/octet-stream\r\n\r\n",
            payload + b"\r\n",
            b"--" + b + b"--\r\n",
        ]
    )


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


_FORM = _form_body()
_MULTIPART = _multipart_body()

CASES: tuple[Case, ...] = (
    Case("plaintext", "plaintext", "/plaintext", expect_body=TEXT),
    Case(
        "json",
        "JSON",
        "/json",
        expect_body=json.dumps({"message": "Hello, world!"}, separators=(",", ":")).encode(),
    ),
    Case("path", "path parameter", "/items/abc123", expect_body=b"abc123"),
    Case(
        "query",
        "query parameters",
        "/query",
        query=b"a=1&b=two&c=3&d=four&e=5&page=2&sort=name",
        expect_body=b"1 5 name",
    ),
    Case(
        "form",
        "urlencoded form (20 fields)",
        "/form",
        method="POST",
        headers=[
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(_FORM)).encode()),
        ],
        body=[_FORM],
        expect_body=b"20 value number 19",
        needs_python_multipart=True,
    ),
    Case(
        "multipart",
        "multipart upload (64 KiB)",
        "/upload",
        method="POST",
        headers=[
            (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
            (b"content-length", str(len(_MULTIPART)).encode()),
        ],
        body=_chunks(_MULTIPART, 64 * 1024),
        expect_body=f"holiday {UPLOAD_SIZE}".encode(),
        needs_python_multipart=True,
    ),
    Case(
        "headers",
        "10 request + 3 response headers",
        "/headers",
        headers=[(name.encode(), f"value-{i}".encode()) for i, name in enumerate(READ_HEADERS)],
        expect_body=b"10",
    ),
    Case("websocket", f"websocket echo ({WS_MESSAGES} messages)", "/ws", websocket=True),
    Case("file", "FileResponse (1 MiB)", "/file", expect_body_size=FILE_SIZE),
    Case("state", "lifespan state read", "/state", expect_body=STATE_GREETING.encode()),
)
