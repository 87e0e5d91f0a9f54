"""Large uploads: files stream to disk and are copied in chunks; the route raises the body cap."""

from __future__ import annotations

import hashlib

from microasgi.applications import MicroASGI
from microasgi.datastructures import UploadFile
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route


async def upload(request: Request) -> Response:
    try:
        async with request.form(max_file_size=1024**3) as form:
            video = form["video"]
            if not isinstance(video, UploadFile):
                return PlainTextResponse("'video' must be a file.", 400)
            digest = hashlib.sha256()
            # Read in chunks: the file may be far larger than memory should hold.
            while chunk := await video.read(1024 * 1024):
                digest.update(chunk)
            return JSONResponse({"size": video.size, "sha256": digest.hexdigest()[:12]})
    except HTTPException as exc:
        return PlainTextResponse(str(exc.detail), exc.status_code)


# The application keeps its 16 MiB body cap, which bounds a whole request body, files
# included; the upload route raises it for itself (files go to disk, not to memory).
app = MicroASGI(
    routes=[Route("/upload", upload, methods=["POST"], max_body_size=1024**3)],
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_a_file_larger_than_the_default_body_cap() -> None:
    video = b"\x00\x01" * (10 * 1024 * 1024)  # 20 MiB: more than the default 16 MiB cap
    async with AsyncTestClient(app) as client:
        response = await client.post("/upload", files={"video": ("clip.mp4", video, "video/mp4")})
    assert response.json() == {
        "size": 20 * 1024 * 1024,
        "sha256": hashlib.sha256(video).hexdigest()[:12],
    }


async def test_text_fields_stay_small() -> None:
    # The raised cap is for files: a text field is still held in memory, and bounded by
    # max_part_size (1 MiB).
    async with AsyncTestClient(app) as client:
        response = await client.post(
            "/upload", data={"video": "x" * (2 * 1024 * 1024)}, files={"f": ("f", b"")}
        )
    assert response.status_code == 413
