"""Split a body into chunks at arbitrary boundaries, as a network would, for split invariance."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

from hypothesis import strategies as st


def splits(data: st.DataObject, body: bytes) -> list[bytes]:
    """Draw a chunking of ``body``: cuts anywhere, sometimes every byte alone, with empty
    chunks sprinkled in (a server may deliver ``b""`` with ``more_body=True``)."""
    if body and data.draw(st.integers(0, 9)) == 0:
        chunks = [body[i : i + 1] for i in range(len(body))]
    else:
        cuts = data.draw(st.sets(st.integers(0, len(body)), max_size=12))
        bounds = [0, *sorted(cuts), len(body)]
        chunks = [body[start:end] for start, end in itertools.pairwise(bounds)]
    empties = data.draw(st.sets(st.integers(0, len(chunks)), max_size=3))
    for index in sorted(empties, reverse=True):
        chunks.insert(index, b"")
    return chunks


async def stream(chunks: list[bytes]) -> AsyncIterator[bytes]:
    """The chunks as a request body stream (``request.stream()``'s shape)."""
    for chunk in chunks:
        yield chunk
