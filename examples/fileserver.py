"""A file server: a directory as a static site, plus downloads with ``Range``.

``uvicorn examples.fileserver:app`` serves ``$MICROASGI_FILES_DIR`` (default: ``examples/public``):

- ``/...``: ``StaticFiles`` in HTML mode: ``index.html`` for directories (after a redirect that
  adds the slash), ``404.html`` for missing files, ETag/Last-Modified and 304s, ``Range``.
- ``/download/{path}``: the same files with ``Content-Disposition: attachment``, so the browser
  saves them; ``Range`` lets it resume an interrupted download.

Both refuse paths that would leave the directory (``..``, absolute paths, symlinks out of it) and
hidden files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import anyio.to_thread

from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import FileResponse, JSONResponse, Response
from microasgi.routing import Mount, Route
from microasgi.staticfiles import StaticFiles

__all__ = ["PUBLIC", "app", "create_app"]

PUBLIC = Path(__file__).resolve().parent / "public"


def create_app(directory: str | os.PathLike[str] | None = None) -> MicroASGI:
    """Build the file server over ``directory`` (default ``$MICROASGI_FILES_DIR``, else ``PUBLIC``)."""
    root = directory if directory is not None else os.environ.get("MICROASGI_FILES_DIR", PUBLIC)
    static = StaticFiles(directory=root, html=True)

    async def download(request: Request) -> Response:
        """``GET /download/{path}``: the file as an attachment (``Range`` supported)."""
        path: str = request.path_params["path"]
        # SECURITY: no hidden files, no NUL or backslash tricks; lookup_path then refuses
        # anything whose real location (symlinks resolved) lies outside the directory.
        segments = path.split("/")
        if "\x00" in path or "\\" in path or any(s.startswith(".") or not s for s in segments):
            raise HTTPException(404)
        full, found = await anyio.to_thread.run_sync(static.lookup_path, path)
        if found is None or not stat.S_ISREG(found.st_mode):
            raise HTTPException(404)
        return FileResponse(full, filename=segments[-1], stat_result=found)

    async def not_found(request: Request, exc: HTTPException) -> Response:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    return MicroASGI(
        routes=[
            Route("/download/{path:path}", download),
            Mount("/", app=static, name="static"),
        ],
        exception_handlers={HTTPException: not_found},
    )


app = create_app()
