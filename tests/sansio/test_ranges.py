"""Sans-I/O tests of microasgi._sansio.ranges: Range, If-Range and conditional requests (RFC 9110)."""

from __future__ import annotations

import itertools
import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.ranges import (
    MAX_RANGES,
    RequestConditions,
    body_etag,
    content_range,
    entity_tag,
    evaluate_preconditions,
    format_http_date,
    http_seconds,
    if_range_holds,
    make_etag,
    multipart_layout,
    parse_http_date,
    parse_range,
    select_ranges,
)

ETAG = '"abc"'
MODIFIED = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT
DATE = "Sun, 06 Nov 1994 08:49:37 GMT"
EARLIER = "Sat, 05 Nov 1994 08:49:37 GMT"
LATER = "Mon, 07 Nov 1994 08:49:37 GMT"


@pytest.mark.parametrize(
    ("field", "size", "expected"),
    [
        ("bytes=0-0", 10, [(0, 1)]),
        ("bytes=0-9", 10, [(0, 10)]),
        ("bytes=0-99", 10, [(0, 10)]),  # last-pos past the end is clamped
        ("bytes=5-", 10, [(5, 10)]),
        ("bytes=-3", 10, [(7, 10)]),
        ("bytes=-30", 10, [(0, 10)]),  # suffix longer than the file: the whole file
        ("BYTES=1-2", 10, [(1, 3)]),  # the unit is case-insensitive
        (" bytes =1-2", 10, [(1, 3)]),
        ("bytes= 1-2 ,\t4-5 ", 10, [(1, 3), (4, 6)]),
        ("bytes=1-2,,,4-5", 10, [(1, 3), (4, 6)]),  # empty list elements are ignored
        ("bytes=4-5,0-1", 10, [(0, 2), (4, 6)]),  # sorted
        ("bytes=0-4,2-6", 10, [(0, 7)]),  # overlapping: merged
        ("bytes=0-4,5-6", 10, [(0, 7)]),  # adjacent: merged
        ("bytes=0-9,2-3", 10, [(0, 10)]),  # contained: merged
        ("bytes=0-0,0-0,0-0", 10, [(0, 1)]),
        ("bytes=-3,0-1", 10, [(0, 2), (7, 10)]),
        ("bytes=00000000000000000000000001-2", 10, [(1, 3)]),  # leading zeros
        ("bytes=0-99999999999999999999999999", 10, [(0, 10)]),  # a huge last-pos: clamped
        ("bytes=-99999999999999999999999999", 10, [(0, 10)]),
        # Unsatisfiable: an empty list means 416.
        ("bytes=10-", 10, []),
        ("bytes=10-20", 10, []),
        ("bytes=99999999999999999999999999-", 10, []),
        ("bytes=-0", 10, []),
        ("bytes=0-0", 0, []),
        ("bytes=-5", 0, []),
        ("bytes=20-30,-0", 10, []),
        ("bytes=20-30,0-0", 10, [(0, 1)]),  # the satisfiable ones only
        # Ignored: None means "send the whole representation".
        ("items=0-1", 10, None),  # another unit
        ("bytes 0-1", 10, None),
        ("bytes=", 10, None),
        ("bytes=,", 10, None),
        ("bytes=1", 10, None),
        ("bytes=a-b", 10, None),
        ("bytes=1-a", 10, None),
        ("bytes=-a", 10, None),
        ("bytes=--1", 10, None),
        ("bytes=5-1", 10, None),  # last < first: invalid
        ("bytes=0-1,5-1", 10, None),  # one invalid spec invalidates the field
        ("bytes=1 - 2", 10, None),  # no whitespace inside a range-spec
        ("bytes=+1-2", 10, None),
        ("bytes=\u0661-2", 10, None),  # non-ASCII digits
        ("bytes=\u00b2-", 10, None),
        ("", 10, None),
    ],
)
def test_parse_range(field: str, size: int, expected: list[tuple[int, int]] | None) -> None:
    assert parse_range(field, size) == expected


def test_range_cap_ignores_the_field_before_parsing() -> None:
    at_cap = "bytes=" + ",".join(["0-0"] * MAX_RANGES)
    assert parse_range(at_cap, 10) == [(0, 1)]
    over = "bytes=" + ",".join(["0-0"] * (MAX_RANGES + 1))
    assert parse_range(over, 10) is None
    thousands = "bytes=" + ",".join(["0-0"] * 5000)
    assert parse_range(thousands, 10) is None
    assert parse_range("bytes=0-0,1-1,2-2", 10, max_ranges=2) is None


