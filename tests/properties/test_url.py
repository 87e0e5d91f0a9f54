"""Properties of URL building: ``microasgi.datastructures.URL`` (``microasgi._sansio.url``), ``URLPath``
and the scope readers of ``microasgi._sansio.scope``.

Documented errors: ``ValueError`` from ``URL.port`` when a URL given as text has a bad port, and
from ``URL.replace`` for an unknown component; ``TypeError`` for a URL that is not text. A URL
built from a scope never raises, whatever the client sent.

Also: tests/sansio/test_scope.py::test_encoded_full_path_decodes_to_full_path (any path and root path:
the encoded path decodes back, holds no ``?`` or ``#``) and
::test_url_string_structure_survives_hostile_input (any path, raw path, host and query: the
URL's parts are the ones we put in; no fragment, no user info).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.multidict import parse_query
from microasgi._sansio.scope import full_path
from microasgi.datastructures import URL, QueryParams, URLPath

schemes = st.from_regex(r"[a-z][a-z0-9+.\-]{0,7}", fullmatch=True)
hostnames = st.from_regex(r"[a-z0-9\-]{1,10}(\.[a-z0-9\-]{1,10}){0,2}", fullmatch=True)
ports = st.none() | st.integers(0, 65535)
_TEXT = st.text(st.characters(codec="utf-8"), max_size=15)
paths = st.lists(_TEXT, max_size=4).map(lambda parts: "/" + "/".join(quote(p) for p in parts))
pairs = st.lists(st.tuples(_TEXT, _TEXT), max_size=4)
queries = pairs.map(urlencode)
fragments = _TEXT.map(quote)


@st.composite
def urls(draw: st.DrawFn) -> dict[str, Any]:
    """The components of a valid absolute URL."""
    host, port = draw(hostnames), draw(ports)
    return {
        "scheme": draw(schemes),
        "netloc": host if port is None else f"{host}:{port}",
        "path": draw(paths),
        "query": draw(queries),
        "fragment": draw(fragments),
    }


@settings(max_examples=60, deadline=None)
@given(urls())
def test_components_round_trip(components: dict[str, Any]) -> None:
    """Round trip: components -> ``URL`` -> components, and through the URL's text."""
    url = URL(**components)
    for name, value in components.items():
        assert getattr(url, name) == value
    assert URL(str(url)) == url
    assert hash(URL(str(url))) == hash(url)
    assert urlsplit(str(url)) == url.components


