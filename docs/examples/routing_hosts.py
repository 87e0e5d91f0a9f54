from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Host, Route, Router
from microasgi.testclient import AsyncTestClient


async def dashboard(request: Request) -> Response:
    return PlainTextResponse(f"dashboard of {request.path_params['tenant']}")


async def home(request: Request) -> Response:
    return PlainTextResponse("home")


router = Router(
    [
        Host("{tenant}.example.com", app=Router([Route("/", dashboard)]), name="tenant"),
        Host("localhost:8000", app=PlainTextResponse("dev server")),
        Route("/", home),
    ]
)


async def test_hosts() -> None:
    client = AsyncTestClient(router)
    assert (await client.get("http://Acme.Example.com/")).text == "dashboard of acme"
    assert (await client.get("http://acme.example.com:8443/")).text == "dashboard of acme"
    assert (await client.get("http://localhost:8000/")).text == "dev server"
    # As in Starlette, the port is not compared: localhost on any port is the dev server.
    assert (await client.get("http://localhost:9000/")).text == "dev server"
    assert (await client.get("http://127.0.0.1/")).text == "home"
