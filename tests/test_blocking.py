"""Nothing in microasgi blocks the event loop: representative requests under ``blockbuster``.

Each test serves requests with ``tests/_blocking.forbid_blocking()`` active, on asyncio and on
trio: a blocking call (``os.stat``, ``open``, a file read, ``os.path.abspath``, ``time.sleep``
...) made on the loop's thread from microasgi code raises ``BlockingError`` and fails the test.
The whole suite can run the same way with ``pytest --blockbuster``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import jinja2
import pytest
from _blocking import BlockingError, forbid_blocking

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import FileResponse, JSONResponse, Response
from microasgi.routing import Mount, Route, WebSocketRoute
from microasgi.staticfiles import StaticFiles
from microasgi.templating import Jinja2Templates
from microasgi.testclient import AsyncTestClient, WebSocketDenialResponse
from microasgi.websockets import WebSocket

CONTENT = b"0123456789" * 1000


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A directory with a file of each kind, an index page, a 404 page and templates."""
    (tmp_path / "data.bin").write_bytes(CONTENT)
    (tmp_path / "notes.unknownext").write_bytes(b"notes")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.html").write_bytes(b"<h1>docs</h1>")
    (tmp_path / "404.html").write_bytes(b"<h1>missing</h1>")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("<p>{{ title }}</p>", encoding="utf-8")
    return tmp_path


# --- the detector itself ---------------------------------------------------------------------


async def test_a_blocking_call_on_the_loop_is_caught(site: Path) -> None:
    # The detector must see blocking calls on both backends (blockbuster alone sees asyncio only).
    async def blocking(request: Request) -> Response:
        return Response(str(os.stat(site / "data.bin").st_size))

    app = MicroASGI(routes=[Route("/", blocking)])
    with forbid_blocking(), pytest.raises(BlockingError, match=r"os\.stat"):
        await AsyncTestClient(app).get("/")


async def test_open_and_sleep_are_caught_too(site: Path) -> None:
    async def reads(request: Request) -> Response:
        with open(site / "data.bin", "rb") as file:  # noqa: ASYNC230 - on purpose
            return Response(file.read(1))

    async def sleeps(request: Request) -> Response:
        time.sleep(0)  # noqa: ASYNC251 - on purpose
        return Response()

    app = MicroASGI(routes=[Route("/read", reads), Route("/sleep", sleeps)])
    with forbid_blocking():
        with pytest.raises(BlockingError, match="open"):
            await AsyncTestClient(app).get("/read")
        with pytest.raises(BlockingError, match=r"time\.sleep"):
            await AsyncTestClient(app).get("/sleep")


async def test_blocking_in_a_worker_thread_is_fine(site: Path) -> None:
    def endpoint(request: Request) -> Response:  # sync: runs in a worker thread
        with open(site / "data.bin", "rb") as file:
            return Response(file.read(3))

    with forbid_blocking():
        response = await AsyncTestClient(MicroASGI(routes=[Route("/", endpoint)])).get("/")
    assert response.content == b"012"


# --- file responses --------------------------------------------------------------------------


PATHSEND: dict[str, Any] = {"http.response.pathsend": {}}
ZEROCOPY: dict[str, Any] = {"http.response.zerocopysend": {}}


@pytest.mark.parametrize(
    "extensions",
    [pytest.param(None, id="chunks"), pytest.param(PATHSEND, id="pathsend"), ZEROCOPY],
)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="whole"),
        pytest.param({"range": "bytes=0-9"}, id="range"),
        pytest.param({"range": "bytes=0-1,5-6"}, id="ranges"),
    ],
)
async def test_file_response(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    extensions: dict[str, Any] | None,
    headers: dict[str, str],
) -> None:
    monkeypatch.chdir(site)

    async def download(request: Request) -> Response:
        # Built on the loop, from a relative path and a name whose type is guessed.
        return FileResponse("data.bin", filename="résumé.pdf")

    async def unknown(request: Request) -> Response:
        return FileResponse(site / "notes.unknownext")

    app = MicroASGI(routes=[Route("/", download), Route("/unknown", unknown)])
    client = AsyncTestClient(app, extensions=extensions)
    with forbid_blocking():
        response = await client.get("/", headers=headers)
        head = await client.head("/")
        etag = head.headers["etag"]
        not_modified = await client.get("/", headers={"if-none-match": etag})
        other = await client.get("/unknown")
    assert response.status_code == (206 if headers else 200)
    if not headers:
        assert response.content == CONTENT
    assert response.headers["content-type"].startswith(("application/pdf", "multipart/"))
    assert head.content == b""
    assert not_modified.status_code == 304
    assert other.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    "extensions", [pytest.param(None, id="chunks"), pytest.param(PATHSEND, id="pathsend")]
)
async def test_file_response_with_a_stat_result(
    site: Path, monkeypatch: pytest.MonkeyPatch, extensions: dict[str, Any] | None
) -> None:
    # The lookup is skipped; resolving the relative path for pathsend still runs off the loop.
    monkeypatch.chdir(site)
    stat_result = os.stat("data.bin")

    async def given(request: Request) -> Response:
        return FileResponse("data.bin", stat_result=stat_result)

    with forbid_blocking():
        response = await AsyncTestClient(
            MicroASGI(routes=[Route("/", given)]), extensions=extensions
        ).get("/")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(CONTENT))


