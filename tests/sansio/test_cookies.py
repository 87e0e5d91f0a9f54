"""The Cookie header parser, microasgi._sansio.cookies."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microasgi._sansio.cookies import parse_cookie_header

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
