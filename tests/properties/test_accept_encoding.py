"""Properties of ``Accept-Encoding`` negotiation: ``microasgi._sansio.encoding``.

Documented error: none. ``parse_accept_encoding`` and ``select_encoding`` are total; an element
that breaks the grammar is left out, as if the client had not listed it.

Also: tests/sansio/test_encoding.py::test_any_text_gives_an_offered_coding_or_none (any text: an
offered coding or ``None``, weights in [0, 1], names lowercased) and
::test_a_coding_refused_by_name_is_never_chosen (``q=0`` is a refusal that nothing overrides).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.encoding import MAX_HEADER_LENGTH, parse_accept_encoding, select_encoding

from ._linear import assert_linear

AVAILABLE = ("zstd", "br", "gzip")
codings = st.sampled_from(["gzip", "GZip", "x-gzip", "br", "zstd", "deflate", "identity", "*"])


def _qvalue(thousandths: int, spelling: int) -> str:
    """One of the RFC 9110 spellings of a weight: ``0``, ``0.5``, ``0.500``, ``1``, ``1.0`` ..."""
    if thousandths == 1000:
        return ["1", "1.", "1.0", "1.000"][spelling]
    if thousandths == 0:
        return ["0", "0.", "0.0", "0.000"][spelling]
    exact = f"0.{thousandths:03d}"
    return [exact, exact.rstrip("0"), exact, exact][spelling]


def _canonical(name: str) -> str:
    lowered = name.lower()
    return "gzip" if lowered == "x-gzip" else lowered


items = st.lists(
    st.tuples(codings, st.none() | st.tuples(st.integers(0, 1000), st.integers(0, 3))),
    max_size=6,
)


def _header(elements: list[tuple[str, tuple[int, int] | None]]) -> str:
    return ", ".join(name if q is None else f"{name};q={_qvalue(*q)}" for name, q in elements)


def _weights(elements: list[tuple[str, tuple[int, int] | None]]) -> dict[str, float]:
    """The reference: each coding's weight, 1 when unspecified, the lowest when repeated."""
    weights: dict[str, float] = {}
    for name, q in elements:
        weight = 1.0 if q is None else q[0] / 1000
        key = _canonical(name)
        weights[key] = min(weight, weights.get(key, weight))
    return weights


@settings(max_examples=120, deadline=None)
@given(items)
def test_weights_round_trip(elements: list[tuple[str, tuple[int, int] | None]]) -> None:
    """Round trip: a header built from codings and weights (any legal ``qvalue`` spelling)
    parses back to those weights, aliases folded, repeats at their lowest weight."""
    assert dict(parse_accept_encoding(_header(elements))) == _weights(elements)


@settings(max_examples=120, deadline=None)
@given(items, st.permutations(AVAILABLE))
def test_selection_follows_the_weights(
    elements: list[tuple[str, tuple[int, int] | None]], available: list[str]
) -> None:
    """Reference: the coding chosen has the highest non-zero weight (``*`` standing for the
    unnamed ones); a tie goes to the server's order; none acceptable gives ``None``."""
    weights = _weights(elements)
    default = weights.get("*", 0.0)
    best, best_weight = None, 0.0
    for coding in available:
        weight = weights.get(coding, default)
        if weight > best_weight:
            best, best_weight = coding, weight
    assert select_encoding(_header(elements), tuple(available)) == best


@settings(max_examples=120, deadline=None)
@given(
    codings,
    st.sampled_from(["2", "-1", "0.1234", "1.001", "abc", "", "0.5.0", " 1 2", "1e0", "\u0661"]),
)
def test_an_illegal_weight_drops_its_element(name: str, weight: str) -> None:
    """An element whose ``q`` breaks the grammar is ignored whole: never read as 1, never as 0."""
    assert _canonical(name) not in parse_accept_encoding(f"{name};q={weight}")
    assert dict(parse_accept_encoding(f"{name};q={weight}, br")) == {"br": 1.0}


@settings(max_examples=30, deadline=None)
@given(st.text(st.sampled_from("gzip,;q=0.1 *br"), min_size=MAX_HEADER_LENGTH, max_size=3000))
def test_only_the_first_kilobyte_counts(value: str) -> None:
    """CWE-400: the choice depends on the first ``MAX_HEADER_LENGTH`` characters only."""
    assert select_encoding(value, AVAILABLE) == select_encoding(
        value[:MAX_HEADER_LENGTH], AVAILABLE
    )


@pytest.mark.parametrize("unit", [",", ";", "=", ";q=", "gzip;q=0.5,", " ", "q=q="])
def test_hostile_headers_cost_bounded_time(unit: str) -> None:
    """CWE-400 / CWE-1333: a header of any length costs at most as much as its first kilobyte
    (the parse cache is bypassed, so every call parses)."""
    parse = parse_accept_encoding.__wrapped__
    assert_linear(lambda n: unit * n, parse, 20_000, ratio=2.5)
