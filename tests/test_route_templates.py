"""``routing.get_route_template``: the matched route's template across mounts and hosts, never a real
parameter value, whatever the root_path; None where no route took the request."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount as StarletteMount
from starlette.routing import Route as StarletteRoute

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import (
    BaseRoute,
    Host,
    Match,
    Mount,
    Route,
    Router,
    WebSocketRoute,
    get_route_template,
)
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send
from microasgi.websockets import WebSocket


class Seen:
    """An ASGI wrapper that records the template once the app returned (as telemetry reads it)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.templates: list[str | None] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.templates.append(get_route_template(scope))


async def endpoint(request: Request) -> Response:
    # Inside the endpoint the template is known already.
    return PlainTextResponse(str(get_route_template(request.scope)))


async def raw(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("raw")(scope, receive, send)


async def session(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(str(get_route_template(websocket.scope)))
    await websocket.close()


ROUTES = [
    Route("/", endpoint),
    Route("/users/{id:int}", endpoint),
    Route("/files/{path:path}", endpoint),
    Mount(
        "/api/{version}",
        routes=[
            Route("/users/{id:int}", endpoint, methods=["GET"]),
            Route("/", endpoint),
            Mount("/orgs/{org}", routes=[Route("/teams/{team:uuid}", endpoint)]),
            Mount("/raw", app=raw),
            WebSocketRoute("/ws/{room}", session),
        ],
    ),
    Mount("/static", app=raw),
    Host("{tenant}.example.org", app=Router([Route("/home/{page}", endpoint)])),
    Host("raw.example.org", app=raw),
]

TEAM = "6f1a8d0e-3b2c-4d5e-8f90-a1b2c3d4e5f6"


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/", "/"),
        ("/users/3", "/users/{id}"),
        ("/files/a/b/c.txt", "/files/{path}"),
        ("/api/v2/users/7", "/api/{version}/users/{id}"),
        ("/api/v2/", "/api/{version}/"),
        (f"/api/v2/orgs/acme/teams/{TEAM}", "/api/{version}/orgs/{org}/teams/{team}"),
        ("/api/v2/raw/anything", "/api/{version}/raw"),
        ("/static/css/site.css", "/static"),
    ],
)
@pytest.mark.parametrize("root_path", ["", "/prefix", "/t/acme"])
async def test_the_template_of_the_route_taken(path: str, template: str, root_path: str) -> None:
    seen = Seen(MicroASGI(routes=ROUTES))
    client = AsyncTestClient(seen, root_path=root_path)
    response = await client.get(root_path + path)
    assert response.status_code == 200
    assert seen.templates == [template]
    if response.text != "raw":
        assert response.text == template
    # Never a real value, whatever the path and the root_path held.
    for value in ("v2", "acme", "prefix", "/3", "/7", TEAM, "c.txt", "css"):
        assert value not in template


async def test_a_server_that_strips_the_root_path_gives_the_same_template() -> None:
    # Some servers send a path without the root_path: the router accepts both conventions.
    seen = Seen(MicroASGI(routes=ROUTES))
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v9/users/1",
        "root_path": "/mounted/here",
        "headers": [],
        "query_string": b"",
    }
    await seen(scope, receive, send)
    assert sent[0]["status"] == 200
    assert seen.templates == ["/api/{version}/users/{id}"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),  # 404
        ("GET", "/api/v2/nowhere"),  # 404 in a mounted router
        ("POST", "/api/v2/users/1"),  # 405 in a mounted router
        ("POST", "/users/1"),  # 405 (the function endpoint takes GET only)
        ("GET", "/users/1/"),  # redirected to /users/1
        ("GET", "/api/v2/users/1/"),  # redirected, in a mounted router
    ],
)
async def test_no_template_without_a_route(method: str, path: str) -> None:
    seen = Seen(MicroASGI(routes=ROUTES))
    response = await AsyncTestClient(seen, follow_redirects=False).request(method, path)
    assert response.status_code in (307, 404, 405)
    assert seen.templates == [None]


