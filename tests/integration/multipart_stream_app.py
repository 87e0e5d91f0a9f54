"""The app the streamed-upload test serves under uvicorn: ``integration.multipart_stream_app:app``.

``POST /upload`` reads the body with ``request.multipart()``, hashing each part's bytes as they
arrive, under ``tracemalloc``, and answers each part's name, filename, size and SHA-256 with the
peak of the Python heap during the request and the number of temporary files created (every
``tempfile`` constructor is counted from import on). A client that leaves mid-body ends the
iteration with ``ClientDisconnect``: the app records what it had read, which ``GET /last``
answers.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
import tracemalloc
from collections.abc import Callable
from typing import Any

from microasgi._asgi import forms
from microasgi.applications import MicroASGI
from microasgi.requests import ClientDisconnect, Request
from microasgi.responses import JSONResponse
from microasgi.routing import Route

GIB = 1024**3
created = {"temporary_files": 0}
last: dict[str, Any] = {}


def _counted(make: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(make)
    def counting(*args: Any, **kwargs: Any) -> Any:
        created["temporary_files"] += 1
        return make(*args, **kwargs)

    return counting


for _name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
    setattr(tempfile, _name, _counted(getattr(tempfile, _name)))
forms.SpooledTemporaryFile = _counted(forms.SpooledTemporaryFile)  # type: ignore[attr-defined,assignment]


async def upload(request: Request) -> JSONResponse:
    parts: list[list[Any]] = []
    tracemalloc.start()
    try:
        async for part in request.multipart(max_file_size=2 * GIB):
            digest, size = hashlib.sha256(), 0
            parts.append([part.name, part.filename, size, ""])
            async for chunk in part:
                digest.update(chunk)
                size += len(chunk)
                parts[-1][2] = size
            parts[-1][3] = digest.hexdigest()
        _, peak = tracemalloc.get_traced_memory()
    except ClientDisconnect:
        last.update(outcome="ClientDisconnect", parts=parts)
        raise
    finally:
        tracemalloc.stop()
    last.update(outcome="complete", parts=parts)
    return JSONResponse({"parts": parts, "peak": peak, **created})


async def last_upload(request: Request) -> JSONResponse:
    return JSONResponse(last)


app = MicroASGI(
    routes=[
        Route("/upload", upload, methods=["POST"], max_body_size=2 * GIB),
        Route("/last", last_upload),
    ]
)
