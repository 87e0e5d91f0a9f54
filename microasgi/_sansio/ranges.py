"""Sans-I/O validators, conditional requests and byte ranges for file responses (RFC 9110).

Pure functions over header values: no ``receive``, no ``send``, no anyio, so they are tested and
fuzzed without an event loop. Every parser here makes one pass over its input (``str.find``,
``str.partition`` and friends advance monotonically), so a hostile header costs time linear in its
length, and the number of ranges a request may ask for is capped before any of them is parsed.

Decisions, each one allowed by RFC 9110:

- A ``Range`` this module cannot read (another unit, bad syntax, ``last < first``) is ignored and
  the whole representation is sent (section 14.2: "A server MAY ignore the Range header field").
  Starlette answers 400 instead; ignoring is what the RFC describes and what nginx and Apache do.
- A ``Range`` with more than ``max_ranges`` comma-separated elements is ignored in the same way,
  without parsing it (section 14.2 allows ignoring a request for "many small ranges"). A 416 would
  be wrong: it means that none of the ranges overlaps the representation.
- Overlapping and adjacent ranges are merged and the parts are sent in ascending order (section
  14.6 lets a server coalesce ranges; sorted parts also defeat out-of-order range tricks).
"""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import os
from collections.abc import Iterable, Sequence
from datetime import datetime

__all__ = [
    "MAX_RANGES",
    "RequestConditions",
    "body_etag",
    "content_range",
    "entity_tag",
    "evaluate_preconditions",
    "format_http_date",
    "http_seconds",
    "if_range_holds",
    "make_etag",
    "multipart_layout",
    "parse_http_date",
    "parse_range",
    "select_ranges",
]

MAX_RANGES = 100
"""The default cap on the number of elements of a ``Range`` header."""

# SECURITY: an HTTP-date is 29 characters (IMF-fixdate); anything much longer is not one, and is
# never handed to the date parser.
_MAX_DATE_LENGTH = 64
# Past 18 significant digits a position is beyond any file: no int() of unbounded strings.
_MAX_DIGITS = 18
_HUGE = 10**_MAX_DIGITS
_OWS = " \t"

ByteRange = tuple[int, int]
"""A half-open range of byte positions ``(start, stop)``: ``stop`` is excluded."""


def make_etag(stat_result: os.stat_result) -> str:
    """Return a strong ``ETag`` for a file: its modification time (in ns) and size, in hex."""
    return f'"{stat_result.st_mtime_ns:x}-{stat_result.st_size:x}"'


def body_etag(body: bytes | memoryview, *, weak: bool = False) -> str:
    """Return an ``ETag`` for a body: a 128-bit BLAKE2b digest of its bytes, in hex.

    Strong unless ``weak``: equal bytes give equal tags, which is what a strong validator means.
    """
    tag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    return "W/" + tag if weak else tag


def entity_tag(value: str, *, weak: bool = False) -> str:
    """Return ``value`` as an entity-tag: ``"v1"`` and ``W/"v1"`` as they are, ``v1`` quoted.

    ``weak`` makes the tag weak. Raises ``ValueError`` for a value that no quoting makes an
    entity-tag (RFC 9110 section 8.8.3: printable ASCII but ``"``, or obs-text, inside quotes).
    """
    opaque, weak_given = value, False
    if value.startswith('W/"'):
        opaque, weak_given = value[2:], True
    if len(opaque) >= 2 and opaque[0] == '"' and opaque[-1] == '"':
        inner = opaque[1:-1]
    else:
        inner, opaque = value, f'"{value}"'
    # SPEC: RFC 9110 8.8.3, etagc = %x21 / %x23-7E / obs-text.
    if not value or any(not ("\x21" <= c <= "\xff") or c in '"\x7f' for c in inner):
        raise ValueError(
            f"ETag {value!r} is not an entity-tag: use visible ASCII without '\"' or spaces, "
            'bare (v1) or quoted ("v1", W/"v1"). A hash or a version number works.'
        )
    return "W/" + opaque if weak or weak_given else opaque


