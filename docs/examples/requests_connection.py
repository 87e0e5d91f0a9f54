from microasgi.requests import Request
from microasgi.responses import JSONResponse
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    request.state.seen_by = "app"  # lands in scope["state"], visible to later middleware
    data = {
        "method": request.method,
        "url": str(request.url),
        "base_url": str(request.base_url),
        "path": request.url.path,
        "tags": request.query_params.getlist("tag"),
        "agent": request.headers["user-agent"],
        "cookies": request.cookies,
        "client": request.client.host if request.client else None,
        "path_params": request.path_params,  # filled in by the router
        "state": scope["state"],
    }
    await JSONResponse(data)(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_connection_properties() -> None:
    client = AsyncTestClient(app, root_path="/api")
    response = await client.get(
        "/api/items?tag=a&tag=b",
        headers={"User-Agent": "docs", "Cookie": 'theme=dark; lang="en"; theme=light'},
    )
    assert response.json() == {
        "method": "GET",
        "url": "http://testserver/api/items?tag=a&tag=b",
        "base_url": "http://testserver/api/",
        "path": "/api/items",
        "tags": ["a", "b"],
        "agent": "docs",
        "cookies": {"theme": "light", "lang": "en"},  # unquoted; the last repeat wins
        "client": "testclient",
        "path_params": {},
        "state": {"seen_by": "app"},
    }
