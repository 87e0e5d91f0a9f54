"""url_for in templates, context processors, and what the test client sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.templating import Jinja2Templates
from microasgi.testclient import AsyncTestClient


def site(request: Request) -> dict[str, Any]:
    # Called with the request for every TemplateResponse; its keys join the context.
    return {"site_name": f"Example ({request.url.hostname})"}


templates = Jinja2Templates(
    directory=Path(__file__).parent / "templates", context_processors=[site]
)


async def profile(request: Request) -> Response:
    context = {"user_id": 7, "nickname": "ada"}
    return templates.TemplateResponse(request, "profile.html", context)


async def user(request: Request) -> Response:
    return PlainTextResponse(f"user {request.path_params['user_id']}")


app = MicroASGI(
    routes=[
        Route("/profile", profile),
        Route("/users/{user_id:int}", user, name="user"),
    ]
)


async def test_url_for_and_context_processor() -> None:
    response = await AsyncTestClient(app).get("/profile")
    assert response.text == (
        '<title>Example (testserver)</title>\n<a href="http://testserver/users/7">ada</a>'
    )


async def test_template_and_context_in_tests() -> None:
    # The test client advertises http.response.debug, so the response says what was rendered.
    response = await AsyncTestClient(app).get("/profile")
    assert response.template.name == "profile.html"
    assert response.context["nickname"] == "ada"
    assert isinstance(response.context["request"], Request)


async def test_no_debug_info_for_real_servers() -> None:
    # Servers do not advertise the extension: nothing but the response is sent.
    response = await AsyncTestClient(app, extensions={}).get("/profile")
    assert response.debug_info is None
