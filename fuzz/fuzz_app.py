"""Fuzz a whole application through the test client's in-process driver.

Each input becomes one request (method, path, query, headers, body) to an app that uses the
router, path converters, forms, JSON, cookies, sessions, GZip, TrustedHost and StaticFiles. The
client runs with ``raise_server_exceptions=True``, so any exception that escapes the app (a bug:
bad input must give a 4xx) reaches atheris; so does any 5xx answer and any ASGI protocol error
the driver's checker finds. Inputs the test client itself refuses to send (a header value with a
control character) are skipped: a server would not deliver them either.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
from _harness import instrumented, provider, run

with instrumented():
    from microasgi.applications import MicroASGI
    from microasgi.middleware import Middleware
    from microasgi.middleware.gzip import GZipMiddleware
    from microasgi.middleware.sessions import SessionMiddleware
    from microasgi.middleware.trustedhost import TrustedHostMiddleware
    from microasgi.requests import Request
    from microasgi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
    from microasgi.routing import Mount, Route
    from microasgi.staticfiles import StaticFiles
    from microasgi.testclient import AsyncTestClient

STATIC = Path(tempfile.mkdtemp(prefix="microasgi-fuzz-"))
(STATIC / "a.txt").write_bytes(b"0123456789" * 100)


async def home(request: Request) -> Response:
    return PlainTextResponse(f"{request.url} {dict(request.query_params)} {request.cookies}")


async def user(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["id"], "session": request.session})


async def form(request: Request) -> Response:
    async with request.form(max_fields=20, max_files=5, max_part_size=4096) as data:
        return JSONResponse({"n": len(data.multi_items())})


async def body_json(request: Request) -> Response:
    request.session["seen"] = True
    return JSONResponse({"type": type(await request.json()).__name__})


async def download(request: Request) -> Response:
    return FileResponse(STATIC / "a.txt")


APP = MicroASGI(
    routes=[
        Route("/", home),
        Route("/users/{id:int}", user),
        Route("/form", form, methods=["POST"]),
        Route("/json", body_json, methods=["POST", "PUT"]),
        Route("/download/", download),
        Mount("/static", StaticFiles(directory=STATIC)),
    ],
    middleware=[
        Middleware(TrustedHostMiddleware, allowed_hosts=["testserver", "*.example.com"]),
        Middleware(SessionMiddleware, secret_key="fuzz"),
        Middleware(GZipMiddleware, minimum_size=10),
    ],
    max_body_size=64 * 1024,
)
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"]
PATHS = ["/", "/users/", "/form", "/json", "/download", "/download/", "/static/", "/static/a.txt"]
HEADERS = ["content-type", "cookie", "range", "if-range", "if-none-match", "accept-encoding",
           "host", "content-length", "transfer-encoding", "if-modified-since", "x-any"]  # fmt: skip


async def one(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> None:
    async with AsyncTestClient(APP, follow_redirects=False) as client:
        response = await client.request(method, url, headers=headers, content=body)
    if response.status_code >= 500:
        raise AssertionError(f"{method} {url!r} {headers!r} {body[:200]!r}: {response.status_code}")


def test_one(data: bytes) -> None:
    fdp = provider(data)
    method = fdp.PickValueInList(METHODS)
    url = fdp.PickValueInList(PATHS) + fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40))
    headers = [
        (
            fdp.PickValueInList(HEADERS),
            fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 120)).decode("latin-1"),
        )
        for _ in range(fdp.ConsumeIntInRange(0, 4))
    ]
    # A server delivers neither a control character in a header value nor a raw one in a path.
    if any(not v.isprintable() for _, v in headers) or not url.isprintable() or " " in url:
        return
    if any(n == "host" for n, _ in headers):
        headers = [(n, v) for n, v in headers if n != "host"] + [("host", "testserver")]
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    anyio.run(one, method, url, headers, body)


if __name__ == "__main__":
    run(test_one)
