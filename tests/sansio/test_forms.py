"""Form bodies, microasgi._sansio.forms (urlencoded parsing, decoding to text), and the
properties every request-data parser of the protocol layer shares: linear time on hostile input,
no backtracking regex."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import quote_from_bytes, unquote_to_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microasgi._sansio import body, cookies, forms, multipart, options, text
from microasgi._sansio.cookies import parse_cookie_header
from microasgi._sansio.forms import (
    FieldTooLargeError,
    FormDataError,
    InvalidFormEncodingError,
    TooManyFieldsError,
    UrlencodedParser,
    decode_form_fields,
    parse_utf8_form,
    unquote_form_bytes,
)
from microasgi._sansio.options import MalformedHeaderError, parse_options_header

# ---------------------------------------------------------------------------------------------
# Linear time on hostile input. A quadratic parser would need hours on a megabyte; a linear one
# needs well under a second. The bound is a generous sanity check, not a benchmark.

MEGABYTE = 1024 * 1024
_HOSTILE: list[tuple[str, Callable[[], object]]] = [
    ("cookie: quotes and backslashes", lambda: parse_cookie_header('"\\' * (MEGABYTE // 2))),
    ("cookie: only separators", lambda: parse_cookie_header(";" * MEGABYTE)),
    ("cookie: control characters", lambda: parse_cookie_header("a=\x01;" * (MEGABYTE // 4))),
    ("cookie: octal escapes", lambda: parse_cookie_header('a="' + "\\101" * (MEGABYTE // 4) + '"')),
    ("options: escaped quotes", lambda: _options('a/b; x="' + '\\"' * (MEGABYTE // 2))),
    ("options: empty parameters", lambda: _options("a/b" + ";" * MEGABYTE)),
    ("options: unclosed quote", lambda: _options('a/b; x="' + "a" * MEGABYTE)),
    ("options: whitespace", lambda: _options("a/b;" + " " * MEGABYTE + "x")),
    ("options: spaced value", lambda: _options("a/b; x=" + "a " * (MEGABYTE // 2))),
    ("options: percent signs", lambda: _options("a/b; f*=utf-8''" + "%" * MEGABYTE)),
    ("options: many names", lambda: _options("a/b" + ";x" * (MEGABYTE // 2))),
    ("form: percent signs", lambda: _form(b"a=" + b"%" * MEGABYTE)),
    ("form: separators", lambda: _form(b"&" * MEGABYTE)),
    ("form: equals signs", lambda: _form(b"=" * MEGABYTE)),
    ("form: one byte at a time", lambda: _form(b"a=" + b"b" * (MEGABYTE // 8), chunk=1)),
]


def _options(header: str) -> object:
    try:
        return parse_options_header(header)
    except MalformedHeaderError:
        return None


def _form(body: bytes, chunk: int = 65536) -> object:
    parser = UrlencodedParser(max_fields=MEGABYTE, max_part_size=2 * MEGABYTE)
    fields = []
    for start in range(0, len(body), chunk):
        fields += parser.feed(body[start : start + chunk])
    return fields + parser.close()


@pytest.mark.parametrize("run", [case[1] for case in _HOSTILE], ids=[case[0] for case in _HOSTILE])
def test_hostile_megabyte_is_parsed_in_linear_time(run: Callable[[], object]) -> None:
    # Each takes well under a second (about 0.1-0.5 s here, more under coverage); a quadratic
    # parser would take hours on a megabyte. CPU time, not wall time, so a busy machine cannot
    # fail the test.
    start = time.process_time()
    run()
    assert time.process_time() - start < 30.0


def test_no_regex_has_a_quantified_group() -> None:
    # Backtracking blow-ups need a quantifier applied to a group that itself repeats; no pattern
    # here quantifies a group at all, so every match is a single left-to-right pass.
    modules = (body, cookies, forms, multipart, options, text)
    patterns = [v for m in modules for v in vars(m).values() if isinstance(v, re.Pattern)]
    assert len(patterns) >= 8
    for pattern in patterns:
        source = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode()
        assert not re.search(r"\)[*+?{]", source), source


@pytest.mark.parametrize(
    "unit",
    ["; a{i}=b", ";", '; q{i}="x\\"y"', "; flag", " ", "; t{i}*=utf-8''%41"],
    ids=["params", "empty", "quoted", "flags", "spaces", "extended"],
)
def test_options_parser_does_constant_work_per_parameter(
    unit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Count the regex steps (each a single character-class run, linear in what it consumes)
    # for growing inputs: the count per repeated unit must not grow with the input.
    calls = 0
    run = options._run

    def counting(pattern: re.Pattern[str], value: str, pos: int) -> re.Match[str]:
        nonlocal calls
        calls += 1
        return run(pattern, value, pos)

    monkeypatch.setattr(options, "_run", counting)
    per_unit = []
    for repeat in (10, 100, 10_000):
        calls = 0
        parse_options_header("a/b" + "".join(unit.format(i=i) for i in range(repeat)))
        per_unit.append(calls / repeat)
    assert per_unit[-1] <= per_unit[0] + 0.01
    assert per_unit[-1] <= 8


def test_urlencoded_parser_does_constant_work_per_field(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    append = UrlencodedParser._append

    def counting(self: UrlencodedParser, data: bytes, start: int, stop: int) -> None:
        nonlocal calls
        calls += 1
        append(self, data, start, stop)

    monkeypatch.setattr(UrlencodedParser, "_append", counting)
    for fields in (10, 1000, 100_000):
        calls = 0
        body = b"a=1&" * fields
        _form(body)
        # One call per field, plus one per 64 KiB chunk boundary.
        assert calls <= fields + len(body) // 65536 + 1


# ---------------------------------------------------------------------------------------------
# urlencoded bodies


def _parse(
    chunks: list[bytes], max_fields: int = 1000, max_part_size: int = 1000
) -> list[tuple[bytes, bytes]]:
    parser = UrlencodedParser(max_fields=max_fields, max_part_size=max_part_size)
    fields = []
    for chunk in chunks:
        fields += parser.feed(chunk)
    return fields + parser.close()


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([], []),
        ([b""], []),
        ([b"a=1&b=2"], [(b"a", b"1"), (b"b", b"2")]),
        ([b"a=1", b"&b", b"=2"], [(b"a", b"1"), (b"b", b"2")]),
        ([b"a", b"=", b"1", b"&", b"b=2"], [(b"a", b"1"), (b"b", b"2")]),
        ([b"a=1&&&b=2&"], [(b"a", b"1"), (b"b", b"2")]),
        ([b"&&&"], []),
        # The semicolon is data, not a separator.
        ([b"a=1;b=2"], [(b"a", b"1;b=2")]),
        ([b"a;b=2"], [(b"a;b", b"2")]),
        # Plus is a space; percent escapes decode; a bad escape stays as it is.
        ([b"a+b=c+d%20e"], [(b"a b", b"c d e")]),
        ([b"k=%zz%4%"], [(b"k", b"%zz%4%")]),
        ([b"k=%E9%e9"], [(b"k", b"\xe9\xe9")]),
        ([b"%3D=%26"], [(b"=", b"&")]),
        # A field without "=" has the empty value; only the first "=" splits.
        ([b"flag&a=b=c"], [(b"flag", b""), (b"a", b"b=c")]),
        ([b"=v"], [(b"", b"v")]),
        ([b"a="], [(b"a", b"")]),
        ([b"a=", b"=b"], [(b"a", b"=b")]),
    ],
)
def test_urlencoded_parser(chunks: list[bytes], expected: list[tuple[bytes, bytes]]) -> None:
    assert _parse(chunks) == expected


def test_fields_are_returned_as_soon_as_complete() -> None:
    parser = UrlencodedParser(max_fields=10, max_part_size=10)
    assert parser.feed(b"a=1&b") == [(b"a", b"1")]
    assert parser.feed(b"=2&") == [(b"b", b"2")]
    assert parser.feed(b"c") == []
    assert parser.close() == [(b"c", b"")]


@pytest.mark.parametrize(
    ("chunks", "max_fields", "max_part_size", "error", "message"),
    [
        (
            [b"a=1&b=2&c=3"],
            2,
            10,
            TooManyFieldsError,
            "Too many fields. Maximum number of fields is 2",
        ),
        ([b"a=1&b=2&", b"c"], 2, 10, TooManyFieldsError, "Maximum number of fields is 2"),
        ([b"a"], 0, 10, TooManyFieldsError, "Maximum number of fields is 0"),
        ([b"a=" + b"x" * 11], 5, 10, FieldTooLargeError, "Field exceeded maximum size of 10 bytes"),
        # The same, for a field whole in its chunk (cut straight out of it).
        (
            [b"a=" + b"x" * 11 + b"&b=1"],
            5,
            10,
            FieldTooLargeError,
            "Field exceeded maximum size of 10 bytes",
        ),
        (
            [b"n" * 11 + b"=1&b=1"],
            5,
            10,
            FieldTooLargeError,
            "Field exceeded maximum size of 10 bytes",
        ),
        (
            [b"a=xxxxxx", b"xxxxx"],
            5,
            10,
            FieldTooLargeError,
            "Field exceeded maximum size of 10 bytes",
        ),
        ([b"n" * 11], 5, 10, FieldTooLargeError, "Field exceeded maximum size of 10 bytes"),
        (
            [b"n" * 6, b"n" * 5 + b"=1"],
            5,
            10,
            FieldTooLargeError,
            "Field exceeded maximum size of 10 bytes",
        ),
        # Percent escapes count as sent: 4 escapes are 12 bytes, over a limit of 10.
        ([b"a=%41%41%41%41"], 5, 10, FieldTooLargeError, "Field exceeded maximum size of 10 bytes"),
    ],
)
def test_urlencoded_limits(
    chunks: list[bytes],
    max_fields: int,
    max_part_size: int,
    error: type[FormDataError],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        _parse(chunks, max_fields, max_part_size)


def test_limits_are_exact() -> None:
    assert len(_parse([b"a=1&" * 3], max_fields=3)) == 3
    assert _parse([b"n" * 10 + b"=" + b"v" * 10], max_part_size=10) == [(b"n" * 10, b"v" * 10)]


def test_ten_thousand_tiny_fields_stop_at_the_limit() -> None:
    parser = UrlencodedParser(max_fields=1000, max_part_size=1000)
    with pytest.raises(TooManyFieldsError):
        parser.feed(b"a=1&" * 10_000)
    ok = UrlencodedParser(max_fields=10_000, max_part_size=1000)
    assert len(ok.feed(b"a=1&" * 10_000)) == 10_000


def test_huge_field_fails_on_the_chunk_that_passes_the_limit() -> None:
    parser = UrlencodedParser(max_fields=10, max_part_size=1024)
    parser.feed(b"a=" + b"x" * 1000)
    with pytest.raises(FieldTooLargeError):
        parser.feed(b"x" * 25)


@given(st.lists(st.tuples(st.binary(), st.binary()), max_size=20), st.integers(1, 7))
def test_urlencoded_round_trip(fields: list[tuple[bytes, bytes]], chunk: int) -> None:
    body = b"&".join(
        quote_from_bytes(n).encode() + b"=" + quote_from_bytes(v).encode() for n, v in fields
    )
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    # "=" alone (empty name and value) is a field; only empty segments are skipped.
    assert _parse(pieces, max_fields=100, max_part_size=10_000) == fields


@given(st.binary())
def test_unquote_matches_the_standard_library(raw: bytes) -> None:
    assert unquote_form_bytes(raw) == unquote_to_bytes(raw.replace(b"+", b" "))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", []),
        (
            b"a=1&&b+c=%41%C3%A9&flag&=&%zz",
            [("a", "1"), ("b c", "Aé"), ("flag", ""), ("", ""), ("%zz", "")],
        ),
        (b"x=_charset_", [("x", "_charset_")]),
        # Left to the incremental parser and decode_form_fields, which word the error (or
        # read another charset): bytes that are not UTF-8, before or after the escapes are
        # decoded, and a _charset_ field, plainly or percent-encoded.
        (b"a=\xff", None),
        (b"a=%FF", None),
        (b"a=\xc3%A9", None),
        (b"_charset_=latin-1", None),
        (b"a=1&%5Fcharset%5F=latin-1", None),
    ],
)
def test_parse_utf8_form(body: bytes, expected: list[tuple[str, str]] | None) -> None:
    assert parse_utf8_form(body) == expected


@given(st.binary() | st.text(st.sampled_from("ab=&%+2F9;_é\x00")).map(str.encode))
def test_parse_utf8_form_agrees_with_the_incremental_parser(body: bytes) -> None:
    """Whatever it takes, it parses as UrlencodedParser and decode_form_fields do."""
    fields = parse_utf8_form(body)
    if fields is not None:
        assert fields == decode_form_fields(_parse([body], 10**6, 10**6), "utf-8")


# ---------------------------------------------------------------------------------------------
# Decoding to text


@pytest.mark.parametrize(
    ("fields", "charset", "expected"),
    [
        ([], "utf-8", []),
        ([(b"a", b"\xc3\xa9")], "utf-8", [("a", "é")]),
        ([(b"a", b"\xe9")], "latin-1", [("a", "é")]),
        ([(b"a", b"\xe9")], "ISO-8859-1", [("a", "é")]),
        # The _charset_ field names the charset and stays in the form.
        (
            [(b"_charset_", b"iso-8859-1"), (b"a", b"\xe9")],
            "utf-8",
            [("_charset_", "iso-8859-1"), ("a", "é")],
        ),
        (
            [(b"a", b"\xe9"), (b"_charset_", b"cp1252"), (b"_charset_", b"x")],
            "utf-8",
            [("a", "é"), ("_charset_", "cp1252"), ("_charset_", "x")],
        ),
        ([(b"a", b"\x93\xfa")], "shift_jis", [("a", "日")]),
    ],
)
def test_decode_form_fields(
    fields: list[tuple[bytes, bytes]], charset: str, expected: list[tuple[str, str]]
) -> None:
    assert decode_form_fields(fields, charset) == expected


@pytest.mark.parametrize(
    ("fields", "charset", "message"),
    [
        ([(b"a", b"\xff")], "utf-8", "The form is not valid utf-8: invalid start byte at byte 0"),
        ([(b"\xff", b"")], "utf-8", "not valid utf-8"),
        ([(b"_charset_", b"nope")], "utf-8", "Unsupported form charset 'nope'"),
        ([(b"_charset_", b"")], "utf-8", "Unsupported form charset ''"),
        (
            [(b"_charset_", b"\xff")],
            "utf-8",
            r"The _charset_ field b'\\xff' is not an ASCII charset name",
        ),
        ([(b"_charset_", b"base64")], "utf-8", "Unsupported form charset 'base64'"),
        ([(b"_charset_", b"rot13")], "utf-8", "Unsupported form charset 'rot13'"),
        ([(b"_charset_", b"utf-7")], "utf-8", "Unsupported form charset 'utf-7'"),
        ([(b"_charset_", b"punycode")], "utf-8", "Unsupported form charset"),
        ([(b"_charset_", b"unicode_escape")], "utf-8", "Unsupported form charset"),
        ([], "no-such-codec", "Unsupported form charset 'no-such-codec'"),
    ],
)
def test_decode_form_fields_rejects(
    fields: list[tuple[bytes, bytes]], charset: str, message: str
) -> None:
    with pytest.raises(InvalidFormEncodingError, match=message):
        decode_form_fields(fields, charset)


def test_errors_share_a_base_and_are_value_errors() -> None:
    for error in (TooManyFieldsError, FieldTooLargeError, InvalidFormEncodingError):
        assert issubclass(error, FormDataError)
    assert issubclass(FormDataError, ValueError)
    assert issubclass(MalformedHeaderError, ValueError)


@pytest.mark.parametrize("module", [body, cookies, forms, multipart, options, text])
def test_all_is_sorted(module: object) -> None:
    names = getattr(module, "__all__")  # noqa: B009
    assert names == sorted(names)
