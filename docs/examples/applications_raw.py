from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.types import Receive, Scope, Send


async def hello(request: Request) -> Response:
    return PlainTextResponse("Hello from MicroASGI")


micro = MicroASGI(routes=[Route("/hello", hello)])


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    # The application is an ASGI app like any other: call it, wrap it, mount it.
    if scope["type"] == "http" and scope["path"] == "/health":
        await PlainTextResponse("ok")(scope, receive, send)
        return
    await micro(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_the_app_is_plain_asgi() -> None:
    client = AsyncTestClient(app)
    assert (await client.get("/health")).text == "ok"
    assert (await client.get("/hello")).text == "Hello from MicroASGI"
    assert (await client.get("/other")).status_code == 404
