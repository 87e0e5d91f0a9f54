"""Headless Debian Chromium driven by selenium, and real servers to point it at.

The tests here skip, saying why, when Chromium, ChromeDriver or selenium is missing (``.ci/run``
installs Debian's ``chromium`` and ``chromium-driver`` when it can).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from integration.servers import HOST, Server, free_port, stop, wait_ready

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TESTS_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = TESTS_DIR.parent
WAIT = 15.0
# Without the networking flags, Chromium tries to reach Google's hosts at every start, which
# this machine's closed network refuses (see /work/.library/env/machines/python.md).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1024",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: renders pages in headless Chromium (skipped, saying why, without it)"
    )


def _missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return (
                f"{path} is missing: install Debian's {package} "
                "(apt-get install -y chromium chromium-driver)"
            )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install -e '.[dev]'"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium session (selenium's ``WebDriver``), with a fresh profile."""
    reason = _missing()
    if reason is not None:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
        driver.set_page_load_timeout(WAIT)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``serve("module:app", **env)`` runs the app under uvicorn on loopback; returns its URL."""
    started: list[Server] = []

    def start(target: str, **env: str) -> str:
        port = free_port()
        environ = {**os.environ, **env}
        environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(TESTS_DIR), str(REPO_DIR), environ.get("PYTHONPATH")])
        )
        log = tempfile.TemporaryFile()
        command = [sys.executable, "-m", "uvicorn", target, "--host", HOST, "--port", str(port)]
        process = subprocess.Popen(
            [*command, "--log-level", "warning", "--lifespan", "on"],
            cwd=tmp_path,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        server = Server(target, port, process, log)
        started.append(server)
        wait_ready(server, time.monotonic() + 30.0)
        return f"http://{HOST}:{port}"

    yield start
    stop(*started)
