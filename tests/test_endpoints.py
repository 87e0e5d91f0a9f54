"""``HTTPEndpoint``: one method per HTTP method, 405 with ``Allow`` for the others."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.endpoints import HTTPEndpoint
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient
from microasgi.types import Message

LOOP_THREADS: list[int] = []


class Items(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return JSONResponse({"method": request.method, "id": request.path_params.get("id")})

    def post(self, request: Request) -> Response:
        # A plain method: runs in a worker thread.
        return PlainTextResponse(
            f"posted in {'worker' if threading.get_ident() not in LOOP_THREADS else 'loop'}"
        )

    async def dispatch_me(self, request: Request) -> Response:  # pragma: no cover (never called)
        return PlainTextResponse("must never run")


class OnlyPost(HTTPEndpoint):
    async def post(self, request: Request) -> Response:
        return PlainTextResponse("ok", status_code=201)


class WithHead(HTTPEndpoint):
    async def get(self, request: Request) -> Response:  # pragma: no cover (HEAD goes to head())
        return PlainTextResponse("from get")

    async def head(self, request: Request) -> Response:
        return PlainTextResponse("", headers={"x-from": "head"})


class Everything(Items):
    """A subclass keeps its parent's methods and adds its own; ``post = None`` removes one."""

    post = None  # type: ignore[assignment]

    async def put(self, request: Request) -> Response:
        return PlainTextResponse("put")

    async def patch(self, request: Request) -> Response:
        return PlainTextResponse("patch")

    async def delete(self, request: Request) -> Response:
        return PlainTextResponse("delete")

    async def options(self, request: Request) -> Response:
        return PlainTextResponse("options")

    async def query(self, request: Request) -> Response:
        return PlainTextResponse(f"query {(await request.body()).decode()}")


class Broken(HTTPEndpoint):
    async def get(self, request: Request) -> Any:
        return "not a response"


@pytest.fixture(autouse=True)
def _loop_thread() -> Any:
    LOOP_THREADS.append(threading.get_ident())
    yield
    LOOP_THREADS.clear()


async def test_dispatches_by_method() -> None:
    client = AsyncTestClient(Items)
    got = await client.get("/")
    posted = await client.post("/")
    assert got.json() == {"method": "GET", "id": None}
    assert posted.text == "posted in worker"


async def test_head_uses_get_without_body() -> None:
    response = await AsyncTestClient(Items).head("/")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(b'{"method":"HEAD","id":null}'))


async def test_head_uses_head_when_defined() -> None:
    response = await AsyncTestClient(WithHead).head("/")
    assert response.headers["x-from"] == "head"


@pytest.mark.parametrize(
    ("endpoint", "method", "allow"),
    [
        (Items, "PUT", "GET, HEAD, POST"),
        (OnlyPost, "GET", "POST"),
        (OnlyPost, "HEAD", "POST"),
        (Everything, "POST", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS, QUERY"),
        (Items, "QUERY", "GET, HEAD, POST"),
        # SECURITY: a method naming another attribute never reaches it.
        (Items, "DISPATCH_ME", "GET, HEAD, POST"),
        (Items, "DISPATCH", "GET, HEAD, POST"),
        (Items, "METHOD_NOT_ALLOWED", "GET, HEAD, POST"),
        (Items, "__INIT__", "GET, HEAD, POST"),
    ],
)
async def test_405_lists_the_methods_the_class_defines(
    endpoint: type[HTTPEndpoint], method: str, allow: str
) -> None:
    response = await AsyncTestClient(endpoint).request(method, "/")
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    if method != "HEAD":
        assert response.text == "Method Not Allowed"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY"])
async def test_every_method_name(method: str) -> None:
    response = await AsyncTestClient(Everything).request(method, "/")
    assert response.status_code == 200
    if method != "GET":
        assert response.text.split()[0] == method.lower()


class Search(HTTPEndpoint):
    """QUERY (a safe method with a body), dispatched to ``query`` as in Starlette 1.10."""

    def query(self, request: Request) -> Response:  # a plain method: a worker thread
        return JSONResponse({"method": request.method, "params": request.path_params})


async def test_query_is_dispatched_to_query_inside_an_application() -> None:
    app = MicroASGI(routes=[Route("/search", Everything), Route("/s/{term}", Search)])
    client = AsyncTestClient(app)
    response = await client.request("QUERY", "/search", content=b"select=name")
    assert (response.status_code, response.text) == (200, "query select=name")
    sync = await client.request("QUERY", "/s/cats")
    assert sync.json() == {"method": "QUERY", "params": {"term": "cats"}}
    refused = await client.get("/s/cats")
    assert (refused.status_code, refused.headers["allow"]) == (405, "QUERY")


async def test_inside_an_application_405_goes_through_its_handlers() -> None:
    async def handler(request: Request, exc: HTTPException) -> Response:
        return JSONResponse(
            {"allowed": exc.headers}, status_code=exc.status_code, headers=exc.headers
        )

    app = MicroASGI(routes=[Route("/items/{id:int}", Items)], exception_handlers={405: handler})
    client = AsyncTestClient(app)
    got = await client.get("/items/3")
    refused = await client.delete("/items/3")
    assert got.json() == {"method": "GET", "id": 3}
    assert refused.status_code == 405
    assert refused.json() == {"allowed": {"Allow": "GET, HEAD, POST"}}
    assert refused.headers["allow"] == "GET, HEAD, POST"


async def test_inside_an_application_without_handler() -> None:
    response = await AsyncTestClient(MicroASGI(routes=[Route("/", OnlyPost)])).get("/")
    assert (response.status_code, response.text) == (405, "Method Not Allowed")
    assert response.headers["allow"] == "POST"


async def test_not_a_response_is_a_clear_error() -> None:
    with pytest.raises(
        TypeError, match=r"Broken.get\(\) returned 'not a response', which is not a Response"
    ):
        await AsyncTestClient(Broken).get("/")


async def test_refuses_other_scopes() -> None:
    async def receive() -> Message:
        return {"type": "websocket.connect"}  # pragma: no cover (never read)

    async def send(message: Message) -> None:
        pass  # pragma: no cover (nothing is sent)

    with pytest.raises(ValueError, match="Items serves 'http' scopes, got 'websocket'"):
        await Items({"type": "websocket"}, receive, send)


def test_sync_client(test_client_factory: Callable[..., Any]) -> None:
    client = test_client_factory(MicroASGI(routes=[Route("/items/{id}", Items)]))
    assert client.get("/items/a").json() == {"method": "GET", "id": "a"}
    assert client.post("/items/a").text == "posted in worker"
