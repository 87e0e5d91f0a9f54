"""The endpoints written once against the Starlette API, built with microasgi or Starlette.

microasgi keeps Starlette's public names module by module, so the very same endpoint code runs
on both; only the package the names come from differs. That makes the comparison exact.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from benchmarks.cases import FILE_PATH, READ_HEADERS, SET_HEADERS, STATE_GREETING, TEXT

_TEXT = TEXT.decode()
_SET = dict(SET_HEADERS)

Endpoint = Callable[[Any], Any]


def _simple(responses: ModuleType) -> dict[str, Endpoint]:
    """Endpoints that read only the scope."""
    PlainTextResponse = responses.PlainTextResponse

    async def plaintext(request: Any) -> Any:
        return PlainTextResponse(_TEXT)

    async def json_(request: Any) -> Any:
        return responses.JSONResponse({"message": "Hello, world!"})

    async def path(request: Any) -> Any:
        return PlainTextResponse(request.path_params["item_id"])

    async def query(request: Any) -> Any:
        params = request.query_params
        return PlainTextResponse(f"{params['a']} {params['e']} {params['sort']}")

    async def headers(request: Any) -> Any:
        request_headers = request.headers
        found = sum(1 for name in READ_HEADERS if request_headers.get(name))
        return PlainTextResponse(str(found), headers=_SET)

    async def state(request: Any) -> Any:
        return PlainTextResponse(request.state.greeting)

    return {
        "/plaintext": plaintext,
        "/json": json_,
        "/items/{item_id}": path,
        "/query": query,
        "/headers": headers,
        "/state": state,
    }


def _bodies(responses: ModuleType) -> dict[str, Endpoint]:
    """Endpoints that read a request body or send a file."""
    PlainTextResponse = responses.PlainTextResponse

    async def form(request: Any) -> Any:
        fields = await request.form()
        return PlainTextResponse(f"{len(fields)} {fields['field19']}")

    async def upload(request: Any) -> Any:
        async with request.form() as fields:
            data = await fields["file"].read()
            return PlainTextResponse(f"{fields['title']} {len(data)}")

    async def file(request: Any) -> Any:
        return responses.FileResponse(FILE_PATH)

    return {"/form": form, "/upload": upload, "/file": file}


async def _echo(websocket: Any) -> None:
    await websocket.accept()
    async for message in websocket.iter_text():
        await websocket.send_text(message)


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
    yield {"greeting": STATE_GREETING}


def build(package: str) -> Any:
    """The benchmark app built from ``package`` ("microasgi" or "starlette")."""
    responses = importlib.import_module(f"{package}.responses")
    routing = importlib.import_module(f"{package}.routing")
    applications = importlib.import_module(f"{package}.applications")
    routes: list[Any] = [routing.Route(p, fn) for p, fn in _simple(responses).items()]
    posts = _bodies(responses)
    routes.append(routing.Route("/file", posts.pop("/file")))
    routes += [routing.Route(p, fn, methods=["POST"]) for p, fn in posts.items()]
    routes.append(routing.WebSocketRoute("/ws", _echo))
    app_class = applications.MicroASGI if package == "microasgi" else applications.Starlette
    return app_class(routes=routes, lifespan=_lifespan)