@pytest.mark.parametrize(
    "hostile",
    [
        "bytes=" + "0" * 200_000 + "-",
        "bytes=" + " " * 200_000 + "0-1",
        "bytes=" + "1" * 200_000,
        "bytes=-" + "9" * 200_000,
        "bytes=" + "," * 200_000,
        "bytes=" + "=" * 200_000,
    ],
)
def test_hostile_ranges_are_linear(hostile: str) -> None:
    started = time.process_time()
    parse_range(hostile, 10)
    assert time.process_time() - started < 0.5


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.integers(0, 300)).map(sorted),
        min_size=1,
        max_size=20,
    ),
    st.integers(0, 200),
)
def test_merged_ranges_are_sorted_disjoint_and_cover_the_request(
    pairs: list[list[int]], size: int
) -> None:
    field = "bytes=" + ",".join(f"{first}-{last}" for first, last in pairs)
    ranges = parse_range(field, size)
    assert ranges is not None
    wanted = {p for first, last in pairs for p in range(first, min(last + 1, size))}
    covered = {p for start, stop in ranges for p in range(start, stop)}
    assert covered == wanted
    for (_, stop), (start, _) in itertools.pairwise(ranges):
        assert stop < start  # disjoint and not even adjacent: merged
    assert all(0 <= start < stop <= size for start, stop in ranges)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.integers(0, 1000))
def test_any_field_parses_without_error(field: str, size: int) -> None:
    ranges = parse_range(field, size)
    assert ranges is None or all(0 <= a < b <= size for a, b in ranges)
    ranges = parse_range("bytes=" + field, size)
    assert ranges is None or all(0 <= a < b <= size for a, b in ranges)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=100))
def test_any_validator_field_is_safe(field: str) -> None:
    conditions = RequestConditions(if_match=field, if_none_match=field, if_range=field)
    assert evaluate_preconditions(conditions, "GET", ETAG, MODIFIED) in (None, 304, 412)
    assert if_range_holds(field, ETAG, MODIFIED) in (True, False)
    assert parse_http_date(field) is None or isinstance(parse_http_date(field), int)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (DATE, MODIFIED),
        ("Sunday, 06-Nov-94 08:49:37 GMT", MODIFIED),  # RFC 850
        ("Sun Nov  6 08:49:37 1994", MODIFIED),  # asctime: GMT, no zone named
        ("Sun, 06 Nov 1994 09:49:37 +0100", MODIFIED),
        ("yesterday", None),
        ("", None),
        ("Sun, 06 Nov 1994 08:49:37 GMT" + " " * 100, None),  # too long to be a date
        ("Sun, 06 Foo 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 24:00:00 GMT", None),
        ("Sun, 06 Nov 1994 08:60:00 GMT", None),
        ("Sun, 06 Nov 1994 08:49:61 GMT", None),
        ("Sun, 00 Nov 1994 08:49:37 GMT", None),
        ("Sun, 32 Nov 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 99999999 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 08:49:37 +0000", MODIFIED),
    ],
)
def test_parse_http_date(value: str, expected: int | None) -> None:
    assert parse_http_date(value) == expected


def test_format_http_date_round_trips() -> None:
    assert format_http_date(MODIFIED) == DATE
    assert parse_http_date(format_http_date(MODIFIED + 0.75)) == MODIFIED


def test_make_etag_is_strong_and_changes_with_the_file(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "f")
    with open(path, "wb") as file:
        file.write(b"abc")
    first = make_etag(os.stat(path))
    assert first.startswith('"')
    assert first.endswith('"')
    with open(path, "ab") as file:
        file.write(b"d")
    assert make_etag(os.stat(path)) != first


