"""``URL`` and ``URLPath``, re-exported by :mod:`microasgi.datastructures`."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any
from urllib.parse import SplitResult, urlencode, urlsplit

from microasgi._sansio.multidict import parse_query
from microasgi._sansio.scope import url_string
from microasgi.types import Scope

__all__ = ["URL", "URLPath"]

_SPLIT_FIELDS = frozenset(SplitResult._fields)
_NETLOC_PARTS = frozenset({"username", "password", "hostname", "port"})
_COMPONENTS = _SPLIT_FIELDS | _NETLOC_PARTS


class URL:
    """An immutable URL, from a string, from the ``scope`` of a request, or from its components.

    ``URL("https://example.com/a?b=1")``, ``URL(scope=scope)`` or ``URL(scheme="https",
    netloc="example.com", path="/a")``. A URL built from a scope holds the ``Host`` header (else
    ``scope["server"]``), the full path including ``root_path`` (percent-encoded, from ``raw_path``
    when it agrees with ``path`` so that ``%2F`` stays encoded) and the query string.

    A URL from a scope reads the scope when it is first used, not when it is built, which keeps
    ``request.url`` free until something looks at it. It compares equal to its string form, and
    its ``repr`` hides the password.

    Raises:
        TypeError: if ``url`` is neither a ``str`` nor a ``URL``.
        ValueError: if more than one of ``url``, ``scope`` and components is given, or a
            component name is unknown.
    """

    __slots__ = ("_components", "_scope", "_url")

    def __init__(self, url: str | URL = "", scope: Scope | None = None, **components: Any) -> None:
        self._components: SplitResult | None = None
        if scope is not None:
            if url or components:
                raise ValueError(
                    "URL() takes either a url, a scope or components, not several. "
                    "Use URL(scope=scope).replace(...) to change a URL built from a scope."
                )
            # PERF: building a URL from a scope is on the hot path (request.url); the string is
            # assembled only when first needed, and split only when a component is read.
            self._scope: Scope | None = scope
            self._url: str | None = None
            return
        if isinstance(url, URL):
            url = str(url)
        elif not isinstance(url, str):
            raise TypeError(f"URL() expects a str, got {type(url).__name__}: {url!r}.")
        if components:
            if url:
                raise ValueError(
                    f"URL() takes either a url or components, not both; got url={url!r} and "
                    f"{sorted(components)}. Use URL(url).replace(...) instead."
                )
            url = str(URL().replace(**components))
        self._scope = None
        self._url = url

    @property
    def components(self) -> SplitResult:
        """The URL split into ``scheme``, ``netloc``, ``path``, ``query`` and ``fragment``."""
        if self._components is None:
            self._components = urlsplit(str(self))
        return self._components

    @property
    def scheme(self) -> str:
        """The scheme, for example ``"https"``, or ``""``."""
        return self.components.scheme

    @property
    def netloc(self) -> str:
        """The authority: ``user:password@host:port`` as written."""
        return self.components.netloc

    @property
    def path(self) -> str:
        """The path, percent-encoded as it appears in the URL."""
        return self.components.path

    @property
    def query(self) -> str:
        """The query string without the ``?``, still percent-encoded."""
        return self.components.query

    @property
    def fragment(self) -> str:
        """The fragment without the ``#``."""
        return self.components.fragment

    @property
    def username(self) -> str | None:
        """The user name of the authority, or ``None``."""
        return self.components.username

    @property
    def password(self) -> str | None:
        """The password of the authority, or ``None``."""
        return self.components.password

    @property
    def hostname(self) -> str | None:
        """The host, lowercased, without brackets around an IPv6 address, or ``None``."""
        return self.components.hostname

    @property
    def port(self) -> int | None:
        """The port as an int, or ``None`` when the URL has none.

        Raises:
            ValueError: if the port is not a number from 0 to 65535.
        """
        return self.components.port

    @property
    def is_secure(self) -> bool:
        """Whether the scheme is ``https`` or ``wss``."""
        return self.scheme in ("https", "wss")

    def replace(self, **kwargs: Any) -> URL:
        """Return a copy with some components replaced.

        Accepts ``scheme``, ``netloc``, ``path``, ``query``, ``fragment``, and ``username``,
        ``password``, ``hostname``, ``port``, which rebuild the netloc as Starlette does:
        ``port=None`` removes the port; an IPv6 ``hostname`` is bracketed, any other is written as
        given (``hostname="host:8000", port=None`` gives the netloc ``host:8000``); the password
        is written only with a user name (``username=None`` removes both).

        Raises:
            ValueError: on an unknown component name.
        """
        unknown = kwargs.keys() - _COMPONENTS
        if unknown:
            raise ValueError(
                f"URL.replace() got unknown component(s) {sorted(unknown)!r}; "
                f"expected some of {sorted(_COMPONENTS)!r}."
            )
        if not _NETLOC_PARTS.isdisjoint(kwargs):
            kwargs["netloc"] = self._netloc(kwargs)
        return self.__class__(self.components._replace(**kwargs).geturl())

    def _netloc(self, kwargs: dict[str, Any]) -> str:
        """Pop the netloc parts from ``kwargs`` and return the netloc they make."""
        hostname: str | None = kwargs.pop("hostname", None)
        port = kwargs.pop("port", self.port)
        username = kwargs.pop("username", self.username)
        password = kwargs.pop("password", self.password)
        if hostname is None:
            # Keep the host as written (case, brackets), dropping user info and port.
            hostname = self.netloc.rpartition("@")[2]
            if not hostname.endswith("]"):
                hostname = hostname.rpartition(":")[0] if ":" in hostname else hostname
        elif ":" in hostname and not hostname.startswith("[") and _is_ipv6(hostname):
            # SPEC: RFC 3986 section 3.2.2, IPv6 literals are bracketed. Anything else is kept as
            # given, as Starlette keeps it: hostname="host:8000" writes that netloc.
            hostname = f"[{hostname}]"
        netloc = hostname if port is None else f"{hostname}:{port}"
        if username is None:
            # As Starlette: a password is written only after a user name.
            return netloc
        userinfo = username if password is None else f"{username}:{password}"
        return f"{userinfo}@{netloc}"

    def include_query_params(self, **kwargs: Any) -> URL:
        """Return a copy with these query parameters set (replacing any of the same name).

        Values are converted with ``str()``; the parameters set move to the end of the query.
        """
        new = {str(key): str(value) for key, value in kwargs.items()}
        params = [(k, v) for k, v in self._query_pairs() if k not in new]
        params.extend(new.items())
        return self.replace(query=urlencode(params))

    def replace_query_params(self, **kwargs: Any) -> URL:
        """Return a copy whose query holds exactly these parameters (values through ``str()``)."""
        return self.replace(query=urlencode([(str(k), str(v)) for k, v in kwargs.items()]))

    def remove_query_params(self, keys: str | Sequence[str]) -> URL:
        """Return a copy without the query parameters named ``keys`` (one name or several)."""
        drop = {keys} if isinstance(keys, str) else set(keys)
        params = [(k, v) for k, v in self._query_pairs() if k not in drop]
        return self.replace(query=urlencode(params))

    def _query_pairs(self) -> list[tuple[str, str]]:
        # SPEC: WHATWG URL and RFC 3986 practice: "&" is the only separator, never ";".
        return parse_query(self.query)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, URL | str):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        if self._url is None:
            # Only a URL built from a scope has no string yet.
            self._url = url_string(self._scope)  # type: ignore[arg-type]
        return self._url

    def __repr__(self) -> str:
        url = str(self)
        if self.password:
            url = str(self.replace(password="********"))
        return f"{self.__class__.__name__}({url!r})"


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


