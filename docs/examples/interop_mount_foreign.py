"""Starlette, a legacy ASGI 2 app and Flask (through a2wsgi) mounted inside a microasgi app."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import flask
from a2wsgi import WSGIMiddleware
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse as StarlettePlainText
from starlette.routing import Route as StarletteRoute

from microasgi.applications import MicroASGI
from microasgi.responses import PlainTextResponse
from microasgi.routing import Mount
from microasgi.testclient import TestClient
from microasgi.types import Receive, Scope, Send

events: list[str] = []


@asynccontextmanager
async def admin_lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
    events.append("admin up")  # run by microasgi: it drives its mounted apps' lifespans
    yield {"audit": "on"}
    events.append("admin down")


async def dashboard(request: StarletteRequest) -> StarlettePlainText:
    return StarlettePlainText(f"{request.scope['root_path']} audit={request.state.audit}")


admin = Starlette(routes=[StarletteRoute("/", dashboard)], lifespan=admin_lifespan)


class Legacy:
    """An ASGI 2 'double callable': called with the scope, then awaited with receive and send."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        await PlainTextResponse(f"legacy at {self.scope['root_path']}")(self.scope, receive, send)


wiki = flask.Flask("wiki")


@wiki.get("/pages/<name>")
def page(name: str) -> str:
    # SCRIPT_NAME is the mount prefix and PATH_INFO the rest, so Flask's url_for is right.
    return f"{flask.request.script_root}|{flask.request.path}|{flask.url_for('page', name='home')}"


app = MicroASGI(
    routes=[
        Mount("/admin", app=admin),
        Mount("/old", app=Legacy),
        Mount("/wiki", app=WSGIMiddleware(wiki)),  # type: ignore[arg-type]
    ]
)


def test_foreign_apps() -> None:
    events.clear()
    with TestClient(app) as client:  # a2wsgi runs on asyncio, the client's default backend
        assert events == ["admin up"]
        assert client.get("/admin/").text == "/admin audit=on"
        assert client.get("/old/anything").text == "legacy at /old"
        assert client.get("/wiki/pages/intro").text == "/wiki|/pages/intro|/wiki/pages/home"
    assert events == ["admin up", "admin down"]
