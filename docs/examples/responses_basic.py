from microasgi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    path = scope["path"]
    response: Response
    if path == "/bytes":
        response = Response(
            b"\x89PNG...", media_type="image/png", headers={"Cache-Control": "no-store"}
        )
    elif path == "/text":
        response = PlainTextResponse("caf\u00e9")  # text/plain; charset=utf-8
    elif path == "/html":
        response = HTMLResponse("<h1>Hello</h1>")
    elif path == "/json":
        response = JSONResponse({"name": "caf\u00e9", "tags": ["a", "b"]}, status_code=201)
    else:
        response = PlainTextResponse("Not Found", status_code=404)
    response.headers["X-Frame-Options"] = "DENY"  # MutableHeaders over response.raw_headers
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_each_kind_of_response() -> None:
    client = AsyncTestClient(app)
    image = await client.get("/bytes")
    text = await client.get("/text")
    html = await client.get("/html")
    data = await client.post("/json")
    head = await client.head("/text")
    assert image.headers["content-type"] == "image/png"
    assert image.headers["cache-control"] == "no-store"
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.headers["content-length"] == "5"  # bytes, not characters
    assert html.text == "<h1>Hello</h1>"
    assert data.status_code == 201
    assert data.content == '{"name":"caf\u00e9","tags":["a","b"]}'.encode()
    assert head.content == b""
    assert head.headers["content-length"] == "5"
    assert text.headers["x-frame-options"] == "DENY"


def test_unsafe_headers_are_refused_when_built() -> None:
    import pytest

    with pytest.raises(ValueError, match="control character"):
        PlainTextResponse("x", headers={"X-Note": "a\r\nSet-Cookie: admin=1"})
    with pytest.raises(ValueError, match="JSON has no NaN"):
        JSONResponse({"ratio": float("nan")})
    with pytest.raises(TypeError, match="Use JSONResponse"):
        Response({"not": "bytes"})
