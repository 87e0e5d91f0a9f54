from microasgi.endpoints import HTTPEndpoint
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.types import Receive, Scope, Send


class Hello(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return PlainTextResponse(f"Hello, {request.query_params.get('name', 'world')}")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    # The class is the ASGI app: one instance per request, awaited.
    await Hello(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_an_endpoint_class_is_an_asgi_app() -> None:
    client = AsyncTestClient(app)
    assert (await client.get("/", params={"name": "Ada"})).text == "Hello, Ada"
    refused = await client.post("/")
    # Outside an application the 405 is answered directly.
    assert (refused.status_code, refused.text) == (405, "Method Not Allowed")
    assert refused.headers["allow"] == "GET, HEAD"
