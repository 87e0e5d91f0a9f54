"""Behind a proxy that terminates TLS, links built with url_for use the public URL."""

from __future__ import annotations

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.middleware.httpsredirect import HTTPSRedirectMiddleware
from microasgi.middleware.proxy_headers import ProxyHeadersMiddleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient


async def invoice(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(request.url_for("invoice", number=request.path_params["number"])))


app = MicroASGI(
    routes=[Route("/invoices/{number:int}", invoice, name="invoice")],
    middleware=[
        # Outermost first: the scheme is restored before HTTPSRedirectMiddleware looks at it.
        Middleware(ProxyHeadersMiddleware, trusted_hosts=["10.0.0.0/8"]),
        Middleware(HTTPSRedirectMiddleware),
    ],
)


async def test_links_use_the_public_url() -> None:
    proxy = AsyncTestClient(app, base_url="http://app:8000", client=("10.1.2.3", 40000))
    response = await proxy.get(
        "/invoices/7",
        headers={"x-forwarded-proto": "https", "x-forwarded-host": "billing.example.com"},
    )
    assert response.text == "https://billing.example.com/invoices/7"
