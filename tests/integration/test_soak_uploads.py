"""Upload soak under uvicorn: 200 concurrent clients, about 30% of them leaving mid-body.

uvicorn (httptools, one process) serves ``integration.soak_app:app`` with ``TMPDIR`` pointed at
a directory of the test's own. For ``DURATION`` seconds, 200 client tasks (raw sockets, one
process, asyncio) each loop: pick a random body (1 byte to 128 KiB) for ``/raw`` or a multipart
form with that file for ``/form``, send the request head with ``Content-Length`` and the body in
8 KiB pieces, and, with probability 0.3, stop at a random point of the body and leave: half of
those close the socket (FIN), half reset it (``SO_LINGER`` 0, RST). A client that sends its whole
body reads the reply and checks the SHA-256 and the size the app computed against what it sent.

Then: the server is still up and serves ``/health``; every completed upload was intact; its log
holds no error; no descriptor of the server process points into the temporary directory (the
spooled files of the aborted forms were deleted) and the directory is empty; its resident
memory (``VmRSS``, read from ``/proc``) grew by less than ``RSS_GROWTH_LIMIT_KIB`` from after a
warm-up to the end.

``MICROASGI_SOAK_SCALE`` (default 1) multiplies the duration: 8 s in CI.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.abc
import pytest

from .clients import rss_kib
from .servers import HOST, START_TIMEOUT, TESTS_DIR, Server, free_port, stop, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.soak]

SCALE = int(os.environ.get("MICROASGI_SOAK_SCALE", "1"))
DURATION = 8.0 * SCALE  # seconds of load
CLIENTS = 200
ABORT_RATE = 0.3
MAX_SIZE = 128 * 1024
PIECE = 8 * 1024
IO_TIMEOUT = 60.0  # one request, under load from 200 clients on 2 shared cores
RSS_GROWTH_LIMIT_KIB = 64 * 1024
BOUNDARY = "soakuploadboundary"
APP = "integration.soak_app:app"


@dataclass
class Tally:
    completed: int = 0
    aborted: int = 0
    bytes_completed: int = 0
    failures: list[str] = field(default_factory=list)
    most_spooled: int = 0  # the most temporary files the server held open at one look


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """uvicorn serving the soak app, its temporary files under a directory of the test's own."""
    spool = tmp_path / "spool"
    spool.mkdir()
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    env["TMPDIR"] = str(spool)
    log = (tmp_path / "server.log").open("w+b")
    command = [
        *(sys.executable, "-m", "uvicorn", APP, "--host", HOST, "--port", str(port)),
        *("--http", "httptools", "--log-level", "warning", "--lifespan", "on"),
    ]
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    running = Server("uvicorn-httptools", port, process, log)
    try:
        wait_ready(running, time.monotonic() + START_TIMEOUT)
        yield running, spool
    finally:
        stop(running)


def request_for(rng: random.Random) -> tuple[str, bytes, bytes]:
    """A random upload: (path, the bytes whose hash the app answers, the request body)."""
    payload = rng.randbytes(rng.randint(1, MAX_SIZE))
    if rng.random() < 0.5:
        return "/raw", payload, payload
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="up.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return "/form", payload, head + payload + f"\r\n--{BOUNDARY}--\r\n".encode()


def head_for(path: str, body: bytes, port: int) -> bytes:
    content_type = (
        f"multipart/form-data; boundary={BOUNDARY}"
        if path == "/form"
        else "application/octet-stream"
    )
    return (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()


async def read_reply(stream: anyio.abc.ByteStream) -> tuple[int, bytes]:
    """Read until the server closes the connection (``Connection: close``): (status, body)."""
    data = bytearray()
    while True:
        try:
            data += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            break
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), body


async def one_upload(port: int, rng: random.Random, tally: Tally) -> None:
    path, payload, body = request_for(rng)
    abort_at = rng.randrange(len(body)) if rng.random() < ABORT_RATE else None
    reset = rng.random() < 0.5
    with anyio.fail_after(IO_TIMEOUT):
        stream = await anyio.connect_tcp(HOST, port)
        async with stream:
            await stream.send(head_for(path, body, port))
            end = len(body) if abort_at is None else abort_at
            for offset in range(0, end, PIECE):
                await stream.send(body[offset : min(offset + PIECE, end)])
            if abort_at is not None:
                if reset:
                    # SO_LINGER on, 0 s: close() sends RST instead of FIN.
                    raw = stream.extra(anyio.abc.SocketAttribute.raw_socket)
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                tally.aborted += 1
                return
            status, reply = await read_reply(stream)
    expected = {"sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)}
    if status != 200 or json.loads(reply) != expected:
        tally.failures.append(f"{path} {len(payload)} bytes: {status} {reply[:200]!r}")
    tally.completed += 1
    tally.bytes_completed += len(payload)


async def load(server: Server, spool: Path, duration: float, tally: Tally, seed: int) -> None:
    """``CLIENTS`` clients uploading for ``duration`` seconds, while the server's temporary
    files are counted every 0.1 s (a subprocess: there is nothing to wait on but time)."""
    deadline = time.monotonic() + duration

    async def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        while time.monotonic() < deadline:
            await one_upload(server.port, rng, tally)

    async def look() -> None:
        while time.monotonic() < deadline:
            spooled = len(files_open_in(server.process.pid, spool))
            tally.most_spooled = max(tally.most_spooled, spooled)
            await anyio.sleep(0.1)

    async with anyio.create_task_group() as group:
        group.start_soon(look)
        for number in range(CLIENTS):
            group.start_soon(client, number)


async def get_health(port: int) -> tuple[int, bytes]:
    with anyio.fail_after(IO_TIMEOUT):
        async with await anyio.connect_tcp(HOST, port) as stream:
            await stream.send(
                f"GET /health HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
            )
            return await read_reply(stream)


def files_open_in(pid: int, directory: Path) -> list[str]:
    found = []
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue  # closed while listing
        if target.startswith(f"{directory}{os.sep}"):
            found.append(target)
    return found


def test_uploads_with_random_disconnects(server: tuple[Server, Path]) -> None:
    running, spool = server
    pid, port = running.process.pid, running.port
    warmup = Tally()
    anyio.run(load, running, spool, 1.0, warmup, 1, backend="asyncio")
    assert warmup.failures == []
    before = rss_kib(pid)
    tally = Tally()
    anyio.run(load, running, spool, DURATION, tally, 2, backend="asyncio")
    after = rss_kib(pid)

    assert running.process.poll() is None, running.output()
    assert anyio.run(get_health, port, backend="asyncio") == (200, b"ok")
    assert tally.failures == []
    assert tally.completed > CLIENTS
    assert tally.aborted > CLIENTS // 4
    assert tally.most_spooled > 0  # forms did go to temporary files during the load
    # The aborted requests' app tasks end as soon as uvicorn reports the disconnect; give the
    # process a bounded moment to get there (a subprocess: nothing to wait on but its state).
    deadline = time.monotonic() + 10
    while files_open_in(pid, spool) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert files_open_in(pid, spool) == []
    assert os.listdir(spool) == []
    output = running.output()
    assert "Traceback" not in output
    assert "ERROR" not in output
    growth = after - before
    print(  # the figures docs/security.md quotes
        f"soak uploads: {tally.completed} completed ({tally.bytes_completed} bytes), "
        f"{tally.aborted} aborted in {DURATION:.0f} s; at most {tally.most_spooled} temporary "
        f"files open at once; RSS {before} -> {after} KiB"
    )
    assert growth < RSS_GROWTH_LIMIT_KIB, f"RSS grew by {growth} KiB"
