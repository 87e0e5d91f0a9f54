"""HTTPSRedirectMiddleware: http -> https, ws -> wss, 307, default ports dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.middleware.httpsredirect import HTTPSRedirectMiddleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse
from microasgi.routing import Route

from ._raw import Downstream, call, scope


@pytest.mark.parametrize(
    ("request_scope", "location"),
    [
        (scope([(b"host", b"example.com")]), "https://example.com/"),
        (scope([(b"host", b"example.com:80")]), "https://example.com/"),
        (scope([(b"host", b"example.com:443")]), "https://example.com/"),
        (scope([(b"host", b"example.com:8080")]), "https://example.com:8080/"),
        (scope([(b"host", b"[::1]:80")]), "https://[::1]/"),
        (scope([(b"host", b"[::1]:8000")]), "https://[::1]:8000/"),
        (scope([], server=("10.0.0.1", 80)), "https://10.0.0.1/"),
        (scope([], server=("::1", 8000)), "https://[::1]:8000/"),
        (scope([(b"host", b"example.com")], scheme=None), "https://example.com/"),
        (
            scope(
                [(b"host", b"example.com")],
                path="/a b/ü",
                query_string=b"q=%2F&x=1 2",
            ),
            "https://example.com/a%20b/%C3%BC?q=%2F&x=1%202",
        ),
        (
            scope([(b"host", b"example.com")], path="/a/b", raw_path=b"/a%2Fb"),
            "https://example.com/a%2Fb",
        ),
        (
            scope([(b"host", b"example.com")], path="//evil.example"),
            "https://example.com//evil.example",
        ),
        (scope([(b"host", b"evil.com/x")], server=("example.com", 80)), "https://example.com/"),
    ],
)
async def test_http_is_redirected(request_scope: Any, location: str) -> None:
    downstream = Downstream()
    result = await call(HTTPSRedirectMiddleware(downstream), request_scope)
    assert result.status == 307
    assert result.header("location") == location
    assert not downstream.called


@pytest.mark.parametrize("scheme", ["https", "wss"])
async def test_secure_requests_pass_through(scheme: str) -> None:
    downstream = Downstream()
    scope_type = "websocket" if scheme == "wss" else "http"
    request = scope([(b"host", b"example.com")], scheme=scheme, type=scope_type)
    await call(HTTPSRedirectMiddleware(downstream), request)
    assert downstream.called


@pytest.mark.parametrize("scope_type", ["lifespan", "custom"])
async def test_other_scopes_pass_through(scope_type: str) -> None:
    downstream = Downstream()
    await call(HTTPSRedirectMiddleware(downstream), {"type": scope_type})
    assert downstream.called


async def test_unknown_scheme_passes_through() -> None:
    downstream = Downstream()
    await call(HTTPSRedirectMiddleware(downstream), scope(scheme="h2c"))
    assert downstream.called


async def test_no_host_at_all_is_a_400() -> None:
    result = await call(HTTPSRedirectMiddleware(Downstream()), scope([], server=None))
    assert result.status == 400
    assert result.body == b"Invalid host header"  # Starlette's text


async def test_websocket_is_redirected_to_wss_when_denial_is_offered() -> None:
    request = scope(
        [(b"host", b"example.com:80")],
        type="websocket",
        scheme="ws",
        path="/chat",
        extensions={"websocket.http.response": {}},
    )
    result = await call(HTTPSRedirectMiddleware(Downstream()), request)
    assert result.messages[0]["type"] == "websocket.http.response.start"
    assert result.status == 307
    assert result.header("location") == "wss://example.com/chat"


async def test_websocket_without_scheme_is_closed_otherwise() -> None:
    downstream = Downstream()
    request = scope([(b"host", b"example.com")], type="websocket", scheme=None)
    result = await call(HTTPSRedirectMiddleware(downstream), request)
    assert result.messages[0]["type"] == "websocket.close"
    assert not downstream.called


def test_through_an_application(test_client_factory: Callable[..., Any]) -> None:
    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.url))

    app = MicroASGI(routes=[Route("/", home)], middleware=[Middleware(HTTPSRedirectMiddleware)])
    client = test_client_factory(app)
    response = client.post("/?a=1", content=b"body", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "https://testserver/?a=1"
    assert client.get("/?a=1").text == "https://testserver/?a=1"  # followed, method kept
