"""Templates are loaded and rendered when the response is sent, off the event loop."""

from __future__ import annotations

from pathlib import Path

import jinja2

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.templating import Jinja2Templates
from microasgi.testclient import AsyncTestClient

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES)


async def page(request: Request) -> Response:
    name = request.path_params["name"]
    # Nothing is read from disk here: the template is loaded when the response is sent.
    response = templates.TemplateResponse(request, f"{name}.html", {"name": "Ada"})
    response.headers["HX-Trigger"] = "page-loaded"  # writing headers renders nothing
    response.set_cookie("visited", name)
    return response


async def no_such_page(request: Request, exc: Exception) -> Response:
    # TemplateNotFound is raised when the response is sent: handle it here, not with a
    # try/except around TemplateResponse().
    return PlainTextResponse("No such page.", status_code=404)


app = MicroASGI(
    routes=[Route("/pages/{name}", page)],
    exception_handlers={jinja2.TemplateNotFound: no_such_page},
)

# Templates held in memory render on the event loop, without a worker thread: read them once,
# at startup (here, at import), when blocking is fine. No auto_reload: restart to see edits.
in_memory = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.DictLoader(
            {
                path.relative_to(TEMPLATES).as_posix(): path.read_text(encoding="utf-8")
                for path in TEMPLATES.rglob("*.html")
            }
        ),
        autoescape=True,
    )
)


async def test_rendered_when_sent() -> None:
    response = await AsyncTestClient(app).get("/pages/hello")
    assert response.text == "<h1>Hello, Ada!</h1>"
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["hx-trigger"] == "page-loaded"
    assert response.template.name == "hello.html"


async def test_missing_template_is_a_404() -> None:
    response = await AsyncTestClient(app).get("/pages/nope")
    assert (response.status_code, response.text) == (404, "No such page.")


async def test_in_memory_templates() -> None:
    async def hello(request: Request) -> Response:
        return in_memory.TemplateResponse(request, "hello.html", {"name": "<Ada>"})

    response = await AsyncTestClient(MicroASGI(routes=[Route("/", hello)])).get("/")
    assert response.text == "<h1>Hello, &lt;Ada&gt;!</h1>"
