"""Form limits: per call, and per application with ``form_limits=``."""

from __future__ import annotations

from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.formparsers import FormLimits
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route


async def avatar(request: Request) -> Response:
    try:
        # This endpoint takes one small picture, whatever the application allows elsewhere.
        async with request.form(max_files=1, max_file_size=64 * 1024) as form:
            return JSONResponse({"fields": len(form)})
    except HTTPException as exc:
        return PlainTextResponse(str(exc.detail), exc.status_code)


async def survey(request: Request) -> Response:
    try:
        async with request.form() as form:  # the application's defaults
            return JSONResponse({"fields": len(form)})
    except HTTPException as exc:
        return PlainTextResponse(str(exc.detail), exc.status_code)


app = MicroASGI(
    routes=[Route("/avatar", avatar, methods=["POST"]), Route("/survey", survey, methods=["POST"])],
    form_limits=FormLimits(max_fields=20, max_part_size=4096),
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_per_call_limits() -> None:
    async with AsyncTestClient(app) as client:
        ok = await client.post("/avatar", files={"picture": ("me.png", b"\x89PNG" + b"." * 100)})
        two = await client.post("/avatar", files=[("p", ("a.png", b"1")), ("p", ("b.png", b"2"))])
        big = await client.post("/avatar", files={"picture": ("me.png", b"." * 70_000)})
    assert ok.json() == {"fields": 1}
    assert (two.status_code, two.text) == (400, "Too many files. Maximum number of files is 1.")
    assert (big.status_code, big.text) == (
        413,
        "The file 'me.png' in field 'picture' is larger than the limit of 65536 bytes "
        "(max_file_size).",
    )


async def test_application_defaults() -> None:
    async with AsyncTestClient(app) as client:
        fine = await client.post("/survey", data={f"q{i}": "yes" for i in range(20)})
        many = await client.post("/survey", data={f"q{i}": "yes" for i in range(21)})
        long = await client.post("/survey", data={"essay": "x" * 5000}, files={"f": ("f", b"")})
    assert fine.json() == {"fields": 20}
    assert (many.status_code, many.text) == (
        400,
        "Too many fields. Maximum number of fields is 20.",
    )
    assert (long.status_code, long.text) == (
        413,
        "Part exceeded maximum size of 4KB.",
    )
