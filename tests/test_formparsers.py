"""FormParser fed chunk by chunk from an async stream, MultiPartException, and urlencoded forms
read through ``Request.form()``."""

from __future__ import annotations

import math
import re

import pytest
from _bodies import Body, PlainChunks

from microasgi import formparsers
from microasgi.datastructures import FormData, Headers
from microasgi.exceptions import HTTPException
from microasgi.formparsers import FormParser, MultiPartException
from microasgi.requests import Request
from microasgi.types import Message

URLENCODED = Headers({"content-type": "application/x-www-form-urlencoded"})


@pytest.mark.parametrize(
    ("headers", "chunks", "expected"),
    [
        (URLENCODED, [], []),
        (URLENCODED, [b"a=1&b=2&a=3"], [("a", "1"), ("b", "2"), ("a", "3")]),
        (URLENCODED, [b"a=1", b"&b", b"=2", b""], [("a", "1"), ("b", "2")]),
        (URLENCODED, [b"msg=hello+world%21&x=1;y=2"], [("msg", "hello world!"), ("x", "1;y=2")]),
        (URLENCODED, [b"flag&=v&k="], [("flag", ""), ("", "v"), ("k", "")]),
        (URLENCODED, [b"bad=%zz%4"], [("bad", "%zz%4")]),
        (Headers(), [b"a=%C3%A9"], [("a", "é")]),
        (
            Headers({"content-type": "application/x-www-form-urlencoded; charset=windows-1252"}),
            [b"a=%80"],
            [("a", "€")],
        ),
        (URLENCODED, [b"a=%A4&_charset_=iso-8859-15"], [("a", "€"), ("_charset_", "iso-8859-15")]),
        (
            Headers({"content-type": "application/x-www-form-urlencoded; charset=UTF8"}),
            [b"a=%C3", b"%A9&b=", b"2"],
            [("a", "é"), ("b", "2")],
        ),
        # Not UTF-8 before the escapes are decoded, but UTF-8 after.
        (URLENCODED, [b"a=\xc3%A9"], [("a", "é")]),
    ],
)
async def test_parse(
    headers: Headers, chunks: list[bytes], expected: list[tuple[str, str]]
) -> None:
    form = await FormParser(headers, Body(*chunks)).parse()
    assert isinstance(form, FormData)
    assert form.multi_items() == expected


async def test_plain_async_iterable_stream() -> None:
    form = await FormParser(URLENCODED, PlainChunks(b"a=1&", b"b=2")).parse()
    assert dict(form) == {"a": "1", "b": "2"}


@pytest.mark.parametrize(
    ("headers", "chunks", "limits", "status", "message"),
    [
        (
            Headers({"content-type": "nonsense"}),
            [b"a=1"],
            {},
            400,
            "Malformed header value 'nonsense'",
        ),
        (
            URLENCODED,
            [b"a=1&" * 10_000],
            {},
            400,
            "Too many fields. Maximum number of fields is 1000.",
        ),
        (URLENCODED, [b"a=1&b=2"], {"max_fields": 1}, 400, "Maximum number of fields is 1"),
        (
            URLENCODED,
            [b"a=" + b"x" * (1024 * 1024 + 1)],
            {},
            413,
            "Field exceeded maximum size of 1024KB.",
        ),
        (
            URLENCODED,
            [b"x" * 6],
            {"max_part_size": 5},
            413,
            "Field exceeded maximum size of 5 bytes",
        ),
        (URLENCODED, [b"a=%E9"], {}, 400, "The form is not valid utf-8"),
        (URLENCODED, [b"a=1&_charset_=klingon"], {}, 400, "Unsupported form charset 'klingon'"),
        (URLENCODED, [b"_charset_=utf-7&a=+ADw-"], {}, 400, "Unsupported form charset 'utf-7'"),
        (URLENCODED, [b"_charset_=%FF"], {}, 400, "is not an ASCII charset name"),
        (
            Headers({"content-type": "application/x-www-form-urlencoded; charset=nope"}),
            [b"a=1"],
            {},
            400,
            "Unsupported form charset 'nope'",
        ),
        # The limits come first, whatever the charset.
        (
            Headers({"content-type": "application/x-www-form-urlencoded; charset=nope"}),
            [b"a=1&b=2"],
            {"max_fields": 1},
            400,
            "Maximum number of fields is 1",
        ),
        (
            URLENCODED,
            [b"a=1&", b"b=2&", b"c=3"],
            {"max_fields": 2},
            400,
            "Maximum number of fields is 2",
        ),
        (
            URLENCODED,
            [b"a=12", b"34", b"56"],
            {"max_part_size": 5},
            413,
            "Field exceeded maximum size of 5 bytes.",
        ),
    ],
)
async def test_errors(
    headers: Headers, chunks: list[bytes], limits: dict[str, int], status: int, message: str
) -> None:
    body = Body(*chunks)
    with pytest.raises(MultiPartException) as info:
        await FormParser(headers, body, **limits).parse()
    assert info.value.status_code == status
    assert message in info.value.message
    assert str(info.value) == info.value.message
    # The body was closed, or never opened (a bad Content-Type is seen before reading).
    assert body.closed or body.read == 0


