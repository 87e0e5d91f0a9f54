"""Rotating the secret key: the first key signs, every key in the list verifies."""

from __future__ import annotations

from microasgi.middleware.sessions import SessionMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route, Router
from microasgi.testclient import AsyncTestClient


async def visit(request: Request) -> Response:
    request.session["visits"] = request.session.get("visits", 0) + 1
    return JSONResponse(request.session)


routes = Router([Route("/", visit)])
before = SessionMiddleware(routes, secret_key="old-key")
# Step 1: deploy with the new key first and the old one still listed.
during = SessionMiddleware(routes, secret_key=["new-key", "old-key"])
# Step 2: once every old cookie has expired (max_age), drop the old key.
after = SessionMiddleware(routes, secret_key=["new-key"])


async def test_rotation_keeps_sessions() -> None:
    browser = AsyncTestClient(before)
    await browser.get("/")
    # The same browser (its cookies), after each deployment:
    browser = AsyncTestClient(during, cookies=browser.cookies)
    assert (await browser.get("/")).json() == {"visits": 2}  # old cookie verified, re-signed
    browser = AsyncTestClient(after, cookies=browser.cookies)
    assert (await browser.get("/")).json() == {"visits": 3}
