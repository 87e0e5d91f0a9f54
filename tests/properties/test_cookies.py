"""Properties of the ``Cookie`` header parser, ``microasgi._sansio.cookies.parse_cookie_header``.

Documented error: none. The parser is total: any text gives a ``dict[str, str]``.

Also: tests/sansio/test_cookies.py::test_cookie_parser_never_raises (any text: no control character in
a name, names stripped).
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.cookies import parse_cookie_header
from microasgi.responses import Response

from ._linear import assert_linear

# The characters of an HTTP token: what Response.set_cookie accepts as a name.
_TOKEN = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# The separators, quotes, escapes and controls of the grammar, plus a letter and non-ASCII.
_HOSTILE = st.text(st.sampled_from(';= "\\\t\x00\x7f,a\xe9\u2028'), max_size=80)
# Names SimpleCookie reads as attributes of the previous cookie, not as cookies.
_RESERVED = {
    "expires",
    "path",
    "comment",
    "domain",
    "max-age",
    "secure",
    "httponly",
    "version",
    "samesite",
    "partitioned",
}

names = st.text(st.sampled_from(_TOKEN), min_size=1, max_size=12)
# Response.set_cookie writes a header, which must be latin-1; within that any value round trips.
values = st.text(st.characters(max_codepoint=0xFF), max_size=30)


def _set_cookie_pair(name: str, value: str) -> str:
    """The ``name=value`` a browser stores from ``Response.set_cookie`` and sends back."""
    response = Response()
    response.set_cookie(name, value)
    header = response.raw_headers[-1][1].decode("latin-1")
    # The value is quoted with ";" escaped (\073), so the first "; " ends the pair.
    return header.partition("; ")[0]


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(names, values, max_size=6))
def test_set_cookie_then_parse_round_trips(cookies: dict[str, str]) -> None:
    """Round trip: cookies written by ``Response.set_cookie`` parse back to the same values,
    whatever the value holds (separators, quotes, backslashes, controls, latin-1 letters)."""
    header = "; ".join(_set_cookie_pair(name, value) for name, value in cookies.items())
    assert parse_cookie_header(header) == cookies


@settings(max_examples=120, deadline=None)
@given(_HOSTILE, _HOSTILE)
def test_several_cookie_headers_join_like_dicts(first: str, second: str) -> None:
    """HTTP/2 sends one ``cookie`` field per cookie; joined with ``"; "`` they parse as the
    union of their parts (the later one wins), whatever either holds."""
    assert parse_cookie_header(f"{first}; {second}") == {
        **parse_cookie_header(first),
        **parse_cookie_header(second),
    }


@settings(max_examples=120, deadline=None)
@given(_HOSTILE | st.text(max_size=80))
def test_any_header_gives_clean_pairs(header: str) -> None:
    """Totality: no error for any input; no name or value carries a control character (HTAB
    only inside a value), names and unquoted values have no surrounding spaces."""
    for name, value in parse_cookie_header(header).items():
        assert not _CONTROL.search(name)
        assert ";" not in name
        assert "=" not in name
        assert name == name.strip(" \t")
        assert not _CONTROL.search(value) or '"' in header or "\\" in header


_SIMPLE_NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda name: name.lower() not in _RESERVED
)
_SIMPLE_VALUES = st.from_regex(r"[A-Za-z0-9!#$%&'*+\-.^_`|~:]{0,12}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_SIMPLE_NAMES, _SIMPLE_VALUES), min_size=1, max_size=6),
    st.sampled_from([";", "; ", " ;  ", ";\t"]),
)
def test_simple_cookies_agree_with_http_cookies(pairs: list[tuple[str, str]], sep: str) -> None:
    """Reference: where ``http.cookies`` and browsers agree (plain names and token values),
    the parser gives what ``SimpleCookie`` gives, separators and spacing aside."""
    header = sep.join(f"{name}={value}" for name, value in pairs)
    reference = SimpleCookie()
    reference.load(header)
    assert parse_cookie_header(header) == {key: morsel.value for key, morsel in reference.items()}


@pytest.mark.parametrize(
    "unit",
    [";", "=", '"', "a=1;", ";=", "a=\x00;", " \t", "\\"],
)
def test_separator_floods_stay_linear(unit: str) -> None:
    """CWE-1333 / CWE-407: long runs of separators, quotes and control-holding pairs cost time
    linear in the header (the cookie header is client input of any length)."""
    assert_linear(lambda n: unit * n, parse_cookie_header, 8_000)


@pytest.mark.parametrize("escape", ["\\", "\\101", '\\"', "\\\\"])
def test_escape_floods_in_one_quoted_value_stay_linear(escape: str) -> None:
    """CWE-1333: one quoted value full of backslash escapes (``http.cookies`` octal escapes
    included) is unescaped in one pass."""
    assert_linear(lambda n: 'a="' + escape * n + '"', parse_cookie_header, 4_000)
