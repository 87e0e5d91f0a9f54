"""Sans-I/O parsing of host names: ``Host`` headers, forwarded hosts and host patterns.

Pure functions over ``str``: no ``receive``, no ``send``, no anyio. ``TrustedHostMiddleware`` and
``ProxyHeadersMiddleware`` use them to decide whether a client-supplied host is well formed before
anything else reads it.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import NamedTuple

# SPEC: RFC 9110 section 7.2 and RFC 3986 section 3.2.2, host = IP-literal / IPv4address /
# reg-name. We accept the reg-names DNS can resolve (letters, digits, "-", "." and the "_" of
# internal service names) and refuse the rest of RFC 3986's sub-delims and percent-encoding: no
# real client sends them, and each is a way to confuse a URL built from the host.
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")
# SECURITY: RFC 1035 limits a name to 253 characters; with brackets, a port and slack for a
# trailing dot, nothing valid is longer than this, and longer input is refused before any parsing.
MAX_HOST_LENGTH = 270


class HostPort(NamedTuple):
    """A parsed host: ``name`` normalized for comparison, and the port if one was given.

    ``name`` is lowercased, without the one trailing dot of a fully qualified name; an IPv6
    address is bracketed and in its compressed form (``[::1]``), so equal hosts compare equal.
    """

    name: str
    port: int | None


def _parse_port(text: str) -> tuple[bool, int | None]:
    """Return ``(valid, port)``; an empty ``text`` is a valid absent port."""
    if not text:
        return True, None  # SPEC: RFC 3986 section 3.2.3, an empty port ("host:") is no port.
    if len(text) > 5 or not (text.isascii() and text.isdigit()):
        return False, None
    port = int(text)
    return port <= 65535, port


def _ipv6(text: str) -> str | None:
    """Return the compressed form of the IPv6 address ``text``, or ``None``."""
    # SECURITY: zone identifiers ("fe80::1%eth0") name an interface of the client's machine and
    # mean nothing here; ipaddress would accept them, so "%" is refused first.
    if "%" in text:
        return None
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        return None


# PERF: a server sees the same few Host values over and over. The cache is bounded, so a hostile
# client sending endless new values only costs the parsing itself.
@functools.lru_cache(maxsize=512)
def parse_host(value: str) -> HostPort | None:
    """Parse ``name``, ``name:port``, ``[ipv6]`` or ``[ipv6]:port``; ``None`` if malformed.

    Malformed means empty, too long, non-ASCII, holding a path, user info, spaces, control
    characters or an empty label, an IPv6 address without brackets, or a port that is not a
    number from 0 to 65535.
    """
    if not value or len(value) > MAX_HOST_LENGTH or not value.isascii():
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        address = _ipv6(value[1:end])
        rest = value[end + 1 :]
        if address is None or (rest and rest[0] != ":"):
            return None
        valid, port = _parse_port(rest[1:])
        return HostPort(f"[{address}]", port) if valid else None
    name, _, port_text = value.partition(":")
    valid, port = _parse_port(port_text)
    if not valid or not _is_name(name):
        return None
    return HostPort(name.lower().removesuffix("."), port)


def _is_name(name: str) -> bool:
    """Whether ``name`` is a dotted name (or IPv4 address) with no empty label."""
    if not name or not _NAME_CHARS.issuperset(name):
        return False
    # One trailing dot is the fully qualified form ("example.com."); "..", a leading dot or a lone
    # dot are empty labels.
    labels = name.removesuffix(".").split(".")
    return all(labels)
