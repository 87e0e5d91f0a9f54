"""Mounted in an application: 404 and 405 answers, url_for, and traversal refused."""

from __future__ import annotations

from pathlib import Path

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import HTMLResponse
from microasgi.routing import Mount, Route
from microasgi.staticfiles import StaticFiles
from microasgi.testclient import AsyncTestClient

STATIC = Path(__file__).parent / "static"


async def home(request: Request) -> HTMLResponse:
    css = request.url_for("static", path="/css/app.css")
    return HTMLResponse(f'<link rel="stylesheet" href="{css}">')


app = MicroASGI(
    routes=[
        Route("/", home),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
)


async def test_url_for() -> None:
    client = AsyncTestClient(app)
    page = await client.get("/")
    assert 'href="http://testserver/static/css/app.css"' in page.text
    assert (await client.get("/static/css/app.css")).status_code == 200


async def test_errors() -> None:
    client = AsyncTestClient(app)
    assert (await client.get("/static/missing.css")).status_code == 404
    refused = await client.post("/static/hello.txt")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD"


async def test_traversal_is_refused() -> None:
    client = AsyncTestClient(app)
    for url in [
        "/static/../files_app.py",
        "/static/%2e%2e/files_app.py",
        "/static/..%2ffiles_app.py",
    ]:
        assert (await client.get(url)).status_code == 404
