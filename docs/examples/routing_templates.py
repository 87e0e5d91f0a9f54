from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Mount, Route, get_route_template
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Receive, Scope, Send


class RouteCounter:
    """Count requests by route template, as a metrics or tracing tool groups them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.counts: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                # Routing is done once the app returned. None: no route took the request
                # (404, 405, a slash redirect): name it by the method alone.
                template = get_route_template(scope)
                key = f"{scope['method']} {template}" if template else scope["method"]
                self.counts[key] = self.counts.get(key, 0) + 1


async def user(request: Request) -> Response:
    # Known in the endpoint already.
    return PlainTextResponse(get_route_template(request.scope) or "")


app = MicroASGI(routes=[Mount("/api/{version}", routes=[Route("/users/{id:int}", user)])])


async def test_route_templates() -> None:
    counter = RouteCounter(app)
    client = AsyncTestClient(counter, root_path="/behind/a/proxy")
    for user_id in (1, 2, 42):
        response = await client.get(f"/behind/a/proxy/api/v2/users/{user_id}")
        assert response.text == "/api/{version}/users/{id}"  # no v2, no 42, no root_path
    assert (await client.get("/behind/a/proxy/api/v2/nowhere")).status_code == 404
    assert (await client.post("/behind/a/proxy/api/v2/users/1")).status_code == 405
    assert counter.counts == {"GET /api/{version}/users/{id}": 3, "GET": 1, "POST": 1}
