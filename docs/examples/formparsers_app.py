from collections.abc import AsyncIterator

from microasgi.datastructures import Headers
from microasgi.formparsers import FormParser, MultiPartException
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.types import Receive, Scope, Send


async def body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body straight from ``receive`` (what ``request.stream()`` does for you)."""
    more_body = True
    while more_body:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more_body = message.get("more_body", False)
        yield message.get("body", b"")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    parser = FormParser(Headers(scope=scope), body_chunks(receive), max_fields=5, max_part_size=64)
    response: Response
    try:
        form = await parser.parse()
        response = JSONResponse(form.multi_items())
    except MultiPartException as exc:
        response = PlainTextResponse(exc.message, exc.status_code)
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def test_parse_a_form() -> None:
    client = AsyncTestClient(app)
    response = await client.post("/", content=b"q=caf%C3%A9+au+lait&q=tea&empty=", headers=FORM)
    assert response.json() == [["q", "café au lait"], ["q", "tea"], ["empty", ""]]


async def test_limits_while_streaming() -> None:
    def many_fields() -> list[bytes]:
        return [b"a=1&"] * 1000  # refused at the sixth field, long before the end

    client = AsyncTestClient(app)
    too_many = await client.post("/", content=many_fields(), headers=FORM)
    too_long = await client.post("/", content=b"a=" + b"x" * 65, headers=FORM)
    assert (too_many.status_code, too_many.text) == (
        400,
        "Too many fields. Maximum number of fields is 5.",
    )
    assert (too_long.status_code, too_long.text) == (
        413,
        "Field exceeded maximum size of 64 bytes.",
    )


async def test_charsets() -> None:
    latin1 = {"content-type": "application/x-www-form-urlencoded; charset=iso-8859-1"}
    client = AsyncTestClient(app)
    by_header = await client.post("/", content=b"a=caf%E9", headers=latin1)
    by_field = await client.post("/", content=b"_charset_=cp1252&a=%80", headers=FORM)
    unknown = await client.post("/", content=b"_charset_=klingon&a=1", headers=FORM)
    invalid = await client.post("/", content=b"a=%E9", headers=FORM)
    assert by_header.json() == [["a", "café"]]
    assert by_field.json() == [["_charset_", "cp1252"], ["a", "€"]]
    assert unknown.status_code == invalid.status_code == 400
    assert invalid.text.startswith("The form is not valid utf-8")
