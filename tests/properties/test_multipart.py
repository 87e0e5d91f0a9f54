"""Properties of ``multipart/form-data`` bodies: ``microasgi.formparsers.MultiPartParser`` (on the
``multipart`` package's push parser) and ``microasgi._sansio.multipart.MultipartFrame``.

Documented error: ``MultiPartException`` with status 400 (malformed ``Content-Type`` or body, too
many fields or files, a part header too long, a bad charset) or 413 (a field, a file or the
fields in memory over their limit). On any error every temporary file is closed.

Also: tests/test_multipart.py::test_any_split_gives_the_same_result and
::test_every_single_split_point_gives_the_same_result (split invariance over a table of tricky
bodies, errors included), ::test_multipart_frame_ignores_the_split (the preamble/epilogue frame
alone).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi.datastructures import FormData, Headers, UploadFile
from microasgi.formparsers import MultiPartException, MultiPartParser

from ._chunks import splits, stream
from ._linear import assert_linear

# SPEC: RFC 2046 section 5.1.1, bchars; a boundary is 1 to 70 of them, not ending in a space.
_BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? "
boundaries = st.text(st.sampled_from(_BCHARS), min_size=1, max_size=70).filter(
    lambda b: not b.endswith(" ")
)
# Names and filenames as browsers write them: any text but controls; '"' goes as %22 (HTML's
# rule), and "%" and "\\" are left out, since the library reads them as escapes.
_NAME_CHARS = st.characters(
    codec="utf-8", exclude_categories=["Cc", "Cs"], exclude_characters="%\\"
)
names = st.text(_NAME_CHARS, max_size=10).filter(lambda name: name != "_charset_")
filenames = st.text(_NAME_CHARS, min_size=1, max_size=10)
content_types = st.sampled_from(["text/plain", "application/octet-stream", "image/png", None])

Item = tuple[str, str | tuple[str | None, str | None, bytes]]
# A field: (name, text value) or (name, (filename, content type, file bytes)).
Field = tuple[str, str | tuple[str, str | None, bytes]]


def _escape(text: str) -> bytes:
    return text.replace('"', "%22").encode("utf-8")


def _part(boundary: str, name: str, value: str | tuple[str, str | None, bytes]) -> bytes:
    disposition = b'Content-Disposition: form-data; name="' + _escape(name) + b'"'
    headers = b""
    if isinstance(value, str):
        content = value.encode("utf-8")
    else:
        filename, content_type, content = value
        disposition += b'; filename="' + _escape(filename) + b'"'
        if content_type is not None:
            headers = b"Content-Type: " + content_type.encode() + b"\r\n"
    return (
        b"--"
        + boundary.encode()
        + b"\r\n"
        + disposition
        + b"\r\n"
        + headers
        + b"\r\n"
        + content
        + b"\r\n"
    )


def build(
    boundary: str, fields: list[Field], preamble: bytes = b"", epilogue: bytes = b""
) -> bytes:
    """A body as a browser sends it (plus an optional preamble and epilogue)."""
    parts = b"".join(_part(boundary, name, value) for name, value in fields)
    return preamble + parts + b"--" + boundary.encode() + b"--\r\n" + epilogue


def _expected(fields: list[Field]) -> list[Item]:
    # A part without a Content-Type gives an UploadFile whose content_type is None (Starlette's).
    return [(name, value) for name, value in fields]


@st.composite
def forms(draw: st.DrawFn) -> tuple[str, list[Field]]:
    """A boundary and fields whose values hold CR, LF, dashes and prefixes of the delimiter,
    but never the delimiter itself (which no sender can put inside a part)."""
    boundary = draw(boundaries)
    delimiter = b"\r\n--" + boundary.encode()
    tricky = st.sampled_from([b"\r\n", b"\r", b"\n", b"--", delimiter[:-1], b"\r\n--", b"x"])
    contents = st.lists(tricky | st.binary(max_size=8), max_size=6).map(b"".join)
    texts = st.lists(
        tricky.map(lambda b: b.decode("latin-1"))
        | st.text(st.characters(codec="utf-8"), max_size=6),
        max_size=5,
    ).map("".join)
    fields: list[Field] = []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(names)
        if draw(st.booleans()):
            fields.append((name, draw(texts)))
        else:
            fields.append((name, (draw(filenames), draw(content_types), draw(contents))))
    body_ok = all(delimiter not in (v.encode() if isinstance(v, str) else v[2]) for _, v in fields)
    if not body_ok:
        fields = [(name, "ok") for name, _ in fields]
    return boundary, fields


async def snapshot(form: FormData) -> list[Item]:
    items: list[Item] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            items.append((name, (value.filename, value.content_type, await value.read())))
        else:
            items.append((name, value))
    await form.close()
    return items


def _headers(boundary: str) -> Headers:
    return Headers(raw=[(b"content-type", f'multipart/form-data; boundary="{boundary}"'.encode())])


async def outcome(
    headers: Headers, chunks: list[bytes], **limits: Any
) -> list[Item] | tuple[int, str]:
    """The form as plain data, or the error's status and message."""
    try:
        form = await MultiPartParser(headers, stream(chunks), **limits).parse()
    except MultiPartException as exc:
        return exc.status_code, exc.message
    return await snapshot(form)


