"""The servers fixture: every server of the matrix, started once for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .servers import (
    H3_NAMES,
    ROOT_NAMES,
    SERVER_NAMES,
    TLS_NAMES,
    Servers,
    make_certificate,
    make_download,
    running,
)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1: (certificate, key).

    Its directory also holds ``download.bin``, the file the app's ``/download`` serves.
    """
    directory = tmp_path_factory.mktemp("tls")
    make_download(directory)
    return make_certificate(directory)


@pytest.fixture(scope="session")
def download(certificate: tuple[Path, Path]) -> bytes:
    """The bytes of the file the servers' ``/download`` sends."""
    return (certificate[0].parent / "download.bin").read_bytes()


@pytest.fixture(scope="session")
def servers(certificate: tuple[Path, Path]) -> Iterator[Servers]:
    """Every server (plain, over TLS, with a root path, over QUIC) started together, stopped at
    the end; a test asking for one whose packages are not installed is skipped, saying so."""
    with running([*SERVER_NAMES, *TLS_NAMES, *ROOT_NAMES, *H3_NAMES], *certificate) as started:
        yield started
