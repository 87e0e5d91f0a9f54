"""A microasgi app mounted inside a Starlette app and inside a FastAPI app.

The outer frameworks are driven with microasgi's own ``AsyncTestClient`` (plain ASGI, no httpx), so
every test runs on asyncio and trio. What must hold: the mounted app routes on the path below the
mount with its own converters, sees ``root_path`` grown by the mount prefix (and by a proxy's
``root_path`` above it), builds full URLs with ``request.url_for``, and answers 404/405 itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.routing import Mount as StarletteMount
from starlette.routing import NoMatchFound as StarletteNoMatchFound
from starlette.routing import Route as StarletteRoute

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Mount, NoMatchFound, Route
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp


async def item(request: Request) -> Response:
    return JSONResponse(
        {
            "id": request.path_params["id"],
            "path": request.scope["path"],
            "root_path": request.scope["root_path"],
            "url": str(request.url),
            "base_url": str(request.base_url),
            # Inside a mounted app, names resolve from the outermost router (as in Starlette).
            "url_for": str(request.url_for("micro:item", id=request.path_params["id"] + 1)),
        }
    )


async def create(request: Request) -> Response:
    return JSONResponse({"created": await request.json()}, status_code=201)


async def links(request: Request) -> Response:
    # Every route of the mounted app, reversed from inside it (through the outermost router).
    return JSONResponse(
        {
            "item": str(request.url_for("micro:item", id=1)),
            "create": str(request.url_for("micro:create")),
            "links": str(request.url_for("micro:links")),
            "file": str(request.url_for("micro:files:file", name="a.txt")),
        }
    )


async def file(request: Request) -> Response:
    return JSONResponse(request.path_params)


def make_micro() -> MicroASGI:
    return MicroASGI(
        routes=[
            Route("/items/{id:int}", item, name="item"),
            Route("/items", create, methods=["POST"], name="create"),
            Route("/links", links, name="links"),
            Mount("/files", routes=[Route("/{name}", file, name="file")], name="files"),
        ]
    )


async def starlette_home(request: StarletteRequest) -> StarletteJSONResponse:
    # The outer app reverses a route of the mounted microasgi app.
    return StarletteJSONResponse({"item": str(request.url_for("micro:item", id=7))})


def make_starlette() -> Starlette:
    return Starlette(
        routes=[
            StarletteRoute("/", starlette_home),
            StarletteMount("/micro", app=make_micro(), name="micro"),
        ]
    )


def make_fastapi() -> FastAPI:
    api = FastAPI()

    @api.get("/")
    async def fastapi_home(request: StarletteRequest) -> dict[str, str]:
        return {"item": str(request.url_for("micro:item", id=7))}

    @api.get("/hello/{name}")
    async def hello(name: str) -> dict[str, str]:
        return {"hello": name}

    api.mount("/micro", make_micro(), name="micro")
    return api


OUTER = [pytest.param(make_starlette, id="starlette"), pytest.param(make_fastapi, id="fastapi")]


@pytest.fixture(params=OUTER)
def outer(request: pytest.FixtureRequest) -> ASGIApp:
    factory: Any = request.param
    app: ASGIApp = factory()
    return app


@pytest.mark.parametrize(
    ("root_path", "prefix"),
    [("", ""), ("/proxy", "/proxy")],
    ids=["no-root-path", "behind-proxy"],
)
async def test_params_root_path_and_url_for(outer: ASGIApp, root_path: str, prefix: str) -> None:
    client = AsyncTestClient(outer, root_path=root_path)
    response = await client.get(f"{prefix}/micro/items/3")
    assert response.status_code == 200
    assert response.json() == {
        "id": 3,  # converted by microasgi's int convertor
        "path": f"{prefix}/micro/items/3",  # SPEC: path stays the full path
        "root_path": f"{prefix}/micro",  # grown by the mount prefix
        "url": f"http://testserver{prefix}/micro/items/3",
        "base_url": f"http://testserver{prefix}/",  # the outermost application's root
        "url_for": f"http://testserver{prefix}/micro/items/4",
    }


async def test_outer_app_reverses_a_mounted_route(outer: ASGIApp) -> None:
    response = await AsyncTestClient(outer).get("/")
    assert response.json() == {"item": "http://testserver/micro/items/7"}


async def test_body_reaches_the_mounted_app(outer: ASGIApp) -> None:
    response = await AsyncTestClient(outer).post("/micro/items", json={"name": "pen"})
    assert response.status_code == 201
    assert response.json() == {"created": {"name": "pen"}}


async def test_mounted_app_answers_404_and_405(outer: ASGIApp) -> None:
    client = AsyncTestClient(outer)
    missing = await client.get("/micro/nothing")
    assert missing.status_code == 404
    wrong_method = await client.delete("/micro/items")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    invalid = await client.get("/micro/items/abc")  # the int convertor refuses it
    assert invalid.status_code == 404


async def test_fastapi_routes_still_work_beside_the_mount() -> None:
    response = await AsyncTestClient(make_fastapi()).get("/hello/ada")
    assert response.json() == {"hello": "ada"}


@pytest.mark.parametrize(
    ("root_path", "prefix"),
    [("", ""), ("/proxy", "/proxy")],
    ids=["no-root-path", "behind-proxy"],
)
async def test_every_mounted_route_reverses_from_inside(
    outer: ASGIApp, root_path: str, prefix: str
) -> None:
    """Regression: Starlette's Mount catches only Starlette's NoMatchFound while it tries the
    mounted app's routes, so every route but the first raised NoMatchFound."""
    client = AsyncTestClient(outer, root_path=root_path)
    response = await client.get(f"{prefix}/micro/links")
    base = f"http://testserver{prefix}/micro"
    assert response.json() == {
        "item": f"{base}/items/1",
        "create": f"{base}/items",
        "links": f"{base}/links",
        "file": f"{base}/files/a.txt",
    }


