"""Stateless scale-out: ``uvicorn --workers 2`` serving one app from two processes.

200 requests all succeed, both workers answer some of them (each answer names its process id),
and a session cookie set by one worker is honoured by the other: the session is a signed cookie,
so no state is shared between the processes but the key.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from integration.servers import HOST, IO_TIMEOUT, TESTS_DIR, Server, free_port, stop, wait_ready

pytestmark = pytest.mark.integration

REQUESTS = 200
# Workers start one after the other; give the second this long to take its first connection.
BOTH_WORKERS_DEADLINE = 20.0


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    command = [
        *(sys.executable, "-m", "uvicorn", "interop.scaleapp:app"),
        *("--host", HOST, "--port", str(port), "--workers", "2", "--log-level", "warning"),
    ]
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    running = Server("uvicorn-workers-2", port, process, log)
    try:
        wait_ready(running, time.monotonic() + 30.0)
        yield running
    finally:
        stop(running)  # by process id: the supervisor stops its workers


def call(port: int, method: str, path: str, cookie: str = "") -> tuple[dict[str, Any], str]:
    """One request on a new connection: (JSON body, the session cookie it set or '')."""
    connection = http.client.HTTPConnection(HOST, port, timeout=IO_TIMEOUT)
    try:
        connection.request(method, path, headers={"cookie": cookie} if cookie else {})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        set_cookie = response.getheader("set-cookie") or ""
        return json.loads(body), set_cookie.split(";", 1)[0]
    finally:
        connection.close()


def test_200_requests_succeed_across_both_workers(server: Server) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: call(server.port, "GET", "/visit")[0], range(REQUESTS)))
    assert len(answers) == REQUESTS
    assert all(answer["user"] is None for answer in answers)
    pids = {answer["pid"] for answer in answers}
    deadline = time.monotonic() + BOTH_WORKERS_DEADLINE
    while len(pids) < 2 and time.monotonic() < deadline:
        pids.add(call(server.port, "GET", "/visit")[0]["pid"])
    assert len(pids) == 2, f"only worker(s) {pids} answered:\n{server.output()}"
    assert server.process.pid not in pids  # the supervisor serves nothing itself


def test_session_set_by_one_worker_is_honoured_by_the_other(server: Server) -> None:
    answer, cookie = call(server.port, "POST", "/login/ada")
    assert cookie.startswith("session=")
    first_worker = answer["pid"]
    served_by = {first_worker}
    visits = 0
    deadline = time.monotonic() + BOTH_WORKERS_DEADLINE
    # Every request carries the newest cookie (each visit rewrites it) and must see the whole
    # history, whichever worker takes it; go on until the other worker has taken some.
    while len(served_by) < 2 or visits < 10:
        assert time.monotonic() < deadline, f"only worker {first_worker} answered"
        answer, new_cookie = call(server.port, "GET", "/visit", cookie)
        visits += 1
        assert answer["user"] == "ada"
        assert answer["visits"] == visits
        served_by.add(answer["pid"])
        cookie = new_cookie or cookie
    assert len(served_by) == 2
