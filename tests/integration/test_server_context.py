"""``current_request()`` under uvicorn (h11 and httptools) over a connection that pipelines two
requests: the server starts the second inside the first's ``send()`` of its last body message, so
the second starts in a copy of the first's context, while the first still runs (its background
task). Each must see its own request, also in a worker thread, and the second nothing of the first
before the app sets it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import BinaryIO

import pytest

from .servers import HOST, IO_TIMEOUT, START_TIMEOUT, TESTS_DIR, Server, free_port, stop, wait_ready

pytestmark = pytest.mark.integration

SERVERS = ["h11", "httptools"]


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    command = [
        *(sys.executable, "-m", "uvicorn", "integration.context_app:app"),
        *("--host", HOST, "--port", str(port), "--http", request.param),
        *("--log-level", "warning", "--lifespan", "off"),
    ]
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    started = Server(f"uvicorn-{request.param}", port, process, log)
    try:
        wait_ready(started, time.monotonic() + START_TIMEOUT)
        yield started
    finally:
        stop(started)


def read_response(reader: BinaryIO) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length, from a socket's buffered reader."""
    status = int(reader.readline().split()[1])
    length = 0
    while True:
        line = reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return status, reader.read(length)


def test_pipelined_requests_each_see_their_own(server: Server) -> None:
    with socket.create_connection((HOST, server.port), timeout=IO_TIMEOUT) as sock:
        # Both requests in one write: the server has the second before the first is answered.
        sock.sendall(
            b"GET /first HTTP/1.1\r\nHost: test\r\n\r\nGET /second HTTP/1.1\r\nHost: test\r\n\r\n"
        )
        reader = sock.makefile("rb")
        assert read_response(reader) == (200, b"first")
        assert read_response(reader) == (200, b"second")
    with socket.create_connection((HOST, server.port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(b"GET /report HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        status, body = read_response(sock.makefile("rb"))
    assert status == 200
    observed = json.loads(body)
    # The server leaks: a variable set while the first request ran is there when the second
    # arrives (the case uvicorn's --reset-contextvars exists for) ...
    assert observed["second, inherited probe"] == "/first", server.output()
    assert observed["first, inherited probe"] is None
    # ... but the current request never is the other one.
    assert observed["second, outside the app"] is None
    assert observed["first, outside the app"] is None
    assert observed["second"] == "/second"
    assert observed["second, worker thread"] == "/second"
    assert observed["first, background task"] == "/first"