def test_the_outer_app_reverses_every_mounted_route(outer: Any) -> None:
    assert outer.url_path_for("micro:create") == "/micro/items"
    assert outer.url_path_for("micro:files:file", name="b") == "/micro/files/b"
    with pytest.raises(StarletteNoMatchFound):
        outer.url_path_for("micro:nothing")
    # What a microasgi app raises is ours, and Starlette's too, for Starlette's Mount to catch.
    with pytest.raises(NoMatchFound) as raised:
        make_micro().url_path_for("nothing")
    assert isinstance(raised.value, StarletteNoMatchFound)
    assert type(raised.value).__name__ == "NoMatchFound"


def test_no_match_found_is_plain_without_starlette() -> None:
    # In a process that never imported Starlette the exception is microasgi's alone.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from microasgi.routing import NoMatchFound, Router\n"
        "try:\n"
        "    Router([]).url_path_for('x')\n"
        "except NoMatchFound as exc:\n"
        "    assert type(exc) is NoMatchFound, type(exc).__mro__\n"
        "assert 'starlette' not in sys.modules\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr


async def test_a_bare_router_mounted_in_starlette_answers_its_own_errors() -> None:
    """Regression: a microasgi ``Router`` (no ``MicroASGI`` around it) under Starlette raised
    microasgi's ``HTTPException`` for a 404 or a 413, which Starlette does not know: a 500."""
    from microasgi.routing import Router

    async def read(request: Request) -> Response:
        return JSONResponse({"size": len(await request.body())})

    router = Router([Route("/read", read, methods=["POST"])], max_body_size=10)
    app = Starlette(routes=[StarletteMount("/r", app=router)])
    client = AsyncTestClient(app)
    assert (await client.get("/r/nothing")).status_code == 404
    assert (await client.get("/r/read")).status_code == 405
    assert (await client.post("/r/read", content=b"x" * 100)).status_code == 413
    assert (await client.post("/r/read", content=b"x" * 5)).json() == {"size": 5}
