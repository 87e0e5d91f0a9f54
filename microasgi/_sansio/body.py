"""What a request body's headers and bytes tell before it is parsed: its declared length, and
how deeply a JSON text nests.

Pure functions over ``str``/``bytes``: no ``receive``, no anyio, no I/O, tested and fuzzed
without an event loop. Every function runs in time linear in its input; the regular
expressions are anchored and hold no nested quantifiers, so no input makes them backtrack.
"""

from __future__ import annotations

import re

__all__ = ["declared_content_length", "json_nesting_exceeds"]

_HUGE = 1 << 64  # stands for any Content-Length of more than 19 digits


def declared_content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The ``Content-Length`` of raw ASGI headers: ``-1`` when absent, ``None`` when malformed."""
    found = -1
    for name, value in headers:
        if name != b"content-length":
            continue
        # SPEC: RFC 9110 section 8.6, a list of identical values ("5, 5") is one length.
        for item in value.split(b","):
            item = item.strip()
            if not item.isdigit():  # bytes.isdigit: ASCII digits only
                return None
            # SECURITY: int() of a huge digit string is slow; past 19 digits it is too large.
            length = int(item) if len(item) <= 19 else _HUGE
            if found not in (-1, length):
                return None
            found = length
    return found


# An escape (backslash and the next byte), a JSON string once escapes are gone, and every byte
# that is not a bracket: what is left of a body once all three are removed is its bracket
# structure. Neither pattern has a group, so both run in linear time.
_JSON_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_JSON_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")


def json_nesting_exceeds(body: bytes, limit: int) -> bool:
    """Tell whether the JSON text ``body`` nests arrays and objects deeper than ``limit``.

    Linear in the body and independent of the interpreter's recursion limit (which a test runner
    or an app may have raised, letting ``json.loads`` go deep enough to exhaust the C stack).
    Brackets inside strings do not count. (For UTF-16 and UTF-32 bodies the count is rougher, and
    the parser's own recursion guard stays behind it.)
    """
    # PERF: the depth cannot pass the number of opening brackets, counted at C speed.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    structure = _JSON_STRING.sub(b"", _JSON_ESCAPE.sub(b"", body)).translate(None, _NOT_BRACKETS)
    for byte in structure:
        if byte in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
