"""Uploads: `files=` encodes multipart/form-data, with the filename and content type."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer with the names and filenames of the parts of a multipart body."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    content_type = dict(scope["headers"])[b"content-type"]
    parsed = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type + b"\r\n\r\n" + body
    )
    names = [
        f"{part.get_param('name', header='content-disposition')}={part.get_filename()}"
        for part in parsed.iter_parts()
    ]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": ", ".join(names).encode()})


async def test_upload() -> None:
    client = AsyncTestClient(app)
    response = await client.post(
        "/upload",
        data={"title": "report"},
        files={"file": ("report.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert response.text == "title=None, file=report.csv"
