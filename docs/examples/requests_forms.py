from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    response: Response
    try:
        # As a context manager the form (and any uploaded file in it) is closed on exit.
        async with request.form(max_fields=10, max_part_size=1024) as form:
            response = JSONResponse({"fields": form.multi_items()})
    except HTTPException as exc:
        response = PlainTextResponse(exc.detail, exc.status_code)
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_urlencoded_form() -> None:
    client = AsyncTestClient(app)
    response = await client.post("/", data={"name": "Ada Lovelace", "lang": "en"})
    raw = await client.post(
        "/",
        content=b"tag=a&tag=b&note=1;2&odd=%zz",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.json() == {"fields": [["name", "Ada Lovelace"], ["lang", "en"]]}
    # Repeated names are kept in order; ";" is data; a bad escape stays as it was sent.
    assert raw.json() == {"fields": [["tag", "a"], ["tag", "b"], ["note", "1;2"], ["odd", "%zz"]]}


async def test_form_limits_and_errors() -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    client = AsyncTestClient(app)
    many = await client.post("/", content=b"a=1&" * 11, headers=form)
    huge = await client.post("/", content=b"a=" + b"x" * 1025, headers=form)
    not_utf8 = await client.post("/", content=b"a=%FF", headers=form)
    json_body = await client.post("/", json={"a": 1})
    assert (many.status_code, many.text) == (
        400,
        "Too many fields. Maximum number of fields is 10.",
    )
    assert huge.status_code == 413
    assert not_utf8.status_code == 400
    assert json_body.json() == {"fields": []}  # not a form: an empty FormData, as in Starlette
