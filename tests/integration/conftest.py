"""The servers fixture: every server of the matrix, started once for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .servers import SERVER_NAMES, Server, running


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, Server]]:
    """Every server in ``SERVER_NAMES``, started together and stopped at the end of the session."""
    with running(SERVER_NAMES) as started:
        yield started
