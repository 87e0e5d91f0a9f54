from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route, Router
from microasgi.testclient import AsyncTestClient


async def listing(request: Request) -> Response:
    return PlainTextResponse("listing")


router = Router([Route("/items", listing), Route("/docs/", listing)])


async def test_trailing_slash_redirects() -> None:
    client = AsyncTestClient(router, root_path="/app")
    response = await client.get("/app/items/?page=2", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/app/items?page=2"
    response = await client.get("/app/docs", follow_redirects=False)
    assert response.headers["location"] == "/app/docs/"


async def test_off() -> None:
    strict = Router([Route("/items", listing)], redirect_slashes=False)
    assert (await AsyncTestClient(strict).get("/items/")).status_code == 404
