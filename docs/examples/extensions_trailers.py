"""Trailers computed after a streamed body: a checksum of what was actually sent."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import Response, StreamingResponse
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient


async def export(request: Request) -> Response:
    digest = hashlib.sha256()

    async def rows() -> AsyncIterator[bytes]:
        for n in range(3):
            line = f"row {n}\n".encode()
            digest.update(line)
            yield line

    return StreamingResponse(
        rows(),
        media_type="text/csv",
        # Called after the last chunk; the names are announced up front in the Trailer header.
        trailers=lambda: {"x-sha256": digest.hexdigest()},
        trailer_names=["x-sha256"],
    )


app = MicroASGI(routes=[Route("/export", export)])
EXTENSIONS: dict[str, dict[str, str]] = {"http.response.trailers": {}}


async def test_trailers_follow_the_body() -> None:
    client = AsyncTestClient(app, extensions=EXTENSIONS)
    response = await client.get("/export", headers={"TE": "trailers"})
    assert response.headers["trailer"] == "x-sha256"
    assert response.trailers is not None
    assert response.trailers["x-sha256"] == hashlib.sha256(response.content).hexdigest()


async def test_no_trailers_unless_the_client_asks() -> None:
    response = await AsyncTestClient(app, extensions=EXTENSIONS).get("/export")
    assert response.text == "row 0\nrow 1\nrow 2\n"
    assert response.trailers is None
    assert "trailer" not in response.headers