async def test_limits_are_checked_while_streaming() -> None:
    many = Body(*[b"a=1&"] * 50)
    with pytest.raises(MultiPartException, match="Too many fields"):
        await FormParser(URLENCODED, many, max_fields=10).parse()
    assert many.read == 11
    assert many.closed
    huge = Body(*[b"a" * 1000] * 50)
    with pytest.raises(MultiPartException, match="exceeded maximum size"):
        await FormParser(URLENCODED, huge, max_part_size=4500).parse()
    assert huge.read == 5


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_fields": -1}, "max_fields must be an int >= 0 or math.inf (no limit), got -1."),
        ({"max_fields": 1.5}, "max_fields must be an int >= 0 or math.inf (no limit), got 1.5."),
        ({"max_part_size": math.inf}, "max_part_size must be an int >= 0, got inf."),
        ({"max_part_size": -5}, "max_part_size must be an int >= 0, got -5."),
        ({"max_fields": True}, "max_fields must be an int >= 0 or math.inf (no limit), got True."),
        ({"max_part_size": 1.5}, "max_part_size must be an int >= 0, got 1.5."),
    ],
)
def test_limits_are_validated_at_construction(limits: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        FormParser(URLENCODED, Body(), **limits)  # type: ignore[arg-type]


async def test_unlimited_fields_as_in_starlette() -> None:
    form = await FormParser(URLENCODED, Body(b"a=1&" * 2000), max_fields=math.inf).parse()
    assert len(form.multi_items()) == 2000


def test_multipart_exception() -> None:
    default = MultiPartException("Bad form.")
    assert default.message == "Bad form."
    assert default.status_code == 400
    assert isinstance(default, Exception)
    assert MultiPartException("Too big.", status_code=413).status_code == 413


def test_all_is_sorted() -> None:
    assert formparsers.__all__ == sorted(formparsers.__all__)


# ---------------------------------------------------------------------------------------------
# Through Request.form()


def _request(
    *messages: Message, content_type: bytes = b"application/x-www-form-urlencoded"
) -> Request:
    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", content_type)]}
    pending = list(messages)

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    return Request(scope, receive)


async def test_request_form_skips_empty_chunks_and_keeps_the_body() -> None:
    request = _request(
        {"type": "http.request", "body": b"a=1&", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"b=2", "more_body": False},
    )
    assert (await request.form()).multi_items() == [("a", "1"), ("b", "2")]
    assert await request.body() == b"a=1&b=2"


async def test_request_form_after_an_empty_body() -> None:
    request = _request({"type": "http.request", "body": b"", "more_body": False})
    assert await request.body() == b""
    assert (await request.form()).multi_items() == []


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (b"application/x-www-form-urlencoded", b"a=1", [("a", "1")]),
        (b"application/x-www-form-urlencoded; charset=latin-1", b"a=%E9", [("a", "é")]),
        (b"APPLICATION/X-WWW-FORM-URLENCODED", b"a=1", [("a", "1")]),
        (b"text/plain", b"a=1", []),
    ],
)
async def test_request_form_content_types(
    content_type: bytes, body: bytes, expected: list[tuple[str, str]]
) -> None:
    request = _request({"type": "http.request", "body": body}, content_type=content_type)
    assert (await request.form()).multi_items() == expected


async def test_request_form_errors_are_http_errors() -> None:
    request = _request({"type": "http.request", "body": b"a=%FF"})
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert (info.value.status_code, info.value.detail) == (
        400,
        "The form is not valid utf-8: invalid start byte at byte 0 of a field.",
    )


def test_form_message_is_deprecated_as_in_starlette() -> None:
    # Starlette 1.10 keeps FormMessage, deprecated: code importing it still runs, calling it
    # warns with Starlette's text and category.
    from microasgi.exceptions import StarletteDeprecationWarning
    from microasgi.formparsers import FormMessage

    with pytest.warns(StarletteDeprecationWarning, match="`FormMessage` is deprecated"):
        assert FormMessage(1) is FormMessage.FIELD_START
    assert [member.name for member in FormMessage] == [
        "FIELD_START",
        "FIELD_NAME",
        "FIELD_DATA",
        "FIELD_END",
        "END",
    ]