@settings(max_examples=60, deadline=None)
@given(forms(), st.sampled_from([0, 16, 1 << 20]), st.data())
async def test_build_then_parse_round_trips(
    form: tuple[str, list[Field]], spool: int, data: st.DataObject
) -> None:
    """Round trip: random fields and files (names and filenames with any text, values holding
    CR/LF and delimiter prefixes, files in memory or spooled to disk), streamed in any chunks,
    give back the same fields, filenames, content types and file bytes, in order."""
    boundary, fields = form
    body = build(boundary, fields, data.draw(st.sampled_from([b"", b"preamble\r\n"])))
    chunks = splits(data, body)
    assert await outcome(_headers(boundary), chunks, spool_max_size=spool) == _expected(fields)


_NOISE = [b"\r\n", b"\r", b"\n", b"--", b"\x00", b":", b"\r\n\r\n", b" ", b"x" * 40]


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes]:
    """A body built as above, then truncated, spliced with garbage or left whole."""
    boundary, fields = draw(forms())
    body = build(boundary, fields, epilogue=draw(st.sampled_from([b"", b"epilogue"])))
    how = draw(st.sampled_from(["whole", "truncate", "insert", "replace"]))
    at = draw(st.integers(0, len(body)))
    noise = draw(st.sampled_from(_NOISE))
    if how == "truncate":
        body = body[:at]
    elif how == "insert":
        body = body[:at] + noise + body[at:]
    elif how == "replace":
        body = body[:at] + noise + body[at + len(noise) :]
    return boundary, body


@settings(max_examples=60, deadline=None)
@given(damaged(), st.data())
async def test_any_split_gives_the_same_result(
    case: tuple[str, bytes], data: st.DataObject
) -> None:
    """Split invariance: a body, whole or damaged, cut anywhere (1-byte and empty chunks
    included) gives the same form, or the same error with the same message, as in one chunk,
    under tight limits that trip mid-chunk."""
    boundary, body = case
    limits = {
        "max_part_size": 20,
        "max_file_size": 30,
        "max_part_header_size": 120,
        "max_fields": 3,
    }
    headers = _headers(boundary)
    whole = await outcome(headers, [body], **limits)
    assert await outcome(headers, splits(data, body), **limits) == whole


@pytest.mark.parametrize("cut", [None, 8, 9, 10])
async def test_a_first_boundary_without_crlf_is_refused_however_chunked(cut: int | None) -> None:
    """Regression (F-props-3, found by the split property): after a preamble not ending in
    CRLF, the first boundary was refused in one chunk but, cut before it, accepted (or skipped,
    the fields silently lost: an empty form). RFC 2046 makes it no delimiter: 400, always."""
    body = b"preamble" + _part("B", "a", "v") + b"--B--\r\n"
    chunks = [body] if cut is None else [body[:cut], body[cut:]]
    result = await outcome(_headers("B"), chunks)
    assert isinstance(result, tuple)
    assert result[0] == 400
    assert "first boundary neither starts the body nor follows a CRLF" in result[1]


@settings(max_examples=60, deadline=None)
@given(
    st.binary(max_size=120) | damaged().map(lambda case: case[1]),
    st.sampled_from(
        [
            b'multipart/form-data; boundary="' + b"B" * 70 + b'"',
            b"multipart/form-data; boundary=x",
            b"multipart/form-data",
            b"multipart/form-data; boundary=" + b"B" * 71,
            b'multipart/form-data; boundary="a b "',
            b"multipart/form-data; boundary=x; charset=utf-7",
        ]
    )
    | st.binary(max_size=40),
)
async def test_any_body_gives_a_form_or_a_client_error(body: bytes, content_type: bytes) -> None:
    """Totality: any bytes under any ``Content-Type`` give a form or a ``MultiPartException``
    with 400 or 413, never another error."""
    headers = Headers(raw=[(b"content-type", content_type)])
    result = await outcome(headers, [body], max_part_size=50, max_file_size=50)
    if isinstance(result, tuple):
        assert result[0] in (400, 413)


def _parse_sync(boundary: str, **limits: Any) -> Callable[[bytes], object]:
    headers = _headers(boundary)

    def run(body: bytes) -> object:
        return anyio.run(lambda: outcome(headers, [body], **limits))

    return run


_FIELD_HEAD = b'--Boundary\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n'
_CLOSE = b"\r\n--Boundary--\r\n"
_UNLIMITED = {
    "max_part_size": 10**9,
    "max_file_size": 10**9,
    "max_fields": 10**9,
    "max_files": 10**9,
}


@pytest.mark.parametrize(
    ("build_body", "n"),
    [
        pytest.param(lambda n: _FIELD_HEAD + b"\r\n" * n + _CLOSE, 50_000, id="crlf-flood"),
        pytest.param(lambda n: _FIELD_HEAD + b"\r" * n + _CLOSE, 100_000, id="cr-flood"),
        pytest.param(
            lambda n: _FIELD_HEAD + b"\r\n--Boundar" * n + _CLOSE, 10_000, id="boundary-prefixes"
        ),
        pytest.param(lambda n: _FIELD_HEAD + b"-" * n + _CLOSE, 100_000, id="dashes"),
        pytest.param(
            lambda n: (
                b'--Boundary\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n' * n
                + b"--Boundary--\r\n"
            ),
            500,
            id="many-small-fields",
        ),
        pytest.param(
            lambda n: (
                b'--Boundary\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n'
                b"\r\nxy\r\n" * n + b"--Boundary--\r\n"
            ),
            200,
            id="many-small-files",
        ),
    ],
)
def test_hostile_bodies_stay_linear(build_body: Callable[[int], bytes], n: int) -> None:
    """CWE-407 / CWE-400: CR/LF floods, runs of almost-delimiters, dashes and floods of tiny
    parts cost time linear in the body (the limits lifted, to measure the parser itself)."""
    assert_linear(build_body, _parse_sync("Boundary", **_UNLIMITED), n)
