"""A microasgi app on AWS Lambda through Mangum, fed hand-built API Gateway HTTP API v2 events.

No cloud: the event is the JSON API Gateway would send (payload format 2.0) and the handler's
return value is the JSON it would read back. Mangum runs its own asyncio loop per invocation.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import pytest
from mangum import Mangum
from mangum.types import LambdaCognitoIdentity, LambdaMobileClientContext

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, RedirectResponse, Response
from microasgi.routing import Route

lifespan_events: list[str] = []


@asynccontextmanager
async def lifespan(app: MicroASGI) -> AsyncIterator[dict[str, Any]]:
    lifespan_events.append("up")
    yield {"table": "notes"}
    lifespan_events.append("down")


async def note(request: Request) -> Response:
    return JSONResponse(
        {
            "id": request.path_params["id"],
            "path": request.url.path,
            "url": str(request.url),
            "query": request.query_params.multi_items(),
            "agent": request.headers["user-agent"],
            "session": request.cookies.get("session"),
            "theme": request.cookies.get("theme"),
            "client": request.client.host if request.client else None,
            "table": getattr(request.state, "table", None),
        }
    )


async def create(request: Request) -> Response:
    data = await request.json()
    response = JSONResponse({"created": data}, status_code=201)
    response.set_cookie("last", str(data["title"]), httponly=True)
    response.set_cookie("count", "1")
    return response


async def raw(request: Request) -> Response:
    return Response(await request.body() + b"\x00\xff", media_type="application/octet-stream")


async def moved(request: Request) -> Response:
    return RedirectResponse("/notes/1", status_code=308)


app = MicroASGI(
    routes=[
        Route("/notes/{id:int}", note),
        Route("/notes", create, methods=["POST"]),
        Route("/raw", raw, methods=["PUT"]),
        Route("/old", moved),
    ],
    lifespan=lifespan,
)


def event(
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, as AWS documents it."""
    encoded = body is not None and not body.isascii()
    result: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "host": "abc123.execute-api.eu-west-1.amazonaws.com",
            "user-agent": "curl/8.5.0",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "id-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "22/Nov/2026:03:00:00 +0000",
            "timeEpoch": 1795230000000,
        },
        "isBase64Encoded": encoded,
    }
    if cookies:
        result["cookies"] = cookies
    if body is not None:
        result["body"] = base64.b64encode(body).decode() if encoded else body.decode()
    return result


@dataclasses.dataclass
class FakeContext:
    """The Lambda context object, with what the runtime would set."""

    function_name: str = "notes"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:notes"
    memory_limit_in_mb: int = 128
    aws_request_id: str = "id-1"
    log_group_name: str = "/aws/lambda/notes"
    log_stream_name: str = "2026/11/22/[$LATEST]0"
    identity: LambdaCognitoIdentity | None = None
    client_context: LambdaMobileClientContext | None = None

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


CONTEXT = FakeContext()


@pytest.fixture(autouse=True)
def event_loop_for_mangum() -> Iterator[None]:
    # Mangum calls asyncio.get_event_loop(); give it a loop so no deprecation warning fires.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@pytest.mark.parametrize("mode", ["off", "auto"])
def test_routing_query_headers_cookies_in(mode: Literal["off", "auto"]) -> None:
    lifespan_events.clear()
    handler = Mangum(app, lifespan=mode)
    result = handler(
        event(
            "GET",
            "/notes/42",
            query="tag=a&tag=b&q=caf%C3%A9",
            cookies=["session=s1", "theme=dark"],
        ),
        CONTEXT,
    )
    assert result["statusCode"] == 200
    assert result["headers"]["content-type"] == "application/json"
    assert result["isBase64Encoded"] is False
    assert json.loads(result["body"]) == {
        "id": 42,
        "path": "/notes/42",
        "url": "https://abc123.execute-api.eu-west-1.amazonaws.com/notes/42?tag=a&tag=b&q=caf%C3%A9",
        "query": [["tag", "a"], ["tag", "b"], ["q", "café"]],
        "agent": "curl/8.5.0",
        "session": "s1",
        "theme": "dark",
        "client": "203.0.113.9",
        "table": "notes" if mode == "auto" else None,
    }
    # "auto" runs the lifespan around each invocation; "off" never does.
    assert lifespan_events == (["up", "down"] if mode == "auto" else [])


def test_json_body_status_and_cookies_out() -> None:
    result = Mangum(app, lifespan="off")(
        event(
            "POST", "/notes", body=b'{"title": "hi"}', headers={"content-type": "application/json"}
        ),
        CONTEXT,
    )
    assert result["statusCode"] == 201
    assert json.loads(result["body"]) == {"created": {"title": "hi"}}
    # Payload 2.0 carries Set-Cookie in its own list, one entry per cookie.
    assert result["cookies"] == [
        "last=hi; HttpOnly; Path=/; SameSite=lax",
        "count=1; Path=/; SameSite=lax",
    ]
    assert "set-cookie" not in result["headers"]


def test_binary_bodies_round_trip_base64() -> None:
    payload = bytes(range(256))
    result = Mangum(app, lifespan="off")(event("PUT", "/raw", body=payload), CONTEXT)
    assert result["statusCode"] == 200
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == payload + b"\x00\xff"


@pytest.mark.parametrize(
    ("method", "path", "status", "header", "value"),
    [
        ("GET", "/old", 308, "location", "/notes/1"),
        ("GET", "/nothing", 404, "content-type", "text/plain; charset=utf-8"),
        ("DELETE", "/notes", 405, "allow", "POST"),
        ("GET", "/notes/x", 404, "content-type", "text/plain; charset=utf-8"),
    ],
)
def test_status_codes(method: str, path: str, status: int, header: str, value: str) -> None:
    result = Mangum(app, lifespan="off")(event(method, path), CONTEXT)
    assert result["statusCode"] == status
    assert result["headers"][header] == value


def test_malformed_json_is_a_400_not_a_crash() -> None:
    result = Mangum(app, lifespan="off")(
        event("POST", "/notes", body=b"{", headers={"content-type": "application/json"}), CONTEXT
    )
    assert result["statusCode"] == 400
