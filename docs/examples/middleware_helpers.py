"""Two middleware written with the helpers: response headers, and a body checked before the app."""

import hashlib
import hmac

from microasgi.applications import MicroASGI
from microasgi.datastructures import MutableHeaders
from microasgi.middleware import Middleware, edit_response_headers, read_body
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.types import ASGIApp, Receive, Scope, Send


class SecurityHeadersMiddleware:
    """Add security headers to every HTTP response the app did not set them on."""

    def __init__(self, app: ASGIApp, *, frame_options: str = "DENY") -> None:
        self.app = app
        self.frame_options = frame_options

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, edit_response_headers(send, self.edit))

    def edit(self, headers: MutableHeaders, status: int) -> None:
        headers.setdefault("x-content-type-options", "nosniff")
        headers.setdefault("x-frame-options", self.frame_options)


class WebhookSignatureMiddleware:
    """Refuse webhook bodies whose HMAC does not match; the endpoint still reads the body."""

    def __init__(self, app: ASGIApp, *, secret: bytes) -> None:
        self.app = app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, receive = await read_body(scope, receive, max_body_size=64 * 1024)
        expected = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        given = dict(scope["headers"]).get(b"x-signature", b"").decode("latin-1")
        if not hmac.compare_digest(expected, given):
            await PlainTextResponse("Bad signature.", 401)(scope, receive, send)
            return
        await self.app(scope, receive, send)  # the replaying receive: the body is read again


async def hook(request: Request) -> Response:
    event = await request.json()
    return PlainTextResponse(f"got {event['kind']}")


app = MicroASGI(
    routes=[Route("/hook", hook, methods=["POST"])],
    middleware=[
        Middleware(SecurityHeadersMiddleware),
        Middleware(WebhookSignatureMiddleware, secret=b"s3cret"),
    ],
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_signed_bodies_reach_the_endpoint() -> None:
    body = b'{"kind": "push"}'
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    response = await AsyncTestClient(app).post(
        "/hook", content=body, headers={"x-signature": signature}
    )
    assert response.text == "got push"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_unsigned_bodies_are_refused() -> None:
    response = await AsyncTestClient(app).post("/hook", content=b'{"kind": "push"}')
    assert response.status_code == 401
    assert response.headers["x-frame-options"] == "DENY"
