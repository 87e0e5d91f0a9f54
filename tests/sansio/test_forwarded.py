"""Sans-I/O proxy header parsing (``microasgi._sansio.forwarded``): tables and hypothesis properties."""

from __future__ import annotations

import ipaddress
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microasgi._sansio.forwarded import (
    MAX_HOPS,
    ForwardedElement,
    Node,
    client_index,
    parse_forwarded,
    parse_node,
    split_list,
)


def el(
    for_: str | None = None,
    by: str | None = None,
    proto: str | None = None,
    host: str | None = None,
) -> ForwardedElement:
    return ForwardedElement(for_, by, proto, host)


@pytest.mark.parametrize(
    ("value", "elements"),
    [
        # RFC 7239 section 4 and 7.1 examples
        ('for="_gazonk"', [el("_gazonk")]),
        ('For="[2001:db8:cafe::17]:4711"', [el("[2001:db8:cafe::17]:4711")]),
        ("for=192.0.2.60;proto=http;by=203.0.113.43", [el("192.0.2.60", "203.0.113.43", "http")]),
        ("for=192.0.2.43, for=198.51.100.17", [el("192.0.2.43"), el("198.51.100.17")]),
        ("for=192.0.2.43,for=198.51.100.17", [el("192.0.2.43"), el("198.51.100.17")]),
        # case-insensitive names, spaces around separators, host with a port
        ("FOR=1.1.1.1 ; PROTO=https ;Host=\"example.com:8443\"",
         [el("1.1.1.1", proto="https", host="example.com:8443")]),
        # quoted-pairs are unescaped
        ('for="a\\"b\\\\c"', [el('a"b\\c')]),
        ('for=""', [el("")]),
        # unknown parameters are allowed and ignored
        ("for=1.1.1.1;secret=x", [el("1.1.1.1")]),
        # empty elements and empty pairs are skipped
        (",, for=1.1.1.1;; ,", [el("1.1.1.1")]),
        ("", []),
        ("  ", []),
        # an invalid element is None, its neighbours are kept
        ("garbage, for=1.1.1.1", [None, el("1.1.1.1")]),
        ("for=1.1.1.1;for=2.2.2.2, for=3.3.3.3", [None, el("3.3.3.3")]),
        ("for=, for=3.3.3.3", [None, el("3.3.3.3")]),
        ("for=[::1], for=3.3.3.3", [None, el("3.3.3.3")]),
        ("for=a b, for=3.3.3.3", [None, el("3.3.3.3")]),
        ('for="a"b, for=3.3.3.3', [None, el("3.3.3.3")]),
        ('for="a,b";x, for=3.3.3.3', [None, el("3.3.3.3")]),
        ('for="\x01", for=3.3.3.3', [None, el("3.3.3.3")]),
        ('for="a\\\x01", for=3.3.3.3', [None, el("3.3.3.3")]),
        ("=x, for=3.3.3.3", [None, el("3.3.3.3")]),
        ("for", [None]),
        # an unterminated quote swallows the rest: nothing after it can be trusted
        ('for="1.1.1.1, for=3.3.3.3', [None]),
        ('for="1.1.1.1\\', [None]),
    ],
)  # fmt: skip
def test_parse_forwarded(value: str, elements: list[ForwardedElement | None]) -> None:
    assert parse_forwarded(value) == elements


def test_parse_forwarded_keeps_the_last_elements() -> None:
    value = ", ".join(f"for=10.0.0.{i}" for i in range(100))
    elements = parse_forwarded(value, limit=3)
    assert elements == [el("10.0.0.97"), el("10.0.0.98"), el("10.0.0.99")]
    assert len(parse_forwarded(value)) == MAX_HOPS


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("192.0.2.1", Node("192.0.2.1", None)),
        ("192.0.2.1:4711", Node("192.0.2.1", 4711)),
        ("192.0.2.1:_port", Node("192.0.2.1", None)),
        ("[2001:db8:cafe::17]", Node("2001:db8:cafe::17", None)),
        ("[2001:DB8:cafe:0::17]:4711", Node("2001:db8:cafe::17", 4711)),
        ("2001:db8::1", Node("2001:db8::1", None)),
        ("::ffff:192.0.2.1", Node("192.0.2.1", None)),
        ("[::ffff:192.0.2.1]:80", Node("192.0.2.1", 80)),
        ("_gazonk", Node("_gazonk", None)),
        ("_hidden:_port", Node("_hidden", None)),
        ("_hidden:80", Node("_hidden", 80)),
        (None, None),
        ("", None),
        ("unknown", None),
        ("UNKNOWN:80", None),
        ("example.com", None),
        ("_", None),
        ("_bad!", None),
        ("_x:_", None),
        ("_x:_b@d", None),
        ("[_x]", None),
        ("[192.0.2.1]", None),
        ("[2001:db8::1", None),
        ("[2001:db8::1]x", None),
        ("[2001:db8::1]:", None),
        ("192.0.2.1:", None),
        ("192.0.2.1:65536", None),
        ("192.0.2.1:123456", None),
        ("192.0.2.1:8o", None),
        ("192.0.2.256", None),
        ("fe80::1%eth0", None),
        ("[fe80::1%25eth0]", None),
        ("1.2.3.4\x00", None),
        ("\u0661.\u0662.\u0663.\u0664", None),  # Arabic-Indic digits
    ],
)
def test_parse_node(text: str | None, node: Node | None) -> None:
    assert parse_node(text) == node


