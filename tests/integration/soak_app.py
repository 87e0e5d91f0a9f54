"""The app the upload soak serves under uvicorn: ``integration.soak_app:app``.

``POST /raw`` hashes the raw body as it streams in; ``POST /form`` parses a multipart form whose
``file`` part goes to a temporary file past ``SPOOL`` bytes, and hashes the file. Both answer
``{"sha256": ..., "size": ...}``, so the client can check that what arrived is what it sent.
``GET /health`` answers ``ok``. A client that leaves mid-body ends its request quietly
(``ClientDisconnect``): nothing is logged, and the form's temporary file is deleted.
"""

from __future__ import annotations

import hashlib

from microasgi.applications import MicroASGI
from microasgi.datastructures import UploadFile
from microasgi.exceptions import HTTPException
from microasgi.formparsers import FormLimits
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route

SPOOL = 16 * 1024  # file data held in memory before the upload goes to a temporary file
MAX_BODY = 4 * 1024 * 1024


async def raw(request: Request) -> Response:
    digest, size = hashlib.sha256(), 0
    async for chunk in request.stream():
        digest.update(chunk)
        size += len(chunk)
    return JSONResponse({"sha256": digest.hexdigest(), "size": size})


async def form(request: Request) -> Response:
    async with request.form() as data:
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, detail="Send the multipart field 'file'.")
        digest, size = hashlib.sha256(), 0
        while chunk := await upload.read(64 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return JSONResponse({"sha256": digest.hexdigest(), "size": size})


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


app = MicroASGI(
    routes=[
        Route("/raw", raw, methods=["POST"]),
        Route("/form", form, methods=["POST"]),
        Route("/health", health),
    ],
    max_body_size=MAX_BODY,
    form_limits=FormLimits(spool_max_size=SPOOL),
)
