"""StaticFiles: serving, html mode, packages, configuration errors and path traversal."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse
from microasgi.routing import Mount, Route
from microasgi.staticfiles import StaticFiles
from microasgi.testclient import AsyncTestClient
from microasgi.types import Message

SECRET = b"top secret"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """tmp/static holds the served files; tmp/secret.txt must never be served."""
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "docs").mkdir()
    (static / "empty").mkdir()
    (static / "hello.txt").write_bytes(b"hello")
    (static / "css" / "app.css").write_bytes(b"body {}")
    (static / "index.html").write_bytes(b"<h1>home</h1>")
    (static / "docs" / "index.html").write_bytes(b"<h1>docs</h1>")
    (static / "a%2e%2e").write_bytes(b"literal name")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "static-evil").mkdir()
    (tmp_path / "static-evil" / "x.txt").write_bytes(SECRET)
    return static


def mounted(static: StaticFiles, **kw: Any) -> AsyncTestClient:
    app = MicroASGI(routes=[Mount("/static", app=static, name="static")])
    return AsyncTestClient(app, follow_redirects=False, **kw)


# --- serving ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "content", "content_type"),
    [
        ("/static/hello.txt", 200, b"hello", "text/plain; charset=utf-8"),
        ("/static/css/app.css", 200, b"body {}", "text/css; charset=utf-8"),
        ("/static/./css//app.css", 200, b"body {}", "text/css; charset=utf-8"),
        ("/static/a%252e%252e", 200, b"literal name", "application/octet-stream"),
        ("/static/missing.txt", 404, b"Not Found", "text/plain; charset=utf-8"),
        ("/static/css", 404, b"Not Found", "text/plain; charset=utf-8"),  # no html mode
        ("/static/", 404, b"Not Found", "text/plain; charset=utf-8"),
    ],
)
async def test_serves_files(
    root: Path, url: str, status: int, content: bytes, content_type: str
) -> None:
    response = await mounted(StaticFiles(directory=root)).get(url)
    assert response.status_code == status
    assert response.content == content
    assert response.headers["content-type"] == content_type


async def test_head_and_conditional_get(root: Path) -> None:
    client = mounted(StaticFiles(directory=str(root)))
    head = await client.head("/static/hello.txt")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == "5"
    again = await client.get("/static/hello.txt", headers={"if-none-match": head.headers["etag"]})
    assert again.status_code == 304
    ranged = await client.get("/static/hello.txt", headers={"range": "bytes=1-2"})
    assert ranged.status_code == 206
    assert ranged.content == b"el"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_other_methods_get_405_with_allow(root: Path, method: str) -> None:
    response = await mounted(StaticFiles(directory=root)).request(method, "/static/hello.txt")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_pathsend_is_used(root: Path) -> None:
    client = mounted(StaticFiles(directory=root), extensions={"http.response.pathsend": {}})
    response = await client.get("/static/hello.txt")
    assert response.extension_messages == [
        {"type": "http.response.pathsend", "path": str(root / "hello.txt")}
    ]


async def test_url_for_through_the_mount(root: Path) -> None:
    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.url_for("static", path="/css/app.css")))

    app = MicroASGI(
        routes=[
            Route("/", page),
            Mount("/static", app=StaticFiles(directory=root), name="static"),
        ]
    )
    client = AsyncTestClient(app)
    url = (await client.get("/")).text
    assert url == "http://testserver/static/css/app.css"
    assert (await client.get(url)).content == b"body {}"
    assert app.url_path_for("static", path="/hello.txt") == "/static/hello.txt"


async def test_standalone_raises_http_exceptions(root: Path) -> None:
    with pytest.raises(HTTPException) as info:
        await AsyncTestClient(StaticFiles(directory=root)).get("/missing")
    assert info.value.status_code == 404
    response = await AsyncTestClient(StaticFiles(directory=root)).get("/hello.txt")
    assert response.content == b"hello"


async def test_root_path_mount(root: Path) -> None:
    response = await mounted(StaticFiles(directory=root), root_path="/prefix").get(
        "/static/hello.txt"
    )
    assert response.content == b"hello"


async def test_directories_and_packages_in_order(root: Path, package: str) -> None:
    (root / "shared.txt").write_bytes(b"from directory")
    static = StaticFiles(directory=root, packages=[package])
    client = mounted(static)
    assert (await client.get("/static/shared.txt")).content == b"from directory"
    assert (await client.get("/static/pkg.txt")).content == b"from package"


async def test_special_files_are_not_served(root: Path) -> None:
    os.mkfifo(root / "fifo")
    response = await mounted(StaticFiles(directory=root)).get("/static/fifo")
    assert response.status_code == 404


async def test_long_names_are_404(root: Path) -> None:
    response = await mounted(StaticFiles(directory=root)).get("/static/" + "a" * 5000)
    assert response.status_code == 404


async def test_websocket_is_refused(root: Path) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await StaticFiles(directory=root)({"type": "websocket", "path": "/"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1000}]


async def test_lifespan_scope_raises(root: Path) -> None:
    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        raise AssertionError("not called")

    with pytest.raises(ValueError, match="StaticFiles answers 'http' scopes, got 'lifespan'"):
        await StaticFiles(directory=root)({"type": "lifespan"}, receive, send)


def test_lookup_path_before_any_request(root: Path) -> None:
    static = StaticFiles(directory=root)
    full, stat_result = static.lookup_path("hello.txt")
    assert full == os.path.realpath(root / "hello.txt")
    assert stat_result is not None
    assert static.lookup_path("nope.txt") == ("", None)


# --- html mode -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "content", "location"),
    [
        ("/static/", 200, b"<h1>home</h1>", None),
        ("/static", 307, b"", "/static/"),
        ("/static/docs/", 200, b"<h1>docs</h1>", None),
        ("/static/docs", 307, b"", "/static/docs/"),
        ("/static/docs?x=1&y=%20", 307, b"", "/static/docs/?x=1&y=%20"),
        ("/static/hello.txt", 200, b"hello", None),
        ("/static/missing", 404, b"<h1>gone</h1>", None),
        ("/static/empty", 404, b"<h1>gone</h1>", None),  # a directory without index.html
        ("/static/empty/", 404, b"<h1>gone</h1>", None),
    ],
)
async def test_html_mode(
    root: Path, url: str, status: int, content: bytes, location: str | None
) -> None:
    (root / "404.html").write_bytes(b"<h1>gone</h1>")
    response = await mounted(StaticFiles(directory=root, html=True)).get(url)
    assert response.status_code == status
    assert response.content == content
    assert response.headers.get("location") == location
    if status == 404:
        assert response.headers["content-type"] == "text/html; charset=utf-8"


async def test_html_mode_404_page_ignores_conditions(root: Path) -> None:
    (root / "404.html").write_bytes(b"<h1>gone</h1>")
    response = await mounted(StaticFiles(directory=root, html=True)).get(
        "/static/missing", headers={"if-none-match": "*", "range": "bytes=0-1"}
    )
    assert response.status_code == 404
    assert response.content == b"<h1>gone</h1>"


async def test_html_mode_without_404_page(root: Path) -> None:
    response = await mounted(StaticFiles(directory=root, html=True)).get("/static/missing")
    assert response.status_code == 404
    assert response.content == b"Not Found"


async def test_html_redirect_is_relative(root: Path) -> None:
    client = mounted(StaticFiles(directory=root, html=True), headers={"host": "evil.example"})
    response = await client.get("/static/docs")
    assert response.headers["location"] == "/static/docs/"


# --- configuration ---------------------------------------------------------------------------


def test_missing_directory_raises_at_construction(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        StaticFiles(directory=tmp_path / "nope")


async def test_missing_directory_checked_at_first_request(tmp_path: Path) -> None:
    static = StaticFiles(directory=tmp_path / "nope", check_dir=False)
    with pytest.raises(RuntimeError, match=r"StaticFiles directory .*nope.* does not exist"):
        await AsyncTestClient(static).get("/x")


async def test_directory_created_after_construction(tmp_path: Path) -> None:
    static = StaticFiles(directory=tmp_path / "later", check_dir=False)
    make_dir(tmp_path / "later", {"a.txt": b"late"})
    assert (await AsyncTestClient(static).get("/a.txt")).content == b"late"


async def test_file_instead_of_directory(tmp_path: Path) -> None:
    make_dir(tmp_path, {"file.txt": b"x"})
    static = StaticFiles(directory=tmp_path / "file.txt", check_dir=False)
    with pytest.raises(RuntimeError, match="is not a directory"):
        await AsyncTestClient(static).get("/x")


def make_dir(path: Path, files: dict[str, bytes]) -> None:
    path.mkdir(exist_ok=True)
    for name, data in files.items():
        (path / name).write_bytes(data)


def test_nothing_to_serve() -> None:
    with pytest.raises(ValueError, match="give directory= or packages="):
        StaticFiles()


# --- packages --------------------------------------------------------------------------------


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable package with statics/ and assets/ folders, and a namespace package."""
    base = tmp_path / "site"
    pkg = base / "staticpkg"
    (pkg / "statics").mkdir(parents=True)
    (pkg / "assets").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "statics" / "pkg.txt").write_bytes(b"from package")
    (pkg / "assets" / "asset.txt").write_bytes(b"an asset")
    (base / "nspkg" / "statics").mkdir(parents=True)
    (base / "nspkg" / "statics" / "ns.txt").write_bytes(b"namespace")
    monkeypatch.syspath_prepend(str(base))
    for name in ("staticpkg", "nspkg"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return "staticpkg"


@pytest.mark.parametrize(
    ("packages", "url", "content"),
    [
        (["staticpkg"], "/pkg.txt", b"from package"),
        ([("staticpkg", "assets")], "/asset.txt", b"an asset"),
        (["nspkg"], "/ns.txt", b"namespace"),
        (["staticpkg", ("staticpkg", "assets")], "/asset.txt", b"an asset"),
    ],
)
async def test_packages(package: str, packages: list[Any], url: str, content: bytes) -> None:
    response = await AsyncTestClient(StaticFiles(packages=packages)).get(url)
    assert response.content == content


@pytest.mark.parametrize(
    ("packages", "error", "match"),
    [
        (["no_such_package_xyz"], ValueError, "cannot find the package 'no_such_package_xyz'"),
        (["no_such_package_xyz.sub"], ValueError, "cannot find the package"),
        ([("staticpkg", "missing")], ValueError, "Directory 'missing' in package 'staticpkg'"),
        (["sys"], ValueError, "cannot locate the files of package 'sys'"),
        ("staticpkg", TypeError, r"Use packages=\['staticpkg'\]"),
    ],
)
def test_package_errors(package: str, packages: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        StaticFiles(packages=packages)


# --- security --------------------------------------------------------------------------------

TRAVERSALS = [
    "/static/../secret.txt",
    "/static/..",
    "/static/../",
    "/static/css/../../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E/secret.txt",
    "/static/.%2e/secret.txt",
    "/static/%2e%2e%2fsecret.txt",
    "/static/..%2fsecret.txt",
    "/static/..%2Fsecret.txt",
    "/static/%2e%2e%5csecret.txt",
    "/static/..%5csecret.txt",
    "/static/..\\secret.txt",
    "/static/css%2f..%2f..%2fsecret.txt",
    "/static/%c0%ae%c0%ae/secret.txt",  # overlong UTF-8 dots: invalid, decoded to U+FFFD
    "/static/%00",
    "/static/hello.txt%00.png",
    "/static/%2fetc%2fpasswd",
    "/static//etc/passwd",
    "/static/C:/Windows/win.ini",
    "/static/C:secret.txt",
    "/static/c%3a%5cwindows",
    "/static/../static-evil/x.txt",
    "/static/%2e%2e/static-evil/x.txt",
]


@pytest.mark.parametrize("follow_symlink", [False, True])
@pytest.mark.parametrize("html", [False, True])
@pytest.mark.parametrize("url", TRAVERSALS)
async def test_traversal_attempts_are_404(
    root: Path, url: str, html: bool, follow_symlink: bool
) -> None:
    static = StaticFiles(directory=root, html=html, follow_symlink=follow_symlink)
    response = await mounted(static).get(url)
    assert response.status_code == 404
    assert SECRET not in response.content


@pytest.mark.parametrize(
    ("path", "raw_path", "expected"),
    [
        ("/../secret.txt", b"/%2e%2e/secret.txt", None),
        ("/../secret.txt", None, None),
        ("/a\\..\\..\\secret.txt", b"/a%5c..%5c..%5csecret.txt", None),
        ("/\x00", b"/%00", None),
        ("/C:/secret.txt", b"/C:/secret.txt", None),
        # A doubled slash is no absolute path: only a relative one, inside the directory.
        ("//secret.txt", b"//secret.txt", "secret.txt"),
        ("/./css/./app.css", None, "css/app.css"),
    ],
)
async def test_get_path_and_get_response(
    root: Path, path: str, raw_path: bytes | None, expected: str | None
) -> None:
    # As Starlette: get_path returns even an unsafe path; get_response refuses it with 404.
    static = StaticFiles(directory=root)
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": raw_path, "root_path": ""}
    relative = static.get_path(scope)
    if expected is None:
        assert relative == path.lstrip("/")
        with pytest.raises(HTTPException) as info:
            await static.get_response(relative, scope)
        assert info.value.status_code == 404
    else:
        assert relative == expected


@pytest.mark.parametrize("path", ["../secret.txt", "/../secret.txt", "a/../../secret.txt", "C:x"])
async def test_get_response_refuses_an_unsafe_path_whatever_get_path_said(
    root: Path, path: str
) -> None:
    # A subclass overriding get_path cannot open a way out: get_response checks what it gets.
    scope = {"type": "http", "method": "GET", "path": "/", "root_path": ""}
    with pytest.raises(HTTPException) as info:
        await StaticFiles(directory=root).get_response(path, scope)
    assert info.value.status_code == 404


def link(source: Path, target: Path) -> None:
    source.symlink_to(target)


async def test_symlink_outside_is_refused_unless_followed(root: Path) -> None:
    link(root / "leak.txt", root.parent / "secret.txt")
    link(root / "leakdir", root.parent / "static-evil")
    refused = mounted(StaticFiles(directory=root))
    assert (await refused.get("/static/leak.txt")).status_code == 404
    assert (await refused.get("/static/leakdir/x.txt")).status_code == 404
    followed = mounted(StaticFiles(directory=root, follow_symlink=True))
    assert (await followed.get("/static/leak.txt")).content == SECRET
    assert (await followed.get("/static/leakdir/x.txt")).content == SECRET


async def test_symlink_inside_is_served(root: Path) -> None:
    link(root / "alias.txt", root / "hello.txt")
    response = await mounted(StaticFiles(directory=root)).get("/static/alias.txt")
    assert response.content == b"hello"


async def test_directory_that_is_a_symlink(root: Path) -> None:
    link(root.parent / "linked", root)
    client = mounted(StaticFiles(directory=root.parent / "linked"))
    assert (await client.get("/static/hello.txt")).content == b"hello"
    assert (await client.get("/static/../secret.txt")).status_code == 404


async def test_prefix_sibling_is_not_inside(root: Path) -> None:
    # "static-evil" starts with "static": a string prefix check would let it through.
    link(root / "sib", root.parent / "static-evil" / "x.txt")
    response = await mounted(StaticFiles(directory=root)).get("/static/sib")
    assert response.status_code == 404


async def test_not_modified_response_keeps_the_headers_a_304_may_carry() -> None:
    from microasgi.datastructures import Headers
    from microasgi.staticfiles import NotModifiedResponse

    headers = Headers(
        {"etag": '"x"', "content-length": "10", "vary": "Accept-Encoding", "content-type": "a/b"}
    )
    response = NotModifiedResponse(headers)
    assert response.status_code == 304
    assert response.body == b""
    assert dict(response.headers) == {"etag": '"x"', "vary": "Accept-Encoding"}
    sent = await AsyncTestClient(response).get("/")
    assert sent.status_code == 304
    assert sent.headers["etag"] == '"x"'
    assert "content-length" not in sent.headers


# --- single-page app fallback -------------------------------------------------------------------

HOME = b"<h1>home</h1>"


def spa_client(root: Path, **kw: Any) -> AsyncTestClient:
    return mounted(StaticFiles(directory=root, html=True, fallback="index.html", **kw))


@pytest.mark.parametrize(
    "url",
    [
        "/static/users/42",
        "/static/users/42/",
        "/static/deep/er/route",
        "/static/v1.2/users",  # a dot before the last segment is fine
        "/static/empty",  # a directory without index.html
        "/static/empty/",
    ],
)
async def test_fallback_serves_the_page_for_client_routes(root: Path, url: str) -> None:
    client = spa_client(root)
    response = await client.get(url)
    assert response.status_code == 200
    assert response.content == HOME
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    head = await client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(HOME))
    again = await client.get(url, headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304


async def test_fallback_leaves_files_indexes_and_redirects_alone(root: Path) -> None:
    client = spa_client(root)
    assert (await client.get("/static/hello.txt")).content == b"hello"
    assert (await client.get("/static/docs/")).content == b"<h1>docs</h1>"
    redirect = await client.get("/static/docs")
    assert redirect.status_code == 307
    assert redirect.headers["location"] == "/static/docs/"


@pytest.mark.parametrize(
    "url", ["/static/app.js", "/static/css/missing.css", "/static/users/john.doe", "/static/.env"]
)
async def test_fallback_never_answers_a_missing_file(root: Path, url: str) -> None:
    response = await spa_client(root).get(url)
    assert response.status_code == 404
    assert response.content == b"Not Found"
    (root / "404.html").write_bytes(b"<h1>lost</h1>")
    response = await spa_client(root).get(url)
    assert (response.status_code, response.content) == (404, b"<h1>lost</h1>")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_fallback_is_for_get_and_head_only(root: Path, method: str) -> None:
    response = await spa_client(root).request(method, "/static/users/42")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        (None, 200),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200),
        ("*/*", 200),
        ("text/*", 200),
        ("TEXT/HTML", 200),
        ("application/json", 404),
        ("application/json, text/plain", 404),
        ("text/html;q=0", 404),
        ("*/*, text/html;q=0", 404),  # the most specific range decides
        ("text/*;q=0, */*", 404),
        ("text/html;q=0.5, */*;q=0", 200),
        ("text/html;q=bad", 404),  # an invalid weight drops the element
        ("", 404),
    ],
)
async def test_fallback_only_for_clients_that_accept_html(
    root: Path, accept: str | None, status: int
) -> None:
    headers = {} if accept is None else {"accept": accept}
    response = await spa_client(root).get("/static/users/42", headers=headers)
    assert response.status_code == status
    assert (response.content == HOME) is (status == 200)


