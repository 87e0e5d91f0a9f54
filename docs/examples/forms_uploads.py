"""Large uploads: files stream to disk, past the in-memory body cap, and are copied in chunks."""

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


# The application keeps its 16 MiB body cap: it bounds what a form holds in memory (its text
# fields), not its files, which go to disk.
app = MicroASGI(routes=[Route("/upload", upload, methods=["POST"])])


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_a_file_larger_than_the_body_cap() -> None:
    video = b"\x00\x01" * (10 * 1024 * 1024)  # 20 MiB: more than the 16 MiB body cap
    async with AsyncTestClient(app) as client:
        response = await client.post("/upload", files={"video": ("clip.mp4", video, "video/mp4")})
    assert response.json() == {
        "size": 20 * 1024 * 1024,
        "sha256": hashlib.sha256(video).hexdigest()[:12],
    }


async def test_text_fields_stay_under_the_body_cap() -> None:
    async with AsyncTestClient(app) as client:
        response = await client.post(
            "/upload", data={"video": "x" * (17 * 1024 * 1024)}, files={"f": ("f", b"")}
        )
    assert response.status_code == 413
