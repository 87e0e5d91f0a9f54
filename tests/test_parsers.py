"""Sans-I/O parsers: cookies, option headers, urlencoded bodies. No event loop anywhere here."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import quote_from_bytes, unquote_to_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microasgi import _parsers
from microasgi._parsers import (
    FieldTooLargeError,
    FormDataError,
    InvalidFormEncodingError,
    MalformedHeaderError,
    TooManyFieldsError,
    UrlencodedParser,
    decode_form_fields,
    json_nesting_exceeds,
    parse_cookie_header,
    parse_options_header,
    unquote_form_bytes,
)

# ---------------------------------------------------------------------------------------------
# Cookies


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", {}),
        ("   ", {}),
        ("chips=ahoy; vienna=finger", {"chips": "ahoy", "vienna": "finger"}),
        ("keebler=E=mc2", {"keebler": "E=mc2"}),
        ("key:term=value:term", {"key:term": "value:term"}),
        ("a=b; c=[; d=r; f=h", {"a": "b", "c": "[", "d": "r", "f": "h"}),
        ("saint=André Bessette", {"saint": "André Bessette"}),
        ("  =  b  ;  ;  =  ;   c  =  ;  ", {"": "b", "c": ""}),
        ("a   b c=d e = f; gh=i", {"a   b c": "d e = f", "gh": "i"}),
        (
            "abc=def; unnamed; django_language=en",
            {"abc": "def", "": "unnamed", "django_language": "en"},
        ),
        # Quoted values are unquoted, with Python's escapes (octal and backslash-any).
        ('a="b c"; d="\\"q\\""', {"a": "b c", "d": '"q"'}),
        ('name="Andr\\351"', {"name": "André"}),
        ('a="x\\\\y"', {"a": "x\\y"}),
        ('a="unbalanced; b=2', {"a": '"unbalanced', "b": "2"}),
        ('a="', {"a": '"'}),
        ('a=""', {"a": ""}),
        # The last occurrence of a name wins (Starlette's rule).
        ("a=1; a=2", {"a": "2"}),
        # Tabs at the edges are whitespace; a pair holding a control character is skipped alone.
        ("\ta=1\t; b=2", {"a": "1", "b": "2"}),
        ("a=1; bad=\x00x; b=2", {"a": "1", "b": "2"}),
        ("a=1; b\nad=x; b=2", {"a": "1", "b": "2"}),
        ("a=1; bad=x\x7f; b=2", {"a": "1", "b": "2"}),
        ("a=1; tab=x\ty; b=2", {"a": "1", "tab": "x\ty", "b": "2"}),
        ('a=1; bad"=; b=2', {"a": "1", 'bad"': "", "b": "2"}),
        ("é=\xa0", {"é": "\xa0"}),
    ],
)
def test_parse_cookie_header(header: str, expected: dict[str, str]) -> None:
    assert parse_cookie_header(header) == expected


def test_cookies_keep_header_order() -> None:
    assert list(parse_cookie_header("z=1; a=2; m=3")) == ["z", "a", "m"]


@given(st.text())
def test_cookie_parser_never_raises(header: str) -> None:
    for name, value in parse_cookie_header(header).items():
        assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", name)
        assert name == name.strip(" \t")
        assert isinstance(value, str)


# ---------------------------------------------------------------------------------------------
# Option headers


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("text/plain", ("text/plain", {})),
        ("  Text/HTML  ", ("text/html", {})),
        ('Text/HTML; Charset="utf-8"', ("text/html", {"charset": "utf-8"})),
        ("text/html;charset=UTF-8", ("text/html", {"charset": "UTF-8"})),
        ("text/html ; charset = utf-8 ", ("text/html", {"charset": "utf-8"})),
        (
            "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk",
            ("multipart/form-data", {"boundary": "----WebKitFormBoundary7MA4YWxk"}),
        ),
        ('a/b; q="a;b=c"', ("a/b", {"q": "a;b=c"})),
        ('a/b; q="say \\"hi\\" \\\\"', ("a/b", {"q": 'say "hi" \\'})),
        ('a/b; q=""', ("a/b", {"q": ""})),
        ("a/b; q=", ("a/b", {"q": ""})),
        ("a/b; q=two words", ("a/b", {"q": "two words"})),
        # Empty parameters and names without a value are ignored.
        ("a/b;", ("a/b", {})),
        ("a/b;;; c=d ;", ("a/b", {"c": "d"})),
        ("a/b; flag; c=d", ("a/b", {"c": "d"})),
        ("a/b; flag", ("a/b", {})),
        ("a/b; flag  ", ("a/b", {})),
        # RFC 8187 extended values replace the plain parameter, whichever comes first.
        (
            "a/b; title*=UTF-8''na%C3%AFve; title=naive",
            ("a/b", {"title": "naïve"}),
        ),
        ("a/b; title*=iso-8859-1'en'caf%E9", ("a/b", {"title": "café"})),
        ("a/b; title*=\"utf-8''x%20y\"", ("a/b", {"title": "x y"})),
        # RFC 2231 continuations are not joined: the pieces stay as they are.
        ("a/b; t*0=x; t*1=y", ("a/b", {"t*0": "x", "t*1": "y"})),
    ],
)
def test_parse_options_header(header: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_options_header(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("form-data", ("form-data", {})),
        (
            'Form-Data; name="file"; filename="a b.txt"',
            ("form-data", {"name": "file", "filename": "a b.txt"}),
        ),
        (
            "attachment; filename=\"x.txt\"; filename*=UTF-8''%E2%82%AC.txt",
            ("attachment", {"filename": "€.txt"}),
        ),
        ("a/b", ("a/b", {})),
    ],
)
def test_parse_options_header_without_subtype(
    header: str, expected: tuple[str, dict[str, str]]
) -> None:
    assert parse_options_header(header, require_subtype=False) == expected


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "must start with a media type"),
        ("   ", "must start with a media type"),
        ("; charset=utf-8", "must start with a media type"),
        ("text", "must start with a media type"),
        ("/plain", "must start with a media type"),
        ("text/", "must start with a media type"),
        ("text/plain/x", "must start with a media type"),
        ("te xt/plain", "must start with a media type"),
        ('"text/plain"', "must start with a media type"),
        ('a/b; q="open', "Unbalanced quotes"),
        ('a/b; q="escaped end\\"', "Unbalanced quotes"),
        ('a/b; q="trailing backslash\\', "Unbalanced quotes"),
        ('a/b; q=x"y"', "Unexpected character '\"'"),
        ('a/b; q="x" y', "Unexpected character 'y'"),
        ("a/b; q y=1", "expected a name=value pair"),
        ("a/b; =1", "expected a name=value pair"),
        ("a/b; @=1", "expected a name=value pair"),
        ("a/b; q=1; Q=2", "Parameter 'q' repeats"),
        ("a/b; t*=x; t*=y", r"Parameter 't\*' repeats"),
        ("a/b; t*=plain", "must be an RFC 8187 extended value"),
        ("a/b; t*=utf-8'x", "must be an RFC 8187 extended value"),
        ("a/b; t*=koi8-r''x", "only UTF-8 and ISO-8859-1"),
        ("a/b; t*=utf-8''%FF", "is not valid utf-8"),
    ],
)
def test_parse_options_header_rejects(header: str, message: str) -> None:
    with pytest.raises(MalformedHeaderError, match=message):
        parse_options_header(header)


@pytest.mark.parametrize("header", ["", "a b", "a/b/c", "a/"])
def test_parse_options_header_without_subtype_rejects(header: str) -> None:
    with pytest.raises(MalformedHeaderError, match="must start with a token"):
        parse_options_header(header, require_subtype=False)


def test_error_messages_clip_huge_values() -> None:
    with pytest.raises(MalformedHeaderError) as info:
        parse_options_header("x" * 100_000)
    assert len(str(info.value)) < 300


@given(st.text())
def test_options_parser_raises_only_its_error(header: str) -> None:
    try:
        value, params = parse_options_header(header)
    except MalformedHeaderError:
        return
    assert value == value.lower()
    assert "/" in value
    assert all(name == name.lower() for name in params)


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
    patterns = [value for value in vars(_parsers).values() if isinstance(value, re.Pattern)]
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
    run = _parsers._run

    def counting(pattern: re.Pattern[str], value: str, pos: int) -> re.Match[str]:
        nonlocal calls
        calls += 1
        return run(pattern, value, pos)

    monkeypatch.setattr(_parsers, "_run", counting)
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
            "Too many fields in the form: the limit is 2",
        ),
        ([b"a=1&b=2&", b"c"], 2, 10, TooManyFieldsError, "the limit is 2"),
        ([b"a"], 0, 10, TooManyFieldsError, "the limit is 0"),
        ([b"a=" + b"x" * 11], 5, 10, FieldTooLargeError, "value is larger than the limit of 10"),
        ([b"a=xxxxxx", b"xxxxx"], 5, 10, FieldTooLargeError, "value is larger"),
        ([b"n" * 11], 5, 10, FieldTooLargeError, "name is larger"),
        ([b"n" * 6, b"n" * 5 + b"=1"], 5, 10, FieldTooLargeError, "name is larger"),
        # Percent escapes count as sent: 4 escapes are 12 bytes, over a limit of 10.
        ([b"a=%41%41%41%41"], 5, 10, FieldTooLargeError, "value is larger"),
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


def test_all_is_sorted() -> None:
    assert _parsers.__all__ == sorted(_parsers.__all__)


@pytest.mark.parametrize(
    ("body", "limit", "exceeds"),
    [
        (b"[" * 3 + b"]" * 3, 3, False),
        (b"[" * 4 + b"]" * 4, 3, True),
        (b'{"a": {"b": {"c": [1]}}}', 3, True),
        (b'{"a": {"b": {"c": [1]}}}', 4, False),
        (b'["[[[[[[", "{{{{{{"]', 2, False),  # brackets inside strings do not count
        (b'["\\"[[[[", [1], [2], [3]]', 2, False),  # nor after an escaped quote
        (b"[1, 2, 3, [4], [5], [6], [7]]", 2, False),  # many brackets, shallow
        (b"]]]][[[", 2, False),  # malformed: json.loads refuses it; depth never passes 2
    ],
)
def test_json_nesting_exceeds(body: bytes, limit: int, exceeds: bool) -> None:
    assert json_nesting_exceeds(body, limit) is exceeds