@pytest.mark.parametrize(
    ("value", "limit", "items"),
    [
        ("a", 5, ["a"]),
        ("a, b ,\tc", 5, ["a", "b", "c"]),
        ("a,,b", 5, ["a", "", "b"]),
        ("a,b,c,d", 2, ["c", "d"]),
        ("a,b", 2, ["a", "b"]),
        ("", 5, [""]),
    ],
)
def test_split_list(value: str, limit: int, items: list[str]) -> None:
    assert split_list(value, limit) == items


TRUSTED = {"10.0.0.1", "10.0.0.2"}


@pytest.mark.parametrize(
    ("hops", "index"),
    [
        (["1.1.1.1"], 0),
        (["1.1.1.1", "10.0.0.1"], 0),
        (["1.1.1.1", "2.2.2.2"], 1),  # the leftmost was written by an untrusted client
        (["6.6.6.6", "1.1.1.1", "10.0.0.2", "10.0.0.1"], 1),
        (["10.0.0.1", "10.0.0.2"], 0),  # all trusted: the leftmost
        ([None, "10.0.0.1"], 0),
        (["1.1.1.1", None, "10.0.0.1"], 1),  # unknown stops the walk
    ],
)
def test_client_index(hops: list[str | None], index: int) -> None:
    nodes = [None if h is None else Node(h, None) for h in hops]
    assert client_index(nodes, TRUSTED.__contains__) == index


# --- properties ----------------------------------------------------------------------------------

_ipv4 = st.ip_addresses(v=4).map(str)


def _not_ipv4_mapped(text: str) -> bool:
    return ipaddress.IPv6Address(text).ipv4_mapped is None  # those are read as IPv4


_ipv6 = st.ip_addresses(v=6).map(str).filter(_not_ipv4_mapped)
_obf = st.from_regex(r"_[A-Za-z0-9._-]{1,8}", fullmatch=True)
_port = st.one_of(st.none(), st.integers(0, 65535))


@st.composite
def nodes(draw: st.DrawFn) -> tuple[str, Node]:
    kind = draw(st.sampled_from(["v4", "v6", "obf"]))
    host = draw({"v4": _ipv4, "v6": _ipv6, "obf": _obf}[kind])
    port = draw(_port)
    text = f"[{host}]" if kind == "v6" else host
    if port is not None:
        text = f"{text}:{port}"
    return text, Node(host, port)


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@given(
    st.lists(
        st.tuples(
            nodes(),
            st.one_of(st.none(), st.sampled_from(["http", "https"])),
            st.one_of(st.none(), st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E))),
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from([",", ", ", " ,\t"]),
)
def test_forwarded_round_trips(
    hops: list[tuple[tuple[str, Node], str | None, str | None]], separator: str
) -> None:
    parts = []
    for (text, _), proto, host in hops:
        pairs = [f"for={_quote(text)}"]
        if proto is not None:
            pairs.append(f"proto={proto}")
        if host is not None:
            pairs.append(f"host={_quote(host)}")
        parts.append(";".join(pairs))
    elements = parse_forwarded(separator.join(parts))
    assert len(elements) == len(hops)
    for element, ((text, node), proto, host) in zip(elements, hops, strict=True):
        assert element == el(text, None, proto, host)
        assert parse_node(element.for_) == node


@given(st.text(max_size=200))
def test_parse_forwarded_never_raises(value: str) -> None:
    elements = parse_forwarded(value, limit=4)
    assert len(elements) <= 4
    for element in elements:
        if element is not None:
            parse_node(element.for_)


@given(st.text(alphabet='for=";,\\ _[]:1.', max_size=60), nodes())
def test_trusted_suffix_survives_any_balanced_prefix(prefix: str, node: tuple[str, Node]) -> None:
    """Whatever a client writes, the element our proxy appends is read as written, unless the
    client left a quote open (which makes the rest unknown, never someone else's address)."""
    text, expected = node
    elements = parse_forwarded(f"{prefix}, for={_quote(text)}")
    last = elements[-1]
    if last is not None:
        assert parse_node(last.for_) == expected


def test_long_headers_are_parsed_in_linear_time() -> None:
    small = ", ".join(["for=10.0.0.1"] * 1000)
    large = ", ".join(["for=10.0.0.1"] * 10000)
    quotes = '"' * 20000
    started = time.process_time()
    parse_forwarded(small)
    small_time = time.process_time() - started
    started = time.process_time()
    parse_forwarded(large)
    parse_forwarded(quotes)
    parse_forwarded("for=" + ";" * 20000)
    large_time = time.process_time() - started
    assert large_time < max(small_time * 60, 0.5)
