"""The servers fixture: every server of the matrix, started once for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .servers import SERVER_NAMES, TLS_NAMES, Server, make_certificate, running


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1: (certificate, key)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def servers(certificate: tuple[Path, Path]) -> Iterator[dict[str, Server]]:
    """Every server, plain and over TLS, started together and stopped at the end of the session."""
    with running([*SERVER_NAMES, *TLS_NAMES], *certificate) as started:
        yield started
