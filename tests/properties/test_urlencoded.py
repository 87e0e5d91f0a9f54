"""Properties of ``application/x-www-form-urlencoded`` bodies: the incremental
``microasgi._sansio.forms.UrlencodedParser`` and ``microasgi.formparsers.FormParser`` on top of it.

Documented errors: ``TooManyFieldsError`` and ``FieldTooLargeError`` (``FormDataError``s) from the
parser; ``MultiPartException`` from ``FormParser``, with status 400 (malformed ``Content-Type``,
too many fields, unknown charset, bytes invalid in it) or 413 (a field over ``max_part_size``).

Also: tests/sansio/test_forms.py::test_urlencoded_round_trip (percent-encoded byte fields, fixed chunk
sizes) and ::test_unquote_matches_the_standard_library (``+`` and ``%XX`` decoding agrees with
``urllib.parse.unquote_to_bytes``).
"""

from __future__ import annotations

import encodings.aliases
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.forms import (
    FormDataError,
    InvalidFormEncodingError,
    UrlencodedParser,
    decode_form_fields,
)
from microasgi.datastructures import Headers
from microasgi.formparsers import FormParser, MultiPartException

from ._chunks import splits, stream
from ._linear import assert_linear

bodies = st.binary(max_size=80) | st.text(st.sampled_from("ab=&%+2F9;\x00é"), max_size=80).map(
    str.encode
)
_TEXT = st.text(st.sampled_from("=&+%; \x00") | st.characters(codec="utf-8"), max_size=15)
_PAIRS = st.lists(st.tuples(_TEXT, _TEXT), max_size=8).filter(
    lambda pairs: all(name != "_charset_" for name, _ in pairs)
)
FORM = Headers({"content-type": "application/x-www-form-urlencoded"})


def _outcome(
    chunks: list[bytes], max_fields: int, max_part_size: int
) -> list[tuple[bytes, bytes]] | type[FormDataError]:
    parser = UrlencodedParser(max_fields=max_fields, max_part_size=max_part_size)
    fields: list[tuple[bytes, bytes]] = []
    try:
        for chunk in chunks:
            fields += parser.feed(chunk)
        return fields + parser.close()
    except FormDataError as exc:
        return type(exc)


@settings(max_examples=120, deadline=None)
@given(bodies, st.integers(0, 6), st.integers(0, 12), st.data())
def test_any_split_gives_the_same_result(
    body: bytes, max_fields: int, max_part_size: int, data: st.DataObject
) -> None:
    """Split invariance: any body, cut anywhere (1-byte and empty chunks included), gives the
    same fields as in one chunk, or the same limit error (the limits are checked per chunk, yet
    the verdict depends on the bytes alone)."""
    whole = _outcome([body], max_fields, max_part_size)
    assert _outcome(splits(data, body), max_fields, max_part_size) == whole


@settings(max_examples=120, deadline=None)
@given(bodies)
def test_fields_agree_with_parse_qsl(body: bytes) -> None:
    """Reference: the fields are ``urllib.parse.parse_qsl``'s (``&`` only, blanks kept, ``+``
    a space, broken ``%`` escapes kept), byte for byte."""
    reference = parse_qsl(
        body.decode("latin-1"), keep_blank_values=True, separator="&", encoding="latin-1"
    )
    expected = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in reference]
    assert _outcome([body], 1000, 1000) == expected


@settings(max_examples=60, deadline=None)
@given(_PAIRS, st.data())
async def test_urlencode_then_form_round_trips(
    pairs: list[tuple[str, str]], data: st.DataObject
) -> None:
    """Round trip: ``urlencode`` of any text pairs, streamed in any chunks, gives the same
    fields in order through ``FormParser`` (repeated names kept)."""
    body = urlencode(pairs).encode("ascii")
    form = await FormParser(FORM, stream(splits(data, body))).parse()
    assert form.multi_items() == pairs


