"""Early hints from an endpoint: sent before the response, so the browser fetches ahead."""

from __future__ import annotations

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import HTMLResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient


async def home(request: Request) -> Response:
    await request.send_early_hints(
        "</static/app.css>; rel=preload; as=style", "</static/app.js>; rel=modulepreload"
    )
    html = await render_page()  # the slow part the browser no longer waits for
    return HTMLResponse(html)


async def render_page() -> str:
    return '<link rel="stylesheet" href="/static/app.css"><script src="/static/app.js"></script>'


app = MicroASGI(routes=[Route("/", home)])


async def test_hints_are_sent_when_the_server_offers_them() -> None:
    client = AsyncTestClient(app, extensions={"http.response.early_hint": {}})
    response = await client.get("/")
    assert response.early_hints == [
        ["</static/app.css>; rel=preload; as=style", "</static/app.js>; rel=modulepreload"]
    ]


async def test_no_hints_without_the_extension() -> None:
    response = await AsyncTestClient(app).get("/")  # offers only http.response.debug
    assert response.status_code == 200
    assert response.early_hints == []
