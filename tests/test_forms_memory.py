"""Memory, measured: multipart uploads stream through an app with a bounded Python heap.

Each test runs the whole request (test client, application, parser, spooling) under
``tracemalloc`` and asserts the peak of the Python heap, so a parser that buffers a body, a part or
a header fails here, however the code looks.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Awaitable, Callable
from typing import TypeVar

from microasgi.applications import MicroASGI
from microasgi.datastructures import UploadFile
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient

MIB = 1024 * 1024
CONTENT_TYPE = "multipart/form-data; boundary=B0und"
HEAP_LIMIT = 16 * MIB

T = TypeVar("T")


async def peak_heap(run: Callable[[], Awaitable[T]]) -> tuple[T, int]:
    """Run ``run()`` under tracemalloc; return its result and the peak of the Python heap."""
    tracemalloc.start()
    try:
        result = await run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


async def upload(request: Request) -> Response:
    """Describe the form: each file's size and last bytes, each field's length."""
    try:
        async with request.form(max_file_size=512 * MIB) as form:
            described: list[list[object]] = []
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    size = value.size or 0
                    await value.seek(max(size - 8, 0))
                    described.append([name, value.filename, size, (await value.read()).decode()])
                else:
                    described.append([name, len(value)])
    except HTTPException as exc:
        return PlainTextResponse(str(exc.detail), exc.status_code)
    return JSONResponse(described)


# The body cap bounds a whole upload, files included: this route raises it to 1 GiB, as a route
# taking large uploads does. The memory bound is what this module checks.
app = MicroASGI(routes=[Route("/upload", upload, methods=["POST"], max_body_size=1024**3)])


def part_head(name: str, filename: str | None = None) -> bytes:
    disposition = f'Content-Disposition: form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return b"--B0und\r\n" + disposition.encode() + b"\r\n\r\n"


class OnePart:
    """A one-part body: ``head``, ``size`` bytes of content in chunks, then ``tail``; it counts
    the bytes handed out. A plain async iterator, not a generator: the client may stop reading it
    early (on an early answer), and an unfinished generator would be left to the GC."""

    def __init__(self, head: bytes, size: int, chunk_size: int, tail: bytes) -> None:
        self._chunk = b"x" * chunk_size  # PERF: one chunk object, handed out again and again
        self._pieces = [head, *[self._chunk] * (size // chunk_size), tail]
        self._next = 0
        self.sent = 0

    def __aiter__(self) -> OnePart:
        return self

    async def __anext__(self) -> bytes:
        if self._next == len(self._pieces):
            raise StopAsyncIteration
        piece = self._pieces[self._next]
        self._next += 1
        self.sent += len(piece)
        return piece


async def test_256_mib_upload_keeps_the_heap_under_16_mib() -> None:
    size = 256 * MIB
    body = OnePart(
        part_head("video", "big.bin"),
        size,
        256 * 1024,
        b"\r\n" + part_head("title") + b"hello\r\n--B0und--\r\n",
    )

    async def run() -> tuple[int, object]:
        async with AsyncTestClient(app) as client:
            response = await client.post(
                "/upload", content=body, headers={"content-type": CONTENT_TYPE}
            )
        return response.status_code, response.json()

    (status, described), peak = await peak_heap(run)
    assert status == 200
    assert described == [["video", "big.bin", size, "xxxxxxxx"], ["title", 5]]
    assert peak < HEAP_LIMIT, f"peak heap {peak / MIB:.1f} MiB"


async def test_64_mib_field_is_413_and_stops_early() -> None:
    body = OnePart(part_head("notes"), 64 * MIB, 64 * 1024, b"\r\n--B0und--\r\n")

    async def run() -> tuple[int, str]:
        async with AsyncTestClient(app) as client:
            response = await client.post(
                "/upload", content=body, headers={"content-type": CONTENT_TYPE}
            )
        return response.status_code, response.text

    (status, text), peak = await peak_heap(run)
    assert (status, text) == (
        413,
        "Part exceeded maximum size of 1024KB.",
    )
    assert body.sent < 2 * MIB  # refused on the chunk that crossed the limit, not after the body
    assert peak < HEAP_LIMIT


async def test_2_mib_part_header_is_400_and_stops_early() -> None:
    head = b'--B0und\r\nContent-Disposition: form-data; name="'
    body = OnePart(head, 2 * MIB, 64 * 1024, b'"\r\n\r\nv\r\n--B0und--\r\n')

    async def run() -> tuple[int, str]:
        async with AsyncTestClient(app) as client:
            response = await client.post(
                "/upload", content=body, headers={"content-type": CONTENT_TYPE}
            )
        return response.status_code, response.text

    (status, text), peak = await peak_heap(run)
    assert (status, text) == (
        400,
        "A part header line is longer than the limit of 8192 bytes (max_part_header_size).",
    )
    assert body.sent < 256 * 1024
    assert peak < HEAP_LIMIT


async def test_ten_thousand_tiny_fields_are_400_with_a_small_heap() -> None:
    field = b'--B0und\r\nContent-Disposition: form-data; name="f"\r\n\r\n1\r\n'

    async def run() -> tuple[int, str]:
        async with AsyncTestClient(app) as client:
            response = await client.post(
                "/upload",
                content=field * 10_000 + b"--B0und--\r\n",
                headers={"content-type": CONTENT_TYPE},
            )
        return response.status_code, response.text

    (status, text), peak = await peak_heap(run)
    assert (status, text) == (400, "Too many fields. Maximum number of fields is 1000.")
    assert peak < HEAP_LIMIT
