"""``ProxyHeadersMiddleware``: see the client, scheme and host a reverse proxy received.

Behind a proxy the app's peer is the proxy: ``scope["client"]`` is its address and
``scope["scheme"]`` is ``http`` even when the client used ``https``. Proxies report what they saw
in ``Forwarded`` (RFC 7239) or ``X-Forwarded-For``/``-Proto``/``-Host``; this middleware puts it
back into the scope, but only when the request comes from a proxy you trust, so that
``request.client``, ``request.url`` and ``url_for`` are right and nobody else can forge them.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

from microasgi._sansio.forwarded import (
    Node,
    client_index,
    normalize_address,
    parse_forwarded,
    parse_node,
    split_list,
)
from microasgi._sansio.hosts import parse_host
from microasgi.types import ASGIApp, Receive, Scope, Send

__all__ = ["ProxyHeadersMiddleware"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_HTTP_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
_WS_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
_MODES = ("auto", "forwarded", "x-forwarded")


class ProxyHeadersMiddleware:
    """Take the client address, scheme and host from proxy headers sent by trusted proxies.

    Only when the direct peer (``scope["client"]``) is one of ``trusted_hosts`` are the headers
    read at all. The chain of addresses is then walked from the right, skipping the proxies you
    trust, and the first address that is not trusted becomes ``scope["client"]`` (with the port
    the proxy reported, else 0). The scheme (``proto``) and host that the same hop reported
    replace ``scope["scheme"]`` and the ``Host`` header; a websocket scope gets ``ws``/``wss``.

    ``Forwarded`` is preferred when present, and then ``X-Forwarded-*`` are ignored entirely;
    without it, ``X-Forwarded-For`` gives the chain, and ``X-Forwarded-Proto`` and
    ``X-Forwarded-Host`` are read at the client's position when they list one value per hop,
    else their last (most recent) value is used.

    What cannot be trusted is not used: a malformed scheme or host is ignored; a client address
    that is ``unknown``, malformed or hidden by an unparsable header becomes ``None`` (never the
    proxy's own address, which you trust); an obfuscated identifier (``_hidden``) is kept as the
    host. Only the last 32 hops of a chain are looked at.

    # SECURITY: only one header family is read by default (X-Forwarded-*): a proxy that appends
    # X-Forwarded-For but passes on a client's own Forwarded header would otherwise let that
    # client choose its address. "auto" reads both and needs a proxy that overwrites both.

    Args:
        app: the app to wrap.
        trusted_hosts: the proxies to trust: IP addresses (``"10.0.0.1"``, ``"::1"``), networks
            (``"10.0.0.0/8"``), other literal client names, or ``"*"`` for any peer. A string is
            split on commas (``"127.0.0.1, 10.0.0.0/8"``), as uvicorn's option.
        headers: which header family to read: ``"x-forwarded"`` (the default: what nginx,
            Traefik, Caddy and Envoy write, and what uvicorn reads), ``"forwarded"`` (RFC 7239),
            or ``"auto"`` (``Forwarded`` when present, else ``X-Forwarded-*``).

    Raises:
        ValueError: an entry is empty, holds spaces, or is a network with host bits set
            (``10.0.0.1/8``); or ``headers`` is not one of the three modes.
    """

    def __init__(
        self,
        app: ASGIApp,
        trusted_hosts: Sequence[str] | str = ("127.0.0.1",),
        *,
        headers: Literal["auto", "forwarded", "x-forwarded"] = "x-forwarded",
    ) -> None:
        if headers not in _MODES:
            raise ValueError(
                f"headers must be 'auto', 'forwarded' or 'x-forwarded', got {headers!r}."
            )
        self.app = app
        self.trusted_hosts, self._is_trusted = _trust(trusted_hosts)
        self.always_trust = "*" in self.trusted_hosts
        self._forwarded = headers != "x-forwarded"
        self._x_forwarded = headers != "forwarded"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        if not (self.always_trust or (client is not None and self._is_trusted(client[0]))):
            await self.app(scope, receive, send)
            return
        forwarded: list[str] = []
        x_for: list[str] = []
        x_proto: list[str] = []
        x_host: list[str] = []
        for name, value in scope["headers"]:
            if name == b"forwarded":
                forwarded.append(value.decode("latin-1"))
            elif name == b"x-forwarded-for":
                x_for.append(value.decode("latin-1"))
            elif name == b"x-forwarded-proto":
                x_proto.append(value.decode("latin-1"))
            elif name == b"x-forwarded-host":
                x_host.append(value.decode("latin-1"))
        if self._forwarded and forwarded:
            found = self._from_forwarded(", ".join(forwarded))
        elif self._x_forwarded and (x_for or x_proto or x_host):
            found = self._from_x_forwarded(x_for, x_proto, x_host)
        else:
            await self.app(scope, receive, send)
            return
        await self.app(_apply(scope, found), receive, send)

    def _from_forwarded(self, value: str) -> _Report:
        elements = parse_forwarded(value)
        hops = [None if e is None else parse_node(e.for_) for e in elements]
        index = client_index(hops, self._is_trusted)
        element = elements[index]
        if element is None:
            # SECURITY: unparsable (an unbalanced quote swallows everything after it): the client
            # is not known, and is certainly not the trusted proxy.
            return _Report(True, None, None, None)
        # An element without "for" does not say who the client was: scope["client"] stays.
        return _Report(element.for_ is not None, hops[index], element.proto, element.host)

    def _from_x_forwarded(self, x_for: list[str], x_proto: list[str], x_host: list[str]) -> _Report:
        if not x_for:
            return _Report(False, None, _last(x_proto), _last(x_host))
        joined = ", ".join(x_for)
        items = split_list(joined)
        hops = [parse_node(item) for item in items]
        index = client_index(hops, self._is_trusted)
        # Line the other headers up with the client when they list one value per hop.
        count = joined.count(",") + 1
        from_right = len(items) - index
        return _Report(
            True, hops[index], _at(x_proto, count, from_right), _at(x_host, count, from_right)
        )


class _Report(NamedTuple):
    """What the proxies reported about the client's hop."""

    has_client: bool  # False: keep scope["client"] as it is
    client: Node | None  # None: the client is not known
    proto: str | None
    host: str | None


def _last(values: list[str]) -> str | None:
    """The last item of the last header (set by the proxy closest to us)."""
    return split_list(values[-1], 1)[0] if values else None


def _at(values: list[str], count: int, from_right: int) -> str | None:
    """The item ``from_right`` places from the end when ``values`` list ``count`` items, else
    the last one."""
    if not values:
        return None
    joined = ", ".join(values)
    if joined.count(",") + 1 != count:
        return _last(values)
    return split_list(joined, from_right)[0]


def _apply(scope: Scope, report: _Report) -> Scope:
    """Return a copy of ``scope`` with the client, scheme and host the proxy reported."""
    # SPEC: ASGI asks middleware to copy the scope before changing it.
    scope = dict(scope)
    client = report.client
    if report.has_client:
        scope["client"] = None if client is None else (client.host, client.port or 0)
    if report.proto is not None:
        table = _WS_SCHEMES if scope["type"] == "websocket" else _HTTP_SCHEMES
        scheme = table.get(report.proto.lower())
        if scheme is not None:
            scope["scheme"] = scheme
    # SECURITY: a host is used only when it is a well-formed host (no path, user info, spaces or
    # control characters), so nothing the URL is built from can change its meaning.
    host = report.host
    if host is not None and parse_host(host) is not None:
        headers = [item for item in scope["headers"] if item[0] != b"host"]
        headers.append((b"host", host.encode("ascii")))
        scope["headers"] = headers
    return scope


def _trust(trusted_hosts: str | Sequence[str]) -> tuple[list[str], Callable[[str], bool]]:
    """The entries of a ``trusted_hosts`` setting, and the check of one peer address against
    them ("*" is left to the caller, which trusts everything then).

    Raises:
        ValueError: an entry is neither an address, a network nor "*".
    """
    entries = trusted_hosts.split(",") if isinstance(trusted_hosts, str) else trusted_hosts
    hosts = [entry.strip() for entry in entries]
    literals: set[str] = set()
    networks: list[_Network] = []
    for entry in hosts:
        if entry != "*":
            _compile(entry, literals, networks)
    # PERF: the same few proxy addresses come back on every request: each is parsed and
    # matched against the networks once. The cache is bounded, so hostile values in a chain
    # cost only the check itself.
    checker = functools.lru_cache(maxsize=1024)(
        functools.partial(_is_trusted, frozenset(literals), tuple(networks))
    )
    return hosts, checker


def _compile(entry: str, literals: set[str], networks: list[_Network]) -> None:
    if not entry or any(char.isspace() for char in entry):
        raise ValueError(
            f"Trusted host {entry!r} is not valid: give IP addresses, networks such as "
            "'10.0.0.0/8', or '*', separated by commas."
        )
    if "/" in entry:
        try:
            networks.append(ipaddress.ip_network(entry))
        except ValueError as exc:
            raise ValueError(
                f"Trusted network {entry!r} is not valid: {exc}. Write a network address and "
                "prefix length, such as '10.0.0.0/8' or 'fd00::/8'."
            ) from None
        return
    try:
        literals.add(
            normalize_address(ipaddress.ip_address(entry.removeprefix("[").removesuffix("]")))
        )
    except ValueError:
        literals.add(entry)  # a name the server reports as the client (a unix socket, say)


def _is_trusted(literals: frozenset[str], networks: tuple[_Network, ...], host: str) -> bool:
    if host in literals:
        return True
    try:
        address = ipaddress.ip_address(normalize_address(ipaddress.ip_address(host)))
    except ValueError:
        return False
    return str(address) in literals or any(address in network for network in networks)
