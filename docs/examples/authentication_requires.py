"""@requires on function endpoints and HTTPEndpoint methods, with a 403 or a redirect to log in."""

from __future__ import annotations

from urllib.parse import urlsplit

from microasgi.applications import MicroASGI
from microasgi.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    BaseUser,
    SimpleUser,
    requires,
)
from microasgi.endpoints import HTTPEndpoint
from microasgi.middleware import Middleware
from microasgi.middleware.authentication import AuthenticationMiddleware
from microasgi.middleware.sessions import SessionMiddleware
from microasgi.requests import HTTPConnection, Request
from microasgi.responses import PlainTextResponse, RedirectResponse, Response
from microasgi.routing import Route

ADMINS = {"ada"}


class SessionBackend(AuthenticationBackend):
    """The user a login page stored in the session (SessionMiddleware runs first)."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        username = conn.session.get("user")
        if username is None:
            return None
        scopes = ["authenticated", "admin"] if username in ADMINS else ["authenticated"]
        return AuthCredentials(scopes), SimpleUser(username)


def next_page(request: Request) -> str:
    """Where to go after logging in: ``next`` only if it stays on this site (no open redirect)."""
    target = urlsplit(request.query_params.get("next", "/"))
    if target.netloc and target.netloc != request.url.netloc:
        return "/"
    if not target.path.startswith("/") or target.path.startswith(("//", "/\\")):
        return "/"
    return target.path + (f"?{target.query}" if target.query else "")


async def login(request: Request) -> Response:
    if request.method == "POST":
        form = await request.form()
        request.session["user"] = str(form["user"])
        return RedirectResponse(next_page(request), status_code=303)
    return PlainTextResponse(f"Log in to see {request.query_params.get('next', '/')}")


async def home(request: Request) -> Response:
    return PlainTextResponse("Home")


@requires("authenticated", redirect="login")  # not logged in: 303 to /login?next=...
async def profile(request: Request) -> Response:
    return PlainTextResponse(f"Profile of {request.user.display_name}")


@requires(["authenticated", "admin"])  # logged in without "admin": 403
def admin(request: Request) -> Response:  # plain functions run in a worker thread
    return PlainTextResponse("Admin area")


class Reports(HTTPEndpoint):
    @requires("authenticated", status_code=404)  # hide the page from strangers
    async def get(self, request: Request) -> Response:
        return PlainTextResponse(f"Reports for {request.user.display_name}")


app = MicroASGI(
    routes=[
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/profile", profile),
        Route("/admin", admin),
        Route("/reports", Reports),
    ],
    middleware=[
        Middleware(SessionMiddleware, secret_key="change-me"),
        Middleware(AuthenticationMiddleware, backend=SessionBackend()),
    ],
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_strangers_are_sent_to_log_in() -> None:
    client = AsyncTestClient(app, follow_redirects=False)
    response = await client.get("/profile")
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == "http://testserver/login?next=http%3A%2F%2Ftestserver%2Fprofile"
    )
    assert (await client.get("/reports")).status_code == 404


async def test_login_goes_back_to_next_on_this_site_only() -> None:
    client = AsyncTestClient(app)
    back = await client.post("/login?next=http%3A%2F%2Ftestserver%2Fprofile", data={"user": "bob"})
    assert back.text == "Profile of bob"
    for elsewhere in ("http://evil.example/", "//evil.example/", "/\\evil.example/"):
        response = await client.post("/login", params={"next": elsewhere}, data={"user": "bob"})
        assert response.text == "Home"


async def test_scopes_decide() -> None:
    client = AsyncTestClient(app)
    await client.post("/login", data={"user": "bob"})
    assert (await client.get("/profile")).text == "Profile of bob"
    assert (await client.get("/reports")).text == "Reports for bob"
    assert (await client.get("/admin")).status_code == 403
    await client.post("/login", data={"user": "ada"})
    assert (await client.get("/admin")).text == "Admin area"