def http_seconds(value: datetime | float) -> int:
    """Return a ``Last-Modified`` time (an aware ``datetime`` or a Unix timestamp) in whole
    seconds, the precision of an HTTP-date.

    Raises ``ValueError`` for a naive ``datetime``, whose time zone would be a guess.
    """
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(
                f"last_modified must be a timezone-aware datetime, got the naive {value!r}. "
                "Use datetime.now(timezone.utc) or value.replace(tzinfo=timezone.utc)."
            )
        value = value.timestamp()
    # SPEC: RFC 9110 5.6.7, HTTP-dates have whole seconds: compared after rounding down.
    return int(value // 1)


def format_http_date(timestamp: float) -> str:
    """Return ``timestamp`` as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return email.utils.formatdate(timestamp, usegmt=True)


def parse_http_date(value: str) -> int | None:
    """Return an HTTP-date as whole seconds since the epoch, or None when it is not a date.

    The three formats of RFC 9110 section 5.6.7 are accepted; a date without a zone is GMT.
    """
    if len(value) > _MAX_DATE_LENGTH:
        return None
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    year, _month, day, hour, minute, second = parsed[:6]
    # SPEC: RFC 9110 5.6.7, a date out of range is no date ("0 Jan" or "25:61:99" included).
    if not (1 <= year <= 9999 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    # SPEC: every HTTP-date is GMT, also asctime's which names no zone.
    return calendar.timegm(parsed[:6]) - (parsed[9] or 0)


class RequestConditions:
    """The request header fields that make a file response conditional or partial.

    Each attribute is the field's value as text, or None when the request does not carry it. List
    fields (``If-Match``, ``If-None-Match``) sent on several lines are joined with commas; a
    singleton field sent twice is kept as ``""``, which no parser accepts, so it is ignored.
    """

    __slots__ = (
        "if_match",
        "if_modified_since",
        "if_none_match",
        "if_range",
        "if_unmodified_since",
        "range",
    )

    def __init__(
        self,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: str | None = None,
        if_unmodified_since: str | None = None,
        if_range: str | None = None,
        range: str | None = None,
    ) -> None:
        self.if_match = if_match
        self.if_none_match = if_none_match
        self.if_modified_since = if_modified_since
        self.if_unmodified_since = if_unmodified_since
        self.if_range = if_range
        self.range = range

    @classmethod
    def from_headers(cls, headers: Iterable[Sequence[bytes]]) -> RequestConditions:
        """Collect the fields from an ASGI header list (``[(name, value), ...]`` of bytes)."""
        values: dict[str, str] = {}
        for name, value in headers:
            # PERF: every conditional field name starts with "if-" or is "range".
            if name[:3] != b"if-" and name != b"range":
                continue
            key = name.decode("latin-1").replace("-", "_")
            if key not in _FIELDS:
                continue
            text = value.decode("latin-1")
            if key not in values:
                values[key] = text
            elif key in _LIST_FIELDS:
                values[key] = f"{values[key]}, {text}"
            else:
                values[key] = ""
        return cls(**values)

    def __bool__(self) -> bool:
        """Whether any conditional field (or ``Range``) is present."""
        return any(getattr(self, name) is not None for name in self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.__slots__
            if getattr(self, name) is not None
        )
        return f"RequestConditions({fields})"


_FIELDS = frozenset(RequestConditions.__slots__)
_LIST_FIELDS = frozenset({"if_match", "if_none_match"})


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def _tag_list_matches(field: str, etag: str | None, *, strong: bool) -> bool:
    """Return whether the ``#entity-tag`` list (or ``*``) in ``field`` matches ``etag``.

    Strong comparison (``If-Match``): both tags strong and equal. Weak comparison
    (``If-None-Match``): the opaque tags equal, ``W/`` ignored. Malformed members never match,
    and no tag matches a representation without one (``etag`` None).
    """
    if field.strip(_OWS) == "*":
        return True  # SPEC: RFC 9110 13.1.1, "*" matches any current representation.
    if etag is None or (strong and etag.startswith("W/")):
        return False
    wanted = etag if strong else _opaque(etag)
    position, end = 0, len(field)
    while position < end:
        char = field[position]
        if char in ", \t":
            position += 1
            continue
        start = position
        if field.startswith("W/", position):
            position += 2
        if position < end and field[position] == '"':
            close = field.find('"', position + 1)
            if close == -1:
                return False
            tag = field[start : close + 1]
            position = close + 1
            if (tag == wanted) if strong else (_opaque(tag) == wanted):
                return True
        else:
            # Not an entity-tag: skip this member, one pass, to the next comma.
            comma = field.find(",", position)
            position = end if comma == -1 else comma
    return False


def evaluate_preconditions(
    conditions: RequestConditions, method: str, etag: str | None, last_modified: int | None
) -> int | None:
    """Apply RFC 9110 section 13.2.2 and return 412, 304, or None to go on.

    Args:
        conditions: the request's fields.
        method: the request method, in any case (``"get"`` is ``GET``, as Starlette reads it).
        etag: the representation's current ``ETag``, None when it has none.
        last_modified: its ``Last-Modified`` in whole seconds, None when it has none.
    """
    # SPEC: RFC 9110 13.2.2 steps 1 and 2: If-Unmodified-Since only counts without If-Match.
    if conditions.if_match is not None:
        if not _tag_list_matches(conditions.if_match, etag, strong=True):
            return 412
    elif conditions.if_unmodified_since is not None and last_modified is not None:
        date = parse_http_date(conditions.if_unmodified_since)
        if date is not None and last_modified > date:
            return 412
    # SPEC: steps 3 and 4: If-Modified-Since only counts without If-None-Match, on GET or HEAD.
    method = method.upper()
    safe = method == "GET" or method == "HEAD"
    if conditions.if_none_match is not None:
        if _tag_list_matches(conditions.if_none_match, etag, strong=False):
            return 304 if safe else 412
    elif safe and conditions.if_modified_since is not None and last_modified is not None:
        date = parse_http_date(conditions.if_modified_since)
        if date is not None and last_modified <= date:
            return 304
    return None


def if_range_holds(field: str, etag: str, last_modified: int | None) -> bool:
    """Return whether an ``If-Range`` validator still matches (RFC 9110 section 13.1.5).

    An entity-tag must match strongly (a weak tag never does); a date must equal
    ``Last-Modified`` exactly. Anything else is false, so the whole representation is sent.
    """
    field = field.strip(_OWS)
    if field.startswith(('"', 'W/"')):
        return not etag.startswith("W/") and field == etag
    date = parse_http_date(field)
    return date is not None and date == last_modified


def _position(digits: str) -> int | None:
    """Return a non-negative decimal position, or None when ``digits`` is not one."""
    if not (digits.isascii() and digits.isdigit()):
        return None
    significant = digits.lstrip("0")
    # PERF/SECURITY: no int() of a long string; any such position lies past every file.
    return _HUGE if len(significant) > _MAX_DIGITS else int(significant or "0")


def parse_range(field: str, size: int, max_ranges: int = MAX_RANGES) -> list[ByteRange] | None:
    """Parse a ``Range`` field against a representation of ``size`` bytes.

    Returns:
        None when the field must be ignored (another unit, bad syntax, more than
        ``max_ranges`` elements): send the whole representation. An empty list when the field is
        valid but no range is satisfiable: answer 416. Otherwise the satisfiable ranges as sorted,
        merged, half-open ``(start, stop)`` pairs.
    """
    unit, equals, specs = field.partition("=")
    # SPEC: RFC 9110 14.1, range units are case-insensitive; an unknown unit MUST be ignored.
    if not equals or unit.strip(_OWS).lower() != "bytes":
        return None
    # SECURITY: the cap is checked before anything is split or parsed.
    if specs.count(",") >= max_ranges:
        return None
    ranges: list[ByteRange] = []
    seen = False
    for element in specs.split(","):
        spec = element.strip(_OWS)
        if not spec:
            continue  # SPEC: RFC 9110 5.6.1, empty list elements are allowed and ignored.
        seen = True
        found = _range_spec(spec, size)
        if found is _INVALID:
            return None
        if found is not None:
            ranges.append(found)
    if not seen:
        return None
    return _merge(ranges)


_INVALID: ByteRange = (-1, -1)


def _range_spec(spec: str, size: int) -> ByteRange | None:
    """Return one range-spec as a range, None when it is unsatisfiable, ``_INVALID`` when bad."""
    first_text, dash, last_text = spec.partition("-")
    if not dash:
        return _INVALID
    if not first_text:
        suffix = _position(last_text)
        if suffix is None:
            return _INVALID
        # SPEC: RFC 9110 14.1.3, a suffix of 0 (or any suffix of an empty file) is unsatisfiable.
        return (max(0, size - suffix), size) if suffix and size else None
    first = _position(first_text)
    if first is None:
        return _INVALID
    stop = size
    if last_text:
        last = _position(last_text)
        if last is None or last < first:
            return _INVALID  # SPEC: RFC 9110 14.1.1, last < first makes the range-spec invalid.
        stop = min(last + 1, size)
    return (first, stop) if first < size else None


def _merge(ranges: list[ByteRange]) -> list[ByteRange]:
    """Sort ``ranges`` and merge the ones that overlap or touch."""
    ranges.sort()
    merged: list[ByteRange] = []
    for start, stop in ranges:
        if merged and start <= merged[-1][1]:
            if stop > merged[-1][1]:
                merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return merged


def select_ranges(
    conditions: RequestConditions,
    etag: str,
    last_modified: int | None,
    size: int,
    max_ranges: int = MAX_RANGES,
) -> list[ByteRange] | None:
    """Return the ranges to send for a GET, applying ``If-Range`` first (RFC 9110 13.2.2 step 5).

    Returns:
        As for ``parse_range``: None to send the whole representation, ``[]`` for 416.
    """
    if conditions.range is None:
        return None
    if conditions.if_range is not None and not if_range_holds(
        conditions.if_range, etag, last_modified
    ):
        return None
    return parse_range(conditions.range, size, max_ranges)


def content_range(start: int, stop: int, size: int) -> str:
    """Return the ``Content-Range`` value for the half-open range ``[start, stop)``."""
    return f"bytes {start}-{stop - 1}/{size}"


def multipart_layout(
    ranges: list[ByteRange], size: int, boundary: str, content_type: str
) -> tuple[list[bytes], bytes, int]:
    """Lay out a ``multipart/byteranges`` body (RFC 9110 section 14.6).

    Returns:
        The header block to send before each range, the closing delimiter, and the total length
        of the body (headers, ranges and delimiters), for ``Content-Length``.
    """
    heads: list[bytes] = []
    for index, (start, stop) in enumerate(ranges):
        # SPEC: the delimiter is CRLF "--" boundary; the first one may omit the CRLF.
        head = (
            f"--{boundary}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Range: {content_range(start, stop, size)}\r\n\r\n"
        ).encode("latin-1")
        heads.append(b"\r\n" + head if index else head)
    closing = f"\r\n--{boundary}--\r\n".encode("latin-1")
    length = sum(map(len, heads)) + sum(stop - start for start, stop in ranges) + len(closing)
    return heads, closing, length
