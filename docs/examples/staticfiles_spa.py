"""A single-page app (a React or Vue build) at "/", beside an API."""

from __future__ import annotations

from pathlib import Path

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse
from microasgi.routing import Mount, Route
from microasgi.staticfiles import StaticFiles
from microasgi.testclient import AsyncTestClient

BUILD = Path(__file__).parent / "spa"  # what `npm run build` wrote: index.html, assets/...


async def users(request: Request) -> JSONResponse:
    return JSONResponse([{"id": 42, "name": "Ada"}])


app = MicroASGI(
    routes=[
        Mount("/api", routes=[Route("/users", users)]),  # routes first: they win
        Mount("/", app=StaticFiles(directory=BUILD, html=True, fallback="index.html")),
    ]
)


async def test_client_routes_get_the_page() -> None:
    client = AsyncTestClient(app)
    page = await client.get("/users/42")  # a route of the client-side router
    assert page.status_code == 200
    assert '<div id="app">' in page.text
    assert (await client.get("/")).text == page.text
    assert (await client.get("/api/users")).json() == [{"id": 42, "name": "Ada"}]
    assert "client-side router" in (await client.get("/assets/app.js")).text


async def test_what_stays_a_miss() -> None:
    client = AsyncTestClient(app)
    assert (await client.get("/assets/missing.js")).status_code == 404  # a file name
    assert (await client.get("/api/nothing")).status_code == 404  # the API's own 404
    data = await client.get("/users/42", headers={"accept": "application/json"})
    assert data.status_code == 404  # a fetch() for data, not a page
    assert (await client.post("/users/42")).status_code == 405
