"""Shared fixtures: every async test runs on asyncio and on trio (anyio's plugin in auto mode)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from typing import Any, cast

# Imported here, at a shallow stack: Hypothesis imports it lazily, sometimes deep inside a test,
# and CPython 3.11.7 then failed to parse it under pytest's assertion rewriting ("SystemError:
# AST constructor recursion depth mismatch", seen with tests/properties/test_multipart.py).
import hypothesis.internal.conjecture.optimiser  # noqa: F401
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--blockbuster",
        action="store_true",
        default=os.environ.get("MICROASGI_BLOCKBUSTER", "") not in ("", "0"),
        help="fail on blocking calls made by microasgi on an event loop (tests/_blocking.py); "
        "also MICROASGI_BLOCKBUSTER=1",
    )


@pytest.fixture(autouse=True)
def _forbid_blocking(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``--blockbuster``, every test runs under ``tests/_blocking.forbid_blocking()``."""
    if not request.config.getoption("--blockbuster"):
        yield
        return
    from _blocking import forbid_blocking

    with forbid_blocking():
        yield


@pytest.fixture(params=[pytest.param("asyncio", id="asyncio"), pytest.param("trio", id="trio")])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each async test, and each test using ``test_client_factory``, on both backends."""
    return str(request.param)


@pytest.fixture
def test_client_factory(anyio_backend_name: str) -> Callable[..., Any]:
    """``TestClient`` bound to the backend of the current parametrization."""
    from microasgi.testclient import TestClient

    return functools.partial(TestClient, backend=cast(Any, anyio_backend_name))
