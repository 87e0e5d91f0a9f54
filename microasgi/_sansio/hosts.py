"""Sans-I/O parsing of host names: ``Host`` headers, forwarded hosts and host patterns.

Pure functions over ``str``: no ``receive``, no ``send``, no anyio. Two readings of one grammar:

- :func:`split_host` accepts any RFC 3986 ``host [":" port]``, as Starlette reads a ``Host``
  header; URLs built from a scope and the router's ``Host`` routes use it.
- :func:`parse_host` accepts only hosts that DNS can name (and IP literals), normalized for
  comparison; ``TrustedHostMiddleware`` and ``ProxyHeadersMiddleware`` use it to decide whether a
  client-supplied host is one to trust.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import NamedTuple

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# SPEC: RFC 3986 section 2.2 and 2.3, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" and
# sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "=".
_UNRESERVED_OR_SUB_DELIMS = frozenset(_ALNUM + "-._~!$&'()*+,;=")
# SPEC: RFC 3986 section 3.2.2, reg-name = *( unreserved / pct-encoded / sub-delims ). As in
# Starlette, a "%" is not checked for the two hex digits that should follow it.
_REG_NAME_CHARS = _UNRESERVED_OR_SUB_DELIMS | {"%"}
# SPEC: RFC 3986 section 3.2.2, IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ).
_IPVFUTURE_CHARS = _UNRESERVED_OR_SUB_DELIMS | {":"}
_HEXDIG = frozenset("0123456789abcdefABCDEF")
# The reg-names DNS can resolve: letters, digits, "-", "." and the "_" of internal service names.
_NAME_CHARS = frozenset(_ALNUM + "-._")
# SECURITY: RFC 1035 limits a name to 253 characters; with brackets, a port and slack for a
# trailing dot, nothing valid is longer than this, and longer input is refused before any parsing.
MAX_HOST_LENGTH = 270


class HostPort(NamedTuple):
    """A parsed host: ``name`` lowercased, and the port if one was given.

    An IPv6 address is bracketed and in its compressed form (``[::1]``), so equal hosts compare
    equal; an IPvFuture literal keeps its brackets (``[v1.foo]``).
    """

    name: str
    port: int | None


def _parse_port(text: str) -> int | None:
    """Return the port ``text`` names, or ``None`` if it names none.

    # SPEC: RFC 3986 section 3.2.3 allows an empty port ("host:"), but Starlette (and RFC 9110's
    # uri-host [":" port] in practice) refuses it, so it is malformed here too. Leading zeros are
    # allowed, as Starlette allows them ("00080" is port 80); the value must fit in 16 bits.
    """
    if not text or not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    if len(digits) > 5:
        return None
    port = int(digits or "0")
    return port if port <= 65535 else None


def _ip_literal(text: str) -> str | None:
    """Return the normalized text of the IP literal ``text`` (between brackets), or ``None``."""
    if text.startswith("v"):
        # SPEC: RFC 3986 IPvFuture. The "v" must be lowercase: urllib.parse (which URL uses)
        # refuses "[V1.x]", and so does Starlette.
        version, dot, rest = text[1:].partition(".")
        if (
            version
            and dot
            and rest
            and _HEXDIG.issuperset(version)
            and _IPVFUTURE_CHARS.issuperset(rest)
        ):
            return text.lower()
        return None
    # SECURITY: zone identifiers ("fe80::1%eth0") name an interface of the client's machine and
    # mean nothing here; ipaddress would accept them, so "%" is refused first.
    if "%" in text:
        return None
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        return None


def _split(value: str) -> HostPort | None:
    """Split an RFC 3986 ``host [":" port]``; ``None`` if malformed."""
    if not value or len(value) > MAX_HOST_LENGTH or not value.isascii():
        return None
    if value.startswith("["):
        end = value.find("]")
        literal = _ip_literal(value[1:end]) if end > 0 else None
        if literal is None:
            return None
        name, rest = f"[{literal}]", value[end + 1 :]
    else:
        colon = value.find(":")
        name, rest = (value, "") if colon < 0 else (value[:colon], value[colon:])
        if not name or not _REG_NAME_CHARS.issuperset(name):
            return None
        name = name.lower()
    if not rest:
        return HostPort(name, None)
    port = _parse_port(rest[1:]) if rest[0] == ":" else None
    return None if port is None else HostPort(name, port)


# PERF: a server sees the same few Host values over and over. The caches are bounded, so a
# hostile client sending endless new values only costs the parsing itself.
@functools.lru_cache(maxsize=512)
def split_host(value: str) -> HostPort | None:
    """Split a ``Host`` header into ``(host, port)``, or return ``None`` if it is malformed.

    Accepts what Starlette's ``Host`` parsing accepts: an RFC 3986 reg-name or IPv4 address (any
    of its characters, sub-delims and ``%`` included), a bracketed IPv6 address (no zone) or
    IPvFuture literal (``[v1.foo]``), then optionally ``:`` and a port from 0 to 65535 (leading
    zeros allowed). Refused: an empty value or port (``host:``, ``[::1]:``), a non-numeric or
    too large port, anything else after the host, non-ASCII, and values over
    ``MAX_HOST_LENGTH`` characters.

    The host is lowercased, an IPv6 address compressed (``[0:0::1]`` is ``[::1]``); otherwise it
    is as written (a trailing dot is kept). A ``Host`` accepted here keeps its meaning inside a
    URL: ``urllib.parse.urlsplit`` reads back the same host and port.
    """
    return _split(value)


@functools.lru_cache(maxsize=512)
def parse_host(value: str) -> HostPort | None:
    """Parse a host to trust: ``name``, ``name:port``, ``[ip literal]`` or ``[ip literal]:port``.

    Stricter than :func:`split_host`: a name must be one DNS can resolve (letters, digits, ``-``,
    ``_``, dots between non-empty labels), so RFC 3986's sub-delims and percent-encoding are
    refused, and the one trailing dot of a fully qualified name is dropped (``example.com.`` is
    ``example.com``). Returns ``None`` for anything malformed.
    """
    # SECURITY: RFC 3986 allows "!$&'()*+,;=" and "%" in a reg-name, but no real client sends
    # them, and each is a way to confuse a URL, a log line or a cache key built from the host.
    host = _split(value)
    if host is None or host.name.startswith("["):
        return host
    if not _is_name(host.name):
        return None
    return HostPort(host.name.removesuffix("."), host.port)


def _is_name(name: str) -> bool:
    """Whether ``name`` is a dotted name (or IPv4 address) with no empty label."""
    if not _NAME_CHARS.issuperset(name):
        return False
    # One trailing dot is the fully qualified form ("example.com."); "..", a leading dot or a lone
    # dot are empty labels.
    labels = name.removesuffix(".").split(".")
    return all(labels)
