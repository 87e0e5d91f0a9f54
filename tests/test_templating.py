"""Jinja2 templates: rendering, autoescape, url_for, context processors, the debug extension,
and loading and rendering when the response is sent, off the event loop."""

from __future__ import annotations

import contextvars
import importlib
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.datastructures import Headers, MutableHeaders
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.templating import Jinja2Templates, _TemplateResponse
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
        "base.html": "<main>{% block main %}{% endblock %}</main>",
        "part.html": "<i>{{ title }}</i>",
        "full.html": '{% extends "base.html" %}{% block main %}{% include "part.html" %}'
        "{% endblock %}",
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
def test_directory_forms(template_dir: Path, tmp_path_factory: Any, kind: Any) -> None:
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
# Loaded and rendered when sent, in a worker thread unless the templates are in memory

SOURCES = {"page.html": "{{ where() }}", "themed/page.html": "themed {{ where() }}"}


class Probe:
    """Where the loader and the template ran: on the loop's thread or in a worker."""

    def __init__(self) -> None:
        self.loop_thread = threading.get_ident()
        self.loads: list[str] = []

    def where(self) -> str:
        return "loop" if threading.get_ident() == self.loop_thread else "worker"

    def load(self, name: str) -> str | None:
        self.loads.append(self.where())
        return SOURCES.get(name)

    def env(self, loader: jinja2.BaseLoader, **options: Any) -> jinja2.Environment:
        env = jinja2.Environment(loader=loader, autoescape=True, **options)
        env.globals["where"] = self.where
        return env


class MyDictLoader(jinja2.DictLoader):
    pass


# (the environment's loader and options, where loading and rendering run)
LOADERS: list[Any] = [
    pytest.param(lambda p, tmp: (jinja2.DictLoader(SOURCES), {}), "loop", id="dict"),
    pytest.param(
        lambda p, tmp: (
            jinja2.ChoiceLoader(
                [jinja2.PrefixLoader({"x": jinja2.DictLoader({})}), jinja2.DictLoader(SOURCES)]
            ),
            {},
        ),
        "loop",
        id="choice-and-prefix-of-dicts",
    ),
    pytest.param(lambda p, tmp: (jinja2.FunctionLoader(p.load), {}), "worker", id="function"),
    pytest.param(
        lambda p, tmp: (
            jinja2.ChoiceLoader([jinja2.DictLoader({}), jinja2.FunctionLoader(p.load)]),
            {},
        ),
        "worker",
        id="choice-with-function",
    ),
    pytest.param(
        lambda p, tmp: (jinja2.PrefixLoader({"x": jinja2.FileSystemLoader(tmp)}), {}),
        "worker",
        id="prefix-with-directory",
    ),
    pytest.param(lambda p, tmp: (MyDictLoader(SOURCES), {}), "worker", id="dict-subclass"),
    pytest.param(
        lambda p, tmp: (
            jinja2.DictLoader(SOURCES),
            {"bytecode_cache": jinja2.FileSystemBytecodeCache(str(tmp))},
        ),
        "worker",
        id="dict-with-bytecode-cache",
    ),
]


@pytest.mark.parametrize(("make", "expected"), LOADERS)
async def test_where_templates_render(tmp_path: Path, make: Any, expected: str) -> None:
    probe = Probe()
    loader, options = make(probe, tmp_path)
    if isinstance(loader, jinja2.PrefixLoader):  # the prefix-with-directory case
        (tmp_path / "page.html").write_text("{{ where() }}", encoding="utf-8")
        name = "x/page.html"
    else:
        name = "page.html"
    templates = Jinja2Templates(env=probe.env(loader, **options))
    response = await AsyncTestClient(app_rendering(templates, name)).get("/")
    assert response.text == expected
    assert set(probe.loads) <= {expected}


async def test_directory_templates_render_in_a_worker(template_dir: Path) -> None:
    probe = Probe()
    (template_dir / "where.html").write_text("{{ where() }}", encoding="utf-8")
    templates = Jinja2Templates(directory=template_dir)
    templates.env.globals["where"] = probe.where
    response = await AsyncTestClient(app_rendering(templates, "where.html")).get("/")
    assert response.text == "worker"