@pytest.mark.parametrize(
    ("fields", "method", "expected"),
    [
        ({}, "GET", None),
        # If-Match: strong comparison; a miss is 412 for every method.
        ({"if_match": ETAG}, "GET", None),
        ({"if_match": "*"}, "PUT", None),
        ({"if_match": ' "x" , "abc"'}, "GET", None),
        ({"if_match": '"x"'}, "GET", 412),
        ({"if_match": '"x"'}, "POST", 412),
        ({"if_match": 'W/"abc"'}, "GET", 412),  # weak tags never match strongly
        ({"if_match": "abc"}, "GET", 412),  # unquoted: malformed, no match
        ({"if_match": '"abc'}, "GET", 412),  # unterminated
        ({"if_match": 'junk, "abc"'}, "GET", None),  # a malformed member is skipped
        # If-Unmodified-Since, only without If-Match.
        ({"if_unmodified_since": DATE}, "GET", None),
        ({"if_unmodified_since": LATER}, "GET", None),
        ({"if_unmodified_since": EARLIER}, "GET", 412),
        ({"if_unmodified_since": "garbage"}, "GET", None),
        ({"if_match": ETAG, "if_unmodified_since": EARLIER}, "GET", None),
        # If-None-Match: weak comparison; 304 on GET and HEAD, 412 otherwise.
        ({"if_none_match": ETAG}, "GET", 304),
        ({"if_none_match": ETAG}, "HEAD", 304),
        ({"if_none_match": ETAG}, "POST", 412),
        ({"if_none_match": ETAG}, "get", 304),  # the method in any case, as Starlette reads it
        ({"if_none_match": ETAG}, "head", 304),
        ({"if_none_match": 'W/"abc"'}, "GET", 304),
        ({"if_none_match": '"x", W/"abc"'}, "GET", 304),
        ({"if_none_match": '"a,b", "abc"'}, "GET", 304),  # commas inside tags
        ({"if_none_match": "*"}, "GET", 304),
        ({"if_none_match": '"x"'}, "GET", None),
        ({"if_none_match": ""}, "GET", None),
        # If-Modified-Since, only without If-None-Match and only on GET and HEAD.
        ({"if_modified_since": DATE}, "GET", 304),
        ({"if_modified_since": LATER}, "HEAD", 304),
        ({"if_modified_since": EARLIER}, "GET", None),
        ({"if_modified_since": DATE}, "POST", None),
        ({"if_modified_since": DATE}, "Get", 304),
        ({"if_modified_since": "garbage"}, "GET", None),
        ({"if_none_match": '"x"', "if_modified_since": LATER}, "GET", None),
        # Precedence: If-Match before If-None-Match.
        ({"if_match": '"x"', "if_none_match": ETAG}, "GET", 412),
        ({"if_unmodified_since": EARLIER, "if_none_match": ETAG}, "GET", 412),
    ],
)
def test_evaluate_preconditions(fields: dict[str, str], method: str, expected: int | None) -> None:
    assert evaluate_preconditions(RequestConditions(**fields), method, ETAG, MODIFIED) == expected


def test_dates_are_ignored_without_a_last_modified() -> None:
    conditions = RequestConditions(if_unmodified_since=EARLIER, if_modified_since=LATER)
    assert evaluate_preconditions(conditions, "GET", ETAG, None) is None


def test_weak_etag_never_matches_if_match() -> None:
    assert evaluate_preconditions(RequestConditions(if_match='W/"abc"'), "GET", 'W/"abc"', 0) == 412
    assert (
        evaluate_preconditions(RequestConditions(if_none_match='"abc"'), "GET", 'W/"abc"', 0) == 304
    )


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (ETAG, True),
        (f" {ETAG} ", True),
        ('"other"', False),
        ('W/"abc"', False),  # a weak tag in If-Range never matches
        (DATE, True),
        (EARLIER, False),
        (LATER, False),  # a date must match exactly
        ("garbage", False),
    ],
)
def test_if_range_holds(field: str, expected: bool) -> None:
    assert if_range_holds(field, ETAG, MODIFIED) is expected


def test_if_range_with_a_weak_etag_is_false() -> None:
    assert if_range_holds('W/"abc"', 'W/"abc"', MODIFIED) is False
    assert if_range_holds(DATE, ETAG, None) is False


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, None),
        ({"range": "bytes=0-1"}, [(0, 2)]),
        ({"range": "bytes=0-1", "if_range": ETAG}, [(0, 2)]),
        ({"range": "bytes=0-1", "if_range": '"old"'}, None),
        ({"range": "bytes=0-1", "if_range": DATE}, [(0, 2)]),
        ({"range": "bytes=0-1", "if_range": EARLIER}, None),
        ({"if_range": ETAG}, None),  # If-Range without Range: ignored
        ({"range": "bytes=50-"}, []),
    ],
)
def test_select_ranges(fields: dict[str, str], expected: list[tuple[int, int]] | None) -> None:
    assert select_ranges(RequestConditions(**fields), ETAG, MODIFIED, 10) == expected


