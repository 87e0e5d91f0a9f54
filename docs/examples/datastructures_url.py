from microasgi.datastructures import URL, URLPath

url = URL("https://user:secret@example.com:8443/search?q=asgi&page=2#results")

# Every component, as urllib.parse.urlsplit names it, plus a few conveniences.
parts = (url.scheme, url.hostname, url.port, url.path, url.query, url.fragment, url.is_secure)

# URLs are immutable: replace() and the query helpers return new ones.
next_page = url.include_query_params(page=3)
only_q = url.replace_query_params(q="starlette")
no_page = url.remove_query_params("page")
moved = url.replace(hostname="::1", port=None, username=None, password=None, fragment="")
# A hostname that is not an IPv6 address is written as given, a port included (as Starlette).
internal = url.replace(hostname="internal:8080", port=None, username=None)

# A URL built from a scope: Host header, the full path (root_path included, %2F kept), query.
scope = {
    "type": "http",
    "scheme": "http",
    "server": ("10.0.0.5", 8000),
    "root_path": "/api",
    "path": "/api/files/a/b",
    "raw_path": b"/api/files/a%2Fb",
    "query_string": b"download=1",
    "headers": [],
}
from_scope = URL(scope=scope)

# A reversed route knows its protocol: make it absolute against the request's base URL.
websocket_url = URLPath("/chat", protocol="websocket").make_absolute_url("https://example.com/")


def test_url_parts_and_helpers() -> None:
    assert parts == ("https", "example.com", 8443, "/search", "q=asgi&page=2", "results", True)
    assert next_page == "https://user:secret@example.com:8443/search?q=asgi&page=3#results"
    assert only_q.query == "q=starlette"
    assert no_page.query == "q=asgi"
    assert moved == "https://[::1]/search?q=asgi&page=2"
    assert (internal.netloc, internal.hostname, internal.port) == (
        "internal:8080",
        "internal",
        8080,
    )
    assert repr(url) == "URL('https://user:********@example.com:8443/search?q=asgi&page=2#results')"


def test_url_from_scope_and_urlpath() -> None:
    assert from_scope == "http://10.0.0.5:8000/api/files/a%2Fb?download=1"
    assert websocket_url == "wss://example.com/chat"