async def test_overridden_get_template_runs_in_a_worker() -> None:
    # A subclass's get_template is the user's code: it may load from anywhere.
    class Themed(Jinja2Templates):
        def get_template(self, name: str) -> jinja2.Template:
            return super().get_template(f"themed/{name}")

    probe = Probe()
    templates = Themed(env=probe.env(jinja2.DictLoader(SOURCES)))
    response = await AsyncTestClient(app_rendering(templates, "page.html")).get("/")
    assert response.text == "themed worker"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(lambda p: jinja2.DictLoader(SOURCES), "loop", id="dict"),
        pytest.param(lambda p: jinja2.FunctionLoader(p.load), "worker", id="function"),
    ],
)
async def test_starlette_private_signature(make: Any, expected: str) -> None:
    # _TemplateResponse(template, context): Starlette's private class, built from a Template.
    probe = Probe()
    template = probe.env(make(probe)).get_template("page.html")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _TemplateResponse(template, {"n": 1}, 201)(scope, receive, send)

    response = await AsyncTestClient(app).get("/")
    assert (response.status_code, response.text) == (201, expected)
    assert response.template is template
    assert response.context == {"n": 1}


def test_private_signature_needs_templates_for_a_name() -> None:
    with pytest.raises(TypeError, match=r"Use templates\.TemplateResponse\(request, 'a\.html'"):
        _TemplateResponse("a.html", {})


async def test_nothing_is_loaded_until_sent() -> None:
    probe = Probe()
    templates = Jinja2Templates(env=probe.env(jinja2.FunctionLoader(probe.load)))
    request = Request({"type": "http", "method": "GET", "headers": []})
    response = templates.TemplateResponse(request, "page.html")
    missing = templates.TemplateResponse(request, "missing.html")  # raised when sent
    assert probe.loads == []
    assert response.context == {"request": request}
    assert missing.status_code == 200


async def test_context_variables_reach_the_worker() -> None:
    # What middleware or the endpoint set (a locale, a user) is visible to template globals.
    locale: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default="en")
    probe = Probe()
    sources = {"page.html": "{{ locale() }} {{ where() }}"}
    templates = Jinja2Templates(env=probe.env(jinja2.FunctionLoader(sources.get)))
    templates.env.globals["locale"] = locale.get

    async def page(request: Request) -> Response:
        locale.set("fr")
        return templates.TemplateResponse(request, "page.html")

    response = await AsyncTestClient(MicroASGI(routes=[Route("/", page)])).get("/")
    assert response.text == "fr worker"


