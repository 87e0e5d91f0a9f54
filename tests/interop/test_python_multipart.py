"""microasgi with ``python-multipart`` installed too, as in every FastAPI install.

Both distributions provide ``import multipart``: defnull's ``multipart`` (microasgi's parser) as a
``multipart.py`` module, ``python-multipart`` as a ``multipart/`` package. Since 0.0.14 that package
is only a shim: it loads ``multipart.py`` when one is installed, and its own code lives under
``python_multipart`` (which Starlette and FastAPI import). What must hold, with both installed:
``import multipart`` is defnull's parser, the one microasgi uses; a multipart upload parses through
microasgi; and FastAPI's own form parsing (python-multipart's) still works beside it.
"""

from __future__ import annotations

import importlib.metadata
from typing import Annotated

import multipart
import python_multipart
from fastapi import FastAPI, Form, UploadFile

from microasgi._asgi import forms as form_reader
from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient

UPLOAD = {"report": ("report.csv", b"a,b\r\n1,2\r\n", "text/csv")}
FIELDS = {"title": "Q3", "tags": "x"}


def test_both_distributions_are_installed() -> None:
    # The precondition of this module: if either is missing, nothing here proves anything.
    assert importlib.metadata.version("multipart")
    assert importlib.metadata.version("python-multipart")


def test_import_multipart_is_defnulls_parser_the_one_microasgi_uses() -> None:
    assert hasattr(multipart, "PushMultipartParser"), (
        f"import multipart gave {multipart.__file__}, not defnull's multipart: microasgi's form "
        "parser needs it. Is python-multipart older than 0.0.14 (no shim)?"
    )
    assert multipart.__file__ is not None
    assert multipart.__file__.endswith("multipart.py")  # the module, not the shim package
    assert vars(form_reader)["multipart"] is multipart  # the module microasgi parses with
    # python-multipart is still there, under its own name, for Starlette and FastAPI.
    assert python_multipart.__file__ != multipart.__file__
    assert hasattr(python_multipart, "MultipartParser")


async def upload(request: Request) -> Response:
    form = await request.form()
    report = form["report"]
    assert not isinstance(report, str)
    return JSONResponse(
        {
            "title": form["title"],
            "tags": form.getlist("tags"),
            "file": report.filename,
            "type": report.content_type,
            "content": (await report.read()).decode(),
        }
    )


EXPECTED = {
    "title": "Q3",
    "tags": ["x"],
    "file": "report.csv",
    "type": "text/csv",
    "content": "a,b\r\n1,2\r\n",
}


async def test_a_multipart_upload_parses_through_microasgi() -> None:
    app = MicroASGI(routes=[Route("/upload", upload, methods=["POST"])])
    response = await AsyncTestClient(app).post("/upload", data=FIELDS, files=UPLOAD)
    assert response.status_code == 200
    assert response.json() == EXPECTED


def make_fastapi() -> FastAPI:
    api = FastAPI()

    @api.post("/upload")
    async def fastapi_upload(
        title: Annotated[str, Form()], report: UploadFile, tags: Annotated[list[str], Form()]
    ) -> dict[str, object]:
        return {
            "title": title,
            "tags": tags,
            "file": report.filename,
            "type": report.content_type,
            "content": (await report.read()).decode(),
        }

    # A microasgi app mounted in the FastAPI app: each parses its own forms with its own parser.
    api.mount("/micro", MicroASGI(routes=[Route("/upload", upload, methods=["POST"])]))
    return api


async def test_fastapi_form_parsing_works_alongside() -> None:
    client = AsyncTestClient(make_fastapi())
    by_fastapi = await client.post("/upload", data=FIELDS, files=UPLOAD)
    by_microasgi = await client.post("/micro/upload", data=FIELDS, files=UPLOAD)
    assert by_fastapi.status_code == 200, by_fastapi.text
    assert by_fastapi.json() == EXPECTED
    assert by_microasgi.json() == EXPECTED
