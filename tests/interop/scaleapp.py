"""The app ``test_scale_out.py`` serves under ``uvicorn --workers 2``: ``interop.scaleapp:app``.

Nothing lives in the process but code: the session is a signed cookie, so whichever worker gets
the next request can read it. Every answer names the worker (its process id).
"""

from __future__ import annotations

import os

from microasgi.applications import MicroASGI
from microasgi.datastructures import Secret
from microasgi.middleware import Middleware
from microasgi.middleware.sessions import SessionMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route

# Every worker imports this module, so they share the key, as processes sharing a config would.
SECRET = Secret("interop scale-out test key, not a real secret")


async def login(request: Request) -> Response:
    request.session["user"] = request.path_params["user"]
    request.session["visits"] = 0
    return JSONResponse({"pid": os.getpid()})


async def visit(request: Request) -> Response:
    user = request.session.get("user")
    if user is not None:
        request.session["visits"] += 1
    return JSONResponse({"pid": os.getpid(), "user": user, "visits": request.session.get("visits")})


app = MicroASGI(
    routes=[Route("/login/{user}", login, methods=["POST"]), Route("/visit", visit)],
    middleware=[Middleware(SessionMiddleware, secret_key=SECRET)],
)
