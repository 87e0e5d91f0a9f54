"""A raw ASGI app rendering a template; autoescaping keeps user input inert."""

from __future__ import annotations

from pathlib import Path

from microasgi.requests import Request
from microasgi.templating import Jinja2Templates
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    name = request.query_params.get("name", "world")
    response = templates.TemplateResponse(request, "hello.html", {"name": name})
    await response(scope, receive, send)


async def test_render() -> None:
    client = AsyncTestClient(app)
    response = await client.get("/", params={"name": "Ada"})
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<h1>Hello, Ada!</h1>"


async def test_autoescape() -> None:
    response = await AsyncTestClient(app).get("/", params={"name": "<script>alert(1)</script>"})
    assert response.text == "<h1>Hello, &lt;script&gt;alert(1)&lt;/script&gt;!</h1>"
    assert "<script>" not in response.text


def test_plain_text_templates_are_not_escaped() -> None:
    motd = templates.get_template("motd.txt").render(message="1 < 2 & 3 > 2")
    assert motd == "Message of the day: 1 < 2 & 3 > 2"
