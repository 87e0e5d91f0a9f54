"""The drain under real servers: open event streams and websockets end, then SIGTERM is quick.

Each test starts its own server on ``integration.drain_app:app`` (it is stopped by the test, so
the session's shared servers cannot serve), opens an endless event stream, a websocket and a
slow request, then drains the app, either by ``POST /drain`` (``app.begin_drain()`` from an
endpoint, what a Kubernetes ``preStop`` hook calls) or by SIGTERM itself (``drain_signals``).
The stream must end with the drain event and the ``retry:`` hint, the websocket with 1012, the
slow request must finish, and the server must then exit soon after SIGTERM.

``MICROASGI_DRAIN_TIMES=1`` also runs the same connections without a drain, for the times
docs/deployment.md reports (servers then wait for the stream until their own timeout, so this
is slow), and prints every measured time.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets.sync.client
from websockets.exceptions import ConnectionClosed

from .drain_app import SLOW_SECONDS
from .servers import HOST, IO_TIMEOUT, START_TIMEOUT, TESTS_DIR, Server, free_port, wait_ready

pytestmark = pytest.mark.integration

APP = "integration.drain_app:app"
SERVERS = ("uvicorn", "hypercorn", "granian")
# A server that exits within this after SIGTERM, once drained, exits promptly. Measured: well
# under a second (see docs/deployment.md); the bound leaves room for a busy machine.
PROMPT = 5.0
# Without the drain, how long to let a server wait for the open stream before killing it.
PATIENCE = 30.0
MEASURE = os.environ.get("MICROASGI_DRAIN_TIMES") == "1"
# Measured: uvicorn re-raises the signal once its graceful shutdown is done, so it ends "killed
# by SIGTERM"; the others exit with 0.
CLEAN_EXIT = {"uvicorn": (0, -signal.SIGTERM)}
# Measured: granian handles SIGTERM through asyncio's signal wake-up, which no Python-level
# handler can put off: its own shutdown then sometimes cuts the websocket (no close frame)
# before the app's 1012 goes out. The event stream always ends with the drain event.
SIGNAL_WEBSOCKET_CLOSE = {"granian": (1012, None)}


def _command(name: str, port: int) -> list[str]:
    python = sys.executable
    if name == "uvicorn":
        return [
            *(python, "-m", "uvicorn", APP, "--host", HOST, "--port", str(port)),
            *("--log-level", "warning", "--lifespan", "on"),
        ]
    if name == "hypercorn":
        # --workers 0: hypercorn serves in its own process, which gets the SIGTERM (with
        # worker processes, the app's process never sees a signal; see docs/lifecycle.md).
        return [python, "-m", "hypercorn", "--bind", f"{HOST}:{port}", "--workers", "0", APP]
    return [
        *(python, "-m", "granian", "--interface", "asgi", "--host", HOST, "--port", str(port)),
        *("--workers", "1", "--log-level", "warning", APP),
    ]


@contextlib.contextmanager
def serving(name: str, *, drain_signals: bool) -> Iterator[Server]:
    """Run ``name`` on the drain app until the block ends; kill it if it is still running."""
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    env["DRAIN_SIGNALS"] = "1" if drain_signals else "0"
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        _command(name, port), env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
    )
    server = Server(name, port, process, log)
    try:
        wait_ready(server, time.monotonic() + START_TIMEOUT)
        assert _get(server, "/readyz")[0] == 200, server.output()
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=IO_TIMEOUT)
        log.close()


def _get(server: Server, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=IO_TIMEOUT)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


class Open:
    """An event stream, a websocket and a slow request, each seen to be in progress."""

    def __init__(self, server: Server, stack: contextlib.ExitStack) -> None:
        self._server = server
        self._stack = stack
        self.events = self._start("/events", b"data: tick 0\n")
        self.slow = self._start("/slow/a", b"started\n")
        self.websocket = stack.enter_context(
            websockets.sync.client.connect(
                f"ws://{HOST}:{server.port}/ws", open_timeout=IO_TIMEOUT, close_timeout=IO_TIMEOUT
            )
        )
        self.websocket.send("hi")
        assert self.websocket.recv(timeout=IO_TIMEOUT) == "hi"

    def _start(self, path: str, first: bytes) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection(HOST, self._server.port, timeout=IO_TIMEOUT)
        self._stack.callback(connection.close)
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200
        seen = b""
        while first not in seen:
            chunk = response.read1(4096)
            assert chunk, f"{path} ended before {first!r}: {seen!r}"
            seen += chunk
        return response

    def rest_of_events(self) -> tuple[bytes, bool]:
        """The rest of the event stream, and whether it ended cleanly (the last chunk came)."""
        try:
            return self.events.read(), True
        except (http.client.IncompleteRead, OSError) as error:
            return getattr(error, "partial", b""), False

    def websocket_close(self) -> int | None:
        """The close code the server sent on the websocket (None: cut without a close)."""
        try:
            while True:
                self.websocket.recv(timeout=PATIENCE + IO_TIMEOUT)
        except ConnectionClosed as closed:
            return None if closed.rcvd is None else closed.rcvd.code
        except TimeoutError:
            return -1  # still open


@contextlib.contextmanager
def connections(server: Server) -> Iterator[Open]:
    """Open the long-lived connections on ``server``; close what is left at the end."""
    with contextlib.ExitStack() as stack:
        yield Open(server, stack)


def _exit_time(server: Server, limit: float) -> float:
    """SIGTERM ``server`` and return the seconds until it exits (``math.inf`` past ``limit``)."""
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        return float("inf")
    return time.monotonic() - started


def _report(name: str, what: str, seconds: float) -> None:
    if MEASURE:
        print(f"\nDRAIN-TIME {name:<9} {what}: {seconds:.3f} s")


def _check_drained(opened: Open, name: str, websocket_close: tuple[int | None, ...]) -> None:
    rest, clean = opened.rest_of_events()
    assert clean, f"{name}: the event stream was cut: {rest[-200:]!r}"
    assert rest.endswith(b"event: restart\ndata: bye\n\nretry: 1000\n\n"), rest[-200:]
    assert opened.websocket_close() in websocket_close


def _check_exit(server: Server) -> None:
    assert server.process.returncode in CLEAN_EXIT.get(server.name, (0,)), server.output()


@pytest.mark.parametrize("name", SERVERS)
def test_drain_from_an_endpoint_then_sigterm(name: str) -> None:
    with serving(name, drain_signals=False) as server:
        with connections(server) as opened:
            started = time.monotonic()
            assert _get(server, "/drain", "POST")[0] == 202
            _check_drained(opened, name, (1012,))
            _report(name, "drain -> stream and websocket ended", time.monotonic() - started)
            status, headers, body = _get(server, "/readyz")
            assert (status, body) == (503, b"not ready: draining")
            assert headers.get("connection") == "close"  # HTTP/1.1: keep-alive ends
            status, _, body = _get(server, "/items/1")
            assert (status, body) == (200, b"item 1")  # still served
            assert opened.slow.read() == b"done\n"  # in progress at the drain: finished
            seconds = _exit_time(server, PROMPT)
            _report(name, "SIGTERM after drain -> exit", seconds)
            assert seconds < PROMPT, server.output()
            _check_exit(server)


@pytest.mark.parametrize("name", SERVERS)
def test_sigterm_drains_with_drain_signals(name: str) -> None:
    with serving(name, drain_signals=True) as server:
        with connections(server) as opened:
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            _check_drained(opened, name, SIGNAL_WEBSOCKET_CLOSE.get(name, (1012,)))
            # The request in progress when SIGTERM came finishes during the shutdown.
            assert opened.slow.read() == b"done\n"
            server.process.wait(timeout=PROMPT + SLOW_SECONDS)
            seconds = time.monotonic() - started
            _report(name, f"SIGTERM (drain_signals, /slow {SLOW_SECONDS} s) -> exit", seconds)
            _check_exit(server)


@pytest.mark.skipif(not MEASURE, reason="slow measurement: MICROASGI_DRAIN_TIMES=1 runs it")
@pytest.mark.parametrize("name", SERVERS)
def test_sigterm_without_drain(name: str) -> None:
    with serving(name, drain_signals=False) as server:
        with connections(server) as opened:
            assert opened.slow.read() == b"done\n"
            seconds = _exit_time(server, PATIENCE)
            outcome: dict[str, Any] = {}
            if seconds != float("inf"):
                rest, clean = opened.rest_of_events()
                outcome = {
                    "stream": "ended" if clean else "cut",
                    "drain event": b"restart" in rest,
                    "websocket": opened.websocket_close(),
                }
            _report(name, f"SIGTERM without drain -> exit {outcome}", seconds)