async def test_file_response_denies_a_websocket(site: Path) -> None:
    async def deny(websocket: WebSocket) -> None:
        await FileResponse(site / "404.html", status_code=404)(
            websocket.scope, websocket.receive, websocket.send
        )

    app = MicroASGI(routes=[WebSocketRoute("/ws", deny)])
    with forbid_blocking(), pytest.raises(WebSocketDenialResponse) as denial:
        async with AsyncTestClient(app).websocket_connect("/ws"):
            pass  # pragma: no cover
    assert denial.value.status_code == 404
    assert denial.value.content == b"<h1>missing</h1>"


# --- static files ----------------------------------------------------------------------------


@pytest.mark.parametrize("check_dir", [True, False])
async def test_static_files(site: Path, check_dir: bool) -> None:
    static = StaticFiles(directory=site, html=True, check_dir=check_dir)
    app = MicroASGI(routes=[Mount("/static", static, name="static")])
    client = AsyncTestClient(app, follow_redirects=False)
    with forbid_blocking():
        found = await client.get("/static/data.bin", headers={"range": "bytes=1-2"})
        index = await client.get("/static/docs/")
        redirect = await client.get("/static/docs")
        missing = await client.get("/static/nothing.txt")
        escape = await client.get("/static/../secret")
    assert found.status_code == 206
    assert found.content == b"12"
    assert index.content == b"<h1>docs</h1>"
    assert redirect.status_code == 307
    assert missing.status_code == 404
    assert missing.content == b"<h1>missing</h1>"
    assert escape.status_code == 404


# --- forms and uploads -----------------------------------------------------------------------


async def test_form_upload_spooled_to_disk(site: Path) -> None:
    async def upload(request: Request) -> Response:
        async with request.form(max_part_size=4 * 1024 * 1024) as form:
            file = form["file"]
            assert not isinstance(file, str)
            # SpooledTemporaryFile's flag: the part went to a file on disk.
            assert file.file._rolled  # type: ignore[attr-defined]
            data = await file.read()
            await file.seek(0)
            head = await file.read(4)
            return JSONResponse(
                {"size": len(data), "head": head.decode(), "name": file.filename, "x": form["x"]}
            )

    big = b"x" * (3 * 1024 * 1024)  # past the 1 MiB spool threshold: written to disk
    app = MicroASGI(routes=[Route("/", upload, methods=["POST"])])
    with forbid_blocking():
        response = await AsyncTestClient(app).post(
            "/", data={"x": "1"}, files={"file": ("big.bin", big, "application/octet-stream")}
        )
    assert response.json() == {"size": len(big), "head": "xxxx", "name": "big.bin", "x": "1"}


# --- templates -------------------------------------------------------------------------------


def page_app(templates: Jinja2Templates) -> MicroASGI:
    def site_name(request: Request) -> dict[str, Any]:
        return {"site": "example"}

    templates.context_processors.append(site_name)

    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "page.html", {"title": "hi"})

    return MicroASGI(routes=[Route("/", page, name="page")])


async def test_templates_from_memory() -> None:
    # microasgi's own part of rendering (context, processors, url_for, the debug message).
    loader = jinja2.DictLoader({"page.html": "<p>{{ title }} {{ site }} {{ url_for('page') }}</p>"})
    app = page_app(Jinja2Templates(env=jinja2.Environment(loader=loader, autoescape=True)))
    client = AsyncTestClient(app, extensions={"http.response.debug": {}})
    with forbid_blocking():
        response = await client.get("/")
    assert response.text == "<p>hi example http://testserver/</p>"


async def test_templates_from_a_directory(site: Path) -> None:
    # FileSystemLoader stats and reads files on first load, stats them again on every use with
    # auto_reload, and loads extended and included templates while rendering: all off the loop.
    templates_dir = site / "templates"
    (templates_dir / "base.html").write_text(
        "<main>{% block main %}{% endblock %}</main>", encoding="utf-8"
    )
    (templates_dir / "part.html").write_text("<i>{{ site }}</i>", encoding="utf-8")
    (templates_dir / "full.html").write_text(
        '{% extends "base.html" %}{% block main %}{% include "part.html" %}{{ title }}'
        "{% endblock %}",
        encoding="utf-8",
    )

    async def full(request: Request) -> Response:
        response = templates.TemplateResponse(request, "full.html", {"title": "hi"})
        response.headers["x-page"] = "full"  # writing headers renders nothing
        response.set_cookie("seen", "1")
        return response

    async def missing(request: Request) -> Response:
        return templates.TemplateResponse(request, "missing.html")

    with forbid_blocking():
        # Construction touches no file either (the directory is not checked).
        templates = Jinja2Templates(directory=site / "templates", auto_reload=True)
        app = page_app(templates)
        app.add_route("/full", full)
        app.add_route("/missing", missing)
        client = AsyncTestClient(app, raise_server_exceptions=False)
        first = await client.get("/")
        again = await client.get("/")
        page = await client.get("/full")
        page_again = await client.get("/full")
        not_found = await client.get("/missing")
    assert first.text == again.text == "<p>hi</p>"
    assert first.template.name == "page.html"
    assert page.text == page_again.text == "<main><i>example</i>hi</main>"
    assert page.headers["content-length"] == str(len(page.content))
    assert (page.headers["x-page"], page.cookies["seen"]) == ("full", "1")
    assert not_found.status_code == 500
