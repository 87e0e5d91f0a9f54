import logging

from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route, Router
from microasgi.testclient import AsyncTestClient


async def me(request: Request) -> Response:
    return PlainTextResponse("me")


async def by_id(request: Request) -> Response:
    return PlainTextResponse(f"id {request.path_params['id']}")


async def by_name(request: Request) -> Response:
    return PlainTextResponse(f"name {request.path_params['name']}")


async def files(request: Request) -> Response:
    return PlainTextResponse(f"file {request.path_params['rest']}")


async def create(request: Request) -> Response:
    return PlainTextResponse("created", status_code=201)


router = Router(
    [
        Route("/users/me", me),  # static, declared first: wins over the two below
        Route("/users/{id:int}", by_id),  # digits only
        Route("/users/{name}", by_name),  # anything else in one segment
        Route("/users", create, methods=["POST"]),
        Route("/files/{rest:path}", files),  # the rest of the path, slashes included
    ]
)


async def test_first_declared_wins() -> None:
    client = AsyncTestClient(router)
    assert (await client.get("/users/me")).text == "me"
    assert (await client.get("/users/42")).text == "id 42"
    assert (await client.get("/users/ann")).text == "name ann"
    assert (await client.get("/files/css/site.css")).text == "file css/site.css"


async def test_head_405_and_404() -> None:
    client = AsyncTestClient(router)
    head = await client.head("/users/42")
    assert (head.status_code, head.content) == (200, b"")  # GET routes answer HEAD, no body
    wrong = await client.delete("/users")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert (await client.get("/nowhere/at/all")).status_code == 404


def test_shadowed_routes_are_reported_when_the_router_is_built() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logging.getLogger("microasgi").addHandler(handler)
    try:
        shadowing = Router([Route("/users/{name}", by_name), Route("/users/me", me)])
    finally:
        logging.getLogger("microasgi").removeHandler(handler)
    # One warning record on the "microasgi" logger, naming both routes ...
    [record] = records
    assert record.levelno == logging.WARNING
    assert "Route(path='/users/me'" in record.getMessage()
    assert "Route(path='/users/{name}'" in record.getMessage()
    # ... and a list a test suite can check: the router above has none.
    [(never, winner)] = shadowing.shadowed_routes()
    assert (never, winner) == (shadowing.routes[1], shadowing.routes[0])
    assert router.shadowed_routes() == []