@settings(max_examples=120, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_kept_as_written(text: str) -> None:
    """A URL from text keeps the text exactly (it equals it and its own copy)."""
    url = URL(text)
    assert str(url) == text
    assert url == text
    assert URL(url) == url


@settings(max_examples=60, deadline=None)
@given(urls(), st.data())
def test_replace_changes_one_component_only(
    components: dict[str, Any], data: st.DataObject
) -> None:
    """``replace`` sets the component it is given and leaves every other one alone."""
    url = URL(**components)
    name = data.draw(st.sampled_from(sorted(components)))
    strategy = {
        "scheme": schemes,
        "netloc": hostnames,
        "path": paths,
        "query": queries,
        "fragment": fragments,
    }[name]
    value = data.draw(strategy)
    changed = url.replace(**{name: value})
    assert getattr(changed, name) == value
    for other in components.keys() - {name}:
        assert getattr(changed, other) == components[other]


@settings(max_examples=60, deadline=None)
@given(urls(), hostnames | st.ip_addresses().map(str), ports)
def test_hostname_and_port_rebuild_the_netloc(
    components: dict[str, Any], hostname: str, port: int | None
) -> None:
    """``replace(hostname=..., port=...)`` reads back as the same host and port (IPv6 literals
    bracketed), the rest of the URL unchanged."""
    changed = URL(**components).replace(hostname=hostname, port=port)
    assert changed.hostname == hostname.lower()
    assert changed.port == port
    if ":" in hostname:
        assert ipaddress.ip_address(hostname).version == 6
        assert f"[{hostname}]" in changed.netloc
    assert (changed.path, changed.query) == (components["path"], components["query"])


@settings(max_examples=60, deadline=None)
@given(urls(), st.dictionaries(st.from_regex(r"[a-z_]{1,6}", fullmatch=True), _TEXT, max_size=4))
def test_include_query_params_agrees_with_a_model(
    components: dict[str, Any], new: dict[str, str]
) -> None:
    """``include_query_params``: the other parameters keep their order, the new ones come last
    with their values, once each (a model over the parsed pairs is the reference)."""
    url = URL(**components).include_query_params(**new)
    old = parse_query(components["query"])
    expected = [(k, v) for k, v in old if k not in new] + list(new.items())
    assert QueryParams(url.query).multi_items() == expected
    assert url.path == components["path"]


@settings(max_examples=60, deadline=None)
@given(urls(), st.lists(_TEXT, max_size=3))
def test_remove_and_replace_query_params(components: dict[str, Any], keys: list[str]) -> None:
    """``remove_query_params`` drops exactly those names; ``replace_query_params`` leaves only
    the parameters given."""
    url = URL(**components)
    old = parse_query(components["query"])
    removed = url.remove_query_params(keys)
    assert QueryParams(removed.query).multi_items() == [(k, v) for k, v in old if k not in keys]
    replaced = url.replace_query_params(**{f"k{i}": key for i, key in enumerate(keys)})
    assert QueryParams(replaced.query).multi_items() == [
        (f"k{i}", key) for i, key in enumerate(keys)
    ]


_BYTES = st.binary(max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    path=_TEXT.map(lambda s: "/" + s) | _TEXT,
    root_path=_TEXT,
    raw_path=st.none() | _BYTES,
    host=st.none() | _BYTES | hostnames.map(str.encode),
    query=_BYTES,
    scheme=st.sampled_from(["http", "https", "ws", "wss", ""]),
    server=st.none()
    | st.just(("/tmp/app.sock", None))
    | st.tuples(st.sampled_from(["10.0.0.1", "::1"]), st.integers(0, 65535)),
)
def test_a_url_from_any_scope_reads_without_error(
    path: str,
    root_path: str,
    raw_path: bytes | None,
    host: bytes | None,
    query: bytes,
    scheme: str,
    server: tuple[str, int | None] | None,
) -> None:
    """Totality: whatever the client sent (host, path, raw path, query), every part of
    ``request.url`` reads without error, its path decodes to the request's full path, and its
    query holds the request's query parameters (scope -> URL round trip)."""
    scope: dict[str, Any] = {
        "type": "http",
        "scheme": scheme,
        "path": path,
        "root_path": root_path,
        "query_string": query,
        "headers": [] if host is None else [(b"host", host)],
        "server": server,
    }
    if raw_path is not None:
        scope["raw_path"] = raw_path
    url = URL(scope=scope)
    for name in ("scheme", "netloc", "path", "query", "fragment", "username", "password"):
        assert isinstance(getattr(url, name), str | None)
    assert url.port is None or 0 <= url.port <= 65535
    assert url.hostname is None or url.hostname == url.hostname.lower()
    assert repr(url).startswith("URL(")
    assert url.fragment == ""
    assert url.username is None
    assert unquote(url.path).lstrip("/") == full_path(scope).lstrip("/")
    assert QueryParams(url.query) == QueryParams(query)


@settings(max_examples=60, deadline=None)
@given(paths, st.sampled_from(["http", "websocket", ""]), urls())
def test_absolute_urls_of_route_paths(path: str, protocol: str, base: dict[str, Any]) -> None:
    """``URLPath.make_absolute_url``: the path is appended to the base path, the host kept, and
    the scheme follows the protocol and the base's security."""
    base_url = URL(**base)
    url = URLPath(path, protocol).make_absolute_url(base_url)
    # A leading "//" is escaped (it would start another host), as Starlette escapes it.
    escaped = "/%2F" + path[2:] if path.startswith("//") else path
    assert url.path == base["path"].rstrip("/") + escaped
    assert url.netloc == base["netloc"]
    secure = base["scheme"] in ("https", "wss")
    expected = {
        "http": "https" if secure else "http",
        "websocket": "wss" if secure else "ws",
        "": base["scheme"],
    }[protocol]
    assert url.scheme == expected


_NETLOC_TEXT = st.text(st.sampled_from("ab1:[]v.%@"), max_size=8)


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(
        ["http://h/a", "http://u:p@h:8000/a?q#f", "http://[::1]:80/", "http://[v1.foo]/", "/a"]
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "hostname": st.none() | _NETLOC_TEXT | st.ip_addresses(v=6).map(str),
            "port": st.none() | st.integers(0, 65535),
            "username": st.none() | _NETLOC_TEXT,
            "password": st.none() | _NETLOC_TEXT,
        },
    ),
)
def test_replace_writes_the_netloc_starlette_writes(base: str, changes: dict[str, Any]) -> None:
    """Differential: ``replace`` with any of ``hostname``, ``port``, ``username``, ``password``
    gives the URL Starlette 1.10's gives (``hostname="host:port", port=None`` included)."""
    starlette = pytest.importorskip("starlette.datastructures")
    assert str(URL(base).replace(**changes)) == str(starlette.URL(base).replace(**changes))
