from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route, Router
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def user(request: Request) -> Response:
    return PlainTextResponse(f"user {request.path_params['id']}")


router = Router([Route("/users/{id:int}", user)])


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    # A Router is an ASGI app: a raw app hands it the requests it wants routed.
    if scope["type"] == "http" and scope["path"] == "/health":
        await PlainTextResponse("ok")(scope, receive, send)
        return
    await router(scope, receive, send)


async def test_raw_app_with_a_router() -> None:
    client = AsyncTestClient(app)
    assert (await client.get("/health")).text == "ok"
    assert (await client.get("/users/7")).text == "user 7"
    assert (await client.get("/users/me")).status_code == 404
