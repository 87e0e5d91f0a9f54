"""HTTP/2 server push from a streaming body: after the response starts, as the spec asks."""

from __future__ import annotations

from collections.abc import AsyncIterator

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient


async def home(request: Request) -> Response:
    async def body() -> AsyncIterator[str]:
        await request.send_push_promise("/style.css")  # a no-op without the extension
        yield '<link rel="stylesheet" href="/style.css">'
        yield "<p>hello</p>"

    return StreamingResponse(body(), media_type="text/html")


async def style(request: Request) -> Response:
    return PlainTextResponse("p { color: teal }", media_type="text/css")


app = MicroASGI(routes=[Route("/", home), Route("/style.css", style)])


async def test_push_copies_the_cache_headers() -> None:
    client = AsyncTestClient(app, extensions={"http.response.push": {}})
    response = await client.get("/", headers={"Accept-Language": "fr", "Authorization": "x"})
    [(path, headers)] = response.push_promises
    assert path == "/style.css"
    assert headers["accept-language"] == "fr"
    assert "authorization" not in headers  # only headers that select a cached variant


async def test_no_push_without_the_extension() -> None:
    response = await AsyncTestClient(app).get("/")
    assert response.push_promises == []
    assert response.text.endswith("<p>hello</p>")
