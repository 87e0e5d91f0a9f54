"""The echo app works in-process and under uvicorn; the README quickstart serves the notes app.

The other apps under examples/ have their own tests/test_examples_<app>.py."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


def test_echo_closes_its_connections(
    echo_db: Path, test_client_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``with sqlite3.connect(...)`` commits but leaves the connection open, which Python 3.13
    # reports as a ResourceWarning when it is collected: every connection must be closed.
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def connect(path: str) -> sqlite3.Connection:
        # Opened in a worker thread (run_in_threadpool), checked from this one.
        opened.append(real_connect(path, check_same_thread=False))
        return opened[-1]

    monkeypatch.setattr(sqlite3, "connect", connect)
    client = test_client_factory(echo.app)
    client.get("/a")
    client.get("/_log")
    assert len(opened) == 2
    for connection in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")


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


def quickstart_serve_command() -> list[str]:
    """The README quickstart's serve command, as this test runs it.

    The command's last step (``.venv/bin/uvicorn <app> --host 127.0.0.1 --port 8000``) is taken
    from the README itself; the interpreter running the tests stands in for ``.venv/bin``.
    """
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1]
    serve = re.findall(r"^```sh\n(.*?)^```", quickstart, re.MULTILINE | re.DOTALL)[0].strip()
    program, *arguments = shlex.split(serve.rsplit("&&", 1)[1])
    assert program == ".venv/bin/uvicorn"
    return [sys.executable, "-m", "uvicorn", *arguments]


@contextmanager
def serving(command: list[str], env: dict[str, str]) -> Iterator[str]:
    """Run ``command`` on a free loopback port (its ``--port`` replaced) until the block ends.

    Waits for the port with a bounded poll; stops the server by process id.
    """
    port = _free_port()
    command = [*command]
    command[command.index("--port") + 1] = str(port)
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
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


@pytest.fixture
def uvicorn_echo(tmp_path: Path) -> Iterator[str]:
    """The echo app under uvicorn, on a free loopback port."""
    command = [sys.executable, "-m", "uvicorn", "examples.echo:app", "--host", "127.0.0.1"]
    env = {"MICROASGI_ECHO_DB": str(tmp_path / "echo.sqlite3")}
    with serving([*command, "--port", "8000"], env) as url:
        yield url


@pytest.mark.integration
def test_echo_app_under_uvicorn(uvicorn_echo: str) -> None:
    with urllib.request.urlopen(f"{uvicorn_echo}/quickstart?ok=1", timeout=10) as reply:
        assert reply.status == 200
        body = json.loads(reply.read())
    assert body["scope"]["path"] == "/quickstart"
    assert body["scope"]["query_string"] == "ok=1"
    assert body["requests_seen"] == 1
    with urllib.request.urlopen(f"{uvicorn_echo}/_log", timeout=10) as reply:
        assert json.loads(reply.read())["latest"][0]["path"] == "/quickstart"


def test_quickstart_serves_the_notes_app() -> None:
    command = quickstart_serve_command()
    assert command[3:] == ["examples.notes.app:app", "--host", "127.0.0.1", "--port", "8000"]


@pytest.mark.integration
def test_quickstart_notes_app_under_uvicorn(tmp_path: Path) -> None:
    database = tmp_path / "notes.sqlite3"
    with serving(quickstart_serve_command(), {"MICROASGI_NOTES_DB": str(database)}) as url:
        create = urllib.request.Request(
            f"{url}/api/notes",
            data=json.dumps({"title": "Quickstart <works>", "body": "under uvicorn"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(create, timeout=10) as reply:
            assert reply.status == 201
            note = json.loads(reply.read())
            assert reply.headers["Location"] == f"{url}/api/notes/{note['id']}"
        with urllib.request.urlopen(f"{url}/api/notes", timeout=10) as reply:
            listed = json.loads(reply.read())["notes"]
        with urllib.request.urlopen(f"{url}/", timeout=10) as reply:
            assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
            page = reply.read().decode()
    assert [(n["title"], n["body"]) for n in listed] == [("Quickstart <works>", "under uvicorn")]
    assert "<h2>Quickstart &lt;works&gt;</h2>" in page
    assert database.is_file()