async def test_auto_reload_sees_an_edited_template(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    assert templates.env.auto_reload is True  # Jinja2's default
    client = AsyncTestClient(app_rendering(templates, "full.html", {"title": "hi"}))
    assert (await client.get("/")).text == "<main><i>hi</i></main>"
    part = template_dir / "part.html"
    part.write_text("<b>{{ title }}</b>", encoding="utf-8")
    stat = part.stat()
    os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a visibly newer mtime
    assert (await client.get("/")).text == "<main><b>hi</b></main>"


def test_ported_starlette_test(tmp_path: Path, test_client_factory: Callable[..., Any]) -> None:
    # Starlette's tests/test_templates.py::test_templates, with only the names changed.
    path = os.path.join(tmp_path, "index.html")
    with open(path, "w") as file:
        file.write("<html>Hello, <a href='{{ url_for('homepage') }}'>world</a></html>")

    async def homepage(request: Request) -> Response:
        return templates.TemplateResponse(request, "index.html")

    app = MicroASGI(debug=True, routes=[Route("/", endpoint=homepage)])
    templates = Jinja2Templates(directory=str(tmp_path))

    client = test_client_factory(app)
    response = client.get("/")
    assert response.text == "<html>Hello, <a href='http://testserver/'>world</a></html>"
    assert response.template.name == "index.html"
    assert set(response.context.keys()) == {"request"}


# ---------------------------------------------------------------------------------------------
# Headers and body before the response is sent


def counting_templates() -> tuple[Jinja2Templates, Probe]:
    probe = Probe()
    sources = {"page.html": "<p>héllo</p>"}  # 13 bytes in UTF-8

    def load(name: str) -> str | None:
        probe.loads.append(name)
        return sources.get(name)

    return Jinja2Templates(env=probe.env(jinja2.FunctionLoader(load))), probe


def unsent(templates: Jinja2Templates, **options: Any) -> _TemplateResponse:
    request = Request({"type": "http", "method": "GET", "headers": []})
    return templates.TemplateResponse(request, "page.html", **options)


HEADER_WRITES: list[Callable[[_TemplateResponse], object]] = [
    lambda r: r.headers.__setitem__("x-set", "1"),
    lambda r: r.headers.__delitem__("x-given"),
    lambda r: r.headers.append("x-appended", "2"),
    lambda r: r.headers.update({"x-updated": "3"}),
    lambda r: r.headers.add_vary_header("Cookie"),
    lambda r: r.headers.__ior__({"x-merged": "4"}),
    lambda r: r.set_cookie("session", "abc"),
    lambda r: r.delete_cookie("old"),
]


async def test_writing_headers_loads_nothing() -> None:
    templates, probe = counting_templates()

    async def page(request: Request) -> Response:
        response = templates.TemplateResponse(request, "page.html", headers={"x-given": "0"})
        for write in HEADER_WRITES:
            write(response)
        assert probe.loads == []  # still nothing read: the endpoint stays off the disk
        return response

    response = await AsyncTestClient(MicroASGI(routes=[Route("/", page)])).get("/")
    assert probe.loads == ["page.html"]
    assert response.text == "<p>héllo</p>"
    assert response.headers["content-length"] == "13"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "x-given" not in response.headers
    assert [response.headers[f"x-{n}"] for n in ("set", "appended", "updated", "merged")] == [
        "1",
        "2",
        "3",
        "4",
    ]
    assert response.headers["vary"] == "Cookie"
    assert response.headers.getlist("set-cookie")[0].startswith("session=abc")


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (lambda h: h["content-length"], "13"),
        (lambda h: h.get("content-length"), "13"),
        (lambda h: h.getlist("content-length"), ["13"]),
        (lambda h: h.keys(), ["content-length", "content-type"]),
        (lambda h: list(h), ["content-length", "content-type"]),
        (lambda h: h.values()[0], "13"),
        (lambda h: h.items()[0], ("content-length", "13")),
        (lambda h: h.raw[0], (b"content-length", b"13")),
        (lambda h: "content-length" in h, True),
        (lambda h: len(h), 2),
        (lambda h: h == Headers({"content-type": "text/html; charset=utf-8"}), False),
        (lambda h: h.mutablecopy()["content-length"], "13"),
        (lambda h: (h | {"x": "1"})["content-length"], "13"),
        (lambda h: h.setdefault("content-length", "99"), "13"),
        (lambda h: "content-length" in repr(h), True),
    ],
)
def test_reading_headers_renders_first(
    read: Callable[[MutableHeaders], Any], expected: Any
) -> None:
    # Rare, and documented: reading before the response is sent does the work on the spot.
    templates, probe = counting_templates()
    response = unsent(templates)
    assert read(response.headers) == expected
    assert probe.loads == ["page.html"]
    assert response.body == b"<p>h\xc3\xa9llo</p>"
    assert probe.loads == ["page.html"]  # rendered once


def test_header_order_matches_starlette(template_dir: Path) -> None:
    from starlette.requests import Request as StarletteRequest
    from starlette.templating import Jinja2Templates as StarletteTemplates

    scope: Scope = {"type": "http", "method": "GET", "headers": []}
    theirs = StarletteTemplates(directory=template_dir).TemplateResponse(
        StarletteRequest(scope), "index.html", {"title": "hi"}, headers={"x-a": "1"}
    )
    ours = Jinja2Templates(directory=template_dir).TemplateResponse(
        Request(scope), "index.html", {"title": "hi"}, headers={"x-a": "1"}
    )
    for response in (theirs, ours):
        response.set_cookie("s", "v")
    assert b"content-length" not in dict(ours.raw_headers)  # not rendered yet
    assert ours.body == theirs.body
    assert [name for name, _ in ours.raw_headers] == [name for name, _ in theirs.raw_headers]
    assert ours.raw_headers[:3] == theirs.raw_headers[:3]


@pytest.mark.parametrize(
    ("options", "edit", "expected"),
    [
        ({"status_code": 204}, None, None),  # no Content-Length on 204, as on any response
        ({"headers": {"Content-Length": "5"}}, None, "5"),  # the caller's own is kept
        ({}, lambda r: r.headers.__setitem__("content-length", "7"), "7"),  # set by hand
    ],
)
def test_content_length_rules(
    options: dict[str, Any], edit: Callable[[_TemplateResponse], None] | None, expected: str | None
) -> None:
    templates, _ = counting_templates()
    response = unsent(templates, **options)
    if edit is not None:
        edit(response)
    assert response.body == b"<p>h\xc3\xa9llo</p>"
    lengths = [value for name, value in response.raw_headers if name == b"content-length"]
    assert lengths == ([] if expected is None else [expected.encode()])


