"""The apps under examples/ work, in-process and under a real server (the README's quickstart)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from examples import echo

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def echo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "echo.sqlite3"
    monkeypatch.setenv("MICROASGI_ECHO_DB", str(path))
    return path


def test_echo_returns_the_scope_and_counts(
    echo_db: Path, test_client_factory: Callable[..., Any]
) -> None:
    with test_client_factory(echo.app) as client:
        first = client.get("/hello/w%C3%B6rld?x=1", headers={"X-Demo": "yes"})
        second = client.post("/other", content=b"ignored")
    assert first.status_code == 200
    body = first.json()
    assert body["requests_seen"] == 1
    assert body["scope"]["type"] == "http"
    assert body["scope"]["method"] == "GET"
    assert body["scope"]["path"] == "/hello/w\xf6rld"
    assert body["scope"]["query_string"] == "x=1"
    assert ["x-demo", "yes"] in body["scope"]["headers"]
    assert second.json()["requests_seen"] == 2
    assert echo_db.is_file()


def test_echo_log_lists_latest_requests(
    echo_db: Path, test_client_factory: Callable[..., Any]
) -> None:
    client = test_client_factory(echo.app)
    client.get("/a")
    client.delete("/b")
    latest = client.get("/_log").json()["latest"]
    assert [(r["method"], r["path"]) for r in latest] == [("DELETE", "/b"), ("GET", "/a")]
    refused = client.post("/_log")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD"


def test_echo_refuses_websockets(echo_db: Path, test_client_factory: Callable[..., Any]) -> None:
    client = test_client_factory(echo.app)
    with pytest.raises(ValueError, match="serves http only"), client.websocket_connect("/"):
        pass


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"ab", "ab"),
        ((b"k", b"v"), ["k", "v"]),
        ({"a": None, 1: 2.5}, {"a": None, "1": 2.5}),
        (object, repr(object)),
    ],
)
def test_jsonable(value: object, expected: object) -> None:
    assert echo.jsonable(value) == expected


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def uvicorn_echo(tmp_path: Path) -> Iterator[str]:
    """The quickstart's serve command, on a free loopback port, stopped by process id."""
    port = _free_port()
    env = {**os.environ, "MICROASGI_ECHO_DB": str(tmp_path / "echo.sqlite3")}
    command = [sys.executable, "-m", "uvicorn", "examples.echo:app", "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited early: {proc.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - only if uvicorn hangs on SIGTERM
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


@pytest.mark.integration
def test_quickstart_app_under_uvicorn(uvicorn_echo: str) -> None:
    with urllib.request.urlopen(f"{uvicorn_echo}/quickstart?ok=1", timeout=10) as reply:
        assert reply.status == 200
        body = json.loads(reply.read())
    assert body["scope"]["path"] == "/quickstart"
    assert body["scope"]["query_string"] == "ok=1"
    assert body["requests_seen"] == 1
    with urllib.request.urlopen(f"{uvicorn_echo}/_log", timeout=10) as reply:
        assert json.loads(reply.read())["latest"][0]["path"] == "/quickstart"