async def _form(
    body: bytes, content_type: bytes = b"application/x-www-form-urlencoded", **limits: int
) -> list[tuple[str, str]] | int:
    """The form's text fields, or the status of the ``MultiPartException`` it raised."""
    headers = Headers(raw=[(b"content-type", content_type)])
    try:
        form = await FormParser(headers, stream([body]), **limits).parse()
    except MultiPartException as exc:
        return exc.status_code
    items = form.multi_items()
    fields = [(name, value) for name, value in items if isinstance(value, str)]
    assert len(fields) == len(items)  # a urlencoded form holds text only
    return fields


@settings(max_examples=60, deadline=None)
@given(
    bodies,
    st.sampled_from(
        [
            b"application/x-www-form-urlencoded",
            b"application/x-www-form-urlencoded; charset=latin-1",
            b"application/x-www-form-urlencoded; charset=utf-7",
            b"application/x-www-form-urlencoded; charset=nope",
            b'application/x-www-form-urlencoded; charset="',
            b"",
        ]
    )
    | st.binary(max_size=30),
    st.integers(0, 5),
    st.integers(0, 20),
)
async def test_any_body_gives_a_form_or_a_client_error(
    body: bytes, content_type: bytes, max_fields: int, max_part_size: int
) -> None:
    """Totality: any body under any ``Content-Type`` gives a form of text fields or a
    ``MultiPartException`` with 400 or 413, nothing else."""
    outcome = await _form(body, content_type, max_fields=max_fields, max_part_size=max_part_size)
    assert not isinstance(outcome, int) or outcome in (400, 413)


@settings(max_examples=60, deadline=None)
@given(bodies.filter(lambda body: b"_charset_" not in body))
async def test_text_agrees_with_parse_qsl_or_fails_as_it_does(body: bytes) -> None:
    """Reference: the text fields are ``parse_qsl``'s with strict UTF-8; where ``parse_qsl``
    raises ``UnicodeDecodeError``, ``FormParser`` answers 400 instead."""
    expected: list[tuple[str, str]] | int
    try:
        expected = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, separator="&", errors="strict"
        )
    except UnicodeDecodeError:
        expected = 400
    assert await _form(body) == expected


_CODEC_NAMES = sorted({*encodings.aliases.aliases, *encodings.aliases.aliases.values()})


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(st.binary(max_size=10), st.binary(max_size=10)), max_size=4),
    st.sampled_from(_CODEC_NAMES) | st.text(max_size=12),
    st.booleans(),
)
def test_any_charset_decodes_or_raises_the_form_error(
    fields: list[tuple[bytes, bytes]], charset: str, as_field: bool
) -> None:
    """Totality of decoding: any charset name (every codec Python knows, its aliases, garbage),
    from the ``Content-Type`` or a ``_charset_`` field, with any bytes, gives text or
    ``InvalidFormEncodingError`` (400): never ``LookupError``, a codec's own error, or a
    bytes-to-bytes codec (base64, zlib) run on client data."""
    if as_field:
        fields = [(b"_charset_", charset.encode("utf-8", "surrogateescape")), *fields]
    try:
        decoded = decode_form_fields(fields, "utf-8" if as_field else charset)
    except InvalidFormEncodingError:
        return
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in decoded)


def _feed_all(chunks: list[bytes]) -> None:
    parser = UrlencodedParser(max_fields=10**9, max_part_size=10**9)
    for chunk in chunks:
        parser.feed(chunk)
    parser.close()


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda n: [b"&" * n], id="ampersands"),
        pytest.param(lambda n: [b"=" * n], id="equals"),
        pytest.param(lambda n: [b"a=" + b"%" * n], id="percents"),
        pytest.param(lambda n: [b"a=" + b"%2" * n], id="broken-escapes"),
        pytest.param(lambda n: [b"a=" + b"+" * n], id="pluses"),
        pytest.param(lambda n: [b"a=1&" * n], id="many-fields"),
        pytest.param(lambda n: [b"a"] * n, id="one-field-byte-by-byte"),
        pytest.param(lambda n: [b"a="] + [b"="] * n, id="equals-byte-by-byte"),
    ],
)
def test_hostile_bodies_stay_linear(build: Callable[[int], list[bytes]]) -> None:
    """CWE-407 / CWE-1333: separator and escape floods, and one field streamed a byte at a time
    (no rescanning of the buffer per chunk), cost time linear in the body."""
    assert_linear(build, _feed_all, 3_000)
