"""Properties of query-string parsing: ``microasgi._sansio.multidict.parse_query`` and ``QueryParams``.

Documented error: none. ``QueryParams`` accepts any ``str`` or ``bytes`` query (raw non-ASCII
bytes are percent-encoded first, bad UTF-8 becomes U+FFFD).

Also: tests/test_datastructures.py::test_parse_query_equals_parse_qsl (agreement with
``urllib.parse.parse_qsl`` on any text) and ::test_query_params_never_raise_and_round_trip (any
bytes; ``str(params)`` parses back to the same params).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.multidict import parse_query
from microasgi.datastructures import QueryParams

from ._linear import assert_linear

# Any text that UTF-8 can encode (no lone surrogates), with the query grammar's characters boosted.
_TEXT = st.text(st.sampled_from("=&+%;# ") | st.characters(codec="utf-8"), max_size=20)
_PAIRS = st.lists(st.tuples(_TEXT, _TEXT), max_size=8)


@settings(max_examples=120, deadline=None)
@given(_PAIRS)
def test_urlencode_then_parse_round_trips(pairs: list[tuple[str, str]]) -> None:
    """Round trip: ``urlencode`` of any pairs parses back to the same pairs, in order, repeated
    names kept (as ``str`` and as the ``bytes`` of ``scope["query_string"]``)."""
    query = urlencode(pairs)
    # An empty name with an empty value encodes to "=", which is still a field; only "" is not.
    assert QueryParams(query).multi_items() == pairs
    assert QueryParams(query.encode("ascii")).multi_items() == pairs


@settings(max_examples=120, deadline=None)
@given(_PAIRS)
def test_the_mapping_view_keeps_the_last_value(pairs: list[tuple[str, str]]) -> None:
    """``params[key]`` is the last value of the key, ``getlist`` all of them (Starlette's rule)."""
    params = QueryParams(urlencode(pairs))
    for key in dict(pairs):
        assert params[key] == dict(pairs)[key]
        assert params.getlist(key) == [value for name, value in pairs if name == key]


@settings(max_examples=120, deadline=None)
@given(st.binary(max_size=60))
def test_raw_bytes_agree_with_parse_qsl(raw: bytes) -> None:
    """Reference: a raw ``query_string`` parses as ``parse_qsl`` parses the same bytes decoded
    leniently (``&`` only; malformed UTF-8, raw or escaped, becomes U+FFFD)."""
    params = QueryParams(raw)
    reference = parse_qsl(
        raw.decode("latin-1"), keep_blank_values=True, separator="&", encoding="latin-1"
    )
    expected = [
        (
            name.encode("latin-1").decode("utf-8", "replace"),
            value.encode("latin-1").decode("utf-8", "replace"),
        )
        for name, value in reference
    ]
    assert params.multi_items() == expected


@settings(max_examples=120, deadline=None)
@given(_TEXT, _TEXT)
def test_concatenation_with_ampersand_is_concatenation_of_pairs(first: str, second: str) -> None:
    """Split invariance: ``a&b`` holds the pairs of ``a`` then those of ``b``, whatever they hold."""
    assert parse_query(f"{first}&{second}") == parse_query(first) + parse_query(second)


@pytest.mark.parametrize("unit", ["&", "=", "%", "+", "%%", "%2", "a=%zz&", "&=", ";"])
def test_separator_and_escape_floods_stay_linear(unit: str) -> None:
    """CWE-1333 / CWE-407: runs of ``&``, ``=``, ``%`` (broken escapes) and ``+`` cost time
    linear in the query string."""
    assert_linear(lambda n: (unit * n).encode(), QueryParams, 20_000)
