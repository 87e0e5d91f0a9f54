"""Properties of option headers (``Content-Type``, ``Content-Disposition``):
``microasgi._sansio.options.parse_options_header``.

Documented error: ``MalformedHeaderError`` (a ``ValueError``), which the form parsers turn into a
400. Nothing else may escape, for any text.

Also: tests/sansio/test_options.py::test_options_parser_raises_only_its_error (any text, media types:
only ``MalformedHeaderError``; the value and parameter names come back lowercased).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.options import MalformedHeaderError, parse_options_header

from ._linear import assert_linear

_TCHARS = "!#$%&'+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
tokens = st.text(st.sampled_from(_TCHARS), min_size=1, max_size=10)
# Parameter names: tokens without "*", which marks an RFC 8187 extended value.
param_names = tokens.filter(lambda name: not name.endswith("*"))
# A quoted-string may hold any text but controls (obs-text, i.e. latin-1, included).
quotable = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=20
)
_HOSTILE = st.text(st.sampled_from(";=/\"\\* \t'%aB\x00\xe9"), max_size=60)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@settings(max_examples=120, deadline=None)
@given(
    tokens,
    tokens,
    st.dictionaries(param_names, quotable, max_size=5),
    st.sampled_from([";", "; ", " ; ", ";\t"]),
)
def test_build_then_parse_round_trips(
    kind: str, subtype: str, params: dict[str, str], sep: str
) -> None:
    """Round trip: ``type/subtype`` with quoted parameters parses back to the lowercased media
    type and the same values (escapes resolved), with lowercased names."""
    lowered = {name.lower(): value for name, value in params.items()}
    if len(lowered) < len(params):
        return  # two names equal but for case: a repeated parameter, which is an error
    header = f"{kind}/{subtype}" + "".join(
        f"{sep}{name}={_quoted(value)}" for name, value in params.items()
    )
    assert parse_options_header(header) == (f"{kind}/{subtype}".lower(), lowered)


@settings(max_examples=120, deadline=None)
@given(tokens, st.dictionaries(param_names, tokens, max_size=5))
def test_token_values_need_no_quotes(disposition: str, params: dict[str, str]) -> None:
    """Round trip: unquoted token values read the same as quoted ones (``require_subtype=False``
    for ``Content-Disposition``)."""
    if len({name.lower() for name in params}) < len(params):
        return
    plain = disposition + "".join(f"; {name}={value}" for name, value in params.items())
    quoted = disposition + "".join(f"; {name}={_quoted(value)}" for name, value in params.items())
    assert parse_options_header(plain, require_subtype=False) == parse_options_header(
        quoted, require_subtype=False
    )


@settings(max_examples=120, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=20), st.sampled_from(["UTF-8", "utf-8"]))
def test_rfc_8187_filenames_round_trip(filename: str, charset: str) -> None:
    """Round trip: ``filename*=UTF-8''<percent-encoded>`` decodes to the name, and replaces a
    plain ``filename`` (RFC 6266), whatever the name holds."""
    header = f"form-data; filename=\"fallback\"; filename*={charset}''{quote(filename, safe='')}"
    assert parse_options_header(header, require_subtype=False) == (
        "form-data",
        {"filename": filename},
    )


@settings(max_examples=120, deadline=None)
@given(_HOSTILE | st.text(max_size=60), st.booleans())
def test_any_header_raises_only_the_documented_error(header: str, require_subtype: bool) -> None:
    """Totality: any text (quotes, escapes, ``*`` parameters, controls, non-ASCII) gives a
    result or ``MalformedHeaderError``, for media types and dispositions alike."""
    try:
        value, params = parse_options_header(header, require_subtype=require_subtype)
    except MalformedHeaderError:
        return
    assert value == value.lower()
    assert value
    assert all(name == name.lower() and not name.endswith("*") for name in params)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda n: "a/b" + ";" * n, id="semicolons"),
        pytest.param(lambda n: "a/b;" + "=" * n, id="equals"),
        pytest.param(lambda n: 'a/b; x="' + "\\a" * n + '"', id="escapes"),
        pytest.param(lambda n: 'a/b; x="' + "\\" * n, id="backslashes-unclosed"),
        pytest.param(lambda n: "a/b" + ' ; x="y"' * n, id="repeated-param"),
        pytest.param(lambda n: "a/b" + "".join(f"; p{i}=v" for i in range(n)), id="many-params"),
        pytest.param(lambda n: "a/b; x=" + '"' * n, id="quotes"),
        pytest.param(lambda n: "a/b; x*=UTF-8''" + "%" * n, id="percents"),
        pytest.param(lambda n: "a/b; x*=UTF-8''" + "%41" * n, id="escaped-ext-value"),
        pytest.param(lambda n: "a/b; x" + " " * n + "=1", id="spaces"),
    ],
)
def test_hostile_shapes_stay_linear(build: Callable[[int], str]) -> None:
    """CWE-1333: no regex backtracks and no loop rescans, whatever the header repeats (the
    ``Content-Type`` of a form is client input)."""

    def run(header: str) -> None:
        try:
            parse_options_header(header)
        except MalformedHeaderError:
            pass

    assert_linear(build, run, 1_500)
