"""A raw ASGI app reading a multipart form: text fields and uploaded files."""

from __future__ import annotations

from microasgi.datastructures import UploadFile
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    response: Response
    try:
        # As a context manager, the form is closed on exit: its temporary files are deleted.
        async with request.form() as form:
            fields = {}
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    content = await value.read()
                    fields[name] = f"{value.filename} ({value.content_type}, {value.size} bytes)"
                    assert len(content) == value.size
                else:
                    fields[name] = value
            response = JSONResponse(fields)
    except HTTPException as exc:
        response = PlainTextResponse(str(exc.detail), exc.status_code)
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_fields_and_files() -> None:
    client = AsyncTestClient(app)
    response = await client.post(
        "/",
        data={"title": "Quarterly report"},
        files={"report": ("q3.csv", b"month,total\njuly,12\n", "text/csv")},
    )
    assert response.json() == {
        "title": "Quarterly report",
        "report": "q3.csv (text/csv, 20 bytes)",
    }


async def test_malformed_bodies_are_400() -> None:
    multipart = {"content-type": "multipart/form-data; boundary=xyz"}
    truncated = b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nhal'
    nameless = b"--xyz\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--xyz--"
    client = AsyncTestClient(app)
    cut = await client.post("/", content=truncated, headers=multipart)
    no_name = await client.post("/", content=nameless, headers=multipart)
    no_boundary = await client.post(
        "/", content=b"", headers={"content-type": "multipart/form-data"}
    )
    assert (cut.status_code, cut.text) == (
        400,
        "The multipart body ended before its closing boundary: it is truncated.",
    )
    assert no_name.status_code == 400
    assert no_name.text.startswith('The Content-Disposition header field "name" must be provided.')
    assert no_boundary.status_code == 400
