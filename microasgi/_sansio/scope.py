"""Pure functions that read paths, the query string and the URL out of an ASGI scope.

Sans-I/O: no ``receive``, no ``send``, no anyio. ``URL`` uses them, and so does the router.

# SPEC: ``specs/www.rst`` says ``root_path`` is "the root path this application is mounted at" and
# that "PATH_INFO can be derived by stripping root_path from path", so ``scope["path"]`` *includes*
# ``root_path``. Some servers (and older middleware) hand over a ``path`` that already lacks it. The
# functions here accept both conventions, and only ever treat ``root_path`` as a prefix at a path
# segment boundary: root ``"/api"`` is a prefix of ``"/api"`` and ``"/api/x"``, never of ``"/apix"``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, quote_from_bytes, unquote

from microasgi._sansio.hosts import split_host
from microasgi.types import Scope

__all__ = [
    "decode_query_string",
    "encoded_full_path",
    "full_path",
    "route_path",
    "url_string",
]

# SPEC: RFC 3986 section 3.3, the characters a path segment may hold unencoded (pchar), plus "/".
# "?", "#" and "%" are left out: in a decoded path they are data and must be percent-encoded.
_PATH_SAFE = "/!$&'()*+,;=:@"
# Printable ASCII but "#" (which would start a fragment): "%" and the rest stay as they are because
# the query string is still percent-encoded (``specs/www.rst``). Control characters are encoded
# because urlsplit silently deletes tabs and newlines; non-ASCII bytes because a URL is ASCII.
_QUERY_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if c != ord("#"))
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _root(scope: Scope) -> str:
    # A root_path of "/" or "/api/" means the same mount point as "" or "/api".
    root: str = scope.get("root_path", "")
    return root.rstrip("/")


def _starts_with_root(path: str, root: str) -> bool:
    """Return whether ``root`` is a prefix of ``path`` ending at a segment boundary."""
    return path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/")


def full_path(scope: Scope) -> str:
    """Return the decoded path of the request including ``root_path``.

    ``root_path`` is prepended only when ``scope["path"]`` does not already start with it at a
    segment boundary, so the result is the same whichever convention the server follows.
    """
    path: str = scope["path"]
    root = _root(scope)
    if not root or _starts_with_root(path, root):
        return path
    return root + path


def route_path(scope: Scope) -> str:
    """Return the decoded path relative to ``root_path``: what a router matches against.

    ``root_path`` is stripped only at a segment boundary (root ``"/api"`` leaves ``"/apix"`` alone).
    A path equal to the root gives ``""``, as Starlette's ``get_route_path`` does, so a router can
    tell ``/api`` from ``/api/`` (and redirect the former).
    """
    path: str = scope["path"]
    root = _root(scope)
    if root and _starts_with_root(path, root):
        return path[len(root) :]
    return path


def encoded_full_path(scope: Scope) -> str:
    """Return the full path (with ``root_path``) percent-encoded, as it belongs in a URL.

    # SPEC: ``path`` is percent-decoded, so ``/a%2Fb`` and ``/a/b`` both arrive as ``"/a/b"``;
    # only ``raw_path`` (bytes, optional) keeps the difference. We use ``raw_path`` when it is ASCII
    # and decodes to ``path``: a middleware that rewrote ``path`` without ``raw_path`` makes them
    # disagree, and then ``path`` wins, percent-encoded, so ``?``, ``#`` and ``%`` in it stay data.
    """
    path: str = scope["path"]
    prefix = ""
    root: str = scope.get("root_path", "")
    if root:
        root = root.rstrip("/")
        if root and not _starts_with_root(path, root):
            # The server stripped root_path from path, and (if consistent) from raw_path as well.
            prefix = root
    raw = scope.get("raw_path")
    # SECURITY: a raw "#" would turn the rest of the path into a URL fragment, and urlsplit deletes
    # tabs and newlines: such a raw_path is not used as is.
    if isinstance(raw, bytes) and raw.isascii() and b"#" not in raw:
        encoded = raw.decode("ascii")
        # PERF: the common case is a raw path with nothing encoded, equal to path.
        if encoded.isprintable() and (encoded == path or unquote(encoded) == path):
            return quote(prefix, safe=_PATH_SAFE) + encoded if prefix else encoded
    return quote(prefix + path, safe=_PATH_SAFE)


def decode_query_string(query_string: bytes) -> str:
    """Return ``scope["query_string"]`` as text, still percent-encoded.

    Printable ASCII is kept as it is. Clients may send raw non-ASCII bytes (raw UTF-8, or garbage):
    those are percent-encoded instead of decoded, so this never raises and loses nothing. Control
    characters and ``#`` are encoded too, so a URL built from the result keeps them as data.
    """
    if query_string.isascii() and b"#" not in query_string:
        text = query_string.decode("ascii")
        if text.isprintable():
            return text
    return quote_from_bytes(query_string, safe=_QUERY_SAFE)


def _host_header(scope: Scope) -> str | None:
    headers: Any = scope.get("headers", ())
    for name, value in headers:
        if name == b"host":
            host: str = value.decode("latin-1")
            # SECURITY: the Host header is client-controlled. One holding "/", "?", "#", "@",
            # spaces, non-ASCII, a stray bracket or a bad port would change the meaning of the URL
            # built from it, or make reading its port raise: it is ignored and the server address
            # is used instead.
            # The grammar is RFC 3986's, as Starlette reads it (microasgi._sansio.hosts.split_host).
            return host if split_host(host) is not None else None
    return None


def url_string(scope: Scope) -> str:
    """Build the absolute URL of the request in ``scope`` (relative if the host is unknown).

    The scheme is ``scope["scheme"]`` (``"http"``, or ``"ws"`` for a websocket scope, when
    missing). The authority is the ``Host`` header, else ``scope["server"]`` with its port left
    out when it is the scheme's default, else absent. Then come :func:`encoded_full_path` and the
    query string.
    """
    # SPEC: "scheme" is optional and defaults to "http" for http scopes and "ws" for websockets.
    scheme: str = scope.get("scheme") or ("ws" if scope.get("type") == "websocket" else "http")
    path = encoded_full_path(scope)
    host = _host_header(scope)
    if host is None:
        server = scope.get("server")
        # SPEC: server is [host, port], [unix_socket_path, None] or None; a unix socket path is no
        # URL authority, so the URL stays relative then.
        if server is not None and server[1] is not None:
            server_host, port = server
            if ":" in server_host:
                server_host = f"[{server_host}]"  # RFC 3986: IPv6 literals are bracketed.
            if _DEFAULT_PORTS.get(scheme) == port:
                host = server_host
            else:
                host = f"{server_host}:{port}"
    # SECURITY: a path must start with "/" to stay a path: "@evil.com" after the host would turn
    # the host into user info, and "//evil.com" without a host would read as an authority.
    if not path.startswith("/"):
        path = "/" + path
    if host is None:
        # SECURITY: without a host, a leading "//" would read as an authority; as Starlette does,
        # the second "/" is percent-encoded, so the path stays the same path ("//a" is "/%2Fa").
        url = "/%2F" + path[2:] if path.startswith("//") else path
    else:
        url = f"{scheme}://{host}{path}"
    query_string: bytes = scope.get("query_string", b"")
    if not query_string:
        return url
    return f"{url}?{decode_query_string(query_string)}"
