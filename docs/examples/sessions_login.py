"""Log in and out with request.session; the cookie is written only when the session changes."""

from __future__ import annotations

from microasgi.applications import MicroASGI
from microasgi.datastructures import Secret
from microasgi.middleware import Middleware
from microasgi.middleware.sessions import SessionMiddleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, RedirectResponse, Response
from microasgi.routing import Route


async def login(request: Request) -> Response:
    form = await request.form()
    request.session["user"] = str(form["user"])  # a JSON value: str, int, list, dict ...
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    request.session.clear()  # an empty session clears the cookie
    return RedirectResponse("/", status_code=303)


async def home(request: Request) -> Response:
    user = request.session.get("user")
    return PlainTextResponse(f"Hello, {user}!" if user else "Hello, stranger!")


app = MicroASGI(
    routes=[
        Route("/", home),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ],
    middleware=[
        Middleware(
            SessionMiddleware,
            secret_key=Secret("change-me"),  # Secret keeps the key out of reprs and logs
            max_age=8 * 60 * 60,  # one working day
            https_only=False,  # True in production: the cookie then travels over https only
        )
    ],
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_login_and_logout() -> None:
    client = AsyncTestClient(app)
    assert (await client.post("/login", data={"user": "ada"})).text == "Hello, ada!"
    assert "session" in client.cookies
    # Reading the session does not rewrite the cookie.
    assert "set-cookie" not in (await client.get("/")).headers
    assert (await client.post("/logout")).text == "Hello, stranger!"
    assert "session" not in client.cookies
