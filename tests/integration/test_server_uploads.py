"""A 50 MiB multipart upload under every server: intact by SHA-256, with bounded server memory.

The client streams the body in 1 MiB chunks; the app reads the form (files spool to disk past
1 MiB) and hashes the file in 1 MiB reads. The server's resident memory (``VmRSS`` of its process
and any worker processes, from ``/proc``) is read before and after: it must grow by less than
64 MiB, so neither the server nor microasgi held the body in memory.

Except under daphne, measured: daphne 4.2.3 reads the whole body first (twisted spools it to a
file), then puts all of it into the app's unbounded queue in 8 KiB messages before the app runs
(``daphne/http_protocol.py``, ``WebRequest.process``), so its memory grows by about twice the
body whatever the app does. Its bound here says so; docs/deployment.md warns about it.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator

import pytest

from .clients import TARGET_NAMES, FilePart, fetch, multipart, rss_kib, target
from .servers import Server

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
SIZE = 50 * MIB
RSS_GROWTH_LIMIT_KIB = 64 * 1024
# daphne queues the whole body in memory (see above): 50 MiB of bytes plus a dict per 8 KiB.
DAPHNE_RSS_GROWTH_LIMIT_KIB = 3 * SIZE // 1024


class Content:
    """50 MiB of seeded random data made 1 MiB at a time, hashed as it is sent."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self.digest = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(SIZE // MIB):
            chunk = self._random.randbytes(MIB)
            self.digest.update(chunk)
            yield chunk


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_large_multipart_upload(servers: dict[str, Server], name: str) -> None:
    where = target(servers, name)
    content = Content(seed=len(name))
    part = FilePart("file", "big.bin", "application/octet-stream", SIZE, content)
    headers, body = multipart([("note", "fifty")], [part], uuid.uuid4().hex)
    before = rss_kib(where.server.process.pid)
    reply = fetch(where, "POST", "/upload", headers, body)
    after = rss_kib(where.server.process.pid)
    assert reply.status == 200, reply.body[:500]
    [note, file] = json.loads(reply.body)["fields"]
    assert note == ["note", "fifty"]
    assert file == [
        "file",
        {
            "filename": "big.bin",
            "content_type": "application/octet-stream",
            "size": SIZE,
            "sha256": content.digest.hexdigest(),
        },
    ]
    growth = after - before
    limit = DAPHNE_RSS_GROWTH_LIMIT_KIB if name == "daphne" else RSS_GROWTH_LIMIT_KIB
    assert growth < limit, f"{name} grew by {growth} KiB ({before} -> {after})"
