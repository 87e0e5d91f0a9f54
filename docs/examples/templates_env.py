"""Bringing your own Jinja2 environment: filters, globals, loaders."""

from __future__ import annotations

import jinja2

from microasgi.requests import Request
from microasgi.templating import Jinja2Templates
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

env = jinja2.Environment(
    loader=jinja2.DictLoader({"price.html": "<b>{{ amount | money }}</b>"}),
    autoescape=True,  # your environment, your choice: turn it on
)
env.filters["money"] = lambda cents: f"${cents / 100:.2f}"
templates = Jinja2Templates(env=env)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    await templates.TemplateResponse(request, "price.html", {"amount": 1999})(scope, receive, send)


async def test_custom_environment() -> None:
    assert templates.env is env
    assert "url_for" in env.globals  # added unless the environment defines its own
    response = await AsyncTestClient(app).get("/")
    assert response.text == "<b>$19.99</b>"
