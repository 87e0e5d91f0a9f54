"""``TrustedHostMiddleware``: answer only requests whose ``Host`` is one of yours.

A request for a host you did not list gets ``400 Invalid host header`` (a websocket handshake is
denied), so forged ``Host`` headers never reach the code that builds URLs, password reset links
or cache keys from them.
"""

from __future__ import annotations

from collections.abc import Sequence

from microasgi._sansio.hosts import HostPort, parse_host
from microasgi.datastructures import URL
from microasgi.responses import PlainTextResponse, RedirectResponse, Response
from microasgi.types import ASGIApp, Receive, Scope, Send

__all__ = ["TrustedHostMiddleware"]

_INVALID = "Invalid host header"
_EXAMPLES = "'example.com', '*.example.com', 'example.com:8443', '[::1]', '[v1.foo]' or '*'"


class TrustedHostMiddleware:
    """Refuse requests whose ``Host`` header does not match ``allowed_hosts``.

    Patterns:

    - ``"example.com"`` matches that host on any port; ``"example.com:8443"`` only on port 8443.
    - ``"*.example.com"`` matches every subdomain (``api.example.com``, ``a.b.example.com``) and
      not ``example.com`` itself: list both if you want both.
    - ``"[::1]"`` or ``"[::1]:8000"`` match an IPv6 address in any of its spellings.
    - ``"[v1.foo]"`` matches that RFC 3986 IPvFuture literal (its ``v`` lowercase).
    - ``"*"`` matches any well-formed host (the default, as in Starlette).

    Hosts compare case-insensitively, and a fully qualified ``example.com.`` is ``example.com``.
    A ``Host`` that is malformed (a path, user info, spaces, control characters, non-ASCII, an
    empty, non-numeric or out of range port, a name with characters DNS names never hold),
    missing while specific hosts are listed, or sent more than once gets a 400 even when ``"*"``
    is allowed: RFC 9112 section 3.2 requires it, and nothing downstream should build a URL from
    it. Starlette answers 400 to the same malformed hosts when specific hosts are listed (it lets
    anything through ``"*"``); where it accepts a port past 65535 or a name holding RFC 3986
    sub-delims or ``%``, this refuses them.

    With ``www_redirect`` (the default), a request for ``example.com`` when only
    ``www.example.com`` is allowed is redirected there (307), keeping the path and query. The
    redirect is always an absolute URL on the allowed host, never one taken from the request.

    Websocket handshakes for a host that is not allowed are denied: a 400 response where the
    server offers the ``websocket.http.response`` extension, otherwise a close (which servers
    answer with 403). They are never redirected.

    Args:
        app: the app to wrap.
        allowed_hosts: the host patterns to answer.
        www_redirect: redirect ``host`` to ``www.host`` when only the latter is allowed.

    Raises:
        ValueError: a pattern is malformed (a URL instead of a host, a ``*`` anywhere but as the
            first label, an IPv6 address without brackets, ...).
        TypeError: ``allowed_hosts`` is a single string instead of a list.
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str] | None = None,
        www_redirect: bool = True,
    ) -> None:
        if allowed_hosts is None:
            allowed_hosts = ("*",)
        if isinstance(allowed_hosts, str):
            raise TypeError(
                f"allowed_hosts must be a list of host patterns, got the string {allowed_hosts!r}. "
                f"Use allowed_hosts=[{allowed_hosts!r}]."
            )
        self.app = app
        self.allowed_hosts = list(allowed_hosts)
        self.www_redirect = www_redirect
        self.allow_any = "*" in self.allowed_hosts
        # name -> allowed ports (None: any port); for wildcards the key is the ".suffix".
        self._exact: dict[str, set[int | None]] = {}
        self._suffixes: dict[str, set[int | None]] = {}
        for pattern in self.allowed_hosts:
            if pattern != "*":
                table, host = _compile(pattern)
                (self._suffixes if table else self._exact).setdefault(host.name, set()).add(
                    host.port
                )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        value: str | None = None
        for name, raw in scope["headers"]:
            if name == b"host":
                if value is not None:
                    value = ""  # SPEC: RFC 9112 section 3.2, several Host headers are a 400.
                    break
                value = raw.decode("latin-1")
        if value is None and self.allow_any:
            # HTTP/1.0 clients may send no Host; with "*" the server address stands in for it.
            await self.app(scope, receive, send)
            return
        host = None if value is None else parse_host(value)
        if host is not None and (self.allow_any or self._allows(host)):
            await self.app(scope, receive, send)
            return
        response: Response
        if (
            host is not None
            and self.www_redirect
            and scope["type"] == "http"
            and self._allows_exactly(HostPort("www." + host.name, host.port))
        ):
            response = RedirectResponse(_www_url(scope, value or ""))
        else:
            response = PlainTextResponse(_INVALID, status_code=400)
        await response(scope, receive, send)

    def _allows_exactly(self, host: HostPort) -> bool:
        ports = self._exact.get(host.name)
        return ports is not None and (None in ports or host.port in ports)

    def _allows(self, host: HostPort) -> bool:
        if self._allows_exactly(host):
            return True
        if not self._suffixes or host.name.startswith("["):
            return False
        # PERF: one dict lookup per label of the host, however many patterns are listed.
        name = host.name
        dot = name.find(".")
        while dot > 0:
            ports = self._suffixes.get(name[dot:])
            if ports is not None and (None in ports or host.port in ports):
                return True
            dot = name.find(".", dot + 1)
        return False


def _compile(pattern: object) -> tuple[bool, HostPort]:
    """Return ``(is_wildcard, host)`` for one pattern; a wildcard's name is its ``.suffix``."""
    if not isinstance(pattern, str):
        raise TypeError(f"Each allowed host must be a string, got {pattern!r}.")
    if "://" in pattern or "/" in pattern:
        hint = URL(pattern).netloc if "://" in pattern else pattern.split("/", 1)[0]
        raise ValueError(f"Allowed host {pattern!r} is a URL; list the host alone: {hint!r}.")
    wildcard = pattern.startswith("*.")
    rest = pattern[1:] if wildcard else pattern
    if "*" in rest:
        raise ValueError(
            f"Allowed host {pattern!r} has a '*' that is not a leading '*.' label. "
            f"Domain wildcard patterns must be like '*.example.com'; write {_EXAMPLES}."
        )
    host = parse_host(rest[1:] if wildcard else rest)
    if host is None:
        hint = (
            f" Write IPv6 addresses in brackets: '[{pattern}]'." if pattern.count(":") > 1 else ""
        )
        raise ValueError(
            f"Allowed host {pattern!r} is not a valid host pattern.{hint} "
            f"Patterns look like {_EXAMPLES}."
        )
    if wildcard:
        if host.name.startswith("["):
            raise ValueError(
                f"Allowed host {pattern!r} puts a wildcard on an IP address; list the address "
                "itself."
            )
        return True, HostPort("." + host.name, host.port)
    return False, host


def _www_url(scope: Scope, value: str) -> str:
    """The request URL on ``www.`` + its host (``value`` is the validated Host header)."""
    # SECURITY: the host is the request's own, already validated and allowed with "www."; the path
    # is percent-encoded by URL, so "//evil.example" stays a path on our host, never an authority.
    url = URL(scope=scope)
    return str(url.replace(netloc="www." + value))
