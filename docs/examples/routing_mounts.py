from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Mount, Route, Router
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def issue(request: Request) -> Response:
    return JSONResponse(
        {
            "params": request.path_params,
            "path": request.scope["path"],
            "root_path": request.scope["root_path"],
        }
    )


class LegacyApp:
    """An ASGI 2 app: called with the scope, then awaited with receive and send."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        await PlainTextResponse("legacy")(self.scope, receive, send)


router = Router(
    [
        Mount(
            "/orgs/{org}",
            routes=[Mount("/repos/{repo}", routes=[Route("/issues/{n:int}", issue)])],
        ),
        Mount("/legacy", app=LegacyApp),
    ]
)


async def test_mount_under_mount() -> None:
    response = await AsyncTestClient(router).get("/orgs/acme/repos/web/issues/7")
    assert response.json() == {
        "params": {"org": "acme", "repo": "web", "n": 7},
        "path": "/orgs/acme/repos/web/issues/7",  # path stays the full path
        "root_path": "/orgs/acme/repos/web",  # root_path grows by each prefix
    }


async def test_root_path_either_way() -> None:
    client = AsyncTestClient(router, root_path="/app")
    kept = await client.get("/app/orgs/acme/repos/web/issues/7")  # path includes root_path
    stripped = await client.get("/orgs/acme/repos/web/issues/7")  # the server stripped it
    assert kept.json() == stripped.json()
    assert kept.json()["root_path"] == "/app/orgs/acme/repos/web"


async def test_prefixes_match_at_segment_boundaries() -> None:
    client = AsyncTestClient(router)
    assert (await client.get("/legacy/anything")).text == "legacy"
    assert (await client.get("/legacyx")).status_code == 404
