"""Properties of conditional requests (RFC 9110 section 13): ``microasgi._sansio.ranges``'s
``RequestConditions``, ``evaluate_preconditions``, ``if_range_holds`` and the HTTP-date functions.

Documented error: none. Every function is total: a malformed validator never matches, a
malformed date is no date, and the answer is ``None`` (go on), 304 or 412.

Also: tests/sansio/test_ranges.py::test_any_validator_field_is_safe (any text in ``If-Match``,
``If-None-Match`` and ``If-Range`` at once) and ::test_hostile_repetitions_stay_linear.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.ranges import (
    RequestConditions,
    evaluate_preconditions,
    format_http_date,
    if_range_holds,
    parse_http_date,
)

from ._linear import assert_linear

_LAST_SECOND = calendar.timegm((9999, 12, 31, 23, 59, 59))
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "get", ""])

opaque = st.text(st.sampled_from("abcXYZ019-_."), max_size=6)
tags = st.tuples(st.booleans(), opaque).map(lambda t: ("W/" if t[0] else "") + f'"{t[1]}"')
tag_lists = st.one_of(st.just(["*"]), st.lists(tags, min_size=1, max_size=5))
timestamps = st.integers(0, _LAST_SECOND)


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def _model(
    method: str,
    etag: str,
    last_modified: int | None,
    if_match: list[str] | None,
    if_none_match: list[str] | None,
    if_unmodified_since: int | None,
    if_modified_since: int | None,
) -> int | None:
    """RFC 9110 section 13.2.2 over already parsed lists and dates: the reference."""
    if if_match is not None:
        strong = not etag.startswith("W/")
        if if_match != ["*"] and not (strong and etag in if_match):
            return 412
    elif if_unmodified_since is not None and last_modified is not None:
        if last_modified > if_unmodified_since:
            return 412
    safe = method.upper() in ("GET", "HEAD")  # read in any case, as Starlette reads it
    if if_none_match is not None:
        if if_none_match == ["*"] or _opaque(etag) in map(_opaque, if_none_match):
            return 304 if safe else 412
    elif safe and if_modified_since is not None and last_modified is not None:
        if last_modified <= if_modified_since:
            return 304
    return None


@settings(max_examples=120, deadline=None)
@given(
    method=_METHODS,
    etag=tags,
    last_modified=st.none() | timestamps,
    if_match=st.none() | tag_lists,
    if_none_match=st.none() | tag_lists,
    if_unmodified_since=st.none() | timestamps,
    if_modified_since=st.none() | timestamps,
    sep=st.sampled_from([",", ", ", " ,\t", ",,"]),
)
def test_preconditions_follow_rfc_9110(
    method: str,
    etag: str,
    last_modified: int | None,
    if_match: list[str] | None,
    if_none_match: list[str] | None,
    if_unmodified_since: int | None,
    if_modified_since: int | None,
    sep: str,
) -> None:
    """Reference: the answer is what RFC 9110 section 13.2.2's steps give for the same lists
    and dates, however the lists are spaced (a model of the steps is the reference)."""

    def date(value: int | None) -> str | None:
        return None if value is None else format_http_date(value)

    conditions = RequestConditions(
        if_match=None if if_match is None else sep.join(if_match),
        if_none_match=None if if_none_match is None else sep.join(if_none_match),
        if_unmodified_since=date(if_unmodified_since),
        if_modified_since=date(if_modified_since),
    )
    assert evaluate_preconditions(conditions, method, etag, last_modified) == _model(
        method,
        etag,
        last_modified,
        if_match,
        if_none_match,
        if_unmodified_since,
        if_modified_since,
    )


@settings(max_examples=120, deadline=None)
@given(st.lists(tag_lists, min_size=1, max_size=4), tags, _METHODS)
def test_list_fields_on_several_lines_read_as_one(
    lines: list[list[str]], etag: str, method: str
) -> None:
    """``If-None-Match`` / ``If-Match`` sent on several lines mean their comma-joined value."""
    headers = [(b"if-none-match", ", ".join(line).encode()) for line in lines]
    headers += [(b"if-match", ", ".join(line).encode()) for line in lines]
    joined = ", ".join(tag for line in lines for tag in line)
    conditions = RequestConditions.from_headers(headers)
    one_line = RequestConditions(if_match=joined, if_none_match=joined)
    assert evaluate_preconditions(conditions, method, etag, None) == evaluate_preconditions(
        one_line, method, etag, None
    )


@settings(max_examples=120, deadline=None)
@given(timestamps)
def test_every_date_format_round_trips(timestamp: int) -> None:
    """Round trip: an IMF-fixdate we format, and the asctime form of the same second, parse
    back to it (RFC 9110 section 5.6.7), for every second up to year 9999."""
    assert parse_http_date(format_http_date(timestamp)) == timestamp
    tm = time.gmtime(timestamp)
    asctime = (
        f"{_DAYS[tm.tm_wday]} {_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} "
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {tm.tm_year}"
    )
    assert parse_http_date(asctime) == timestamp


@settings(max_examples=60, deadline=None)
@given(tags, st.none() | timestamps, st.data())
def test_if_range_matches_only_the_current_validator(
    etag: str, last_modified: int | None, data: st.DataObject
) -> None:
    """``If-Range`` holds for the current strong ETag or exactly the ``Last-Modified`` date;
    a weak tag, another tag or another date never holds (RFC 9110 section 13.1.5)."""
    assert if_range_holds(etag, etag, last_modified) is (not etag.startswith("W/"))
    other = data.draw(tags.filter(lambda tag: tag != etag))
    assert not if_range_holds(other, etag, last_modified)
    if last_modified is not None:
        assert if_range_holds(format_http_date(last_modified), etag, last_modified)
        other_second = last_modified - 1 if last_modified else 1
        assert not if_range_holds(format_http_date(other_second), etag, last_modified)


_FIELD = st.text(st.sampled_from('W/"*, \t\x00ab1é'), max_size=40) | st.text(max_size=40)


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    b"if-match",
                    b"if-none-match",
                    b"if-modified-since",
                    b"if-unmodified-since",
                    b"if-range",
                    b"range",
                    b"if-x",
                    b"x",
                ]
            ),
            st.binary(max_size=40),
        ),
        max_size=8,
    ),
    _FIELD,
    _METHODS,
    st.none() | st.integers(-(2**40), 2**40),
)
def test_any_headers_give_a_valid_answer(
    headers: list[tuple[bytes, bytes]], etag: str, method: str, last_modified: int | None
) -> None:
    """Totality: any header list, any (even malformed) ETag and any method give ``None``, 304
    or 412, and ``If-Range`` a bool, without an error."""
    conditions = RequestConditions.from_headers(headers)
    assert evaluate_preconditions(conditions, method, etag, last_modified) in (None, 304, 412)
    if conditions.if_range is not None:
        assert if_range_holds(conditions.if_range, etag, last_modified) in (True, False)
    assert bool(conditions) == any(name in _KNOWN for name, _ in headers)
    assert repr(conditions).startswith("RequestConditions(")


_KNOWN = {
    b"if-match",
    b"if-none-match",
    b"if-modified-since",
    b"if-unmodified-since",
    b"if-range",
    b"range",
}


@pytest.mark.parametrize("unit", ["W/", '"', ", ", 'W/"', '"a",', "W/W/", "*", "\t", 'x"'])
def test_tag_list_floods_stay_linear(unit: str) -> None:
    """CWE-1333 / CWE-407: ``If-Match`` and ``If-None-Match`` lists of any repeated shape are
    scanned in one pass (a miss costs as much as the list is long, no more)."""

    def run(field: str) -> None:
        conditions = RequestConditions(if_match=field, if_none_match=field, if_range=field)
        evaluate_preconditions(conditions, "GET", '"etag"', 0)
        if_range_holds(field, '"etag"', 0)

    assert_linear(lambda n: unit * n, run, 4_000)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda n: "Sun, 06 Nov 1994 08:49:37 GMT" + " " * n, id="padded"),
        pytest.param(lambda n: "0" * n, id="digits"),
        pytest.param(lambda n: "Sun, " * n, id="day-names"),
    ],
)
def test_long_dates_cost_constant_time(build: Callable[[int], str]) -> None:
    """CWE-400: a date field is judged on at most 64 characters, never handed whole to the
    date parser."""
    assert_linear(build, parse_http_date, 50_000, ratio=2.5)
