from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Mount, Route
from microasgi.testclient import AsyncTestClient


async def upload(request: Request) -> Response:
    return PlainTextResponse(f"{len(await request.body())} bytes")


app = MicroASGI(
    routes=[
        Route("/notes", upload, methods=["POST"]),  # the app's cap: 1 KiB
        Route("/avatars", upload, methods=["POST"], max_body_size=64 * 1024),
        Mount("/tiny", routes=[Route("/", upload, methods=["POST"])], max_body_size=8),
    ],
    max_body_size=1024,
)


async def test_body_limits() -> None:
    client = AsyncTestClient(app)
    assert (await client.post("/notes", content=b"x" * 1024)).text == "1024 bytes"
    too_big = await client.post("/notes", content=b"x" * 1025)
    assert too_big.status_code == 413
    assert (await client.post("/avatars", content=b"x" * 5000)).text == "5000 bytes"
    assert (await client.post("/tiny/", content=b"x" * 9)).status_code == 413
