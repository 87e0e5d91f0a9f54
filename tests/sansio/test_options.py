"""Option headers (Content-Type, Content-Disposition), microasgi._sansio.options."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microasgi._sansio.options import MalformedHeaderError, parse_options_header

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
