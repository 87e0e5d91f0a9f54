from microasgi.exceptions import HTTPException
from microasgi.requests import DEFAULT_MAX_BODY_SIZE, MAX_BODY_SIZE_KEY, Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.types import ASGIApp, Receive, Scope, Send


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    response: Response
    try:
        body = await request.body()
        response = PlainTextResponse(f"got {len(body)} bytes")
    except HTTPException as exc:
        response = PlainTextResponse(exc.detail, exc.status_code)
    await response(scope, receive, send)


class BodyLimits:
    """Allow big bodies under /upload only, and small ones everywhere else."""

    def __init__(self, app: ASGIApp, *, default: int, uploads: int | None) -> None:
        self.app = app
        self.default = default
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = self.uploads if scope["path"].startswith("/upload") else self.default
            scope = {**scope, MAX_BODY_SIZE_KEY: limit}  # copy the scope before changing it
        await self.app(scope, receive, send)


app = BodyLimits(endpoint, default=1024, uploads=DEFAULT_MAX_BODY_SIZE * 4)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_limits_per_path() -> None:
    client = AsyncTestClient(app)
    small = await client.post("/notes", content=b"x" * 1024)
    too_big = await client.post("/notes", content=b"x" * 1025)
    upload = await client.post("/upload", content=b"x" * 100_000)
    assert small.text == "got 1024 bytes"
    assert too_big.status_code == 413
    assert too_big.text == "Content Too Large"
    assert upload.text == "got 100000 bytes"