async def test_body_set_before_sending_replaces_the_template() -> None:
    templates, probe = counting_templates()

    async def page(request: Request) -> Response:
        response = templates.TemplateResponse(request, "page.html")
        response.body = b"replaced"
        return response

    app = MicroASGI(routes=[Route("/", page)])
    response = await AsyncTestClient(app, extensions={}).get("/")
    assert (response.text, response.headers["content-length"]) == ("replaced", "8")
    assert probe.loads == []  # nothing to render
    # A test client still gets the template in the debug info: loaded, off the loop.
    response = await AsyncTestClient(app).get("/")
    assert (response.text, response.template.name) == ("replaced", "page.html")
    assert probe.loads == ["page.html"]


async def test_a_response_sent_twice_renders_once(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    response = templates.TemplateResponse(
        Request({"type": "http", "method": "GET", "headers": []}), "index.html", {"title": "x"}
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await response(scope, receive, send)

    client = AsyncTestClient(app)
    first = await client.get("/")
    (template_dir / "index.html").write_text("changed", encoding="utf-8")
    again = await client.get("/")
    assert first.text == again.text == "<h1>x</h1>"


# ---------------------------------------------------------------------------------------------
# Errors surface when the response is sent, through the app's error handling

BROKEN = {
    "division.html": "{{ 1 // 0 }}",
    "strict.html": "{{ nothing.here }}",
    "include.html": '{% include "gone.html" %}',
    "syntax.html": "{% if %}",
}


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("missing.html", jinja2.TemplateNotFound),
        ("include.html", jinja2.TemplateNotFound),
        ("division.html", ZeroDivisionError),
        ("strict.html", jinja2.UndefinedError),
        ("syntax.html", jinja2.TemplateSyntaxError),
    ],
)
async def test_template_errors_answer_500(
    tmp_path: Path, name: str, error: type[Exception]
) -> None:
    for file, text in BROKEN.items():
        (tmp_path / file).write_text(text, encoding="utf-8")
    ran: list[bool] = []

    async def after() -> None:
        ran.append(True)  # pragma: no cover

    templates = Jinja2Templates(directory=tmp_path, undefined=jinja2.StrictUndefined)
    app = app_rendering(templates, name, background=BackgroundTask(after))
    with pytest.raises(error):  # the error reaches the server, as any endpoint error does
        await AsyncTestClient(app).get("/")
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/")
    assert response.status_code == 500
    assert response.extension_messages == []  # no debug info before the error page
    assert ran == []


async def test_template_not_found_handler(template_dir: Path) -> None:
    # The way to answer 404 for a missing template: TemplateResponse() no longer raises it.
    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, jinja2.TemplateNotFound)
        return PlainTextResponse(f"no page {exc.name}", status_code=404)

    templates = Jinja2Templates(directory=template_dir)

    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, f"{request.path_params['name']}.html")

    app = MicroASGI(
        routes=[Route("/{name}", page)],
        exception_handlers={jinja2.TemplateNotFound: not_found},
    )
    client = AsyncTestClient(app)
    assert (await client.get("/nope")).text == "no page nope.html"
    assert (await client.get("/index")).status_code == 200


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


@pytest.mark.parametrize("both", [False, True])
def test_directory_or_env_errors_are_starlettes_assertion_errors_too(
    template_dir: Path, both: bool
) -> None:
    # Starlette asserts exactly one of directory= and env=: AssertionError keeps working.
    env = jinja2.Environment() if both else None
    directory = template_dir if both else None
    with pytest.raises(AssertionError, match="exactly one of directory= and env="):
        Jinja2Templates(directory, env=env)
    with pytest.raises(
        AssertionError, match="either 'directory' or 'env' arguments must be passed"
    ):
        Jinja2Templates(directory, env=env)


def test_request_must_come_first(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    with pytest.raises(TypeError, match=r"Call TemplateResponse\(request, 'index.html', context\)"):
        templates.TemplateResponse("index.html", {"request": None})  # type: ignore[arg-type]


def test_import_without_jinja2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "microasgi.templating")
    monkeypatch.setitem(sys.modules, "jinja2", None)  # what an uninstalled package looks like
    with pytest.raises(ImportError, match=r"pip install 'microasgi\[templates\]'"):
        importlib.import_module("microasgi.templating")
