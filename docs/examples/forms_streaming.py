"""Uploads forwarded part by part to object storage as they arrive: nothing in memory or on disk."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable

from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route


class ObjectStore:
    """A stand-in for object storage (S3, GCS ...): it takes an object as a stream of chunks."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[int, str]] = {}  # key: (size, sha256)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        digest, size = hashlib.sha256(), 0
        async for chunk in chunks:  # a real client would send each chunk on
            digest.update(chunk)
            size += len(chunk)
        self.objects[key] = (size, digest.hexdigest())
        return size


store = ObjectStore()


async def upload(request: Request) -> Response:
    album = "unsorted"
    saved: dict[str, int] = {}
    try:
        # Parts arrive in order; the form's limits apply as they do to form().
        async for part in request.multipart(max_files=20, max_file_size=4 * 1024**3):
            if part.filename is None:
                if part.name == "album":
                    album = await part.text()  # a text field, small: read whole
                continue  # any other field is skipped, unread
            # A file: its bytes go to the store as they arrive.
            key = f"{album}/{part.filename}"
            saved[key] = await store.put(key, part)
    except HTTPException as exc:
        return PlainTextResponse(str(exc.detail), exc.status_code)
    return JSONResponse(saved)


# The body cap bounds the whole upload: this route raises it (nothing is held or spooled).
app = MicroASGI(routes=[Route("/photos", upload, methods=["POST"], max_body_size=16 * 1024**3)])


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_files_are_forwarded_as_they_arrive() -> None:
    photo = bytes(range(256)) * 40_000  # about 10 MiB
    async with AsyncTestClient(app) as client:
        response = await client.post(
            "/photos",
            data={"album": "holiday", "note": "skipped"},
            files=[("photo", ("beach.jpg", photo, "image/jpeg")), ("photo", ("sea.jpg", b"x"))],
        )
    assert response.json() == {"holiday/beach.jpg": len(photo), "holiday/sea.jpg": 1}
    assert store.objects["holiday/beach.jpg"] == (len(photo), hashlib.sha256(photo).hexdigest())


async def test_the_form_limits_answer_as_form_does() -> None:
    async with AsyncTestClient(app) as client:
        too_many = await client.post(
            "/photos", files=[("photo", (f"{i}.jpg", b"x")) for i in range(21)]
        )
        not_multipart = await client.post("/photos", json={"album": "holiday"})
    assert (too_many.status_code, too_many.text) == (
        400,
        "Too many files. Maximum number of files is 20.",
    )
    assert not_multipart.status_code == 415
