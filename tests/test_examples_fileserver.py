"""The file server example (examples/fileserver.py): static site in HTML mode, downloads, Range."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from examples import fileserver
from microasgi.testclient import AsyncTestClient

HELLO = b"Hello from the file server.\n"


async def test_site_in_html_mode() -> None:
    client = AsyncTestClient(fileserver.app)
    home = await client.get("/")
    assert "<h1>Files</h1>" in home.text
    redirect = await client.get("/guide", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (307, "/guide/")
    assert "<h1>Guide</h1>" in (await client.get("/guide")).text
    missing = await client.get("/nowhere")
    assert (missing.status_code, "<h1>Nothing here</h1>" in missing.text) == (404, True)
    shown = await client.get("/hello.txt")
    assert shown.content == HELLO
    assert "content-disposition" not in shown.headers
    again = await client.get("/hello.txt", headers={"If-None-Match": shown.headers["etag"]})
    assert again.status_code == 304


async def test_download_with_range() -> None:
    client = AsyncTestClient(fileserver.app)
    whole = await client.get("/download/hello.txt")
    assert whole.content == HELLO
    assert whole.headers["content-disposition"] == 'attachment; filename="hello.txt"'
    part = await client.get("/download/hello.txt", headers={"Range": "bytes=6-9"})
    assert (part.status_code, part.content) == (206, b"from")
    assert part.headers["content-range"] == f"bytes 6-9/{len(HELLO)}"
    nested = await client.get("/download/guide/index.html")
    assert nested.headers["content-disposition"] == 'attachment; filename="index.html"'
    resumed = await client.get("/download/hello.txt", headers={"Range": "bytes=-3"})
    assert resumed.content == b"r.\n"  # the last 3 bytes


@pytest.mark.parametrize(
    "path",
    [
        "/download/guide",  # a directory
        "/download/nothing.txt",
        "/download/..%2f..%2fpyproject.toml",
        "/download/guide/..%2f..%2fchat.py",
        "/download/%2fetc%2fpasswd",
        "/download/.hidden",
        "/download/a%00b",
        "/download/guide%5c..%5cindex.html",
        "/download/guide//index.html",
        "/download/",
    ],
)
async def test_download_refuses(path: str) -> None:
    response = await AsyncTestClient(fileserver.app).get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_symlinks_out_of_the_directory_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (root / "ok.txt").write_bytes(b"ok")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    client = AsyncTestClient(fileserver.create_app(root))
    assert (await client.get("/download/ok.txt")).content == b"ok"
    assert (await client.get("/download/link.txt")).status_code == 404
    assert (await client.get("/link.txt")).status_code == 404


def test_directory_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, test_client_factory: Callable[..., Any]
) -> None:
    monkeypatch.setenv("MICROASGI_FILES_DIR", str(tmp_path))
    (tmp_path / "x.txt").write_text("x")
    client = test_client_factory(fileserver.create_app())
    assert client.get("/download/x.txt").text == "x"