async def test_fallback_reads_every_accept_line(root: Path) -> None:
    headers = [("accept", "application/json"), ("accept", "text/html")]
    response = await spa_client(root).get("/static/users/42", headers=headers)
    assert response.status_code == 200


async def test_without_fallback_nothing_changes(root: Path) -> None:
    response = await mounted(StaticFiles(directory=root, html=True)).get("/static/users/42")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        *TRAVERSALS,
        "/static//users",
        "/static/users//42",
        "/static/./users",
        "/static/users/./42",
        "/static/users/..",
        "/static/%2fusers",
    ],
)
async def test_traversal_attempts_never_get_the_fallback(root: Path, url: str) -> None:
    for follow_symlink in (False, True):
        response = await spa_client(root, follow_symlink=follow_symlink).get(url)
        assert response.status_code == 404
        assert HOME not in response.content
        assert SECRET not in response.content


async def test_a_symlink_leading_outside_is_a_plain_miss(root: Path) -> None:
    # Refused as before: the miss gets the page like any missing route, and nothing of the
    # target (or whether it exists) shows.
    link(root / "sib", root.parent / "static-evil" / "x.txt")
    link(root / "nothing", root.parent / "does-not-exist")
    client = spa_client(root)
    for url in ("/static/sib", "/static/nothing", "/static/never-existed"):
        response = await client.get(url)
        assert (response.status_code, response.content) == (200, HOME)


