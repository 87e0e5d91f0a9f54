from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    response: Response
    try:
        payload = await request.json()  # bad JSON is an HTTPException(400), never a 500
        name = request.query_params.get("greeting", "Hello")
        response = JSONResponse(
            {"message": f"{name}, {payload['name']}!", "path": request.url.path}
        )
    except HTTPException as exc:
        # Inside an application the exception middleware does this; a bare app does it by hand.
        response = PlainTextResponse(exc.detail, exc.status_code)
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_request_reads_the_scope_and_the_body() -> None:
    client = AsyncTestClient(app)
    ok = await client.post("/hello?greeting=Hi", json={"name": "Ada"})
    bad = await client.post("/hello", content=b"{not json")
    assert ok.json() == {"message": "Hi, Ada!", "path": "/hello"}
    assert bad.status_code == 400
    assert bad.text.startswith("Request body is not valid JSON")
