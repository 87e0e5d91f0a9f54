"""Sans-I/O parsing of proxy headers: RFC 7239 ``Forwarded`` and ``X-Forwarded-*``.

Pure functions over ``str``: no ``receive``, no ``send``, no anyio. ``ProxyHeadersMiddleware``
uses them; they are tested and fuzzed without an event loop.

Every proxy on the way appends what it saw to these headers, so the rightmost entries were written
by the proxies closest to us, and everything left of the first proxy we do not trust was written
by a client that may lie. ``client_index`` walks the hops from the right accordingly.

# SECURITY: the headers are client input of unbounded length. Only the last ``limit`` entries of
# a list are kept (``MAX_HOPS`` by default), parsing is a single linear pass, and no regex runs on
# them.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Callable, Sequence
from typing import NamedTuple

__all__ = [
    "MAX_HOPS",
    "ForwardedElement",
    "Node",
    "client_index",
    "normalize_address",
    "parse_forwarded",
    "parse_node",
    "split_list",
]

# SECURITY: how many hops are looked at, from the right. Real chains have a handful of proxies.
MAX_HOPS = 32

# SPEC: RFC 9110 section 5.6.2, tchar.
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# SPEC: RFC 7239 section 6.3, obfnode / obfport = "_" 1*(ALPHA / DIGIT / "." / "_" / "-").
_OBFUSCATED = frozenset("._-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_OWS = " \t"


class ForwardedElement(NamedTuple):
    """One element of a ``Forwarded`` header: the parameters one proxy wrote, unquoted.

    Parameter names are case-insensitive and stored lowercased; a missing one is ``None``.
    """

    for_: str | None
    by: str | None
    proto: str | None
    host: str | None


class Node(NamedTuple):
    """A node of RFC 7239 section 6: an IP address, or an obfuscated identifier (``_hidden``).

    ``host`` is an IP address in its compressed form, without brackets (``"2001:db8::1"``), as
    ASGI's ``scope["client"]`` holds it, or the obfuscated identifier as written. ``port`` is the
    port when a numeric one was given.
    """

    host: str
    port: int | None


def _quoted(value: str, start: int) -> tuple[str | None, int]:
    """Read the quoted-string opening at ``start``; return its text (``None`` if invalid) and end.

    SPEC: RFC 9110 section 5.6.4, quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE. Control
    characters other than HTAB are refused, in the text and after a backslash. An unterminated
    string runs to the end of the header.
    """
    out: list[str] = []
    valid = True
    i = start + 1
    n = len(value)
    while i < n:
        char = value[i]
        if char == '"':
            return ("".join(out) if valid else None), i + 1
        if char == "\\":
            i += 1
            if i == n:
                break
            char = value[i]
        if char != "\t" and (char < " " or char == "\x7f"):
            valid = False
        out.append(char)
        i += 1
    return None, n


def _skip_element(value: str, i: int) -> int:
    """Return the index of the ``,`` ending the element around ``i`` (or the end), past quotes."""
    n = len(value)
    while i < n:
        char = value[i]
        if char == ",":
            return i
        if char == '"':
            _, i = _quoted(value, i)
            continue
        i += 1
    return n


def _skip_ows(value: str, i: int) -> int:
    n = len(value)
    while i < n and value[i] in _OWS:
        i += 1
    return i


def _token_end(value: str, i: int) -> int:
    n = len(value)
    while i < n and value[i] in _TCHAR:
        i += 1
    return i


def _element(value: str, i: int) -> tuple[dict[str, str] | None, int]:
    """Parse the element starting at ``i``; return its pairs (``None`` if invalid) and its end.

    SPEC: RFC 7239 section 4, forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] ),
    forwarded-pair = token "=" value, value = token / quoted-string. Whitespace around ``;`` and
    ``,`` is tolerated, as proxies write it; a parameter may not occur twice in one element.
    """
    pairs: dict[str, str] = {}
    n = len(value)
    while True:
        i = _skip_ows(value, i)
        end = _token_end(value, i)
        if end > i:
            name = value[i:end].lower()
            if end == n or value[end] != "=" or name in pairs:
                return None, _skip_element(value, end)
            if end + 1 < n and value[end + 1] == '"':
                text, i = _quoted(value, end + 1)
                if text is None:
                    return None, _skip_element(value, i)
            else:
                i = _token_end(value, end + 1)
                if i == end + 1:
                    return None, _skip_element(value, i)
                text = value[end + 1 : i]
            pairs[name] = text
        i = _skip_ows(value, i)
        if i == n or value[i] == ",":
            return pairs, i
        if value[i] != ";":
            return None, _skip_element(value, i)
        i += 1


def parse_forwarded(value: str, limit: int = MAX_HOPS) -> list[ForwardedElement | None]:
    """Parse a ``Forwarded`` header (several fields joined with ``,``) into its elements.

    Returns the last ``limit`` elements, oldest first; an element that does not parse is ``None``
    (its neighbours are kept). Empty elements are skipped, as the list syntax allows.
    """
    # PERF/SECURITY: a bounded deque keeps memory constant however long the header is.
    elements: deque[ForwardedElement | None] = deque(maxlen=limit)
    n = len(value)
    i = 0
    while True:
        pairs, i = _element(value, i)
        if pairs is None:
            elements.append(None)
        elif pairs:
            get = pairs.get
            elements.append(ForwardedElement(get("for"), get("by"), get("proto"), get("host")))
        if i >= n:
            return list(elements)
        i += 1  # the ","


def split_list(value: str, limit: int = MAX_HOPS) -> list[str]:
    """Return the last ``limit`` items of a comma-separated header, stripped, oldest first.

    Empty items are kept as ``""`` so positions line up across ``X-Forwarded-*`` headers.
    """
    # PERF/SECURITY: rsplit with maxsplit does not split (or allocate) the part we throw away.
    items = value.rsplit(",", limit)
    if len(items) > limit:
        del items[0]
    return [item.strip(_OWS) for item in items]


def _port(text: str) -> tuple[bool, int | None]:
    if text.startswith("_"):
        return len(text) > 1 and _OBFUSCATED.issuperset(text), None
    if 0 < len(text) <= 5 and text.isascii() and text.isdigit() and int(text) <= 65535:
        return True, int(text)
    return False, None


def parse_node(text: str | None) -> Node | None:
    """Parse a node (``for=``/``by=`` value, or an ``X-Forwarded-For`` item); ``None`` if unknown.

    Accepts ``192.0.2.1``, ``192.0.2.1:4711``, ``[2001:db8::1]``, ``[2001:db8::1]:4711``, a bare
    ``2001:db8::1`` (as ``X-Forwarded-For`` writes it), and obfuscated ``_name`` / ``:_port``.
    ``unknown``, an absent value and anything malformed give ``None``: the client is not known.
    """
    if not text or not text.isascii():
        return None
    host, port_text = text, ""
    bracketed = text.startswith("[")
    if bracketed:
        end = text.find("]")
        host, rest = text[1:end], text[end + 1 :]
        if end < 0 or (rest and rest[0] != ":") or rest == ":":
            return None
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        if not port_text:
            return None
    valid, port = _port(port_text) if port_text else (True, None)
    if not valid:
        return None
    if host.startswith("_") and not bracketed:
        return Node(host, port) if len(host) > 1 and _OBFUSCATED.issuperset(host) else None
    # SECURITY: zone identifiers ("fe80::1%eth0") are the sender's interfaces, not addresses.
    if "%" in host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # "unknown", names and garbage alike
    if bracketed and address.version != 6:
        return None  # SPEC: RFC 3986 section 3.2.2, brackets go around IPv6 addresses only.
    return Node(normalize_address(address), port)


def normalize_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Return ``address`` compressed; an IPv4-mapped IPv6 address (``::ffff:192.0.2.1``), which
    dual-stack sockets report for IPv4 clients, as the IPv4 address it maps."""
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return address.compressed


def client_index(hops: Sequence[Node | None], is_trusted: Callable[[str], bool]) -> int:
    """Return the index of the client among ``hops`` (oldest first, the direct peer's last).

    The walk starts at the right, where the proxy we trust wrote the address it received the
    request from, and moves left while that address is itself a trusted proxy. The first hop that
    is unknown or not trusted is the client. If every hop is trusted, the leftmost one is.
    """
    for index in range(len(hops) - 1, 0, -1):
        hop = hops[index]
        if hop is None or not is_trusted(hop.host):
            return index
    return 0
