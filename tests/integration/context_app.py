"""The app ``test_server_context`` runs under real servers: ``current_request()`` over a connection
that pipelines two requests, the first still running (its background task) when the server starts
the second from inside the first's ``send()``."""

from __future__ import annotations

import contextvars
from typing import Any

import anyio

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.concurrency import run_in_threadpool
from microasgi.requests import Request, current_connection, current_request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.types import ASGIApp, Receive, Scope, Send

# A context variable the app's wrapper sets, and never resets before the server's send(): what
# any context variable set while a request runs looks like to the server.
_probe: contextvars.ContextVar[str] = contextvars.ContextVar("probe")

observed: dict[str, Any] = {}
_events: dict[str, anyio.Event] = {}


def _event(name: str) -> anyio.Event:
    # Created on first use, inside the server's event loop.
    return _events.setdefault(name, anyio.Event())


def path_now() -> str:
    return current_request().url.path


async def first_later() -> None:
    with anyio.fail_after(10):
        await _event("second done").wait()
    observed["first, background task"] = path_now()
    _event("first done").set()


async def first(request: Request) -> Response:
    return PlainTextResponse("first", background=BackgroundTask(first_later))


async def second(request: Request) -> Response:
    observed["second"] = path_now()
    observed["second, worker thread"] = await run_in_threadpool(path_now)
    _event("second done").set()
    return PlainTextResponse("second")


async def report(request: Request) -> Response:
    with anyio.fail_after(10):
        await _event("first done").wait()
    return JSONResponse(observed)


def outside(app: ASGIApp) -> ASGIApp:
    """What the context holds when a request reaches the app, before the app sets anything."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ("/first", "/second"):
            name = scope["path"].strip("/")
            observed[f"{name}, inherited probe"] = _probe.get(None)
            try:
                observed[f"{name}, outside the app"] = current_connection().url.path
            except RuntimeError:
                observed[f"{name}, outside the app"] = None
            _probe.set(scope["path"])
        await app(scope, receive, send)

    return wrapped


app = outside(
    MicroASGI(
        routes=[Route("/first", first), Route("/second", second), Route("/report", report)],
        request_context=True,
    )
)
