"""Sub-apps mounted under prefixes, with ``url_for`` across all of them.

``uvicorn examples.mounting:app`` serves:

- ``/``: links to a page of each sub-app, built with ``url_for`` (names joined by ``:``);
- ``/api/...``: a ``Router`` (routes without an application around them);
- ``/admin/...``: another ``MicroASGI`` app, with its own middleware-free stack and lifespan (the
  parent router drives it: a mounted app's lifespan runs, see docs/lifespan.md);
- ``/raw/...``: a plain ASGI callable;
- ``/legacy/...``: an ASGI 2 app (a class called with the scope, then awaited).

A mounted app sees the full ``path`` and a ``root_path`` grown by its prefix, so it builds its
own URLs right; ``url_for`` in any of them resolves names from the top application, since the
outermost router is the one in ``scope["router"]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Mount, Route, Router
from microasgi.types import Receive, Scope, Send

__all__ = ["LegacyApp", "admin", "api", "app", "raw"]


# --- a Router -----------------------------------------------------------------------------------


async def item(request: Request) -> Response:
    """``/api/items/{item_id}``: an item, with the URL of its owner's admin page."""
    item_id = request.path_params["item_id"]
    owner = request.url_for("admin:user", name=f"owner{item_id}")
    return JSONResponse({"item": item_id, "owner": str(owner)})


api = Router([Route("/items/{item_id:int}", item, name="item")])


# --- another MicroASGI app, with a lifespan -----------------------------------------------------


@asynccontextmanager
async def admin_lifespan(app: MicroASGI) -> AsyncIterator[dict[str, Any]]:
    yield {"admins": ["ada"]}  # reaches every request, the parent's too (one shared state)


async def dashboard(request: Request) -> Response:
    """``/admin/``: who the admins are, and a link back home."""
    admins = getattr(request.state, "admins", [])
    return JSONResponse({"admins": admins, "home": str(request.url_for("home"))})


async def user(request: Request) -> Response:
    """``/admin/users/{name}``."""
    return PlainTextResponse(f"User {request.path_params['name']}")


admin = MicroASGI(
    routes=[Route("/", dashboard, name="dashboard"), Route("/users/{name}", user, name="user")],
    lifespan=admin_lifespan,
)


# --- a raw ASGI app and a legacy ASGI 2 app -----------------------------------------------------


async def raw(scope: Scope, receive: Receive, send: Send) -> None:
    """A plain ASGI callable: tells where it is mounted."""
    if scope["type"] != "http":
        return  # lifespan: nothing to start (the parent skips an app that does not answer)
    body = f"raw: path={scope['path']} root_path={scope['root_path']}"
    await PlainTextResponse(body)(scope, receive, send)


class LegacyApp:
    """An ASGI 2 app: instantiated with the scope, then awaited with receive and send."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        if self.scope["type"] != "http":
            return
        await PlainTextResponse("legacy ASGI 2")(self.scope, receive, send)


# --- the application that holds them ------------------------------------------------------------


async def home(request: Request) -> Response:
    """``/``: one URL into each sub-app, all built by name."""
    return JSONResponse(
        {
            "api": str(request.url_for("api:item", item_id=1)),
            "admin": str(request.url_for("admin:dashboard")),
            "user": str(request.url_for("admin:user", name="grace")),
            "raw": str(request.url_for("raw", path="/anything")),
            "legacy": str(request.url_for("legacy", path="/")),
        }
    )


app = MicroASGI(
    routes=[
        Route("/", home, name="home"),
        Mount("/api", app=api, name="api"),
        Mount("/admin", app=admin, name="admin"),
        Mount("/raw", app=raw, name="raw"),
        Mount("/legacy", app=LegacyApp, name="legacy"),
    ]
)
