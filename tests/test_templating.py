"""Jinja2 templates: rendering, autoescape, url_for, context processors, the debug extension."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.requests import Request
from microasgi.responses import Response
from microasgi.routing import Route
from microasgi.templating import Jinja2Templates
from microasgi.testclient import AsyncTestClient
from microasgi.types import Message, Receive, Scope, Send

XSS = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    files = {
        "index.html": "<h1>{{ title }}</h1>",
        "page.html.j2": "<p>{{ title }}</p>",
        "card.jinja": "<div>{{ title }}</div>",
        "note.txt": "note: {{ title }}",
        "link.html": "<a href=\"{{ url_for('user', user_id=7) }}\">{{ request.url.path }}</a>",
        "processed.html": "{{ site }} {{ user }} {{ title }}",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def app_rendering(
    templates: Jinja2Templates, name: str, context: dict[str, Any] | None = None, **options: Any
) -> MicroASGI:
    """An app whose ``/`` renders ``name`` and which has a route named ``user``."""

    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, name, context, **options)

    async def user(request: Request) -> Response:
        return Response(f"user {request.path_params['user_id']}")  # pragma: no cover

    return MicroASGI(routes=[Route("/", page), Route("/users/{user_id:int}", user, name="user")])


# ---------------------------------------------------------------------------------------------
# Rendering and autoescape


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("index.html", f"<h1>{ESCAPED}</h1>"),
        ("page.html.j2", f"<p>{ESCAPED}</p>"),  # Jinja2's own default would not escape this one
        ("card.jinja", f"<div>{ESCAPED}</div>"),
        ("note.txt", f"note: {XSS}"),  # plain text: nothing to escape
    ],
)
async def test_autoescape(template_dir: Path, name: str, expected: str) -> None:
    templates = Jinja2Templates(directory=template_dir)
    response = await AsyncTestClient(app_rendering(templates, name, {"title": XSS})).get("/")
    assert response.status_code == 200
    assert response.text == expected
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_autoescape_for_strings_and_override(template_dir: Path) -> None:
    escaping = Jinja2Templates(directory=template_dir)
    assert escaping.env.from_string("{{ x }}").render(x=XSS) == ESCAPED
    raw = Jinja2Templates(directory=template_dir, autoescape=False, trim_blocks=True)
    assert raw.env.trim_blocks is True
    assert raw.get_template("index.html").render(title=XSS) == f"<h1>{XSS}</h1>"


@pytest.mark.parametrize("kind", [str, Path, "list"])
async def test_directory_forms(template_dir: Path, tmp_path_factory: Any, kind: Any) -> None:
    if kind == "list":
        first = tmp_path_factory.mktemp("first")
        (first / "index.html").write_text("first {{ title }}", encoding="utf-8")
        directory: Any = [first, str(template_dir)]
        expected_index = "first hi"
    else:
        directory = kind(template_dir)
        expected_index = "<h1>hi</h1>"
    templates = Jinja2Templates(directory)
    assert templates.get_template("index.html").render(title="hi") == expected_index
    assert templates.get_template("card.jinja").render(title="hi") == "<div>hi</div>"


def test_missing_template(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    with pytest.raises(jinja2.TemplateNotFound, match=r"nope\.html"):
        templates.get_template("nope.html")


async def test_response_options(template_dir: Path) -> None:
    ran: list[bool] = []

    async def after() -> None:
        ran.append(True)

    templates = Jinja2Templates(directory=template_dir)
    app = app_rendering(
        templates,
        "note.txt",
        {"title": "t"},
        status_code=201,
        headers={"X-Page": "note"},
        media_type="text/plain",
        background=BackgroundTask(after),
    )
    response = await AsyncTestClient(app).get("/")
    assert response.status_code == 201
    assert response.text == "note: t"
    assert response.headers["x-page"] == "note"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert ran == [True]


# ---------------------------------------------------------------------------------------------
# url_for, the request in the context, context processors


async def test_url_for_and_request(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    response = await AsyncTestClient(app_rendering(templates, "link.html")).get("/")
    assert response.text == '<a href="http://testserver/users/7">/</a>'


async def test_environment_url_for_is_kept() -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"a.html": "{{ url_for('x') }}"}))
    env.globals["url_for"] = lambda name: f"/custom/{name}"
    templates = Jinja2Templates(env=env)
    assert templates.env is env
    response = await AsyncTestClient(app_rendering(templates, "a.html")).get("/")
    assert response.text == "/custom/x"


async def test_context_processors(template_dir: Path) -> None:
    seen: list[Request] = []

    def site(request: Request) -> dict[str, Any]:
        seen.append(request)
        return {"site": "Example", "title": "from processor"}

    def user(request: Request) -> dict[str, Any]:
        return {"user": request.headers.get("x-user", "anonymous")}

    templates = Jinja2Templates(directory=template_dir, context_processors=[site, user])
    assert templates.context_processors == [site, user]
    context = {"title": "from view"}
    app = app_rendering(templates, "processed.html", context)
    response = await AsyncTestClient(app).get("/", headers={"x-user": "ada"})
    # Processors win over the view's context, as in Starlette.
    assert response.text == "Example ada from processor"
    assert isinstance(seen[0], Request)
    assert context == {"title": "from view"}  # the caller's dict is left alone
    assert response.context["request"] is seen[0]


async def test_request_given_in_context_is_kept(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = templates.TemplateResponse(request, "index.html", {"request": "mine"})
        assert response.context["request"] == "mine"
        await response(scope, receive, send)

    assert (await AsyncTestClient(app).get("/")).text == "<h1></h1>"


@pytest.mark.parametrize("processor", [42, "site"])
def test_context_processors_must_be_callable(template_dir: Path, processor: Any) -> None:
    with pytest.raises(TypeError, match="Context processors must be plain functions"):
        Jinja2Templates(directory=template_dir, context_processors=[processor])


def test_async_context_processor_is_refused(template_dir: Path) -> None:
    async def site(request: Request) -> dict[str, Any]:
        return {}  # pragma: no cover

    with pytest.raises(TypeError, match="Compute async values in the endpoint"):
        Jinja2Templates(directory=template_dir, context_processors=[site])  # type: ignore[list-item]


# ---------------------------------------------------------------------------------------------
# The http.response.debug extension


async def test_debug_message_when_advertised(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    app = app_rendering(templates, "index.html", {"title": "hi"})
    response = await AsyncTestClient(app).get("/")  # advertises http.response.debug
    assert response.template.name == "index.html"
    assert response.context["title"] == "hi"
    assert isinstance(response.context["request"], Request)
    assert [m["type"] for m in response.extension_messages] == ["http.response.debug"]


async def test_no_debug_message_otherwise(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    app = app_rendering(templates, "index.html", {"title": "hi"})
    response = await AsyncTestClient(app, extensions={}).get("/")
    assert response.text == "<h1>hi</h1>"
    assert response.debug_info is None
    assert response.extension_messages == []


async def test_websocket_scope_gets_no_debug_message(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    request = Request({"type": "http", "method": "GET", "headers": []})
    response = templates.TemplateResponse(request, "index.html", {"title": "hi"})
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("not called")  # pragma: no cover

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "websocket", "headers": [], "extensions": {"http.response.debug": {}}}
    await response(scope, receive, send)
    assert [m["type"] for m in sent] == ["websocket.close"]  # a 403 denial, no debug info


def test_template_response_attributes(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    request = Request({"type": "http", "method": "GET", "headers": []})
    response = templates.TemplateResponse(request, "index.html", {"title": "hi"})
    assert type(response).__name__ == "_TemplateResponse"
    assert response.template.name == "index.html"
    assert response.context == {"title": "hi", "request": request}
    assert response.body == b"<h1>hi</h1>"


# ---------------------------------------------------------------------------------------------
# Configuration errors


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda d: Jinja2Templates(),
            ValueError,
            "exactly one of directory= and env=, got neither",
        ),
        (
            lambda d: Jinja2Templates(d, env=jinja2.Environment()),
            ValueError,
            "exactly one of directory= and env=, got both",
        ),
        (
            lambda d: Jinja2Templates(env=jinja2.Environment(), trim_blocks=True),
            ValueError,
            r"got env= and environment options \['trim_blocks'\]",
        ),
        (
            lambda d: Jinja2Templates(env=jinja2.Environment(enable_async=True)),
            ValueError,
            "enable_async=True",
        ),
        (
            lambda d: Jinja2Templates(d, enable_async=True),
            ValueError,
            "enable_async=True",
        ),
    ],
)
def test_configuration_errors(
    template_dir: Path, make: Callable[[Path], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make(template_dir)


def test_request_must_come_first(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    with pytest.raises(TypeError, match=r"Call TemplateResponse\(request, 'index.html', context\)"):
        templates.TemplateResponse("index.html", {"request": None})  # type: ignore[arg-type]


def test_import_without_jinja2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "microasgi.templating")
    monkeypatch.setitem(sys.modules, "jinja2", None)  # what an uninstalled package looks like
    with pytest.raises(ImportError, match=r"pip install 'microasgi\[templates\]'"):
        importlib.import_module("microasgi.templating")