async def test_hosts() -> None:
    seen = Seen(MicroASGI(routes=ROUTES))
    client = AsyncTestClient(seen)
    response = await client.get("/home/about", headers={"host": "acme.example.org"})
    assert response.text == "/home/{page}"  # a host pattern is not part of a path template
    await client.get("/anything", headers={"host": "raw.example.org"})
    assert seen.templates == ["/home/{page}", None]  # a Host whose app is not a router


async def test_a_websocket_route_in_a_mount() -> None:
    client = AsyncTestClient(MicroASGI(routes=ROUTES))
    async with client.websocket_connect("/api/v3/ws/lobby") as ws:
        assert await ws.receive_text() == "/api/{version}/ws/{room}"


async def test_before_routing_there_is_none() -> None:
    assert get_route_template({"type": "http", "path": "/users/1"}) is None


async def test_an_empty_mount_of_an_app_is_the_root() -> None:
    seen = Seen(MicroASGI(routes=[Mount("", app=raw)]))
    assert (await AsyncTestClient(seen).get("/x/y")).text == "raw"
    assert seen.templates == ["/"]


async def test_a_router_alone() -> None:
    seen = Seen(Router(ROUTES))
    await AsyncTestClient(seen).get("/api/v1/users/5")
    await AsyncTestClient(seen).get("/api/v1/nothing")
    assert seen.templates == ["/api/{version}/users/{id}", None]


async def test_in_a_starlette_app_the_outer_prefix_is_left_out() -> None:
    # Starlette's Mount puts "/t/acme" in root_path: microasgi's template starts at its own
    # router, so the tenant never shows.
    inner = Seen(MicroASGI(routes=ROUTES))
    outer = Starlette(routes=[StarletteMount("/t/{tenant}", app=inner)])
    assert (await AsyncTestClient(outer).get("/t/acme/users/9")).text == "/users/{id}"
    assert (await AsyncTestClient(outer).get("/t/acme/nowhere")).status_code == 404
    assert inner.templates == ["/users/{id}", None]


async def test_a_starlette_app_mounted_below_adds_its_route() -> None:
    def starlette_endpoint(request: Any) -> Any:
        return PlainTextResponse("starlette")

    foreign = Starlette(routes=[StarletteRoute("/things/{id}", starlette_endpoint)])
    seen = Seen(MicroASGI(routes=[Mount("/legacy/{v}", app=foreign)]))
    assert (await AsyncTestClient(seen).get("/legacy/1/things/2")).text == "starlette"
    assert seen.templates == ["/legacy/{v}/things/{id}"]


class Exact(BaseRoute):
    """A custom route: /exact for GET only, a partial match for other methods."""

    path_format = "/exact"

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # The path under the mount: the full path less the root_path the mount grew.
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        if scope["type"] != "http" or path != "/exact":
            return Match.NONE, {}
        return (Match.FULL if scope["method"] == "GET" else Match.PARTIAL), {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "GET":
            await PlainTextResponse("no", status_code=405)(scope, receive, send)
            return
        await PlainTextResponse("exact")(scope, receive, send)


async def test_custom_routes() -> None:
    seen = Seen(MicroASGI(routes=[Mount("/c", routes=[Exact()])]))
    client = AsyncTestClient(seen)
    assert (await client.get("/c/exact")).text == "exact"
    assert (await client.post("/c/exact")).status_code == 405
    assert seen.templates == ["/c/exact", None]


async def test_a_route_without_a_path_format() -> None:
    class Opaque(BaseRoute):
        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            return Match.FULL, {}

        async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
            await PlainTextResponse("opaque")(scope, receive, send)

    seen = Seen(MicroASGI(routes=[Opaque()]))
    assert (await AsyncTestClient(seen).get("/a")).text == "opaque"
    assert seen.templates == [None]
