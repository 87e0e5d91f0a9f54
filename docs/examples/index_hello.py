from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    response: Response
    if request.method == "POST":
        data = await request.json()  # invalid JSON answers 400, a body over 16 MiB 413
        response = JSONResponse({"received": data}, status_code=201)
    else:
        name = request.query_params.get("name", "world")
        response = PlainTextResponse(f"Hello, {name}!")
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_hello() -> None:
    client = AsyncTestClient(app)
    hello = await client.get("/", params={"name": "ASGI"})
    assert hello.text == "Hello, ASGI!"
    created = await client.post("/", json={"id": 1})
    assert created.status_code == 201
    assert created.json() == {"received": {"id": 1}}
