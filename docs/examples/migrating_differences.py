"""The differences that change what a client sees, shown side by side with Starlette."""

import tempfile
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint as StarletteHTTPEndpoint
from starlette.middleware import Middleware as StarletteMiddleware
from starlette.middleware.cors import CORSMiddleware as StarletteCORS
from starlette.middleware.sessions import SessionMiddleware as StarletteSessions
from starlette.requests import Request as StarletteRequest
from starlette.responses import FileResponse as StarletteFileResponse
from starlette.responses import JSONResponse as StarletteJSON
from starlette.responses import PlainTextResponse as StarlettePlainText
from starlette.responses import RedirectResponse as StarletteRedirect
from starlette.routing import Route as StarletteRoute

from microasgi.applications import MicroASGI
from microasgi.endpoints import HTTPEndpoint
from microasgi.middleware import Middleware
from microasgi.middleware.cors import CORSMiddleware
from microasgi.middleware.sessions import SessionMiddleware
from microasgi.requests import Request
from microasgi.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse
from microasgi.routing import Route
from microasgi.testclient import TestClient

# --- one app, written twice: only the imports differ ------------------------------------------


async def s_path(request: StarletteRequest) -> StarlettePlainText:
    return StarlettePlainText(request.url.path)


async def s_json(request: StarletteRequest) -> StarletteJSON:
    return StarletteJSON({"depth": str(await request.json()).count("[")})


async def s_upload(request: StarletteRequest) -> StarlettePlainText:
    return StarlettePlainText(str(len(await request.body())))


class SItems(StarletteHTTPEndpoint):
    async def get(self, request: StarletteRequest) -> StarlettePlainText:
        return StarlettePlainText("items")


starlette_app = Starlette(
    routes=[
        StarletteRoute("/files/{name:path}", s_path),
        StarletteRoute("/json", s_json, methods=["POST"]),
        StarletteRoute("/upload", s_upload, methods=["POST"]),
        StarletteRoute("/items/", SItems),
        StarletteRoute("/thing", s_path, methods=["GET"]),
        StarletteRoute("/thing", s_upload, methods=["POST"]),
    ]
)


async def m_path(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.url.path)


async def m_json(request: Request) -> JSONResponse:
    return JSONResponse({"depth": str(await request.json()).count("[")})


async def m_upload(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


class MItems(HTTPEndpoint):
    async def get(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse("items")


microasgi_app = MicroASGI(
    routes=[
        Route("/files/{name:path}", m_path),
        Route("/json", m_json, methods=["POST"]),
        Route("/upload", m_upload, methods=["POST"]),
        Route("/items/", MItems),
        Route("/thing", m_path, methods=["GET"]),
        Route("/thing", m_upload, methods=["POST"]),
    ]
)


def clients() -> tuple[TestClient, TestClient]:
    # Our TestClient drives both: it speaks plain ASGI. Errors become 500s, as on a server.
    return (
        TestClient(starlette_app, raise_server_exceptions=False, follow_redirects=False),
        TestClient(microasgi_app, raise_server_exceptions=False, follow_redirects=False),
    )


def test_slash_redirect_is_relative() -> None:
    starlette, micro = clients()
    assert starlette.get("/items").headers["location"] == "http://testserver/items/"
    assert micro.get("/items").headers["location"] == "/items/"


def test_url_path_keeps_percent_encoding() -> None:
    starlette, micro = clients()
    assert starlette.get("/files/a%2Fb").text == "/files/a/b"
    assert micro.get("/files/a%2Fb").text == "/files/a%2Fb"


def test_405_allow_lists_every_route() -> None:
    starlette, micro = clients()
    # Starlette answers with the first route whose path matches: the POST route is left out.
    assert set(starlette.delete("/thing").headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert micro.delete("/thing").headers["allow"] == "GET, HEAD, POST"


def test_deep_json_is_a_400() -> None:
    starlette, micro = clients()
    deep = "[" * 100_000 + "]" * 100_000
    assert starlette.post("/json", content=deep).status_code == 500  # RecursionError
    assert micro.post("/json", content=deep).status_code == 400
    nested = "[" * 300 + "]" * 300  # over microasgi's 256 levels (Request.max_json_depth)
    assert starlette.post("/json", content=nested).status_code == 200
    assert micro.post("/json", content=nested).status_code == 400


def test_body_cap_by_default() -> None:
    starlette, micro = clients()
    big = b"x" * (16 * 1024 * 1024 + 1)  # one byte over 16 MiB
    assert starlette.post("/upload", content=big).text == str(len(big))
    assert micro.post("/upload", content=big).status_code == 413


def test_responses_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match="status"):
        PlainTextResponse("x", status_code=99)
    with pytest.raises(ValueError, match="redirect"):
        RedirectResponse("/", status_code=200)
    with pytest.raises(ValueError, match="control character"):
        PlainTextResponse("x", headers={"x-id": "1\r\nset-cookie: a=b"})
    # Starlette builds these; the mistakes reach the client.
    StarlettePlainText("x", status_code=99)
    StarletteRedirect("/", status_code=200)


def test_cors_refuses_any_origin_with_credentials() -> None:
    StarletteCORS(starlette_app, allow_origins=["*"], allow_credentials=True)  # reflects any origin
    with pytest.raises(ValueError, match="credentials"):
        CORSMiddleware(microasgi_app, allow_origins=["*"], allow_credentials=True)


def test_malformed_range_is_ignored() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "data.txt")
        path.write_bytes(b"0123456789")

        async def s_file(request: StarletteRequest) -> StarletteFileResponse:
            return StarletteFileResponse(path)

        async def m_file(request: Request) -> FileResponse:
            return FileResponse(path)

        headers = {"range": "bytes=oops"}
        starlette = TestClient(Starlette(routes=[StarletteRoute("/", s_file)]))
        micro = TestClient(MicroASGI(routes=[Route("/", m_file)]))
        assert starlette.get("/", headers=headers).status_code == 400
        whole = micro.get("/", headers=headers)
        assert (whole.status_code, whole.content) == (200, b"0123456789")


def test_session_cookies_do_not_carry_over() -> None:
    async def s_count(request: StarletteRequest) -> StarlettePlainText:
        request.session["n"] = request.session.get("n", 0) + 1
        return StarlettePlainText(str(request.session["n"]))

    async def m_count(request: Request) -> PlainTextResponse:
        request.session["n"] = request.session.get("n", 0) + 1
        return PlainTextResponse(str(request.session["n"]))

    starlette = TestClient(
        Starlette(
            routes=[StarletteRoute("/", s_count)],
            middleware=[StarletteMiddleware(StarletteSessions, secret_key="k")],
        )
    )
    micro = TestClient(
        MicroASGI(
            routes=[Route("/", m_count)], middleware=[Middleware(SessionMiddleware, secret_key="k")]
        )
    )
    assert starlette.get("/").text == "1"
    # A Starlette session cookie, even with the same key, is not one microasgi reads (another
    # signature scheme): it starts a new session, so users sign in again once after the switch.
    assert micro.get("/", cookies=dict(starlette.cookies)).text == "1"
    assert micro.get("/").text == "2"
