"""Tests for microasgi._sansio.scope: paths, query string and URL read out of a scope, without I/O."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microasgi._sansio.scope import (
    decode_query_string,
    encoded_full_path,
    full_path,
    route_path,
    url_string,
)


def _scope(**kwargs: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {"type": "http", "path": "/", "query_string": b"", "headers": []}
    scope.update(kwargs)
    return scope


# (path, root_path or None when absent, full_path, route_path)
PATHS = [
    ("/users", None, "/users", "/users"),
    ("/users", "", "/users", "/users"),
    ("/api/users", "/api", "/api/users", "/users"),  # spec: path includes root_path
    ("/users", "/api", "/api/users", "/users"),  # the server already stripped root_path
    ("/api", "/api", "/api", ""),  # the mount point itself
    ("/api/", "/api", "/api/", "/"),
    ("/apix", "/api", "/api/apix", "/apix"),  # "/api" is not a prefix of "/apix"
    ("/apix/y", "/api", "/api/apix/y", "/apix/y"),
    ("/api/x", "/api/", "/api/x", "/x"),  # a trailing slash on root_path means the same mount
    ("/x", "/", "/x", "/x"),  # root_path "/" is the root
    ("", "/api", "/api", ""),
    ("/a/b/c", "/a/b", "/a/b/c", "/c"),
    ("/a/bc", "/a/b", "/a/b/a/bc", "/a/bc"),
    ("/café/menü", "/café", "/café/menü", "/menü"),
    ("/api/api/x", "/api", "/api/api/x", "/api/x"),
]


@pytest.mark.parametrize(("path", "root", "full", "route"), PATHS)
def test_full_path_and_route_path(path: str, root: str | None, full: str, route: str) -> None:
    scope = _scope(path=path) if root is None else _scope(path=path, root_path=root)
    assert full_path(scope) == full
    assert route_path(scope) == route


# (path, raw_path, root_path, expected encoded full path)
ENCODED = [
    ("/a/b", b"/a/b", "", "/a/b"),
    ("/a/b", b"/a%2Fb", "", "/a%2Fb"),  # an encoded slash stays encoded
    ("/a b", b"/a%20b", "", "/a%20b"),
    ("/café", b"/caf%C3%A9", "", "/caf%C3%A9"),
    ("/café", b"/caf%c3%a9", "", "/caf%c3%a9"),  # the client's spelling is kept
    ("/a/b", None, "", "/a/b"),  # no raw_path: path, encoded
    ("/café", None, "", "/caf%C3%A9"),
    ("/a b?#%", None, "", "/a%20b%3F%23%25"),  # data characters never become URL syntax
    ("/x:@!$&'()*+,;=y", None, "", "/x:@!$&'()*+,;=y"),  # pchar stays as is
    ("/rewritten", b"/original", "", "/rewritten"),  # raw_path disagrees: path wins
    ("/café", b"/caf\xc3\xa9", "", "/caf%C3%A9"),  # non-ASCII raw_path: path wins
    ("/a#b", b"/a#b", "", "/a%23b"),  # a raw "#" would start a fragment
    ("/a\tb", b"/a\tb", "", "/a%09b"),  # urlsplit would delete a raw tab
    ("/a b", b"/a b", "", "/a b"),
    ("/a/b", "/a%2Fb", "", "/a/b"),  # raw_path of the wrong type is ignored
    ("/api/a/b", b"/api/a%2Fb", "/api", "/api/a%2Fb"),  # both include root_path
    ("/a/b", b"/a%2Fb", "/api", "/api/a%2Fb"),  # the server stripped both
    ("/x y", b"/x%20y", "/my root", "/my%20root/x%20y"),
    ("/users", b"/api/users", "/api", "/api/users"),  # raw has root, path not: path wins
    ("/x", b"/x", "/", "/x"),
    ("/a%2Fb", b"/a%252Fb", "", "/a%252Fb"),  # a literal "%2F" in the decoded path
]


@pytest.mark.parametrize(("path", "raw_path", "root", "expected"), ENCODED)
def test_encoded_full_path(path: str, raw_path: object, root: str, expected: str) -> None:
    scope = _scope(path=path, raw_path=raw_path, root_path=root)
    assert encoded_full_path(scope) == expected


def test_encoded_full_path_without_raw_path_or_root_path_keys() -> None:
    assert encoded_full_path({"path": "/a b"}) == "/a%20b"


QUERY_STRINGS = [
    (b"", ""),
    (b"a=1&b=2", "a=1&b=2"),
    (b"a=%20&b=%2F", "a=%20&b=%2F"),  # still percent-encoded
    (b"q=caf\xc3\xa9", "q=caf%C3%A9"),  # raw UTF-8 is encoded, not decoded
    (b"q=\xff\xfe", "q=%FF%FE"),  # invalid UTF-8 never raises
    (b"a=1#frag", "a=1%23frag"),  # "#" cannot start a fragment
    (b"q=\xc3\xa9 x#", "q=%C3%A9 x%23"),  # only non-ASCII and "#" change
    (b"a b&c", "a b&c"),
    (b"a=\t\r\n\x00\x7f", "a=%09%0D%0A%00%7F"),  # urlsplit would delete tabs and newlines
    (b"a=\t\xc3\xa9", "a=%09%C3%A9"),
]


@pytest.mark.parametrize(("raw", "expected"), QUERY_STRINGS)
def test_decode_query_string(raw: bytes, expected: str) -> None:
    assert decode_query_string(raw) == expected


HOST = [(b"host", b"example.com")]

URLS: list[tuple[dict[str, Any], str]] = [
    (_scope(headers=HOST, path="/a", query_string=b"x=1"), "http://example.com/a?x=1"),
    (_scope(scheme="https", headers=[(b"host", b"example.com:8443")]), "https://example.com:8443/"),
    # The first Host header wins; other headers before it are skipped.
    (_scope(headers=[(b"accept", b"*/*"), *HOST, (b"host", b"other")]), "http://example.com/"),
    (_scope(headers=[[b"host", b"example.com"]]), "http://example.com/"),  # lists, not tuples
    (_scope(server=("10.0.0.1", 80)), "http://10.0.0.1/"),
    (_scope(server=["10.0.0.1", 8000]), "http://10.0.0.1:8000/"),
    (_scope(scheme="https", server=("h", 443)), "https://h/"),
    (_scope(scheme="https", server=("h", 80)), "https://h:80/"),
    (_scope(scheme="http", server=("h", 443)), "http://h:443/"),
    (_scope(type="websocket", server=("h", 80)), "ws://h/"),  # spec default scheme for ws
    (_scope(type="websocket", scheme="wss", server=("h", 443)), "wss://h/"),
    (_scope(type="websocket", scheme="ws", server=("h", 443)), "ws://h:443/"),
    (_scope(scheme="", server=("h", 80)), "http://h/"),
    (_scope(scheme="foo", server=("h", 80)), "foo://h:80/"),  # no default port known
    (_scope(server=("::1", 8000)), "http://[::1]:8000/"),
    (_scope(server=("::1", 80)), "http://[::1]/"),
    (_scope(server=("/tmp/app.sock", None), path="/a"), "/a"),  # unix socket: relative URL
    (_scope(server=None, path="/a", query_string=b"q=1"), "/a?q=1"),
    ({"type": "http", "path": "/a", "server": ("h", 80)}, "http://h/a"),  # no headers key
    (_scope(headers=[(b"host", b"[::1]:8000")]), "http://[::1]:8000/"),
    (_scope(headers=[(b"host", b"[::1]")]), "http://[::1]/"),
    (_scope(headers=[(b"host", b"[::ffff:1.2.3.4]:1")]), "http://[::ffff:1.2.3.4]:1/"),
    # An empty port: refused as Starlette 1.10 refuses it; the server address stands in.
    (_scope(headers=[(b"host", b"h:")], server=("s", 80)), "http://s/"),
    (_scope(headers=[(b"host", b"h:000080")]), "http://h:000080/"),  # leading zeros: as Starlette
    (_scope(headers=[(b"host", b"[v1.foo]:81")]), "http://[v1.foo]:81/"),  # RFC 3986 IPvFuture
    (_scope(headers=[(b"host", b"h:65535")]), "http://h:65535/"),
    (_scope(headers=[(b"host", b"EXAMPLE.com")]), "http://EXAMPLE.com/"),
    (_scope(headers=HOST, path="/users", root_path="/api"), "http://example.com/api/users"),
    (_scope(headers=HOST, path="/a/b", raw_path=b"/a%2Fb"), "http://example.com/a%2Fb"),
    (_scope(headers=HOST, query_string=b"q=caf\xc3\xa9"), "http://example.com/?q=caf%C3%A9"),
    (_scope(headers=HOST, query_string=b"a=1#x"), "http://example.com/?a=1%23x"),
    (_scope(headers=HOST, path="/a?b#c"), "http://example.com/a%3Fb%23c"),
]


@pytest.mark.parametrize(("scope", "expected"), URLS)
def test_url_string(scope: dict[str, Any], expected: str) -> None:
    assert url_string(scope) == expected


@pytest.mark.parametrize(
    "host",
    [
        b"evil.com/x",  # would move the real path
        b"a@b.com",  # would become user info
        b"a b",
        b"a?b",
        b"a#b",
        b"a\\b",
        b"caf\xe9.com",  # non-ASCII
        b"a\tb",
        b"",  # empty: no authority
        b"[",  # urlsplit raises "Invalid IPv6 URL" on these
        b"]",
        b"h[x]",
        b"[]",
        b"[::1",
        b"[::1]x",
        b"[::g]",
        b"[::1]:x",
        b"h:x",  # reading the port would raise
        b"h:1:2",
        b"h:65536",
        b"h:",  # an empty port, as Starlette 1.10 refuses it
        b"[::1]:",
        b"h:0000065536",
        b"[V1.foo]",  # urlsplit refuses an uppercase IPvFuture "V"
        b"h:\xb2",  # a superscript digit
        b":80",
    ],
)
def test_url_string_ignores_a_malformed_host_header(host: bytes) -> None:
    scope = _scope(headers=[(b"host", host)], server=("10.0.0.1", 8000), path="/p")
    assert url_string(scope) == "http://10.0.0.1:8000/p"


def test_url_string_malformed_host_and_no_server_is_relative() -> None:
    assert url_string(_scope(headers=[(b"host", b"a/b")], path="/p")) == "/p"


# --- properties (hypothesis): hostile scopes never change the structure of the URL ----------------

_TEXT = st.text(st.characters(codec="utf-8"), max_size=30)  # no lone surrogates


@given(path=_TEXT.map(lambda s: "/" + s), root=_TEXT)
def test_encoded_full_path_decodes_to_full_path(path: str, root: str) -> None:
    scope = _scope(path=path, root_path=root)
    encoded = encoded_full_path(scope)
    assert unquote(encoded) == full_path(scope)
    assert "?" not in encoded
    assert "#" not in encoded


@given(
    path=_TEXT.map(lambda s: "/" + s),
    raw_path=st.none() | st.binary(max_size=30),
    host=st.binary(max_size=30),
    query=st.binary(max_size=30),
)
def test_url_string_structure_survives_hostile_input(
    path: str, raw_path: bytes | None, host: bytes, query: bytes
) -> None:
    scope = _scope(
        path=path,
        raw_path=raw_path,
        query_string=query,
        headers=[(b"host", host)],
        server=("10.0.0.1", 8000),
    )
    parts = urlsplit(url_string(scope))
    assert parts.path == encoded_full_path(scope)
    assert parts.query == decode_query_string(query)
    assert parts.fragment == ""
    assert parts.username is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # A path without its "/" cannot move the authority (CVE-2026-54282's shape).
        (
            {"path": "@evil.com", "headers": [(b"host", b"example.com")]},
            "http://example.com/@evil.com",
        ),
        (
            {"path": ":80@evil.com/", "headers": [(b"host", b"example.com")]},
            "http://example.com/:80@evil.com/",
        ),
        (
            {"path": "/x", "root_path": "abc", "headers": [(b"host", b"example.com")]},
            "http://example.com/abc/x",
        ),
        # Without a host, a URL never starts with "//" (it would read as an authority); the path
        # stays the same path, as in Starlette 1.10.
        ({"path": "//evil.com/x", "headers": [], "server": None}, "/%2Fevil.com/x"),
        ({"path": "///x", "headers": [], "server": None}, "/%2F/x"),
        # A bracketed Host must be a real IPv6 address; otherwise the server address is used.
        ({"path": "/", "headers": [(b"host", b"[A]")]}, "http://server.test:8080/"),
        ({"path": "/", "headers": [(b"host", b"[::::]")]}, "http://server.test:8080/"),
        ({"path": "/", "headers": [(b"host", b"[::1]:8000")]}, "http://[::1]:8000/"),
    ],
)
def test_url_string_keeps_the_authority(extra: dict[str, Any], expected: str) -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "path": "/",
        "query_string": b"",
        "headers": [],
        "server": ("server.test", 8080),
        **extra,
    }
    assert url_string(scope) == expected