class URLPath(str):
    """A path (a ``str``) produced by reversing a route, that knows its protocol and host.

    Args:
        path: the path, for example ``"/users/3"``.
        protocol: ``"http"``, ``"websocket"`` or ``""`` (unknown: keep the base URL's scheme).
        host: the host the route is bound to (``Host`` routes), or ``""`` for the base URL's.

    Raises:
        ValueError: if ``protocol`` is not one of those three.
    """

    protocol: str
    host: str

    def __new__(cls, path: str, protocol: str = "", host: str = "") -> URLPath:
        if protocol not in ("http", "websocket", ""):
            raise ValueError(
                f"URLPath protocol must be 'http', 'websocket' or '', got {protocol!r}."
            )
        # SECURITY: a path is put into links and Location headers as it is. Browsers read "\"
        # as "/", and a leading "//" as the start of another host: "//evil.com/a" (from a
        # parameter value such as path="/evil.com/a") would be an open redirect. Both are
        # escaped, as Starlette escapes them.
        if "\\" in path:
            path = path.replace("\\", "%5C")
        if path.startswith("//"):
            path = "/%2F" + path[2:]
        return str.__new__(cls, path)

    def __init__(self, path: str, protocol: str = "", host: str = "") -> None:
        self.protocol = protocol
        self.host = host

    def make_absolute_url(self, base_url: str | URL) -> URL:
        """Return the absolute URL of this path under ``base_url``.

        The scheme follows the protocol: ``http`` gives ``https`` when the base is secure and
        ``websocket`` gives ``ws`` or ``wss``; the path is appended to the base path.
        """
        if isinstance(base_url, str):
            base_url = URL(base_url)
        if self.protocol == "http":
            scheme = "https" if base_url.is_secure else "http"
        elif self.protocol == "websocket":
            scheme = "wss" if base_url.is_secure else "ws"
        else:
            scheme = base_url.scheme
        netloc = self.host or base_url.netloc
        path = base_url.path.rstrip("/") + str(self)
        return URL(scheme=scheme, netloc=netloc, path=path)
