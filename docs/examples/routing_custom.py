from microasgi.convertors import Convertor
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import BaseRoute, Match, Route, Router
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


class BetaRoute(BaseRoute):
    """Any path, for clients that send ``x-beta: 1``."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (b"x-beta", b"1") in scope.get("headers", []):
            return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("beta")(scope, receive, send)


class HexConvertor(Convertor[int]):
    regex = "[0-9a-f]+"

    def convert(self, value: str) -> int:
        return int(value, 16)

    def to_string(self, value: int) -> str:
        return f"{value:x}"


async def colour(request: Request) -> Response:
    return PlainTextResponse(f"colour {request.path_params['value']}")


router = Router(
    [BetaRoute(), Route("/colours/{value:hex}", colour, name="colour")],
    convertors={"hex": HexConvertor()},  # for this router (and its mounts) only
)


async def test_custom_route_and_convertor() -> None:
    client = AsyncTestClient(router)
    assert (await client.get("/colours/ff")).text == "colour 255"
    assert (await client.get("/colours/ff", headers={"x-beta": "1"})).text == "beta"
    assert router.url_path_for("colour", value=255) == "/colours/ff"
