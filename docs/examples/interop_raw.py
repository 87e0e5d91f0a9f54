"""A raw ASGI app, the common ground: mounted in Starlette and in microasgi, it sees the same scope."""

from starlette.applications import Starlette
from starlette.routing import Mount as StarletteMount

from microasgi.applications import MicroASGI
from microasgi.routing import Mount
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "http"
    body = f"path={scope['path']} root_path={scope['root_path']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


in_starlette = Starlette(routes=[StarletteMount("/raw", app=app)])
in_microasgi = MicroASGI(routes=[Mount("/raw", app=app)])


async def test_same_scope_either_way() -> None:
    for outer in (in_starlette, in_microasgi):
        response = await AsyncTestClient(outer).get("/raw/x")
        assert response.text == "path=/raw/x root_path=/raw"
