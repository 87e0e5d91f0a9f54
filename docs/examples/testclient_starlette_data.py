"""Request and response data as Starlette's (HTTPX-based) client sends and reads them."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator

import pytest

from microasgi.responses import Response
from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Set two cookies, answer gzipped JSON telling how the request body arrived."""
    messages = [await receive()]
    while messages[-1].get("more_body"):
        messages.append(await receive())
    headers = dict(scope["headers"])
    answer = {
        "chunks": [m["body"].decode() for m in messages],
        "framing": "chunked" if b"transfer-encoding" in headers else "length",
    }
    response = Response(
        gzip.compress(json.dumps(answer).encode()),
        media_type="application/json",
        headers={"content-encoding": "gzip"},
    )
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    await response(scope, receive, send)


def test_headers_and_decoding() -> None:
    response = TestClient(app).get("/")
    # Repeated headers read joined, as HTTPX gives them; get_list() keeps them apart.
    assert response.headers["set-cookie"] == "a=1; Path=/; SameSite=lax, b=2; Path=/; SameSite=lax"
    assert response.headers.get_list("set-cookie")[1].startswith("b=2")
    # The gzip content-encoding is undone for content, text and json() ...
    assert response.json() == {"chunks": [""], "framing": "length"}
    # ... and iter_raw() gives the bytes as the app sent them.
    assert gzip.decompress(b"".join(response.iter_raw())) == response.content


async def test_streamed_request_body() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"first "
        yield b"second"

    response = await AsyncTestClient(app).post("/", content=body())
    assert response.json() == {"chunks": ["first ", "second"], "framing": "chunked"}


def test_raw_data_still_works() -> None:
    with pytest.warns(DeprecationWarning, match="Use 'content=<...>'"):
        response = TestClient(app).post("/", data=b"raw")  # type: ignore[arg-type]
    assert response.json()["chunks"] == ["raw"]


async def whoami(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer with the request's ``authorization`` header."""
    value = dict(scope["headers"]).get(b"authorization", b"")
    await Response(value, media_type="text/plain")(scope, receive, send)


def test_basic_credentials_as_httpx_sends_them() -> None:
    client = TestClient(whoami)
    # auth=(user, password), as with Starlette's client: HTTP Basic, UTF-8 then base64.
    assert (
        client.get("/", auth=("tomchristie", "example")).text
        == "Basic dG9tY2hyaXN0aWU6ZXhhbXBsZQ=="
    )
    client.auth = ("admin", "secret")  # the default for every request (auth=None: none)
    assert client.get("/").text == "Basic YWRtaW46c2VjcmV0"
    assert client.get("/", auth=None).text == ""
    with pytest.raises(TypeError, match="set the header"):
        client.get("/", auth=lambda request: request)  # type: ignore[arg-type]
