from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.middleware import Middleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Mount, Route
from microasgi.types import ASGIApp, Receive, Scope, Send


class ServerHeader:
    """A plain ASGI middleware: adds ``server: microasgi`` to every HTTP response."""

    def __init__(self, app: ASGIApp, value: str = "microasgi") -> None:
        self.app = app
        self.header = (b"server", value.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)


@asynccontextmanager
async def lifespan(app: MicroASGI) -> AsyncIterator[dict[str, Any]]:
    users = {1: "ada", 2: "grace"}  # open a database pool here, close it after the yield
    yield {"users": users}


async def homepage(request: Request) -> Response:
    return PlainTextResponse(f"Hello, see {request.url_for('user', user_id=1)}")


async def user(request: Request) -> Response:
    users = request.state.users  # the lifespan state
    user_id = request.path_params["user_id"]
    if user_id not in users:
        raise HTTPException(404, detail=f"No user {user_id}")
    return JSONResponse({"id": user_id, "name": users[user_id]})


async def not_found(request: Request, exc: HTTPException) -> Response:
    return JSONResponse({"error": exc.detail}, status_code=404)


app = MicroASGI(
    routes=[
        Route("/", homepage),
        Mount("/users", routes=[Route("/{user_id:int}", user, name="user")]),
    ],
    middleware=[Middleware(ServerHeader, value="microasgi")],
    exception_handlers={404: not_found},
    lifespan=lifespan,
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_the_application() -> None:
    async with AsyncTestClient(app) as client:  # runs the lifespan around the block
        home = await client.get("/")
        ada = await client.get("/users/1")
        nobody = await client.get("/users/9")
    assert home.text == "Hello, see http://testserver/users/1"
    assert ada.json() == {"id": 1, "name": "ada"}
    assert ada.headers["server"] == "microasgi"
    assert (nobody.status_code, nobody.json()) == (404, {"error": "No user 9"})
    assert app.url_path_for("user", user_id=2) == "/users/2"
