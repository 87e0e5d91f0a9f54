"""Sans-I/O host parsing (``microasgi._hosts``): a table, and a property over arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microasgi._hosts import MAX_HOST_LENGTH, HostPort, parse_host


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("example.com", HostPort("example.com", None)),
        ("Example.COM", HostPort("example.com", None)),
        ("example.com.", HostPort("example.com", None)),
        ("example.com:8000", HostPort("example.com", 8000)),
        ("example.com:", HostPort("example.com", None)),
        ("example.com:0", HostPort("example.com", 0)),
        ("example.com:65535", HostPort("example.com", 65535)),
        ("my_service", HostPort("my_service", None)),
        ("192.0.2.1:80", HostPort("192.0.2.1", 80)),
        ("[::1]", HostPort("[::1]", None)),
        ("[0:0:0:0:0:0:0:1]:8000", HostPort("[::1]", 8000)),
        ("[2001:DB8::1]", HostPort("[2001:db8::1]", None)),
        ("[::1]:", HostPort("[::1]", None)),
        ("", None),
        (".", None),
        ("..", None),
        (".example.com", None),
        ("example..com", None),
        ("example.com..", None),
        (":80", None),
        ("example.com:65536", None),
        ("example.com:123456", None),
        ("example.com:8o", None),
        ("example.com:+80", None),
        ("example.com:٣", None),
        ("example.com:80:80", None),
        ("user@example.com", None),
        ("example.com/path", None),
        ("example.com?q", None),
        ("example.com#f", None),
        ("example.com\\x", None),
        ("exa mple.com", None),
        ("example.com\r\n", None),
        ("example.com\x00", None),
        ("exämple.com", None),
        ("xn--exmple-cua.com", HostPort("xn--exmple-cua.com", None)),
        ("::1", None),
        ("[::1", None),
        ("[::1]x", None),
        ("[::1]:x", None),
        ("[zz::1]", None),
        ("[192.0.2.1]", None),
        ("[fe80::1%eth0]", None),
        ("[fe80::1%25eth0]", None),
        ("a" * (MAX_HOST_LENGTH + 1), None),
    ],
)
def test_parse_host(value: str, parsed: HostPort | None) -> None:
    assert parse_host(value) == parsed


@given(st.text(max_size=40))
def test_parse_host_never_raises_and_accepts_only_safe_characters(value: str) -> None:
    parsed = parse_host(value)
    if parsed is not None:
        assert value.isascii()
        assert not any(char in value for char in "/?#@\\ \t\r\n\x00%")
        assert parsed.name == parsed.name.lower()
        assert parsed.port is None or 0 <= parsed.port <= 65535


@given(
    st.lists(st.from_regex(r"[a-z0-9_-]{1,10}", fullmatch=True), min_size=1, max_size=5),
    st.one_of(st.none(), st.integers(0, 65535)),
)
def test_names_and_ports_round_trip(labels: list[str], port: int | None) -> None:
    name = ".".join(labels)
    value = name if port is None else f"{name}:{port}"
    assert parse_host(value) == HostPort(name, port)
    assert parse_host(value.upper()) == HostPort(name, port)