async def test_fallback_in_a_subdirectory_and_in_packages(root: Path) -> None:
    client = mounted(StaticFiles(directory=root, html=True, fallback="docs/index.html"))
    assert (await client.get("/static/users/42")).content == b"<h1>docs</h1>"
    assert (await client.get("/static/")).content == HOME  # the index page still wins


def test_fallback_needs_html_mode_and_a_path_inside(root: Path) -> None:
    with pytest.raises(ValueError, match=r"needs HTML mode: StaticFiles\(.*html=True"):
        StaticFiles(directory=root, fallback="index.html")
    for bad in ("", "/", "../index.html", "a/../../x.html", "C:x.html", "a\\b.html"):
        with pytest.raises(ValueError, match="must be a file path inside the directory"):
            StaticFiles(directory=root, html=True, fallback=bad)


def test_missing_fallback_raises_at_construction(root: Path) -> None:
    with pytest.raises(RuntimeError, match=r"fallback 'app.html' is not a file in .*check_dir=F"):
        StaticFiles(directory=root, html=True, fallback="app.html")
    with pytest.raises(RuntimeError, match="fallback 'docs' is not a file"):
        StaticFiles(directory=root, html=True, fallback="docs")  # a directory


async def test_missing_fallback_checked_at_first_request(root: Path) -> None:
    static = StaticFiles(directory=root, html=True, fallback="app.html", check_dir=False)
    with pytest.raises(RuntimeError, match=r"'app.html' is not a file .* before the first request"):
        await mounted(static).get("/static/users/42")
    (root / "app.html").write_bytes(b"<h1>app</h1>")
    static = StaticFiles(directory=root, html=True, fallback="app.html", check_dir=False)
    (root / "app.html").write_bytes(b"<h1>app, rebuilt</h1>")
    assert (await mounted(static).get("/static/users/42")).content == b"<h1>app, rebuilt</h1>"


async def test_fallback_removed_while_serving_is_a_miss(root: Path) -> None:
    client = spa_client(root)
    assert (await client.get("/static/users/42")).status_code == 200
    (root / "index.html").unlink()
    assert (await client.get("/static/users/42")).status_code == 404
