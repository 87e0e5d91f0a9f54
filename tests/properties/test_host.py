"""Properties of ``Host`` parsing: ``microasgi._sansio.hosts.parse_host``.

Documented error: none. ``parse_host`` is total: a ``HostPort``, or ``None`` for anything
malformed (which ``TrustedHostMiddleware`` answers with 400). So is ``split_host``, the RFC 3986
reading that ``URL(scope=...)`` and ``Host`` routes use.

Also: tests/sansio/test_hosts.py::test_parse_host_never_raises_and_accepts_only_safe_characters (any
text: no error; nothing accepted holds ``/?#@\\``, spaces, controls or ``%``) and
::test_names_and_ports_round_trip (dotted names with ports, any case).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from microasgi._sansio.hosts import MAX_HOST_LENGTH, HostPort, parse_host, split_host
from microasgi._sansio.scope import url_string

from ._linear import assert_linear

ports = st.none() | st.integers(0, 65535)
_HOSTILE = st.text(st.sampled_from("[]:.%@/ \t\x00aF0-_é"), max_size=60)


def _with_port(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"


@settings(max_examples=120, deadline=None)
@given(st.ip_addresses(v=4), ports)
def test_ipv4_hosts_round_trip(address: ipaddress.IPv4Address, port: int | None) -> None:
    """Round trip: an IPv4 address with or without a port parses to itself and the port."""
    assert parse_host(_with_port(str(address), port)) == HostPort(str(address), port)


@settings(max_examples=120, deadline=None)
@given(st.ip_addresses(v=6), ports, st.booleans())
def test_ipv6_hosts_round_trip_in_compressed_form(
    address: ipaddress.IPv6Address, port: int | None, exploded: bool
) -> None:
    """Round trip: a bracketed IPv6 address, compressed or exploded, in any case, parses to its
    compressed bracketed form, so equal hosts compare equal."""
    text = address.exploded.upper() if exploded else str(address)
    assert parse_host(_with_port(f"[{text}]", port)) == HostPort(f"[{address.compressed}]", port)


@settings(max_examples=120, deadline=None)
@given(_HOSTILE | st.text(max_size=60))
def test_accepted_hosts_agree_with_urlsplit(value: str) -> None:
    """Reference: a host we accept reads, inside a URL, as the same host name and port under
    ``urllib.parse.urlsplit`` (so the URL built from it cannot point elsewhere)."""
    parsed = parse_host(value)
    if parsed is None:
        return
    parts = urlsplit(f"http://{value}/")
    assert parts.hostname is not None
    assert parts.hostname.removesuffix(".") == parsed.name.strip("[]").removesuffix(".")
    assert parts.port == parsed.port
    assert parts.path == "/"
    assert parts.username is None


@settings(max_examples=120, deadline=None)
@given(_HOSTILE | st.text(max_size=60))
def test_accepted_hosts_are_kept_by_url_building(value: str) -> None:
    """A host the middleware accepts is one ``request.url`` keeps (no disagreement between the
    two readers of the ``Host`` header), and its URL reads back the same host."""
    if parse_host(value) is None:
        return
    scope = {
        "type": "http",
        "path": "/",
        "headers": [(b"host", value.encode("latin-1"))],
        "server": ("10.9.9.9", 81),
    }
    parsed = urlsplit(url_string(scope))
    assert parsed.netloc == value


_IPVFUTURE = st.from_regex(
    r"\[v[0-9a-fA-F]{1,3}\.[a-zA-Z0-9\-._~!$&'()*+,;=:]{1,10}\](:[0-9]{1,6})?", fullmatch=True
)


@settings(max_examples=120, deadline=None)
@given(_HOSTILE | st.text(max_size=60) | _IPVFUTURE)
@example("%F")  # found by a random run: urlsplit kept the "F" after "%" upper-case
def test_split_hosts_keep_their_meaning_in_a_url(value: str) -> None:
    """Reference: a host ``split_host`` accepts reads, inside a URL, as the same host and port
    under ``urllib.parse.urlsplit``, and ``request.url`` keeps it as written."""
    split = split_host(value)
    if split is None:
        return
    parts = urlsplit(f"http://{value}/")
    assert parts.hostname is not None
    if split.name.startswith("[") and not split.name.startswith("[v"):
        assert ipaddress.IPv6Address(parts.hostname) == ipaddress.IPv6Address(split.name[1:-1])
    else:
        # Host names are case-insensitive (RFC 3986 3.2.2); urlsplit lowercases only the text
        # before a "%" (it reads the rest as an IPv6 zone id), so compare without case.
        assert parts.hostname.lower() == split.name.strip("[]")
    assert parts.port == split.port
    assert (parts.path, parts.username) == ("/", None)
    scope = {"type": "http", "path": "/", "headers": [(b"host", value.encode("latin-1"))]}
    assert urlsplit(url_string(scope)).netloc == value


@settings(max_examples=120, deadline=None)
@given(_IPVFUTURE)
def test_ipvfuture_literals_with_a_valid_port_are_accepted(value: str) -> None:
    """RFC 3986 IPvFuture: a lowercase "v" literal with a port up to 65535 (or none) is a host."""
    port = value.rpartition("]")[2][1:]
    valid = not port or int(port) <= 65535
    assert (split_host(value) is not None) is valid
    assert (parse_host(value) is not None) is valid


def test_overlong_hosts_are_refused() -> None:
    """CWE-400: past ``MAX_HOST_LENGTH`` nothing is parsed, however valid it looks."""
    label = "a" * 60
    value = ".".join([label] * 5)
    assert len(value) > MAX_HOST_LENGTH
    assert parse_host(value) is None
    assert parse_host(value[:MAX_HOST_LENGTH]) is not None


@pytest.mark.parametrize("unit", [".", "[", ":", "a.", "[::1]", "%", "0"])
def test_hostile_hosts_cost_bounded_time(unit: str) -> None:
    """CWE-400 / CWE-1333: a host of any length and shape costs bounded time (the cache is
    bypassed, so every call parses)."""
    parse = parse_host.__wrapped__
    assert_linear(lambda n: unit * n, parse, 50_000, ratio=2.5)
    assert_linear(lambda n: unit * n, split_host.__wrapped__, 50_000, ratio=2.5)
