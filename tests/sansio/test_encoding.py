"""``Accept-Encoding`` negotiation: the RFC 9110 rules and the hostile edge cases, no event loop."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microasgi._sansio.encoding import MAX_HEADER_LENGTH, parse_accept_encoding, select_encoding

BOTH = ("zstd", "gzip")
GZIP = ("gzip",)


@pytest.mark.parametrize(
    ("value", "available", "expected"),
    [
        # Absent or empty: nothing but the response as it is.
        (None, GZIP, None),
        ("", GZIP, None),
        ("   ", GZIP, None),
        (",,, ,", GZIP, None),
        # Plain listings.
        ("gzip", GZIP, "gzip"),
        ("gzip, deflate, br", GZIP, "gzip"),
        ("deflate, br", GZIP, None),
        ("identity", GZIP, None),
        # q=0 in every spelling refuses.
        ("gzip;q=0", GZIP, None),
        ("gzip;q=0.", GZIP, None),
        ("gzip;q=0.0", GZIP, None),
        ("gzip;q=0.000", GZIP, None),
        ("gzip; q=0", GZIP, None),
        # Valid non-zero weights accept.
        ("gzip;q=0.001", GZIP, "gzip"),
        ("gzip;q=1", GZIP, "gzip"),
        ("gzip;q=1.", GZIP, "gzip"),
        ("gzip;q=1.000", GZIP, "gzip"),
        # Invalid weights: the element is ignored, as if not listed.
        ("gzip;q=2", GZIP, None),
        ("gzip;q=1.001", GZIP, None),
        ("gzip;q=-1", GZIP, None),
        ("gzip;q=0.1234", GZIP, None),
        ("gzip;q=abc", GZIP, None),
        ("gzip;q=", GZIP, None),
        ("gzip;q=.5", GZIP, None),
        ("gzip;q=0.5e1", GZIP, None),
        ("gzip;q=0.\u0665", GZIP, None),  # an Arabic-Indic digit: not an RFC digit
        ("gzip;q=1e0", GZIP, None),
        ("gzip;q=abc, *", GZIP, "gzip"),  # the invalid element leaves "*" to decide
        # Duplicates keep the lowest weight: a refusal is never overridden.
        ("gzip;q=0, gzip", GZIP, None),
        ("gzip, gzip;q=0", GZIP, None),
        ("gzip;q=0.5, gzip;q=0.8", GZIP, "gzip"),
        ("x-gzip;q=0, gzip", GZIP, None),
        # "*" covers what is not listed by name; a name beats "*".
        ("*", GZIP, "gzip"),
        ("*;q=0", GZIP, None),
        ("*;q=0, gzip", GZIP, "gzip"),
        ("gzip, *;q=0", GZIP, "gzip"),
        ("gzip;q=0, *", GZIP, None),
        ("*;q=0.1, gzip;q=0", BOTH, "zstd"),
        # identity;q=0 does not force a coding the client did not accept.
        ("identity;q=0", GZIP, None),
        ("identity;q=0, gzip", GZIP, "gzip"),
        # Case-insensitive names and parameter names; whitespace anywhere between tokens.
        ("GZIP", GZIP, "gzip"),
        ("GZip;Q=0", GZIP, None),
        ("  gzip  ;  q=0.5  ,  br  ", GZIP, "gzip"),
        ("gzip\t;\tq=0", GZIP, None),
        ("gzip ; q = 0", GZIP, None),
        # x-gzip is gzip.
        ("x-gzip", GZIP, "gzip"),
        ("X-GZIP;q=0.3", GZIP, "gzip"),
        # Other parameters are ignored.
        ("gzip;level=1", GZIP, "gzip"),
        ("gzip;level=1;q=0", GZIP, None),
        # Preference: highest weight, ties to the server's order.
        ("gzip, zstd", BOTH, "zstd"),
        ("zstd;q=0.5, gzip", BOTH, "gzip"),
        ("zstd, gzip;q=0.5", BOTH, "zstd"),
        ("zstd;q=0.5, gzip;q=0.5", BOTH, "zstd"),
        ("zstd", GZIP, None),  # zstd unavailable: not chosen even if it is all the client takes
        ("zstd, gzip", GZIP, "gzip"),
        # Junk never crashes.
        ("gzip;", GZIP, "gzip"),
        (";q=1", GZIP, None),
        ("gzip;q=0;q=1", GZIP, "gzip"),  # the last q of an element counts
        ("\x00gzip", GZIP, None),
        ("gzip\r\n", GZIP, "gzip"),
    ],
)
def test_select_encoding(
    value: str | None, available: tuple[str, ...], expected: str | None
) -> None:
    assert select_encoding(value, available) == expected


def test_parse_lowercases_and_aliases() -> None:
    assert parse_accept_encoding("GZIP;q=0.5, X-Gzip;q=0.2, Br") == {"gzip": 0.2, "br": 1.0}


def test_only_the_first_part_of_a_huge_header_is_read() -> None:
    padding = "a," * MAX_HEADER_LENGTH
    assert select_encoding(padding + "gzip", GZIP) is None
    assert select_encoding("gzip," + padding, GZIP) == "gzip"


@given(st.text(max_size=200))
def test_any_text_gives_an_offered_coding_or_none(value: str) -> None:
    assert select_encoding(value, BOTH) in (None, *BOTH)
    weights = parse_accept_encoding(value)
    assert all(0.0 <= weight <= 1.0 for weight in weights.values())
    assert all(name == name.strip().lower() and name for name in weights)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["gzip", "GZIP", "x-gzip", "zstd", "br", "*", "identity"]),
            st.one_of(st.none(), st.integers(0, 1000)),
        ),
        max_size=6,
    )
)
def test_a_coding_refused_by_name_is_never_chosen(items: list[tuple[str, int | None]]) -> None:
    value = ", ".join(name if q is None else f"{name};q={q / 1000:.3f}" for name, q in items)
    chosen = select_encoding(value, BOTH)
    refused = {
        "gzip" if name.lower() in ("gzip", "x-gzip") else name
        for name, q in items
        if q == 0 and name != "*"
    }
    assert chosen not in refused
    named = {"gzip" if name.lower() in ("gzip", "x-gzip") else name.lower() for name, _ in items}
    if chosen is not None and chosen not in named:
        assert "*" in named
