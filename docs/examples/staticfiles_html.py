"""HTML mode: index.html for directories (after a slash redirect) and 404.html for misses."""

from __future__ import annotations

from pathlib import Path

from microasgi.applications import MicroASGI
from microasgi.routing import Mount
from microasgi.staticfiles import StaticFiles
from microasgi.testclient import AsyncTestClient

STATIC = Path(__file__).parent / "static"

app = MicroASGI(routes=[Mount("/site", app=StaticFiles(directory=STATIC, html=True))])


async def test_index_pages() -> None:
    client = AsyncTestClient(app)
    assert "<h1>Home</h1>" in (await client.get("/site/")).text
    redirect = await client.get("/site/guide", follow_redirects=False)
    assert redirect.status_code == 307
    assert redirect.headers["location"] == "/site/guide/"  # relative: no Host header reflected
    assert "<h1>Guide</h1>" in (await client.get("/site/guide")).text  # redirect followed


async def test_not_found_page() -> None:
    response = await AsyncTestClient(app).get("/site/nowhere")
    assert response.status_code == 404
    assert "<h1>Nothing here</h1>" in response.text
