"""Foreign apps mounted inside a microasgi app: Starlette, a legacy ASGI 2 app, Flask via a2wsgi.

Each child sees the spec's scope: ``path`` the full path, ``root_path`` grown by the mount prefix
(``SCRIPT_NAME``/``PATH_INFO`` for WSGI), bodies delivered whole, and the Starlette child's own
lifespan run by microasgi (Starlette would only run the top-level one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import flask
import pytest
from a2wsgi import WSGIMiddleware
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.routing import Route as StarletteRoute

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Mount, NoMatchFound, Route
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

# --- a Starlette child with its own lifespan ------------------------------------------------


def make_starlette(events: list[str]) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        events.append("starlette up")
        yield {"db": "open"}
        events.append("starlette down")

    async def user(request: StarletteRequest) -> StarletteJSONResponse:
        return StarletteJSONResponse(
            {
                "name": request.path_params["name"],
                "path": request.scope["path"],
                "root_path": request.scope["root_path"],
                "url": str(request.url),
                # scope["router"] is the outermost (microasgi) router: names carry the mount's.
                "url_for": str(request.url_for("s:user", name="bob")),
                "db": request.state.db,
            }
        )

    async def echo(request: StarletteRequest) -> StarletteJSONResponse:
        return StarletteJSONResponse({"body": (await request.body()).decode()})

    return Starlette(
        routes=[
            StarletteRoute("/users/{name}", user, name="user"),
            StarletteRoute("/echo", echo, methods=["POST"], name="echo"),
        ],
        lifespan=lifespan,
    )


# --- a legacy ASGI 2 app: called with the scope, then awaited with receive and send -----------


class Legacy:
    """An ASGI 2 'double-callable' app that echoes its scope's paths and the body."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        answer = JSONResponse(
            {
                "path": self.scope["path"],
                "root_path": self.scope["root_path"],
                "body": body.decode(),
            }
        )
        await answer(self.scope, receive, send)


# --- a Flask app through a2wsgi -------------------------------------------------------------


def make_flask() -> flask.Flask:
    wsgi = flask.Flask("interop")

    @wsgi.get("/hello/<name>")
    def hello(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "script_name": flask.request.environ["SCRIPT_NAME"],
            "path_info": flask.request.environ["PATH_INFO"],
            "query": flask.request.args.get("q"),
            "url_for": flask.url_for("hello", name="bob", _external=True),
        }

    @wsgi.post("/upload")
    def upload() -> flask.Response:
        response = flask.make_response(flask.request.get_data()[::-1], 201)
        response.set_cookie("seen", "yes")
        return response

    return wsgi


async def home(request: Request) -> Response:
    return PlainTextResponse(str(request.url_for("s:user", name="ada")))


@pytest.fixture
def events() -> list[str]:
    return []


@pytest.fixture
def app(events: list[str]) -> Iterator[MicroASGI]:
    wsgi = WSGIMiddleware(make_flask())  # type: ignore[arg-type]
    try:
        yield MicroASGI(
            routes=[
                Route("/", home),
                Mount("/s", app=make_starlette(events), name="s"),
                Mount("/legacy", app=Legacy),
                Mount("/flask", app=wsgi),
            ]
        )
    finally:
        wsgi.executor.shutdown(wait=True)


# --- Starlette ------------------------------------------------------------------------------


async def test_starlette_child_routes_and_its_lifespan_runs(
    app: MicroASGI, events: list[str]
) -> None:
    async with AsyncTestClient(app, root_path="/proxy") as client:
        assert events == ["starlette up"]
        response = await client.get("/proxy/s/users/ada")
        assert response.status_code == 200
        assert response.json() == {
            "name": "ada",
            "path": "/proxy/s/users/ada",
            "root_path": "/proxy/s",
            "url": "http://testserver/proxy/s/users/ada",
            "url_for": "http://testserver/proxy/s/users/bob",
            "db": "open",  # the state the child's lifespan yielded
        }
        echoed = await client.post("/proxy/s/echo", content=b"x" * 100_000)
        assert echoed.json() == {"body": "x" * 100_000}
    assert events == ["starlette up", "starlette down"]


async def test_microasgi_reverses_a_starlette_route(app: MicroASGI) -> None:
    response = await AsyncTestClient(app).get("/")
    assert response.text == "http://testserver/s/users/ada"
    assert str(app.url_path_for("s:user", name="x")) == "/s/users/x"


async def test_starlette_child_answers_its_own_404(app: MicroASGI) -> None:
    response = await AsyncTestClient(app).get("/s/nothing")
    assert response.status_code == 404
    assert response.text == "Not Found"


def test_microasgi_reverses_every_starlette_route(app: MicroASGI) -> None:
    # Starlette's routes raise starlette's NoMatchFound: our Mount recognises it and goes on.
    assert str(app.url_path_for("s:echo")) == "/s/echo"
    with pytest.raises(NoMatchFound):
        app.url_path_for("s:nothing")


# --- legacy ASGI 2 --------------------------------------------------------------------------


async def test_legacy_asgi2_app(app: MicroASGI) -> None:
    response = await AsyncTestClient(app).post("/legacy/deep/path", content=b"hello")
    assert response.json() == {
        "path": "/legacy/deep/path",
        "root_path": "/legacy",
        "body": "hello",
    }


# --- Flask through a2wsgi (a2wsgi runs on asyncio only) -------------------------------------

asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])


@asyncio_only
@pytest.mark.parametrize(("root_path", "prefix"), [("", ""), ("/proxy", "/proxy")])
async def test_flask_sees_script_name_and_path_info(
    app: MicroASGI, root_path: str, prefix: str
) -> None:
    client = AsyncTestClient(app, root_path=root_path)
    response = await client.get(f"{prefix}/flask/hello/ada", params={"q": "é x"})
    assert response.status_code == 200
    assert response.json() == {
        "name": "ada",
        "script_name": f"{prefix}/flask",
        "path_info": "/hello/ada",
        "query": "é x",
        "url_for": f"http://testserver{prefix}/flask/hello/bob",
    }


@asyncio_only
async def test_flask_body_status_and_cookie(app: MicroASGI) -> None:
    client = AsyncTestClient(app)
    response = await client.post("/flask/upload", content=b"abc" * 50_000)
    assert response.status_code == 201
    assert response.content == (b"abc" * 50_000)[::-1]
    assert client.cookies["seen"] == "yes"
    missing = await client.get("/flask/nothing")
    assert missing.status_code == 404  # Flask's own 404 page
    assert b"Not Found" in missing.content
