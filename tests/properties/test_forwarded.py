"""Properties of proxy headers: ``microasgi._sansio.forwarded`` (RFC 7239 ``Forwarded`` and
``X-Forwarded-*``).

Documented error: none. Every function is total: an element that does not parse is ``None``,
an unknown node is ``None``, and the client is whichever hop the walk stops at.

Also: tests/sansio/test_forwarded.py::test_forwarded_round_trips (elements with ``for``, ``proto`` and
quoted ``host``), ::test_parse_forwarded_never_raises (any text, bounded by ``limit``),
::test_trusted_suffix_survives_any_balanced_prefix (what a client writes cannot change the
element our proxy appended) and ::test_long_headers_are_parsed_in_linear_time.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.forwarded import (
    ForwardedElement,
    Node,
    client_index,
    parse_forwarded,
    parse_node,
    split_list,
)

from ._linear import assert_linear

_HOSTILE = st.text(st.sampled_from('for=";,\\ \t_[]:1.aé\x00'), max_size=80)
_ANY = _HOSTILE | st.text(max_size=80)

token_values = st.from_regex(r"[A-Za-z0-9._\-]{1,10}", fullmatch=True)
quoted_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def elements(draw: st.DrawFn) -> tuple[str, ForwardedElement]:
    """A well-formed element (any of the four parameters, any order) and what it means."""
    values: dict[str, str] = {}
    parts = []
    for name in draw(st.permutations(["for", "by", "proto", "host"]))[: draw(st.integers(1, 4))]:
        quoted = draw(st.booleans())
        value = draw(quoted_values if quoted else token_values)
        values[name] = value
        spelled = draw(st.sampled_from([name, name.upper(), name.title()]))
        parts.append(f"{spelled}={_quote(value) if quoted else value}")
    text = draw(st.sampled_from([";", " ;", "; ", ";\t"])).join(parts)
    meaning = ForwardedElement(
        values.get("for"), values.get("by"), values.get("proto"), values.get("host")
    )
    return text, meaning


@settings(max_examples=60, deadline=None)
@given(st.lists(elements(), min_size=1, max_size=6), st.sampled_from([",", ", ", " , "]))
def test_elements_round_trip(items: list[tuple[str, ForwardedElement]], sep: str) -> None:
    """Round trip: elements written with any parameter order, case, quoting and spacing parse
    back to their unquoted values."""
    header = sep.join(text for text, _ in items)
    assert parse_forwarded(header) == [meaning for _, meaning in items]


@settings(max_examples=60, deadline=None)
@given(_ANY, st.lists(elements(), min_size=1, max_size=4))
def test_header_lines_join_as_lists(first: str, items: list[tuple[str, ForwardedElement]]) -> None:
    """Split invariance: a well-formed field appended after any other (a second header line,
    joined with ``,``) adds exactly its own elements, unless the first holds a quote
    (which may be left open, making the rest unknown)."""
    second = ", ".join(text for text, _ in items)
    joined = parse_forwarded(f"{first},{second}", limit=1000)
    if '"' not in first:
        expected = parse_forwarded(first, limit=1000) + [meaning for _, meaning in items]
        assert joined == expected


@settings(max_examples=120, deadline=None)
@given(_ANY, st.integers(1, 8))
def test_the_limit_keeps_the_last_elements(value: str, limit: int) -> None:
    """CWE-400: bounding memory does not change the answer: the last ``limit`` elements are
    the last ``limit`` of the unbounded parse."""
    assert parse_forwarded(value, limit) == parse_forwarded(value, 10**6)[-limit:]


@settings(max_examples=120, deadline=None)
@given(_ANY, st.integers(1, 8))
def test_split_list_agrees_with_str_split(value: str, limit: int) -> None:
    """Reference: ``split_list`` is the last ``limit`` items of ``str.split(",")``, stripped of
    spaces and tabs."""
    assert split_list(value, limit) == [item.strip(" \t") for item in value.split(",")][-limit:]


@settings(max_examples=120, deadline=None)
@given(_ANY | st.ip_addresses().map(str) | st.ip_addresses(v=6).map(lambda a: f"[{a}]:80"))
def test_nodes_are_real_addresses_or_obfuscated(text: str) -> None:
    """Totality and reference: a node is ``None``, an obfuscated ``_name``, or an address that
    ``ipaddress`` reads and that is already in its normalized (compressed) form."""
    node = parse_node(text)
    if node is None or node.host.startswith("_"):
        return
    address = ipaddress.ip_address(node.host)
    assert node.host == address.compressed
    assert not (address.version == 6 and address.ipv4_mapped is not None)
    assert node.port is None or 0 <= node.port <= 65535


_NODES = st.none() | st.sampled_from(["10.0.0.1", "10.0.0.2", "192.0.2.7", "_hidden"]).map(
    lambda host: Node(host, None)
)


@settings(max_examples=120, deadline=None)
@given(st.lists(_NODES, min_size=1, max_size=8), st.sets(st.sampled_from(["10.0.0.1", "10.0.0.2"])))
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    hops: list[Node | None], trusted: set[str]
) -> None:
    """The walk stops at the rightmost hop that is unknown or untrusted; every hop right of it
    is a trusted proxy (so a client can prepend anything and never be skipped)."""
    index = client_index(hops, trusted.__contains__)
    assert 0 <= index < len(hops)
    assert all(hop is not None and hop.host in trusted for hop in hops[index + 1 :])
    if index > 0:
        hop = hops[index]
        assert hop is None or hop.host not in trusted


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda n: '"' * n, id="quotes"),
        pytest.param(lambda n: 'for="' + "\\" * n, id="backslashes"),
        pytest.param(lambda n: 'for="' + '\\"' * n, id="escaped-quotes"),
        pytest.param(lambda n: "for=" + ";" * n, id="semicolons"),
        pytest.param(lambda n: "," * n, id="commas"),
        pytest.param(lambda n: "for=" * n, id="names"),
        pytest.param(lambda n: "for=1;" * n, id="repeated-param"),
        pytest.param(lambda n: 'for="a",' * n, id="elements"),
        pytest.param(lambda n: " \t" * n, id="whitespace"),
    ],
)
def test_hostile_headers_stay_linear(build: Callable[[int], str]) -> None:
    """CWE-1333 / CWE-407: one pass over any header shape, however many elements or quotes."""
    assert_linear(build, parse_forwarded, 1_500)
