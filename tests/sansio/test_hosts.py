"""Sans-I/O host parsing (``microasgi._sansio.hosts``): a table, and a property over arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microasgi._sansio.hosts import MAX_HOST_LENGTH, HostPort, parse_host, split_host


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2])


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("example.com", HostPort("example.com", None)),
        ("Example.COM", HostPort("example.com", None)),
        ("example.com.", HostPort("example.com", None)),
        ("example.com:8000", HostPort("example.com", 8000)),
        ("example.com:00080", HostPort("example.com", 80)),
        ("example.com:0000065535", HostPort("example.com", 65535)),
        ("example.com:0", HostPort("example.com", 0)),
        ("example.com:65535", HostPort("example.com", 65535)),
        ("my_service", HostPort("my_service", None)),
        ("192.0.2.1:80", HostPort("192.0.2.1", 80)),
        ("[::1]", HostPort("[::1]", None)),
        ("[0:0:0:0:0:0:0:1]:8000", HostPort("[::1]", 8000)),
        ("[2001:DB8::1]", HostPort("[2001:db8::1]", None)),
        ("[v1.foo]", HostPort("[v1.foo]", None)),
        ("[v1.FOO]:8000", HostPort("[v1.foo]", 8000)),
        ("[vAF.a-._~!$&'()*+,;=:b]", HostPort("[vaf.a-._~!$&'()*+,;=:b]", None)),
        ("", None),
        (".", None),
        ("..", None),
        (".example.com", None),
        ("example..com", None),
        ("example.com..", None),
        (":80", None),
        ("example.com:", None),  # an empty port: Starlette 1.10 refuses it
        ("[::1]:", None),
        ("[v1.foo]:", None),
        ("api.example.org:evil", None),
        ("example.com:0000065536", None),
        ("[V1.foo]", None),  # urlsplit refuses an uppercase "V"
        ("[v1.]", None),
        ("[v.foo]", None),
        ("[vz.foo]", None),
        ("[v1.fo/o]", None),
        ("[v1.fo%41]", None),
        ("[]", None),
        ("a!b.example.com", None),  # sub-delims: RFC 3986 allows them, we do not trust them
        ("a%41.example.com", None),
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


# --- split_host: the RFC 3986 reading, as Starlette's (URLs from scopes, Host routes) -------------


@pytest.mark.parametrize(
    ("value", "split"),
    [
        ("example.com", HostPort("example.com", None)),
        ("Example.COM:8000", HostPort("example.com", 8000)),
        ("example.com.", HostPort("example.com.", None)),  # kept as written
        ("a!b$c&d'e(f)g*h+i,j;k=l~m", HostPort("a!b$c&d'e(f)g*h+i,j;k=l~m", None)),
        ("a%41.com", HostPort("a%41.com", None)),
        ("..", HostPort("..", None)),
        ("example.com:00080", HostPort("example.com", 80)),
        ("[::1]", HostPort("[::1]", None)),
        ("[0:0::1]:8000", HostPort("[::1]", 8000)),
        ("[v1.foo]", HostPort("[v1.foo]", None)),
        ("[v1.Fo:o]:81", HostPort("[v1.fo:o]", 81)),
        ("", None),
        ("example.com:", None),
        ("[::1]:", None),
        ("api.example.org:evil", None),
        ("example.com:65536", None),
        ("example.com:80:80", None),
        ("[V1.foo]", None),
        ("[v1.foo]x", None),
        ("[fe80::1%eth0]", None),
        ("[1.2.3.4]", None),
        ("::1", None),
        ("a b", None),
        ("a/b", None),
        ("a@b", None),
        ("exämple.com", None),
        ("a" * (MAX_HOST_LENGTH + 1), None),
    ],
)
def test_split_host(value: str, split: HostPort | None) -> None:
    assert split_host(value) == split


def test_split_host_is_a_host_port_pair_for_the_router() -> None:
    assert split_host("API.example.com:8443") == ("api.example.com", 8443)
    assert split_host("[::1]") == ("[::1]", None)


@given(st.text(st.sampled_from("[]:.%vV1aF0-_!~;* /@é"), max_size=20))
def test_trusted_hosts_are_a_subset_of_split_hosts(value: str) -> None:
    parsed = parse_host(value)
    if parsed is not None:
        split = split_host(value)
        assert split is not None
        assert (split.name.removesuffix("."), split.port) == parsed


@given(
    st.text(st.sampled_from("[]:.%vV1aF0-_!~;* /@é"), max_size=20)
    | st.sampled_from(["[v1.foo]", "[v1.foo]:81", "[::1]:", "h:", "h:00080", "[V1.a]", "a!b"])
)
def test_split_host_agrees_with_starlette(value: str) -> None:
    """Differential: a Host Starlette 1.10 keeps in ``URL(scope=...)`` is one we keep."""
    starlette = pytest.importorskip("starlette.datastructures")
    if _version(pytest.importorskip("starlette").__version__) < (1, 10):  # pragma: no cover
        pytest.skip("Host validation in URL(scope=...) is Starlette 1.10's")
    scope = {
        "type": "http",
        "path": "/",
        "query_string": b"",
        "headers": [(b"host", value.encode())],
        "server": ("server.test", 8080),
    }
    kept_by_starlette = starlette.URL(scope=scope).netloc == value
    assert (split_host(value) is not None) == kept_by_starlette
