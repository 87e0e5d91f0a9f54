"""``Accept-Encoding`` negotiation (RFC 9110 section 12.5.3): sans-I/O, no event loop.

The compression middleware asks one question per request: of the content codings this server
can produce, which one does the client prefer, if any? ``select_encoding`` answers it from the
header's raw value. The rules, the ones RFC 9110 gives plus the choices it leaves open:

- Coding names and the ``q`` parameter name are case-insensitive; whitespace around ``,``, ``;``
  and ``=`` is ignored; empty list elements (``gzip,,br``) are skipped.
- A ``q`` value must match the RFC grammar (``0``, ``0.5``, ``0.125``, ``1``, ``1.000``); an element
  with any other weight (``q=2``, ``q=-1``, ``q=0.1234``, ``q=abc``, ``q=``) is ignored as a whole,
  as if the client had not listed it. Other parameters are ignored.
- ``q=0`` (``q=0.000`` alike) means "not acceptable".
- A coding listed twice gets its lowest weight: a refusal is never overridden by a repetition.
- ``*`` gives its weight to every coding not listed by name (``gzip, *;q=0`` accepts gzip only).
- ``x-gzip`` is the same coding as ``gzip`` (RFC 9110 section 8.4.1.3).
- No header, or an empty one, selects nothing: the response goes out as it is.
- Among acceptable codings the highest weight wins; a tie goes to the server's order.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

__all__ = ["parse_accept_encoding", "select_encoding"]

# SPEC: RFC 9110 section 8.4.1.3, recipients should treat "x-gzip" as "gzip".
_ALIASES = {"x-gzip": "gzip"}

# SECURITY: a header value longer than this is judged on its first part only, so a hostile client
# cannot make negotiation cost more than a few microseconds; real values are under 100 bytes.
MAX_HEADER_LENGTH = 1024


def _parse_qvalue(text: str) -> float | None:
    """The weight of ``q=text``, or None when ``text`` is not an RFC 9110 ``qvalue``."""
    # SPEC: RFC 9110 section 12.4.2, qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    head, _, tail = text.partition(".")
    if len(tail) > 3 or not tail.isascii() or (tail and not tail.isdigit()):
        return None
    if head == "0":
        return int(tail.ljust(3, "0")) / 1000 if tail else 0.0
    if head == "1" and tail.strip("0") == "":
        return 1.0
    return None


@functools.lru_cache(maxsize=128)
def parse_accept_encoding(value: str) -> Mapping[str, float]:
    """Parse an ``Accept-Encoding`` value into ``{coding: weight}`` (lowercase names).

    Invalid elements are left out; a coding listed several times keeps its lowest weight. The
    mapping is shared between calls with the same value: read it, do not change it.

    # PERF: cached, since clients send a handful of distinct values (every browser the same one);
    # the cache is bounded, so varied hostile values only evict each other.
    """
    weights: dict[str, float] = {}
    for element in value[:MAX_HEADER_LENGTH].split(","):
        coding, *params = element.split(";")
        name = coding.strip().lower()
        if not name:
            continue
        weight: float | None = 1.0
        for param in params:
            key, _, raw = param.partition("=")
            if key.strip().lower() == "q":
                weight = _parse_qvalue(raw.strip())
        if weight is None:
            continue
        name = _ALIASES.get(name, name)
        weights[name] = min(weight, weights.get(name, weight))
    return weights


def select_encoding(value: str | None, available: tuple[str, ...]) -> str | None:
    """Pick the coding of ``available`` (server preference first) that the client prefers.

    Args:
        value: the ``Accept-Encoding`` value (several header lines joined with ``,``), or None
            when the request has none.
        available: lowercase coding names this server can produce, most preferred first.

    Returns:
        The chosen coding, or None to send the response unencoded.
    """
    if not value:
        return None
    # SECURITY: truncated before the cache sees it, so cached keys stay small.
    weights = parse_accept_encoding(value[:MAX_HEADER_LENGTH])
    default = weights.get("*", 0.0)
    best: str | None = None
    best_weight = 0.0
    for coding in available:
        weight = weights.get(coding, default)
        if weight > best_weight:
            best, best_weight = coding, weight
    return best
