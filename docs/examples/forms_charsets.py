"""Charsets of text fields: the part's own charset, else ``_charset_``, else UTF-8."""

from __future__ import annotations

from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    response: Response
    try:
        async with request.form() as form:
            response = JSONResponse(form.multi_items())
    except HTTPException as exc:
        response = PlainTextResponse(str(exc.detail), exc.status_code)
    await response(scope, receive, send)


def part(name: bytes, value: bytes, content_type: bytes = b"") -> bytes:
    headers = b'Content-Disposition: form-data; name="' + name + b'"\r\n'
    if content_type:
        headers += b"Content-Type: " + content_type + b"\r\n"
    return b"--xyz\r\n" + headers + b"\r\n" + value + b"\r\n"


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)

MULTIPART = {"content-type": "multipart/form-data; boundary=xyz"}


async def test_charset_field_and_part_charset() -> None:
    body = (
        part(b"city", b"Z\xfcrich")  # in the form's charset, named by _charset_ below
        + part(b"_charset_", b"iso-8859-1")
        + part(b"motto", b"\xc3\xa0 bient\xc3\xb4t", b"text/plain; charset=utf-8")
        + b"--xyz--\r\n"
    )
    client = AsyncTestClient(app)
    response = await client.post("/", content=body, headers=MULTIPART)
    assert response.json() == [
        ["city", "Zürich"],
        ["_charset_", "iso-8859-1"],
        ["motto", "à bientôt"],
    ]


async def test_bad_charsets_fall_back_to_latin1() -> None:
    unknown = part(b"a", b"caf\xe9", b"text/plain; charset=klingon") + b"--xyz--\r\n"
    invalid = part(b"a", b"\xff") + b"--xyz--\r\n"  # not UTF-8
    client = AsyncTestClient(app)
    first = await client.post("/", content=unknown, headers=MULTIPART)
    second = await client.post("/", content=invalid, headers=MULTIPART)
    assert first.json() == [["a", "caf\xe9"]]  # latin-1: each byte is one character
    assert second.json() == [["a", "\xff"]]
