"""The ``Cookie`` request header: its pairs, read leniently, as browsers and Starlette do.

Pure functions over ``str``/``bytes``: no ``receive``, no anyio, no I/O, tested and fuzzed
without an event loop. Every function runs in time linear in its input; the regular
expressions are anchored and hold no nested quantifiers, so no input makes them backtrack.
"""

from __future__ import annotations

import re

__all__ = ["parse_cookie_header"]

# SECURITY: C0 controls (except HTAB, which is stripped as whitespace at the edges) and DEL never
# belong in a cookie; a pair holding one is dropped rather than handed to the application.
_COOKIE_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# The escapes of Python's ``http.cookies`` quoting (octal ``\ooo`` or ``\x`` for any x): what
# ``SimpleCookie`` and therefore ``Response.set_cookie`` write for non-ASCII values.
_COOKIE_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))", re.DOTALL)


def _cookie_escape(match: re.Match[str]) -> str:
    octal = match.group(1)
    return chr(int(octal, 8)) if octal else match.group(2)


def parse_cookie_header(value: str) -> dict[str, str]:
    """Parse a ``Cookie`` header into a dict of names to values, leniently, as browsers do.

    The header is split on ``;``; each pair is split on its first ``=`` and stripped of spaces and
    tabs. Quoted values are unquoted (Python ``http.cookies`` escapes included). Following
    Starlette (and Django), a pair without ``=`` is a value with the empty name, and when a name
    repeats the **last** occurrence wins. A malformed pair (one holding a control character) is
    skipped on its own: the good pairs around it are kept, unlike ``http.cookies.SimpleCookie``,
    which drops everything after the first bad pair.

    Args:
        value: the header value, decoded as latin-1. To merge several ``cookie`` headers (HTTP/2
            sends one per cookie), join them with ``"; "`` first.

    Returns:
        The cookies, in header order.
    """
    cookies: dict[str, str] = {}
    # PERF: one C-level scan of the header; the per-pair control check runs only when needed.
    check_controls = not value.isprintable()
    for chunk in value.split(";"):
        name, sep, val = chunk.partition("=")
        if not sep:
            # A bare value: Mozilla bug 169091, kept under the empty name as browsers do.
            name, val = "", name
        name = name.strip(" \t")
        val = val.strip(" \t")
        if not (name or val):
            continue
        if check_controls and (_COOKIE_CTL.search(name) or _COOKIE_CTL.search(val)):
            continue
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1]
            if "\\" in val:
                val = _COOKIE_ESCAPE.sub(_cookie_escape, val)
        cookies[name] = val
    return cookies