def test_select_ranges_cap() -> None:
    conditions = RequestConditions(range="bytes=0-0,2-2,4-4")
    assert select_ranges(conditions, ETAG, MODIFIED, 10, max_ranges=2) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], {}),
        ([(b"host", b"x"), (b"if-none-match", b'"a"')], {"if_none_match": '"a"'}),
        (
            [(b"if-none-match", b'"a"'), (b"if-none-match", b'"b"')],
            {"if_none_match": '"a", "b"'},
        ),
        ([(b"if-match", b'"a"'), (b"if-match", b'"b"')], {"if_match": '"a", "b"'}),
        ([(b"range", b"bytes=0-1"), (b"range", b"bytes=2-3")], {"range": ""}),
        (
            [(b"if-modified-since", DATE.encode()), (b"if-modified-since", b"x")],
            {"if_modified_since": ""},
        ),
        (
            [(b"if-range", b'"a"'), (b"if-unmodified-since", DATE.encode())],
            {"if_range": '"a"', "if_unmodified_since": DATE},
        ),
        ([(b"if-whatever", b"1"), (b"accept", b"*/*")], {}),
    ],
)
def test_conditions_from_headers(
    headers: list[tuple[bytes, bytes]], expected: dict[str, str]
) -> None:
    conditions = RequestConditions.from_headers(headers)
    assert {
        name: getattr(conditions, name)
        for name in RequestConditions.__slots__
        if getattr(conditions, name) is not None
    } == expected
    assert bool(conditions) is bool(expected)


def test_duplicate_singletons_are_ignored() -> None:
    conditions = RequestConditions.from_headers(
        [(b"range", b"bytes=0-1"), (b"range", b"bytes=0-1"), (b"if-modified-since", DATE.encode())]
    )
    assert parse_range(conditions.range or "", 10) is None
    conditions = RequestConditions.from_headers(
        [(b"if-modified-since", DATE.encode()), (b"if-modified-since", DATE.encode())]
    )
    assert evaluate_preconditions(conditions, "GET", ETAG, MODIFIED) is None


def test_conditions_repr() -> None:
    assert repr(RequestConditions(range="bytes=0-1")) == "RequestConditions(range='bytes=0-1')"


def test_content_range() -> None:
    assert content_range(0, 1, 10) == "bytes 0-0/10"
    assert content_range(5, 10, 10) == "bytes 5-9/10"


def test_multipart_layout_lengths_add_up() -> None:
    ranges = [(0, 2), (5, 10)]
    heads, closing, length = multipart_layout(ranges, 10, "XYZ", "text/plain")
    assert heads[0] == b"--XYZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n"
    assert heads[1].startswith(b"\r\n--XYZ\r\n")
    assert b"Content-Range: bytes 5-9/10\r\n\r\n" in heads[1]
    assert closing == b"\r\n--XYZ--\r\n"
    body = heads[0] + b"ab" + heads[1] + b"fghij" + closing
    assert len(body) == length


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet='bytes=0123456789-, \t"W/*', min_size=1, max_size=12))
def test_hostile_repetitions_stay_linear(unit: str) -> None:
    # ~200 KB headers built from a repeated fragment of the grammar's own characters.
    field = unit * (200_000 // len(unit))
    conditions = RequestConditions(
        if_match=field, if_none_match=field, if_range=field, range="bytes=" + field
    )
    started = time.process_time()
    parse_range(field, 1000)
    parse_range("bytes=" + field, 1000)
    evaluate_preconditions(conditions, "GET", ETAG, MODIFIED)
    select_ranges(conditions, ETAG, MODIFIED, 1000)
    assert time.process_time() - started < 1.0


def test_body_etag_is_a_strong_hash_of_the_bytes() -> None:
    tag = body_etag(b"abc")
    assert tag == body_etag(memoryview(b"abc"))
    assert tag != body_etag(b"abd")
    assert len(tag) == 34
    assert body_etag(b"abc", weak=True) == "W/" + tag


@pytest.mark.parametrize(
    ("value", "weak", "expected"),
    [("v1", False, '"v1"'), ('"v1"', True, 'W/"v1"'), ('W/"v1"', False, 'W/"v1"')],
)
def test_entity_tag(value: str, weak: bool, expected: str) -> None:
    assert entity_tag(value, weak=weak) == expected


def test_http_seconds_rounds_down() -> None:
    assert http_seconds(MODIFIED + 0.5) == MODIFIED
    assert http_seconds(-0.5) == -1


def test_preconditions_without_an_etag() -> None:
    # Only "*" matches a representation that has no entity-tag.
    assert evaluate_preconditions(RequestConditions(if_match="*"), "GET", None, None) is None
    assert evaluate_preconditions(RequestConditions(if_match=ETAG), "GET", None, None) == 412
    assert evaluate_preconditions(RequestConditions(if_none_match=ETAG), "GET", None, 0) is None
    assert evaluate_preconditions(RequestConditions(if_none_match="*"), "GET", None, None) == 304
