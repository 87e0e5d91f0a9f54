import pytest

from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Host, Mount, NoMatchFound, Route, Router
from microasgi.testclient import AsyncTestClient


async def users(request: Request) -> Response:
    return PlainTextResponse("users")


async def user(request: Request) -> Response:
    # An absolute URL under the application's root_path.
    return PlainTextResponse(str(request.url_for("api:user", version="v1", id=3)))


router = Router(
    [
        Mount(
            "/api/{version}",
            name="api",
            routes=[Route("/users", users), Route("/users/{id:int}", user)],
        ),
        Mount("/static", app=PlainTextResponse("file"), name="static"),
        Host("{tenant}.example.com", app=Router([Route("/", users)]), name="site"),
    ]
)


def test_url_path_for() -> None:
    assert router.url_path_for("api:users", version="v2") == "/api/v2/users"
    assert router.url_path_for("static", path="/css/site.css") == "/static/css/site.css"
    assert router.url_path_for("site:users", tenant="acme").host == "acme.example.com"


def test_no_match_found_says_why() -> None:
    with pytest.raises(NoMatchFound, match="Did you mean 'api:users'"):
        router.url_path_for("api:usrs", version="v1")
    with pytest.raises(NoMatchFound, match=r"takes params \['id', 'version'\]: missing \['id'\]"):
        router.url_path_for("api:user", version="v1")


async def test_url_for_honours_root_path() -> None:
    client = AsyncTestClient(router, root_path="/app")
    response = await client.get("/app/api/v1/users/3")
    assert response.text == "http://testserver/app/api/v1/users/3"
